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
