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

"""Compute back end over the Nova API (openstacksdk).

The connection is built from the keystoneauth options of ``[nova]``; every
call pins the microversion of ``[nova] api_version`` (2.95 by default:
force-down by service UUID, evacuate without ``force``, evacuated servers
stay SHUTOFF). Calls go through the SDK's compute proxy at the REST level,
so that the answer's status, body and request id are all seen: the global
request id of the recovery is sent along with every call.
"""

import threading

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

from vmguard.compute import base
from vmguard import conf

LOG = logging.getLogger(__name__)
CONF = conf.CONF

MIN_VERSION = (2, 53)


def _version_tuple(version):
    major, _sep, minor = version.partition('.')
    return int(major), int(minor or 0)


def _error_message(resp):
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or '').strip()[:500]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and 'message' in value:
                return value['message']
        if 'message' in body:
            return body['message']
    return str(body)[:500]


def _server(body):
    flavor = body.get('flavor') or {}
    return base.Server(
        id=body['id'], status=body.get('status'),
        host=body.get('OS-EXT-SRV-ATTR:host'),
        task_state=body.get('OS-EXT-STS:task_state'),
        vcpus=int(flavor.get('vcpus') or 0),
        ram_mb=int(flavor.get('ram') or 0), name=body.get('name'),
        vm_state=body.get('OS-EXT-STS:vm_state'),
        metadata=dict(body.get('metadata') or {}),
        # Embedded in the server since microversion 2.47 (admin policy).
        flavor_extra_specs=dict(flavor.get('extra_specs') or {}))


class NovaComputeDriver(base.ComputeDriver):

    def __init__(self, connection=None):
        self._conn = connection
        self._lock = threading.Lock()
        self._version = CONF.nova.api_version
        if _version_tuple(self._version) < MIN_VERSION:
            raise ValueError('[nova] api_version %s is below 2.53, which '
                             'vmguard needs' % self._version)

    @property
    def connection(self):
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn

    def _connect(self):
        import openstack.connection

        auth = ks_loading.load_auth_from_conf_options(CONF, 'nova')
        session = ks_loading.load_session_from_conf_options(CONF, 'nova',
                                                            auth=auth)
        kwargs = {'compute_api_version': self._version,
                  'interface': CONF.nova.valid_interfaces}
        if CONF.nova.region_name:
            kwargs['region_name'] = CONF.nova.region_name
        if CONF.nova.endpoint_override:
            kwargs['compute_endpoint_override'] = CONF.nova.endpoint_override
        return openstack.connection.Connection(session=session, **kwargs)

    # --- the one place that talks HTTP ---------------------------------------

    def _request(self, method, url, request_id=None, body=None):
        kwargs = {'microversion': self._version, 'raise_exc': False,
                  'connect_retries': 0}
        if body is not None:
            kwargs['json'] = body
        if request_id:
            kwargs['global_request_id'] = request_id
        try:
            resp = self.connection.compute.request(url, method, **kwargs)
        except (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout,
                ksa_exc.DiscoveryFailure) as exc:
            # Nothing reached Nova.
            raise base.ComputeUnavailable(reason=exc,
                                          maybe_sent=False) from exc
        except (ksa_exc.ClientException, OSError) as exc:
            # Read timeout and the like: Nova may have acted on it.
            raise base.ComputeUnavailable(reason=exc) from exc
        answered = (resp.headers.get('x-openstack-request-id')
                    or resp.headers.get('x-compute-request-id'))
        if resp.status_code >= 500:
            raise base.ComputeUnavailable(
                reason='%s %s: %s (request %s)' % (
                    resp.status_code, url, _error_message(resp), answered),
                code=resp.status_code,
                maybe_sent=resp.status_code not in (502, 503))
        if resp.status_code >= 400:
            raise base.ComputeRejected(
                code=resp.status_code, reason='%s (request %s)' % (
                    _error_message(resp), answered))
        LOG.debug('Nova %s %s -> %s (request %s, global %s)', method, url,
                  resp.status_code, answered, request_id)
        return resp, answered

    def _action(self, server_id, body, request_id):
        try:
            _resp, answered = self._request(
                'POST', '/servers/%s/action' % server_id, request_id, body)
        except base.ComputeRejected as exc:
            if exc.code == 404 and 'nstance' in str(exc):
                raise base.ServerNotFound(server=server_id) from exc
            raise
        return answered or request_id

    # --- reads ---------------------------------------------------------------

    def get_server(self, server_id):
        try:
            resp, _rid = self._request('GET', '/servers/%s' % server_id)
        except base.ComputeRejected as exc:
            if exc.code == 404:
                raise base.ServerNotFound(server=server_id) from exc
            raise
        return _server(resp.json()['server'])

    def list_servers(self, host):
        servers = []
        marker = None
        while True:
            url = '/servers/detail?all_tenants=1&host=%s&limit=500' % host
            if marker:
                url += '&marker=%s' % marker
            resp, _rid = self._request('GET', url)
            page = resp.json().get('servers', [])
            servers.extend(_server(s) for s in page)
            if not page or not resp.json().get('servers_links'):
                return servers
            marker = page[-1]['id']

    def get_service(self, host):
        resp, _rid = self._request(
            'GET', '/os-services?binary=nova-compute&host=%s' % host)
        services = resp.json().get('services', [])
        if not services:
            raise base.ServiceNotFound(host=host)
        svc = services[0]
        return base.Service(id=svc['id'], host=svc['host'],
                            state=svc['state'], status=svc['status'],
                            forced_down=bool(svc.get('forced_down')),
                            disabled_reason=svc.get('disabled_reason'),
                            updated_at=svc.get('updated_at'))

    def list_instance_actions(self, server_id):
        resp, _rid = self._request(
            'GET', '/servers/%s/os-instance-actions' % server_id)
        return [base.InstanceAction(action=a['action'],
                                    request_id=a.get('request_id'),
                                    start_time=a.get('start_time'))
                for a in resp.json().get('instanceActions', [])]

    def list_migrations(self, server_id):
        """Nova's migration records of a server (for checks and tests)."""
        resp, _rid = self._request(
            'GET', '/os-migrations?instance_uuid=%s' % server_id)
        return resp.json().get('migrations', [])

    # --- actions -------------------------------------------------------------

    def reboot_server(self, server_id, request_id, hard=True):
        return self._action(server_id, {'reboot': {
            'type': 'HARD' if hard else 'SOFT'}}, request_id)

    def start_server(self, server_id, request_id):
        return self._action(server_id, {'os-start': None}, request_id)

    def evacuate_server(self, server_id, target_host, request_id):
        # No "force" (gone since 2.68): the scheduler validates the target.
        return self._action(server_id, {'evacuate': {'host': target_host}},
                            request_id)

    def live_migrate_server(self, server_id, target_host, request_id):
        return self._action(server_id, {'os-migrateLive': {
            'host': target_host, 'block_migration': 'auto'}}, request_id)

    def migrate_server(self, server_id, target_host, request_id):
        return self._action(server_id, {'migrate': {'host': target_host}},
                            request_id)

    def confirm_migration(self, server_id, request_id):
        return self._action(server_id, {'confirmResize': None}, request_id)

    def _update_service(self, host, body, request_id):
        service = self.get_service(host)
        _resp, answered = self._request(
            'PUT', '/os-services/%s' % service.id, request_id, body)
        return answered or request_id

    def force_down_service(self, host, request_id, forced_down=True):
        return self._update_service(host, {'forced_down': forced_down},
                                    request_id)

    def disable_service(self, host, reason, request_id):
        return self._update_service(
            host, {'status': 'disabled', 'disabled_reason': reason},
            request_id)

    def enable_service(self, host, request_id):
        return self._update_service(host, {'status': 'enabled'},
                                    request_id)
