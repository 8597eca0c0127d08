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


"""The base of the tests against a real Nova 34 (vmguard's ``nova`` back end).

The Nova of tools/nova (three fake-driver computes cmp-1..cmp-3) is
started once for the test process. Each test creates its own servers and
puts the hosts it changes (forced down, disabled) back the way it found
them. Times from the decision to each Nova action accepted and to the
server in its final state on its target are appended to
``<run dir>/timings.jsonl`` and logged.
"""

import datetime
import json
import os
import time

from oslo_log import log as logging
from oslo_utils import timeutils

from vmguard.compute import nova
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.tests.functional import base
from vmguard.tests.functional.faults import table
from vmguard.tests.functional.nova import fixtures as nova_fixtures

LOG = logging.getLogger(__name__)
VERSION = '2.95'
#: Nova instance actions that move or restart a server (what a recovery
#: sends); counted in the fault table rows.
NOVA_RECOVERY = ('evacuate', 'reboot', 'migrate', 'live-migration',
                 'rebuild')


class NovaApiMixin(object):
    """Servers of the test Nova, through ``self.compute`` (an openstacksdk
    compute proxy) and ``self.driver`` (vmguard's Nova driver)."""

    #: Seconds a server may take to reach a state.
    WAIT_TIMEOUT = 60
    #: Names of the servers a test creates.
    SERVER_PREFIX = 'vmguard-ft'

    def _nova(self, method, url, body=None, ok=(200, 202, 204)):
        resp = self.compute.request(url, method, json=body,
                                    microversion=VERSION, raise_exc=False)
        if resp.status_code not in ok:
            self.fail('%s %s -> %s %s' % (method, url, resp.status_code,
                                          resp.text[:500]))
        return resp.json() if resp.content else None

    def _wait_server(self, server_id, status, host=None, timeout=None):
        timeout = timeout or self.WAIT_TIMEOUT
        deadline = time.monotonic() + timeout
        while True:
            server = self.driver.get_server(server_id)
            if (server.status == status and server.task_state is None
                    and (host is None or server.host == host)):
                return server
            if time.monotonic() > deadline:
                self.fail('server %s is %s on %s (task %s), expected %s%s'
                          % (server_id, server.status, server.host,
                             server.task_state, status,
                             ' on %s' % host if host else ''))
            time.sleep(0.2)

    def _server(self, host, stopped=False, metadata=None, flavor=None):
        server = {
            'name': '%s-%s' % (self.SERVER_PREFIX,
                               self.id().rsplit('.', 1)[-1]),
            'imageRef': self.env['image'],
            'flavorRef': flavor or self.env['flavor'],
            'networks': 'none', 'availability_zone': 'nova:%s' % host}
        if metadata:
            server['metadata'] = metadata
        body = self._nova('POST', '/servers', {'server': server})
        server_id = body['server']['id']
        self.addCleanup(self._delete_server, server_id)
        self._wait_server(server_id, 'ACTIVE', host)
        if stopped:
            self._nova('POST', '/servers/%s/action' % server_id,
                       {'os-stop': None})
            self._wait_server(server_id, 'SHUTOFF', host)
        return server_id

    def _delete_server(self, server_id):
        self._nova('DELETE', '/servers/%s' % server_id, ok=(204, 404))


class NovaRecoveryTestCase(NovaApiMixin, base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        try:
            self.env = nova_fixtures.real_nova()
        except nova_fixtures.NovaUnavailable as exc:
            self.fail(str(exc))
        self.db = self.mariadb()
        self.flags(group='nova', auth_type='none',
                   endpoint_override=self.env['endpoint'])
        self.flags(group='recovery', poll_interval=0.2, retry_interval=0.5,
                   action_timeout=120, retries=3)
        self.driver = nova.NovaComputeDriver()
        self.compute = self.driver.connection.compute
        self.hosts = self.env['hosts']
        for host in self.hosts:
            self._restore_host(host)
            db_api.node_get_or_create(self.context, host)
            db_api.node_update(self.context, host, {
                'host_state': 'normal', 'vcpus_free': 64,
                'ram_mb_free': 65536, 'last_cycle': 100})
        self.executor = recovery.RecoveryExecutor(driver=self.driver,
                                                  owner='engine-ft')
        self.addCleanup(self.executor.stop)
        self.alerts = []
        self.executor.add_alert_hook(
            lambda d, r, m: self.alerts.append((d.uuid, m)))
        self._n = 0

    # --- Nova helpers -------------------------------------------------------

    def _actions(self, server_id):
        return [a.action for a in
                self.driver.list_instance_actions(server_id)]

    def _migrations(self, server_id):
        return self.driver.list_migrations(server_id)

    def _service(self, host):
        return self.driver.get_service(host)

    def _restore_host(self, host):
        """Force up and enable a host again (restarting its nova-compute
        first when it was forced down, which Nova requires to clean up
        evacuated servers)."""
        svc = self._service(host)
        if svc.forced_down:
            name = 'compute-%s' % host
            nova_fixtures.novactl('stop-service', name)
            res = nova_fixtures.novactl('start-service', name)
            self.assertEqual(0, res.returncode, res.stderr)
            deadline = time.monotonic() + 90
            while True:
                resp = self.compute.request(
                    '/os-services/%s' % svc.id, 'PUT',
                    json={'forced_down': False}, microversion=VERSION,
                    raise_exc=False)
                if resp.status_code == 200:
                    break
                if time.monotonic() > deadline:
                    self.fail('cannot force %s up: %s' % (host, resp.text))
                time.sleep(1)
        if svc.status != 'enabled':
            self._nova('PUT', '/os-services/%s' % svc.id,
                       {'status': 'enabled'})
        deadline = time.monotonic() + 90
        while self._service(host).state != 'up':
            if time.monotonic() > deadline:
                self.fail('nova-compute of %s is not up again' % host)
            time.sleep(0.5)

    def _force_down(self, host):
        svc = self._service(host)
        self._nova('PUT', '/os-services/%s' % svc.id, {'forced_down': True})
        self.addCleanup(self._restore_host, host)

    # --- vmguard helpers ----------------------------------------------------

    def _decision(self, action, node, vm=None, target=None, rule='R1',
                  reason='functional test'):
        self._n += 1
        self.t_decision = timeutils.utcnow().replace(tzinfo=None)
        decision, _created = db_api.decision_create(self.context, {
            'incident_key': '%s-%d' % (self.id(), self._n), 'node': node,
            'cycle': 100, 'action': action, 'vm': vm, 'target': target,
            'rule': rule, 'reason': reason})
        return decision

    def _recovery(self, decision):
        return db_api.recovery_get_by_decision(self.context, decision.id)

    def _rows(self, decision):
        return db_api.recovery_action_list(self.context,
                                           self._recovery(decision).id)

    def _record_timings(self, decision):
        """Seconds from the decision to each action accepted by Nova and to
        the server in its final state; logged and appended to
        timings.jsonl."""
        out = []
        for row in self._rows(decision):
            detail = json.loads(row.detail or '{}')
            entry = {'test': self.id().rsplit('.', 2)[-1],
                     'decision': decision.action, 'rule': decision.rule,
                     'action': row.action, 'server': row.server,
                     'target': row.target, 'status': row.status}
            for key in ('accepted_at', 'finished_at'):
                if detail.get(key):
                    at = datetime.datetime.fromisoformat(detail[key])
                    entry[key.replace('_at', '_s')] = round(
                        (at - self.t_decision).total_seconds(), 3)
            out.append(entry)
            LOG.info('timing %s', entry)
        with open(os.path.join(self.env['run_dir'], 'timings.jsonl'),
                  'a') as f:
            for entry in out:
                f.write(json.dumps(entry) + '\n')
        return out

    def _fault_row(self, scenario, decision, expected, servers, dead=()):
        """Record the scenario's fault-table row and assert it.

        Keys made: the recovery's status, each recorded action
        ``(server, action, status)`` of *servers* and hosts, and each
        recovery action Nova logged for *servers*. Healthy nodes fenced:
        Nova computes forced down other than the *dead* ones (must be 0).
        """
        rec = self._recovery(decision)
        made = [('recovery', rec.status)]
        # Rows of servers other tests left on the node are not counted.
        made += [(r.server, r.action, r.status) for r in self._rows(decision)
                 if r.server in servers or r.server in self.hosts]
        for server_id in servers:
            made += [(server_id, 'nova ' + a) for a in self._actions(server_id)
                     if a in NOVA_RECOVERY]
        fenced = [h for h in self.hosts
                  if h not in dead and self._service(h).forced_down]
        row = table.record(
            'issue 12: %s (Nova)' % scenario, expected, made,
            '%s %s: %s; healthy nodes fenced %d' % (
                decision.rule, decision.action, rec.status, len(fenced)))
        self.assertEqual((0, 0, []), (row.lost, row.doubled, fenced),
                         '%s: made %s' % (row, sorted(made, key=str)))
        return row
