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

"""Microversion negotiation of the CLI's client (the HTTP boundary is a
stub here; tests/functional/cli runs it against the real API)."""

from osc_lib import exceptions
import testtools

from vmguard.cli.osc import client


class _Response:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.text = str(body)

    def json(self):
        if self._body is None:
            raise ValueError('no JSON')
        return self._body


class _Adapter:
    def __init__(self, root):
        self.root = root
        self.calls = []

    def request(self, path, method, **kwargs):
        self.calls.append((method, path, kwargs.get('headers', {})))
        if path == '/':
            return self.root
        return _Response(200, {'ok': True})


def _client(root):
    api = client.Client.__new__(client.Client)
    api._adapter = _Adapter(root)
    api._microversion = None
    return api


def _versions(low, high):
    return _Response(200, {'versions': [{'min_version': low,
                                         'max_version': high}]})


class TestNegotiation(testtools.TestCase):

    def test_highest_common_version_once(self):
        api = _client(_versions('1.0', '1.7'))
        api.get('/v1/nodes')
        api.get('/v1/vms')
        roots = [c for c in api._adapter.calls if c[1] == '/']
        self.assertEqual(1, len(roots))
        self.assertEqual('vmguard %s' % client.API_MICROVERSION,
                         api._adapter.calls[-1][2]['OpenStack-API-Version'])

    def test_older_server(self):
        api = _client(_versions('1.0', '1.0'))
        api.get('/v1/nodes')
        self.assertEqual('vmguard 1.0',
                         api._adapter.calls[-1][2]['OpenStack-API-Version'])
        exc = self.assertRaises(exceptions.CommandError, api.require, '1.1',
                                'The global dry-run switch')
        self.assertIn('needs vmguard API microversion 1.1', str(exc))
        self.assertIn('supports up to 1.0', str(exc))

    def test_server_too_new(self):
        api = _client(_versions('2.0', '2.3'))
        exc = self.assertRaises(exceptions.CommandError, api.get, '/v1')
        self.assertIn('supports microversions 2.0 to 2.3', str(exc))

    def test_no_version_document(self):
        api = _client(_Response(404, None))
        api.get('/v1/nodes')
        self.assertEqual('vmguard 1.0',
                         api._adapter.calls[-1][2]['OpenStack-API-Version'])


class _Manager:
    """Stands in for osc-lib's ClientManager."""

    def __init__(self, auth='none', **config):
        self.auth_plugin_name = auth
        self._config = config
        self.region_name = self.interface = None
        self.session = object()

    def get_configuration(self):
        return self._config

    def get_endpoint_for_service_type(self, *args, **kwargs):
        return 'http://127.0.0.1:1/'


class TestNoauthHeaders(testtools.TestCase):

    def headers(self, manager):
        return client.Client.from_client_manager(
            manager)._adapter.additional_headers

    def test_system_scope_all_by_default(self):
        headers = self.headers(_Manager(vmguard_noauth_roles='reader'))
        self.assertEqual('all', headers['OpenStack-System-Scope'])
        self.assertEqual('reader', headers['X-Roles'])

    def test_system_scope_all_when_asked(self):
        headers = self.headers(_Manager(vmguard_noauth_system_scope='all'))
        self.assertEqual('all', headers['OpenStack-System-Scope'])

    def test_no_scope_when_none(self):
        headers = self.headers(_Manager(vmguard_noauth_system_scope='none'))
        self.assertNotIn('OpenStack-System-Scope', headers)
        self.assertEqual('admin', headers['X-Roles'])

    def test_no_identity_headers_with_a_real_token(self):
        headers = self.headers(_Manager(auth='password',
                                        vmguard_noauth_system_scope='all'))
        self.assertEqual({}, headers)
