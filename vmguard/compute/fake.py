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

"""In-memory compute back end: records every call, moves servers at once.

Used by unit tests and the all-in-one demo. It models just enough of Nova
for a recovery to be exercised: services (up/down, forced down, disabled
with a reason), servers with a host and a status, instance actions, and
Nova's refusals (evacuating from a host whose service is up, a target host
that is unknown, down or disabled). Failures can be injected per method.
"""

import collections
import threading

from oslo_utils import timeutils

from vmguard.compute import base


# The statuses the fake moves servers to -> Nova's vm_state of each.
_VM_STATES = {status: vm_state
              for vm_state, status in base.STATUS_OF_VM_STATE.items()
              if status in (base.ACTIVE, base.SHUTOFF, base.ERROR,
                            base.PAUSED, base.VERIFY_RESIZE)}


def _synced(server):
    # Nova's vm_state follows the status the fake moved the server to.
    server.vm_state = _VM_STATES.get(server.status, server.vm_state)
    return server


class FakeComputeDriver(base.ComputeDriver):

    def __init__(self):
        self._lock = threading.Lock()
        self.calls = []
        self.services = {}
        self.servers = {}
        self.actions = collections.defaultdict(list)
        # method name -> list of exceptions raised by the next calls
        self._failures = collections.defaultdict(list)
        # evacuate/migrate towards these hosts end with the server in ERROR
        self.broken_targets = set()
        # server -> its status before a cold migration (restored on confirm)
        self._power_before = {}
        self.migrations = collections.defaultdict(list)

    # --- test helpers --------------------------------------------------------

    def add_host(self, host, state='up', status='enabled'):
        self.services[host] = base.Service(
            id='svc-%s' % host, host=host, state=state, status=status)
        return self.services[host]

    def add_server(self, server_id, host, status=base.ACTIVE, vcpus=1,
                   ram_mb=512, metadata=None, flavor_extra_specs=None,
                   vm_state=None, task_state=None):
        if vm_state is None:
            vm_state = _VM_STATES.get(status, 'active')
        self.servers[server_id] = base.Server(
            id=server_id, status=status, host=host, vcpus=vcpus,
            ram_mb=ram_mb, name=server_id, vm_state=vm_state,
            task_state=task_state, metadata=dict(metadata or {}),
            flavor_extra_specs=dict(flavor_extra_specs or {}))
        return self.servers[server_id]

    def fail_next(self, method, *errors):
        """Make the next calls of ``method`` raise ``errors`` in order."""
        self._failures[method].extend(errors)

    def calls_of(self, method):
        return [c for c in self.calls if c[0] == method]

    def _record(self, method, *args):
        with self._lock:
            self.calls.append((method,) + args)
            failures = self._failures.get(method)
            if failures:
                raise failures.pop(0)

    def _server(self, server_id):
        try:
            return self.servers[server_id]
        except KeyError:
            raise base.ServerNotFound(server=server_id) from None

    def _action(self, server_id, action, request_id):
        self.actions[server_id].insert(0, base.InstanceAction(
            action=action, request_id=request_id,
            start_time=timeutils.utcnow().isoformat()))
        return request_id

    def _check_target(self, server, target):
        svc = self.services.get(target)
        if svc is None:
            raise base.ComputeRejected(
                code=404, reason='Compute host %s could not be found.'
                % target)
        if target == server.host:
            raise base.ComputeRejected(
                code=400, reason='The target host can not be the same one.')
        if svc.is_down or svc.status != 'enabled':
            raise base.ComputeRejected(
                code=400, reason='No valid host was found. Compute '
                'service of %s is unavailable at this time.' % target)

    def _land(self, server, target, status, kind):
        failed = target in self.broken_targets
        self.migrations[server.id].append({
            'id': sum(len(m) for m in self.migrations.values()) + 1,
            'migration_type': kind, 'source_compute': server.host,
            'dest_compute': target, 'status': 'error' if failed else 'done'})
        if failed:
            server.status = base.ERROR
        else:
            server.host = target
            server.status = status

    # --- reads ---------------------------------------------------------------

    def get_server(self, server_id):
        self._record('get_server', server_id)
        return _synced(self._server(server_id))

    def list_servers(self, host):
        self._record('list_servers', host)
        return [_synced(s) for s in self.servers.values() if s.host == host]

    def get_service(self, host):
        self._record('get_service', host)
        try:
            return self.services[host]
        except KeyError:
            raise base.ServiceNotFound(host=host) from None

    def list_instance_actions(self, server_id):
        self._record('list_instance_actions', server_id)
        return list(self.actions.get(server_id, ()))

    def list_migrations(self, server_id):
        self._record('list_migrations', server_id)
        return list(self.migrations.get(server_id, ()))

    # --- actions -------------------------------------------------------------

    def reboot_server(self, server_id, request_id, hard=True):
        self._record('reboot_server', server_id, request_id)
        server = self._server(server_id)
        server.status = base.ACTIVE
        return self._action(server_id, base.ACTION_REBOOT, request_id)

    def start_server(self, server_id, request_id):
        self._record('start_server', server_id, request_id)
        server = self._server(server_id)
        if server.status != base.SHUTOFF:
            raise base.ComputeRejected(
                code=409, reason='Cannot start server %s while it is in '
                'vm_state %s' % (server_id, server.status))
        server.status = base.ACTIVE
        return self._action(server_id, base.ACTION_START, request_id)

    def evacuate_server(self, server_id, target_host, request_id):
        self._record('evacuate_server', server_id, target_host, request_id)
        server = self._server(server_id)
        source = self.services.get(server.host)
        if source is not None and not source.is_down:
            raise base.ComputeRejected(
                code=400, reason='Compute service of %s is still in use.'
                % server.host)
        self._check_target(server, target_host)
        # Microversion 2.95: an evacuated server stays SHUTOFF.
        self._land(server, target_host, base.SHUTOFF, 'evacuation')
        return self._action(server_id, base.ACTION_EVACUATE, request_id)

    def live_migrate_server(self, server_id, target_host, request_id):
        self._record('live_migrate_server', server_id, target_host,
                     request_id)
        server = self._server(server_id)
        if server.status not in (base.ACTIVE, base.PAUSED):
            raise base.ComputeRejected(
                code=409, reason='Cannot live-migrate server in state %s'
                % server.status)
        self._check_target(server, target_host)
        self._land(server, target_host, server.status, 'live-migration')
        return self._action(server_id, base.ACTION_LIVE_MIGRATE, request_id)

    def migrate_server(self, server_id, target_host, request_id):
        self._record('migrate_server', server_id, target_host, request_id)
        server = self._server(server_id)
        self._check_target(server, target_host)
        self._power_before[server_id] = server.status
        self._land(server, target_host, base.VERIFY_RESIZE, 'migration')
        return self._action(server_id, base.ACTION_MIGRATE, request_id)

    def confirm_migration(self, server_id, request_id):
        self._record('confirm_migration', server_id, request_id)
        server = self._server(server_id)
        if server.status != base.VERIFY_RESIZE:
            raise base.ComputeRejected(
                code=409, reason='Server is not in VERIFY_RESIZE')
        # A cold migration keeps the power state the server had.
        server.status = self._power_before.pop(server_id, base.ACTIVE)
        return self._action(server_id, base.ACTION_CONFIRM, request_id)

    def force_down_service(self, host, request_id, forced_down=True):
        self._record('force_down_service', host, forced_down, request_id)
        svc = self.services.get(host)
        if svc is None:
            raise base.ServiceNotFound(host=host)
        svc.forced_down = forced_down
        return request_id

    def disable_service(self, host, reason, request_id):
        self._record('disable_service', host, reason, request_id)
        svc = self.services.get(host)
        if svc is None:
            raise base.ServiceNotFound(host=host)
        svc.status = 'disabled'
        svc.disabled_reason = reason
        return request_id

    def enable_service(self, host, request_id):
        self._record('enable_service', host, request_id)
        svc = self.services.get(host)
        if svc is None:
            raise base.ServiceNotFound(host=host)
        svc.status = 'enabled'
        svc.disabled_reason = None
        return request_id
