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

"""Hostile requests on the real server (vmguard-api's server, MariaDB).

Every client error is a 4xx in the OpenStack error format -- a path or
query that is not UTF-8 once percent-decoded, an integer no column holds,
a body too large (413, not read, not echoed), a request line too long
(414, from the server itself) -- HEAD works on every GET route, and a
client that sends half a request, or sends it a byte at a time, loses
its connection after ``[api] client_socket_timeout``.
"""

import json
import socket
import threading
import time

from vmguard.api import deploy
from vmguard.cmd import api as api_cmd
from vmguard.tests.functional.api import base

TIMEOUT = 1


class TestHostileRequests(base.APITestCase):

    def configure(self):
        self.flags(group='api', max_request_body_size=4096)

    def test_percent_escapes_that_are_not_utf8_are_4xx(self):
        before = self.dump()
        for path, status in (('/v1/nodes/%ff', 404),
                             ('/v1/nodes/%ed%a0%80/states', 404),
                             ('/v1/nodes?marker=%ff', 400),
                             ('/v1/decisions?node=%ff', 400),
                             ('/v1/vms?%ff=1', 400),
                             ('/v1/events?node=cmp%c3', 400)):
            resp = self.get(path)
            self.assertError(resp, status)
        resp = self.put('/v1/nodes/%ff/maintenance', {'maintenance': True})
        self.assertError(resp, 404)
        self.assertEqual(before, self.dump())

    def test_integers_no_column_holds_are_400(self):
        big = '9' * 23
        for path in ('/v1/nodes/cmp-01/states?marker=' + big,
                     '/v1/nodes/cmp-01/states?since_cycle=' + big,
                     '/v1/nodes/cmp-01/hardware-changes?since_cycle=' + big,
                     '/v1/events?marker=' + big,
                     '/v1/events?marker=%C2%B2',   # a superscript two
                     '/v1/nodes?limit=' + big,
                     '/v1/nodes/cmp-01/states?cycle=1_0'):
            self.assertError(self.get(path), 400,
                             'vmguard.query_invalid')

    def test_a_body_too_large_is_413_not_read_nor_echoed(self):
        before = self.dump()
        body = json.dumps({'maintenance': True,
                           'reason': 'x' * 10 ** 6}).encode()
        resp = self.request('PUT', '/v1/nodes/cmp-01/maintenance',
                            headers=dict(base.ADMIN, **{
                                'Content-Type': 'application/json'}),
                            data=body)
        error = self.assertError(resp, 413, 'vmguard.request_too_large',
                                 ['max_request_body_size'])
        self.assertLess(len(resp.content), 1000)
        self.assertNotIn('xxxx', error['detail'])
        # Within the limit, a value of the wrong type is not echoed whole.
        resp = self.put('/v1/nodes/cmp-01/maintenance',
                        {'maintenance': 'y' * 4000})
        self.assertError(resp, 400)
        self.assertLess(len(resp.content), 1000)
        self.assertEqual(before, self.dump())

    def test_head_on_every_get_route(self):
        for path in ('/v1/nodes', '/v1/nodes/cmp-01', '/v1/vms',
                     '/v1/decisions', '/v1/recoveries'):
            get = self.get(path)
            head = self.request('HEAD', path, headers=base.ADMIN)
            self.assertEqual((200, 200, b''), (get.status_code,
                                               head.status_code,
                                               head.content), path)
            self.assertEqual(get.headers['Content-Type'],
                             head.headers['Content-Type'])
        resp = self.request('HEAD', '/v1/nodes/cmp-01/maintenance',
                            headers=base.ADMIN)
        self.assertEqual(405, resp.status_code)
        self.assertEqual('PUT', resp.headers['Allow'])

    def test_request_line_too_long_is_a_json_414(self):
        resp = self.get('/v1/nodes?marker=' + 'a' * 70000)
        self.assertEqual(414, resp.status_code)
        self.assertEqual('application/json', resp.headers['Content-Type'])
        self.assertEqual(414, resp.json()['errors'][0]['status'])


class TestSlowClients(base.APITestCase):
    """Half-sent requests do not hold a server thread."""

    seed = False

    def setUp(self):
        super().setUp()
        server = api_cmd.make_server('127.0.0.1', 0,
                                     deploy.deploy(self.conf), TIMEOUT)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.port = server.server_address[1]

    def _connect(self):
        sock = socket.create_connection(('127.0.0.1', self.port), timeout=30)
        self.addCleanup(sock.close)
        return sock

    def test_a_silent_client_is_disconnected(self):
        sock = self._connect()
        sock.sendall(b'GET /v1/nodes HTTP/1.1\r\nHost: x\r\n')
        start = time.monotonic()
        while sock.recv(4096):
            pass
        self.assertLess(time.monotonic() - start, 20)

    def test_a_client_dripping_bytes_is_disconnected(self):
        sock = self._connect()
        sock.sendall(b'GET /v1/nodes HTTP/1.1\r\n')
        start = time.monotonic()
        closed = False
        # A header byte every 0.3 s: never idle for TIMEOUT seconds.
        while time.monotonic() - start < 20:
            try:
                sock.sendall(b'X')
            except OSError:
                closed = True
                break
            sock.settimeout(0.3)
            try:
                if sock.recv(4096) == b'':
                    closed = True
                    break
            except TimeoutError:
                pass
        self.assertTrue(closed)
        self.assertLess(time.monotonic() - start, 20)
