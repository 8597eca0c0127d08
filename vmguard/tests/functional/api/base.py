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

"""Run the REST API with a real threaded WSGI server on 127.0.0.1."""

import threading

import fixtures
import requests

from vmguard.api import deploy
from vmguard.cmd import api as api_cmd
import vmguard.conf
from vmguard import policy
from vmguard.tests.functional import base
from vmguard.tests.unit.api import data

CONF = vmguard.conf.CONF

ADMIN = {'X-User-Id': 'alice', 'X-Project-Id': 'ops', 'X-Roles': 'admin'}
# A system-scoped reader (a project's reader may not read the cloud).
READER = {'X-User-Id': 'rita', 'X-Roles': 'reader',
          'OpenStack-System-Scope': 'all'}
PROJECT_READER = {'X-User-Id': 'rita', 'X-Project-Id': 'ops',
                  'X-Roles': 'member,reader'}
MEMBER = {'X-User-Id': 'mike', 'X-Project-Id': 'p1', 'X-Roles': 'member'}


class APIServer(fixtures.Fixture):
    """vmguard's WSGI application served by vmguard-api's server class."""

    def __init__(self, conf):
        super().__init__()
        self.conf = conf

    def _setUp(self):
        app = deploy.deploy(self.conf)
        self.server = api_cmd.make_server('127.0.0.1', 0, app)
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)


class APITestCase(base.FunctionalTestCase):
    """A MariaDB database with sample rows and the API in front of it."""

    auth_strategy = 'noauth'
    seed = True

    def setUp(self):
        super().setUp()
        # oslo.policy finds its files through a parsed configuration.
        self.conf([], project='vmguard', default_config_files=[])
        policy.reset()
        self.addCleanup(policy.reset)
        self.db = self.mariadb()
        self.flags(group='api', auth_strategy=self.auth_strategy)
        self.sample = data.seed(self.context) if self.seed else None
        self.configure()
        self.api = self.useFixture(APIServer(CONF))
        self.http = requests.Session()
        self.addCleanup(self.http.close)

    def configure(self):
        """Hook for more configuration before the API starts."""

    def request(self, method, path, headers=None, version=None, **kwargs):
        headers = dict(headers or {})
        if version:
            headers['OpenStack-API-Version'] = 'vmguard %s' % version
        return self.http.request(method, self.api.url + path,
                                 headers=headers, timeout=30, **kwargs)

    def get(self, path, headers=ADMIN, **kwargs):
        return self.request('GET', path, headers=headers, **kwargs)

    def put(self, path, body, headers=ADMIN, **kwargs):
        return self.request('PUT', path, headers=headers, json=body,
                            **kwargs)

    def assertError(self, resp, status, code=None, detail_has=()):
        """An OpenStack-format error with the request id of the answer."""
        self.assertEqual(status, resp.status_code, resp.text)
        self.assertEqual('application/json',
                         resp.headers['Content-Type'].split(';')[0])
        errors = resp.json()['errors']
        self.assertEqual(1, len(errors))
        error = errors[0]
        self.assertEqual(status, error['status'])
        self.assertTrue(error['title'])
        self.assertEqual(resp.headers['x-openstack-request-id'],
                         error['request_id'])
        self.assertTrue(error['request_id'].startswith('req-'))
        if code:
            self.assertEqual(code, error['code'])
        for text in detail_has:
            self.assertIn(text, error['detail'])
        return error

    def dump(self):
        return data.dump(self.db.engine)
