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


"""R9 executed against the real Nova 34 and real BMC emulators.

SPEC Revision 2: a silent node is fenced only once Nova itself reports its
nova-compute down, then powered off through its BMC (confirmed), then
forced down, then evacuated. The node's "death" here is its nova-compute
process stopped (``novactl stop-service compute-<host>``): Nova's own
heartbeat then times out (``service_down_time`` 10 s in the test Nova).
"""

import json
import time

from oslo_utils import timeutils

from vmguard.compute import fencing
from vmguard.engine import recovery
from vmguard.tests.functional.nova import base as nova_base
from vmguard.tests.functional.nova import bmc
from vmguard.tests.fixtures import webhook
from vmguard.tests.functional.nova import fixtures as nova_fixtures

NODE = 'cmp-1'
STEPS = ['check_compute', 'power_off', 'power_off_confirm', 'force_down']


class TestR9AgainstNova(nova_base.NovaRecoveryTestCase):

    def setUp(self):
        super().setUp()
        self.flags(group='recovery', compute_down_timeout=60,
                   fence_timeout=60)

    def _executor(self, fencer):
        executor = recovery.RecoveryExecutor(driver=self.driver,
                                             owner='engine-ft',
                                             fencer=fencer)
        self.addCleanup(executor.stop)
        executor.add_alert_hook(
            lambda d, r, m: self.alerts.append((d.uuid, m)))
        return executor

    def _stop_compute(self, host):
        """Stop the node's nova-compute (the node "dies" for Nova)."""
        self.addCleanup(self._restore_host, host)
        self.addCleanup(nova_fixtures.novactl, 'start-service',
                        'compute-%s' % host)
        res = nova_fixtures.novactl('stop-service', 'compute-%s' % host)
        self.assertEqual(0, res.returncode, res.stderr)

    def _watch_force_down(self, fencer):
        """Record what the BMC says when force-down reaches Nova."""
        seen = []
        real = self.driver.force_down_service

        def force_down(host, request_id, forced_down=True):
            seen.append(fencer.power_state(host))
            return real(host, request_id, forced_down)

        self.driver.force_down_service = force_down
        return seen

    def _steps(self, decision):
        return [(r.action, r.status) for r in self._rows(decision)
                if r.server == NODE]

    def _assert_untouched(self, server_id, host=NODE):
        self.assertEqual(['create'], self._actions(server_id))
        server = self.driver.get_server(server_id)
        self.assertEqual(host, server.host)
        self.assertEqual([], self._migrations(server_id))

    def _assert_fenced_then_evacuated(self, decision, servers, seen):
        self.assertEqual([fencing.POWER_OFF], seen)
        self.assertEqual(list(zip(STEPS, ['done', 'done', 'done',
                                          'accepted'], strict=True)),
                         self._steps(decision))
        rows = {(r.server, r.action): r for r in self._rows(decision)}
        confirm = rows[(NODE, 'power_off_confirm')]
        evidence = json.loads(confirm.detail)
        self.assertEqual(fencing.POWER_OFF, evidence['power_state'])
        check = json.loads(rows[(NODE, 'check_compute')].detail)
        self.assertEqual('down', check['nova_state'])
        self.assertFalse(check['forced_down'])
        force_down = json.loads(rows[(NODE, 'force_down')].detail)
        self.assertLessEqual(evidence['at_s'], force_down['accepted_after'])
        self.assertTrue(self._service(NODE).forced_down)
        confirmed_at = confirm.updated_at.replace(microsecond=0)
        for server_id in servers:
            evacuate = rows[(server_id, 'evacuate')]
            self.assertEqual('done', evacuate.status)
            # Nova's own record: the evacuation started after the BMC
            # confirmed the power off.
            [nova_action] = [
                a for a in self.driver.list_instance_actions(server_id)
                if a.action == 'evacuate']
            started = timeutils.normalize_time(
                timeutils.parse_isotime(nova_action.start_time))
            self.assertGreaterEqual(started.replace(microsecond=0),
                                    confirmed_at)
            self.assertEqual(nova_action.request_id, evacuate.request_id)
            [migration] = self._migrations(server_id)
            self.assertEqual('evacuation', migration['migration_type'])
            self.assertNotEqual(NODE, self.driver.get_server(server_id).host)

    def _fenced_row(self, scenario, decision, servers, running, target):
        expected = [('recovery', 'succeeded')] + [
            (NODE, step, status) for step, status in zip(
                STEPS, ['done', 'done', 'done', 'accepted'], strict=True)]
        for server_id in servers:
            expected += [(server_id, 'evacuate', 'done'),
                         (server_id, 'nova evacuate')]
        # 2.95: the running servers are started again on the target.
        expected += [(s, 'start:%s' % target, 'accepted') for s in running]
        self._fault_row(scenario, decision, expected, servers, dead=(NODE,))

    def test_compute_alive_escalates_and_touches_nothing(self):
        # The agent went silent but nova-compute keeps reporting to Nova.
        self.flags(group='recovery', compute_down_timeout=3)
        receiver = webhook.Receiver()
        self.addCleanup(receiver.close)
        self.flags(group='alerts', webhook_url=receiver.url)
        server_id = self._server(NODE)
        redfish = self.useFixture(bmc.SushyEmulator())
        fencer = fencing.RedfishFencer(systems={NODE: redfish.url},
                                       username='', password='',
                                       verify=False)
        executor = self._executor(fencer)
        decision = self._decision('migrate_all', NODE, target='cmp-2',
                                  rule='R9', reason='node silent')
        self.assertEqual('escalated', executor.execute(decision))
        self.assertIn('agent silent, compute alive',
                      self._recovery(decision).error)
        self.assertEqual([('check_compute', 'failed')],
                         self._steps(decision))
        self.assertEqual(1, len(self._rows(decision)))
        service = self._service(NODE)
        self.assertEqual(('up', False), (service.state, service.forced_down))
        self.assertEqual(fencing.POWER_ON, fencer.power_state(NODE))
        self._assert_untouched(server_id)
        self._wait_server(server_id, 'ACTIVE', NODE)
        self.assertEqual([decision.uuid], [a[0] for a in self.alerts])
        executor.alerter.stop()
        [(_ctype, alert)] = receiver.posts
        self.assertEqual(('escalated', NODE, 'R9', decision.uuid),
                         (alert['status'], alert['node'], alert['rule'],
                          alert['decision']))
        self.assertIn('agent silent, compute alive', alert['message'])
        self._fault_row('agent killed, nova-compute alive', decision,
                        [('recovery', 'escalated'),
                         (NODE, 'check_compute', 'failed')], [server_id])

    def test_dead_node_fenced_through_redfish_then_evacuated(self):
        running = self._server(NODE)
        stopped = self._server(NODE, stopped=True)
        redfish = self.useFixture(bmc.SushyEmulator())
        fencer = fencing.RedfishFencer(systems={NODE: redfish.url},
                                       username='', password='',
                                       verify=False)
        seen = self._watch_force_down(fencer)
        self._stop_compute(NODE)
        executor = self._executor(fencer)
        decision = self._decision('migrate_all', NODE, target='cmp-2',
                                  rule='R9', reason='node silent')
        self.assertEqual('succeeded', executor.execute(decision))
        self._assert_fenced_then_evacuated(decision, [running, stopped],
                                           seen)
        self.assertEqual('redfish', json.loads(
            self._rows(decision)[1].detail)['fencer'])
        # 2.95: evacuated servers stay SHUTOFF; the running one is started.
        self._wait_server(running, 'ACTIVE', 'cmp-2')
        self._wait_server(stopped, 'SHUTOFF', 'cmp-2')
        self.assertEqual(0, self._actions(stopped).count('start'))
        self._record_timings(decision)
        self._fenced_row('agent and nova-compute stopped, Redfish',
                         decision, [running, stopped], [running], 'cmp-2')

    def test_dead_node_fenced_through_ipmi_then_evacuated(self):
        server_id = self._server(NODE)
        sim = self.useFixture(bmc.IpmiSimBMC())
        fencer = fencing.IPMIFencer(bmcs={NODE: sim.address},
                                    username=sim.USER, password=sim.PASSWORD)
        seen = self._watch_force_down(fencer)
        self._stop_compute(NODE)
        executor = self._executor(fencing.FencerSet(
            [fencing.RedfishFencer(systems={}), fencer,
             fencing.NoneFencer()]))
        decision = self._decision('migrate_all', NODE, target='cmp-3',
                                  rule='R9', reason='node silent')
        self.assertEqual('succeeded', executor.execute(decision))
        self.assertFalse(sim.host_running())
        self._assert_fenced_then_evacuated(decision, [server_id], seen)
        self.assertEqual('ipmi', json.loads(
            self._rows(decision)[1].detail)['fencer'])
        self._wait_server(server_id, 'ACTIVE', 'cmp-3')
        self._record_timings(decision)
        self._fenced_row('agent and nova-compute stopped, IPMI', decision,
                         [server_id], [server_id], 'cmp-3')

    def test_no_bmc_escalates_and_leaves_servers_alone(self):
        server_id = self._server(NODE)
        self._stop_compute(NODE)
        # [recovery] fencers from the configuration: no BMC of cmp-1 is
        # configured, so the "none" fencer is the one, and it refuses.
        self.flags(group='recovery', fence_without_bmc=False)
        executor = self._executor(None)
        decision = self._decision('migrate_all', NODE, target='cmp-2',
                                  rule='R9', reason='node silent')
        started = time.monotonic()
        self.assertEqual('escalated', executor.execute(decision))
        self.assertLess(time.monotonic() - started, 60)
        self.assertIn('fence_without_bmc', self._recovery(decision).error)
        self.assertEqual([('check_compute', 'done'),
                          ('power_off', 'rejected')], self._steps(decision))
        self.assertEqual(2, len(self._rows(decision)))
        self.assertFalse(self._service(NODE).forced_down)
        self._assert_untouched(server_id)
        self.assertEqual(1, len(self.alerts))
        self._fault_row('no BMC, fence_without_bmc false', decision,
                        [('recovery', 'escalated'),
                         (NODE, 'check_compute', 'done'),
                         (NODE, 'power_off', 'rejected')], [server_id],
                        dead=(NODE,))
