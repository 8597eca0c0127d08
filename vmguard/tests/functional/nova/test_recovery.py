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


"""Recovery through vmguard's ``nova`` back end against a real Nova 34.

The Nova of tools/nova (three fake-driver computes cmp-1..cmp-3) is
started once for the test process. Each test creates its own servers and
puts the hosts it changes (forced down, disabled) back the way it found
them. Times from the decision to each Nova action accepted and to the
server in its final state on its target are appended to
``<run dir>/timings.jsonl`` and logged.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from vmguard.compute import base as compute_base
from vmguard.db import api as db_api
from vmguard.tests.functional.nova import base as nova_base
from vmguard.tests.functional.nova import fixtures as nova_fixtures

NovaRecoveryTestCase = nova_base.NovaRecoveryTestCase


class TestRecoveryAgainstNova(NovaRecoveryTestCase):

    def test_hard_reboot(self):
        server_id = self._server('cmp-1')
        decision = self._decision('reboot', 'cmp-1', vm=server_id)
        self.assertEqual('succeeded', self.executor.execute(decision))
        self._wait_server(server_id, 'ACTIVE', 'cmp-1')
        [row] = self._rows(decision)
        self.assertEqual(('reboot', 'done'), (row.action, row.status))
        reboots = [a for a in self.driver.list_instance_actions(server_id)
                   if a.action == 'reboot']
        self.assertEqual([row.request_id], [a.request_id for a in reboots])
        self._record_timings(decision)

    def test_r3_evacuate_from_down_host_starts_on_target(self):
        server_id = self._server('cmp-3')
        self._force_down('cmp-3')
        decision = self._decision('evacuate', 'cmp-3', vm=server_id,
                                  target='cmp-1', rule='R3',
                                  reason='VM crashed while host failed')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self._wait_server(server_id, 'ACTIVE', 'cmp-1')
        self.assertEqual(1, self._actions(server_id).count('evacuate'))
        self._record_timings(decision)

    def test_r3_evacuate_from_up_host_cold_migrates(self):
        # A crashed guest that Nova already stopped, on a degraded host
        # whose compute service is up: cold migration and confirm; Nova
        # stopped it, so vmguard does not start it.
        server_id = self._server('cmp-2', stopped=True)
        decision = self._decision('evacuate', 'cmp-2', vm=server_id,
                                  target='cmp-3', rule='R3')
        self.assertEqual('succeeded', self.executor.execute(decision))
        server = self.driver.get_server(server_id)
        self.assertNotEqual('cmp-2', server.host)
        self._wait_server(server_id, 'SHUTOFF', server.host)
        migration = max(self._migrations(server_id), key=lambda m: m['id'])
        self.assertEqual(('migration', server.host, 'confirmed'),
                         (migration['migration_type'],
                          migration['dest_compute'], migration['status']))
        self.assertEqual(0, self._actions(server_id).count('start'))
        self._record_timings(decision)

    def test_target_rejected_falls_back_to_next_target(self):
        server_id = self._server('cmp-1')
        self._force_down('cmp-1')
        # The chosen target is disabled in Nova (vmguard does not know).
        svc = self._service('cmp-2')
        self._nova('PUT', '/os-services/%s' % svc.id,
                   {'status': 'disabled', 'disabled_reason': 'ft'})
        self.addCleanup(self._restore_host, 'cmp-2')
        decision = self._decision('evacuate', 'cmp-1', vm=server_id,
                                  target='cmp-2', rule='R3')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self._wait_server(server_id, 'ACTIVE', 'cmp-3')
        rows = {r.action: r for r in self._rows(decision)}
        # Nova accepts it and its scheduler refuses the disabled host.
        self.assertIn(rows['evacuate'].status, ('rejected', 'failed'))
        self.assertEqual('done', rows['evacuate:2'].status)

    def test_migrate_all_live_and_cold(self):
        running = [self._server('cmp-2') for _ in range(2)]
        stopped = self._server('cmp-2', stopped=True)
        decision = self._decision('migrate_all', 'cmp-2', target='cmp-3',
                                  rule='R4', reason='host failed')
        self.assertEqual('succeeded', self.executor.execute(decision))
        for server_id in running:
            self._wait_server(server_id, 'ACTIVE', 'cmp-3')
            [migration] = self._migrations(server_id)
            self.assertEqual('live-migration', migration['migration_type'])
        self._wait_server(stopped, 'SHUTOFF', 'cmp-3')
        [migration] = self._migrations(stopped)
        self.assertEqual(('migration', 'confirmed'),
                         (migration['migration_type'], migration['status']))
        self.assertEqual([], self.driver.list_servers('cmp-2'))
        self._record_timings(decision)

    def test_disable_node_with_reason(self):
        self.addCleanup(self._restore_host, 'cmp-3')
        decision = self._decision('disable_node', 'cmp-3', rule='R8',
                                  reason='libvirtd keeps failing')
        self.assertEqual('succeeded', self.executor.execute(decision))
        svc = self._service('cmp-3')
        self.assertEqual(('disabled', 'vmguard R8: libvirtd keeps failing'),
                         (svc.status, svc.disabled_reason))
        node = db_api.node_get(self.context, 'cmp-3')
        self.assertTrue(node.disabled)
        self._record_timings(decision)

    def test_nova_api_down_during_recovery(self):
        self.flags(group='recovery', retries=8)
        server_id = self._server('cmp-2')
        decision = self._decision('reboot', 'cmp-2', vm=server_id)
        self.assertEqual(0, nova_fixtures.novactl(
            'stop-service', 'nova-api').returncode)
        self.addCleanup(nova_fixtures.novactl, 'start-service', 'nova-api')
        result = []
        worker = threading.Thread(
            target=lambda: result.append(self.executor.execute(decision)))
        worker.start()
        time.sleep(4)
        self.assertEqual(0, nova_fixtures.novactl(
            'start-service', 'nova-api').returncode)
        worker.join(120)
        self.assertEqual(['succeeded'], result)
        self.assertEqual(1, self._actions(server_id).count('reboot'))
        timings = self._record_timings(decision)
        # Accepted only once the API was back.
        self.assertGreater(timings[0]['accepted_s'], 4)


class TestEngineKilled(NovaRecoveryTestCase):

    def _engine(self, config):
        return subprocess.Popen(
            [sys.executable, '-m',
             'vmguard.tests.functional.nova.engine_process',
             '--config-file', config],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_engine_sigkilled_mid_migrate_all_resumes(self):
        servers = [self._server('cmp-1') for _ in range(4)]
        decision = self._decision('migrate_all', 'cmp-1', target='cmp-2',
                                  rule='R4', reason='host failed')
        fd, config = tempfile.mkstemp(suffix='.conf')
        self.addCleanup(os.unlink, config)
        with os.fdopen(fd, 'w') as f:
            f.write('[DEFAULT]\nhost = engine-ft\n'
                    '[database]\nconnection = %s\n'
                    '[nova]\nauth_type = none\nendpoint_override = %s\n'
                    '[recovery]\nmax_concurrent = 1\npoll_interval = 0.2\n'
                    'retry_interval = 0.5\n' % (self.db.url,
                                                self.env['endpoint']))
        first = self._engine(config)
        self.addCleanup(lambda: first.poll() is None and first.kill())
        deadline = time.monotonic() + 120
        # Kill it once the second server's migration is recorded.
        while len(self._rows(decision)) < 2:
            if first.poll() is not None or time.monotonic() > deadline:
                self.fail('engine ended before it was killed: %s'
                          % first.communicate()[1][-3000:])
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        self.assertEqual('running', self._recovery(decision).status)
        second = self._engine(config)
        out, err = second.communicate(timeout=300)
        self.assertEqual(0, second.returncode, err[-3000:])
        [result] = [line for line in out.splitlines()
                    if line.startswith('RESULT ')]
        self.assertEqual(['succeeded'], json.loads(result[7:]),
                         out[-6000:])
        rec = self._recovery(decision)
        self.assertEqual(('succeeded', 2), (rec.status, rec.attempts))
        for server_id in servers:
            self._wait_server(server_id, 'ACTIVE', 'cmp-2')
            self.assertEqual(1, len(self._migrations(server_id)),
                             self._migrations(server_id))
            self.assertEqual(
                1, self._actions(server_id).count(
                    compute_base.ACTION_LIVE_MIGRATE))
        self._record_timings(decision)
