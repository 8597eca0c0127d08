# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.


"""The nova back end's HTTP handling, against a small local HTTP server.

The behaviour against the real Nova is in vmguard/tests/functional/nova.
"""

import http.server
import json
import socket
import threading

from vmguard.compute import base
from vmguard.compute import nova
from vmguard.tests import base as test_base


class _Handler(http.server.BaseHTTPRequestHandler):
    # path -> (status, body)
    answers = {}
    seen = []

    def log_message(self, *args):
        pass

    def _answer(self):
        if self.path.rstrip('/') == '/v2.1':
            # keystoneauth's version discovery (microversion support).
            type(self).answers.setdefault(self.path, (200, {'version': {
                'id': 'v2.1', 'status': 'CURRENT', 'version': '2.96',
                'min_version': '2.1', 'links': [{
                    'rel': 'self', 'href': 'http://%s:%s/v2.1/' %
                    self.server.server_address}]}}))
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        type(self).seen.append((self.command, self.path, dict(self.headers),
                                body))
        status, answer = self.answers.get(self.path, (404, {
            'itemNotFound': {'code': 404, 'message': 'Instance x could '
                             'not be found.'}}))
        data = json.dumps(answer).encode() if answer is not None else b''
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('x-openstack-request-id', 'req-answered')
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer


class TestNovaDriverHTTP(test_base.TestCase):

    def setUp(self):
        super().setUp()
        _Handler.answers = {}
        _Handler.seen = []
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      _Handler)
        thread = threading.Thread(target=self.server.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.flags(group='nova', auth_type='none',
                   endpoint_override='http://127.0.0.1:%d/v2.1'
                   % self.server.server_port)
        self.driver = nova.NovaComputeDriver()

    def test_action_pins_microversion_and_passes_request_id(self):
        _Handler.answers['/v2.1/servers/s1/action'] = (202, None)
        answered = self.driver.reboot_server('s1', 'req-ours')
        self.assertEqual('req-answered', answered)
        method, path, headers, body = _Handler.seen[-1]
        self.assertEqual(('POST', '/v2.1/servers/s1/action'), (method, path))
        headers = {k.lower(): v for k, v in headers.items()}
        self.assertEqual('compute 2.95', headers['openstack-api-version'])
        self.assertEqual('req-ours', headers['x-openstack-request-id'])
        self.assertEqual({'reboot': {'type': 'HARD'}}, json.loads(body))

    def test_evacuate_has_no_force_flag(self):
        _Handler.answers['/v2.1/servers/s1/action'] = (200, None)
        self.driver.evacuate_server('s1', 'cmp-2', 'req-1')
        self.assertEqual({'evacuate': {'host': 'cmp-2'}},
                         json.loads(_Handler.seen[-1][3]))

    def test_conflict_is_rejected_with_nova_message(self):
        _Handler.answers['/v2.1/servers/s1/action'] = (409, {
            'conflictingRequest': {'code': 409, 'message':
                                   "Cannot 'migrate' instance while it is "
                                   "in task_state migrating"}})
        exc = self.assertRaises(base.ComputeRejected,
                                self.driver.migrate_server, 's1', 'cmp-2',
                                'req-1')
        self.assertEqual(409, exc.code)
        self.assertIn('task_state migrating', str(exc))

    def test_server_error_is_retryable_and_maybe_sent(self):
        _Handler.answers['/v2.1/servers/s1/action'] = (500, {
            'computeFault': {'code': 500, 'message': 'boom'}})
        exc = self.assertRaises(base.ComputeUnavailable,
                                self.driver.start_server, 's1', 'req-1')
        self.assertTrue(exc.maybe_sent)
        self.assertIn('boom', str(exc))

    def test_missing_server(self):
        self.assertRaises(base.ServerNotFound, self.driver.get_server, 'nope')

    def test_connection_refused_was_not_sent(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        self.flags(group='nova',
                   endpoint_override='http://127.0.0.1:%d/v2.1' % port)
        driver = nova.NovaComputeDriver()
        exc = self.assertRaises(base.ComputeUnavailable,
                                driver.reboot_server, 's1', 'req-1')
        self.assertFalse(exc.maybe_sent)

    def test_server_and_service_parsing(self):
        _Handler.answers['/v2.1/servers/s1'] = (200, {'server': {
            'id': 's1', 'status': 'ACTIVE', 'name': 'web',
            'OS-EXT-SRV-ATTR:host': 'cmp-1', 'OS-EXT-STS:task_state': None,
            'OS-EXT-STS:vm_state': 'active',
            'metadata': {'vmguard:protect': 'false'},
            'flavor': {'vcpus': 2, 'ram': 2048, 'extra_specs': {
                'vmguard:protect': 'true', 'hw:watchdog_action': 'pause'}}}})
        _Handler.answers[
            '/v2.1/os-services?binary=nova-compute&host=cmp-1'] = (200, {
                'services': [{'id': 'uuid-1', 'host': 'cmp-1',
                              'state': 'down', 'status': 'enabled',
                              'forced_down': True}]})
        server = self.driver.get_server('s1')
        self.assertEqual(('cmp-1', 2, 2048, 'active'),
                         (server.host, server.vcpus, server.ram_mb,
                          server.vm_state))
        # The flavor's extra specs come with the server (2.47+).
        self.assertEqual(({'vmguard:protect': 'false'}, 'true'),
                         (server.metadata,
                          server.flavor_extra_specs['vmguard:protect']))
        service = self.driver.get_service('cmp-1')
        self.assertTrue(service.is_down)
        _Handler.answers['/v2.1/os-services/uuid-1'] = (200, {})
        self.driver.disable_service('cmp-1', 'vmguard R4: failed', 'req-1')
        self.assertEqual({'status': 'disabled',
                          'disabled_reason': 'vmguard R4: failed'},
                         json.loads(_Handler.seen[-1][3]))

    def test_microversion_below_2_53_refused(self):
        self.flags(group='nova', api_version='2.52')
        self.assertRaises(ValueError, nova.NovaComputeDriver)
