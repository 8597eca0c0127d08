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

"""A small client of the vmguard REST API over a keystoneauth session."""

import urllib.parse

from keystoneauth1 import adapter
from oslo_log import log as logging
from osc_lib import exceptions

LOG = logging.getLogger(__name__)

SERVICE_TYPE = 'vmguard'
# The newest microversion this client speaks (vmguard.api.microversion).
# The one used is negotiated with the server: the highest both know.
API_MICROVERSION = '1.3'
MIN_MICROVERSION = '1.0'


def _tuple(version):
    major, minor = str(version).split('.')
    return int(major), int(minor)


class Client:

    def __init__(self, session, endpoint=None, interface=None,
                 region_name=None, headers=None):
        self._adapter = adapter.Adapter(
            session, service_type=SERVICE_TYPE, interface=interface,
            region_name=region_name, endpoint_override=endpoint,
            additional_headers=headers or {})
        self._microversion = None

    @classmethod
    def from_client_manager(cls, instance):
        config = instance.get_configuration()
        headers = {}
        if instance.auth_plugin_name == 'none':
            # An API with [api] auth_strategy = noauth trusts these.
            roles = config.get('vmguard_noauth_roles')
            headers = {
                'X-User-Id': config.get('username') or 'vmguard-cli',
                'X-Project-Id': config.get('project_id') or 'vmguard-cli',
                'X-Roles': roles or 'admin',
            }
            # Readers read only with system scope (vmguard.policies): the
            # noauth mode stands for a system-scoped token unless told
            # "none" (--os-vmguard-noauth-system-scope).
            scope = config.get('vmguard_noauth_system_scope') or 'all'
            if scope != 'none':
                headers['OpenStack-System-Scope'] = scope
        endpoint = instance.get_endpoint_for_service_type(
            SERVICE_TYPE, region_name=instance.region_name,
            interface=instance.interface)
        return cls(instance.session, endpoint=endpoint,
                   interface=instance.interface,
                   region_name=instance.region_name, headers=headers)

    @property
    def microversion(self):
        """The microversion negotiated with the server (asked once)."""
        if self._microversion is None:
            self._microversion = self._negotiate()
        return self._microversion

    def _negotiate(self):
        resp = self._adapter.request('/', 'GET', raise_exc=False,
                                     headers={'Accept': 'application/json'})
        try:
            version = resp.json()['versions'][0]
            server_min = _tuple(version['min_version'])
            server_max = _tuple(version['max_version'])
        except (ValueError, KeyError, IndexError, TypeError):
            # No version document (an old server): the oldest version.
            LOG.debug('No microversion range from the server (HTTP %s); '
                      'using %s', resp.status_code, MIN_MICROVERSION)
            return MIN_MICROVERSION
        chosen = min(server_max, _tuple(API_MICROVERSION))
        if chosen < server_min or chosen < _tuple(MIN_MICROVERSION):
            raise exceptions.CommandError(
                'The vmguard API supports microversions %s.%s to %s.%s; '
                'this client speaks %s to %s' % (
                    server_min + server_max
                    + (MIN_MICROVERSION, API_MICROVERSION)))
        LOG.debug('vmguard API microversion %d.%d (server %d.%d-%d.%d)',
                  *(chosen + server_min + server_max))
        return '%d.%d' % chosen

    def require(self, version, what):
        """Fail clearly when the server is older than ``version``."""
        if _tuple(self.microversion) < _tuple(version):
            raise exceptions.CommandError(
                '%s needs vmguard API microversion %s; the server '
                'supports up to %s' % (what, version, self.microversion))

    def _request(self, method, path, body=None):
        kwargs = {'raise_exc': False,
                  'headers': {'OpenStack-API-Version': '%s %s' % (
                      SERVICE_TYPE, self.microversion),
                      'Accept': 'application/json'}}
        if body is not None:
            kwargs['json'] = body
        resp = self._adapter.request(path, method, **kwargs)
        if resp.status_code >= 400:
            raise exceptions.CommandError(self._error_message(resp))
        return resp.json()

    @staticmethod
    def _error_message(resp):
        try:
            error = resp.json()['errors'][0]
            return 'HTTP %s %s: %s (request id %s)' % (
                error['status'], error['title'], error['detail'],
                error.get('request_id'))
        except (ValueError, KeyError, IndexError, TypeError):
            return 'HTTP %s: %s' % (resp.status_code, resp.text[:500])

    def get(self, path, **params):
        params = {k: v for k, v in params.items() if v is not None}
        if params:
            path += '?' + urllib.parse.urlencode(params)
        return self._request('GET', path)

    def put(self, path, body):
        return self._request('PUT', path, body)

    def post(self, path, body):
        return self._request('POST', path, body)

    def list(self, path, collection, limit=None, **params):
        """All items (following "next" links) or one page of ``limit``."""
        items = []
        params['limit'] = limit
        while True:
            page = self.get(path, **params)
            items.extend(page[collection])
            nexts = [link for link in page.get('links', ())
                     if link.get('rel') == 'next']
            if limit is not None or not nexts:
                return items
            query = urllib.parse.urlparse(nexts[0]['href']).query
            params = dict(urllib.parse.parse_qsl(query))
