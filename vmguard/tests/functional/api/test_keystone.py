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

"""keystonemiddleware in front of the API, against a stub Keystone.

Keystone cannot run here: a small HTTP server plays it (version
discovery, the service user's password login, token validation), with
token bodies built by keystoneauth's own fixtures. The middleware, the
HTTP calls it makes and vmguard's handling of what it says are real.
"""

import http.server
import json
import threading

import fixtures
from keystoneauth1 import fixture as ksa_fixture
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from vmguard.tests.functional.api import base

SERVICE_TOKEN = 'service-token'
# token -> (roles, system scoped). The roles are those Keystone puts in a
# token: with the implied ones of its default roles (admin implies
# member, member implies reader).
TOKENS = {
    'admin-token': (['admin', 'member', 'reader'], False),
    'project-reader-token': (['reader'], False),
    'member-token': (['member', 'reader'], False),
    'system-reader-token': (['reader'], True),
}


class _StubKeystone(http.server.BaseHTTPRequestHandler):

    def log_message(self, format, *args):  # noqa: A002
        pass

    def _send(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _token(self, roles, user, system=False):
        if system:
            token = ksa_fixture.V3Token(user_id=user, user_name=user,
                                        user_domain_id='default')
            token.set_system_scope()
        else:
            token = ksa_fixture.V3Token(user_id=user, user_name=user,
                                        project_id='ops', project_name='ops',
                                        user_domain_id='default',
                                        project_domain_id='default')
        for role in roles:
            token.add_role(name=role)
        service = token.add_service('identity')
        for interface in ('public', 'internal', 'admin'):
            service.add_endpoint(interface, self.server.url + '/v3',
                                 region='RegionOne')
        return token

    def do_GET(self):
        self.server.calls.append(('GET', self.path))
        if self.path.rstrip('/') in ('', '/v3'):
            discovery = ksa_fixture.V3Discovery(self.server.url + '/v3')
            self._send(200, {'version': discovery})
        elif self.path.startswith('/v3/auth/tokens'):
            if self.headers.get('X-Auth-Token') != SERVICE_TOKEN:
                self._send(401, {'error': {'code': 401,
                                           'message': 'no service token'}})
                return
            subject = self.headers.get('X-Subject-Token')
            if subject not in TOKENS:
                self._send(404, {'error': {'code': 404,
                                           'message': 'token not found'}})
                return
            roles, system = TOKENS[subject]
            self._send(200, self._token(roles, subject + '-user', system),
                       {'X-Subject-Token': subject})
        else:
            self._send(404, {'error': {'code': 404, 'message': self.path}})

    def do_POST(self):
        self.server.calls.append(('POST', self.path))
        length = int(self.headers.get('Content-Length', 0))
        body = json.loads(self.rfile.read(length) or b'{}')
        password = body['auth']['identity']['password']['user']['password']
        if self.path != '/v3/auth/tokens' or password != 'secret':
            self._send(401, {'error': {'code': 401, 'message': 'bad'}})
            return
        self._send(201, self._token(['service'], 'vmguard'),
                   {'X-Subject-Token': SERVICE_TOKEN})


class TestKeystoneAuth(base.APITestCase):

    auth_strategy = 'keystone'

    def configure(self):
        self.keystone = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                        _StubKeystone)
        self.keystone.url = 'http://127.0.0.1:%d' % (
            self.keystone.server_address[1])
        self.keystone.calls = []
        thread = threading.Thread(target=self.keystone.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.keystone.server_close)
        self.addCleanup(self.keystone.shutdown)
        # keystonemiddleware registers its options (and those of the
        # auth plugin) when it is built: give them in a config file.
        path = self.useFixture(fixtures.TempDir()).path + '/vmguard.conf'
        with open(path, 'w') as f:
            f.write('[keystone_authtoken]\n'
                    'www_authenticate_uri = %(url)s/v3\n'
                    'auth_type = password\n'
                    'auth_url = %(url)s/v3\n'
                    'username = vmguard\n'
                    'password = secret\n'
                    'user_domain_id = default\n'
                    'project_name = service\n'
                    'project_domain_id = default\n'
                    'interface = internal\n'
                    'region_name = RegionOne\n'
                    % {'url': self.keystone.url})
        self.conf(['--config-file', path], project='vmguard',
                  default_config_files=[])
        self.addCleanup(self._unregister_plugin_options)

    def _unregister_plugin_options(self):
        # auth_token registered the (required) options of the password
        # plugin on the global CONF: remove them for the next tests.
        conf = base.CONF
        conf.clear()
        loader = ks_loading.get_plugin_loader('password')
        for opt in ks_loading.get_auth_plugin_conf_options(loader):
            try:
                conf.unregister_opt(opt, group='keystone_authtoken')
            except cfg.NoSuchOptError:
                pass

    def _call(self, method, path, token=None, body=None):
        headers = {'X-Auth-Token': token} if token else {}
        # The identity headers a client sends are never trusted.
        headers.update({'X-User-Id': 'mallory', 'X-Roles': 'admin',
                        'X-Identity-Status': 'Confirmed',
                        'OpenStack-System-Scope': 'all'})
        return self.request(method, path, headers=headers, json=body)

    def test_tokens_are_validated_by_keystone(self):
        before = self.dump()
        self.assertEqual(200, self._call('GET', '/').status_code)
        resp = self._call('GET', '/v1/nodes')
        self.assertError(resp, 401, 'vmguard.not_authenticated')
        # Added by auth_token: where to get a token.
        self.assertIn('Keystone uri="%s/v3"' % self.keystone.url,
                      resp.headers['WWW-Authenticate'])
        self.assertError(self._call('PUT', '/v1/nodes/cmp-01/enable',
                                    body={}), 401)
        self.assertError(self._call('GET', '/v1/nodes', 'forged-token'),
                         401)
        self.assertError(self._call('PUT', '/v1/nodes/cmp-01/enable',
                                    'forged-token', {}), 401)
        # Every project member has the implied reader role of its
        # project: that reads nothing of the cloud.
        for token in ('member-token', 'project-reader-token'):
            for path in ('/v1/nodes', '/v1/nodes/cmp-01/hardware',
                         '/v1/vms', '/v1/decisions', '/v1/recoveries',
                         '/v1/events'):
                self.assertError(self._call('GET', path, token), 403,
                                 'vmguard.policy_forbidden')
        # A system-scoped reader reads, and changes nothing.
        self.assertEqual(200, self._call('GET', '/v1/decisions',
                                         'system-reader-token').status_code)
        self.assertError(self._call('PUT', '/v1/nodes/cmp-01/enable',
                                    'system-reader-token', {}), 403)
        self.assertEqual(before, self.dump())
        resp = self._call('PUT', '/v1/nodes/cmp-01/enable', 'admin-token',
                          {})
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertFalse(resp.json()['node']['disabled'])
        # The middleware logged in as the service user and asked the stub
        # to validate the users' tokens.
        self.assertIn(('POST', '/v3/auth/tokens'), self.keystone.calls)
        self.assertIn(('GET', '/v3/auth/tokens'), self.keystone.calls)
