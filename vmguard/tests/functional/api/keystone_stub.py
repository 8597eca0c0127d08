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

"""A stub Keystone for the API's keystonemiddleware tests.

Keystone cannot run here: a small HTTP server plays it -- version
discovery, the service user's password login and the validation of the
users' tokens -- with token bodies built by keystoneauth's own fixtures.
keystonemiddleware, the HTTP calls it makes and vmguard's handling of
what it says stay real.
"""

import http.server
import json
import os
import threading

import fixtures
from keystoneauth1 import fixture as ksa_fixture
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from vmguard import conf as vmg_conf

SERVICE_TOKEN = 'service-token'
#: The service user's password in the [keystone_authtoken] section.
SERVICE_PASSWORD = 'secret'


class StubKeystone(http.server.BaseHTTPRequestHandler):
    """Answers from ``self.server.tokens`` ({token: (roles, system)}) and
    records each call in ``self.server.calls``."""

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
            if subject not in self.server.tokens:
                self._send(404, {'error': {'code': 404,
                                           'message': 'token not found'}})
                return
            roles, system = self.server.tokens[subject]
            self._send(200, self._token(roles, subject + '-user', system),
                       {'X-Subject-Token': subject})
        else:
            self._send(404, {'error': {'code': 404, 'message': self.path}})

    def do_POST(self):
        self.server.calls.append(('POST', self.path))
        length = int(self.headers.get('Content-Length', 0))
        body = json.loads(self.rfile.read(length) or b'{}')
        password = body['auth']['identity']['password']['user']['password']
        if (self.path != '/v3/auth/tokens'
                or password != SERVICE_PASSWORD):
            self._send(401, {'error': {'code': 401, 'message': 'bad'}})
            return
        self._send(201, self._token(['service'], 'vmguard'),
                   {'X-Subject-Token': SERVICE_TOKEN})


class KeystoneMixin(object):
    """For an API test case (``vmguard.tests.functional.api.base``) with
    ``auth_strategy = 'keystone'``: call :meth:`use_keystone` from its
    ``configure``."""

    def use_keystone(self, tokens):
        """Start a stub Keystone knowing ``tokens`` and point
        keystonemiddleware at it; returns the server (``url``,
        ``calls``)."""
        keystone = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                   StubKeystone)
        keystone.url = 'http://127.0.0.1:%d' % keystone.server_address[1]
        keystone.tokens = dict(tokens)
        keystone.calls = []
        thread = threading.Thread(target=keystone.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(keystone.server_close)
        self.addCleanup(keystone.shutdown)
        # keystonemiddleware registers its options (and those of the
        # auth plugin) when it is built: give them in a config file.
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'vmguard.conf')
        with open(path, 'w') as f:
            f.write('[keystone_authtoken]\n'
                    'www_authenticate_uri = %(url)s/v3\n'
                    'auth_type = password\n'
                    'auth_url = %(url)s/v3\n'
                    'username = vmguard\n'
                    'password = %(password)s\n'
                    'user_domain_id = default\n'
                    'project_name = service\n'
                    'project_domain_id = default\n'
                    'interface = internal\n'
                    'region_name = RegionOne\n'
                    % {'url': keystone.url, 'password': SERVICE_PASSWORD})
        self.conf(['--config-file', path], project='vmguard',
                  default_config_files=[])
        self.addCleanup(self._unregister_plugin_options)
        return keystone

    def _unregister_plugin_options(self):
        # auth_token registered the (required) options of the password
        # plugin on the global CONF: remove them for the next tests.
        conf = vmg_conf.CONF
        conf.clear()
        loader = ks_loading.get_plugin_loader('password')
        for opt in ks_loading.get_auth_plugin_conf_options(loader):
            try:
                conf.unregister_opt(opt, group='keystone_authtoken')
            except cfg.NoSuchOptError:
                pass
