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

Keystone cannot run here: ``keystone_stub`` plays it. The middleware,
the HTTP calls it makes and vmguard's handling of what it says are
real.
"""

from vmguard.tests.functional.api import base
from vmguard.tests.functional.api import keystone_stub

TOKENS = {
    'admin-token': (['admin', 'member', 'reader'], False),
    'project-reader-token': (['reader'], False),
    'member-token': (['member', 'reader'], False),
    'system-reader-token': (['reader'], True),
}


class TestKeystoneAuth(keystone_stub.KeystoneMixin, base.APITestCase):

    auth_strategy = 'keystone'

    def configure(self):
        self.keystone = self.use_keystone(TOKENS)

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
