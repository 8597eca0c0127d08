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


"""Maintenance and per-VM protection against the real Nova 34: the
decision is recorded, its recovery ``skipped`` with the reason, and Nova
receives nothing (its instance actions and migrations say so).

The flavor's extra spec is covered by the unit tests: the test Nova's API
answers 404 to ``os-extra-specs`` requests.
"""

from vmguard.db import api as db_api
from vmguard.tests.functional.nova import base as nova_base


class TestGuardsAgainstNova(nova_base.NovaRecoveryTestCase):

    def _assert_nothing_sent(self, server_id, host):
        self.assertEqual(['create'], self._actions(server_id))
        self.assertEqual([], self._migrations(server_id))
        self._wait_server(server_id, 'ACTIVE', host)

    def test_node_in_maintenance_with_crashed_vm(self):
        server_id = self._server('cmp-2')
        db_api.node_update(self.context, 'cmp-2', {'maintenance': True})
        decision = self._decision('reboot', 'cmp-2', vm=server_id,
                                  reason='VM crashed, host normal')
        self.assertEqual('skipped', self.executor.execute(decision))
        rec = self._recovery(decision)
        self.assertEqual(('skipped', 'maintenance'), (rec.status, rec.error))
        self.assertEqual([], self._rows(decision))
        self.assertEqual([decision.uuid], [
            d.uuid for d in db_api.decision_list(self.context)
            if d.uuid == decision.uuid])
        self._assert_nothing_sent(server_id, 'cmp-2')
        self._fault_row('maintenance, crashed VM', decision,
                        [('recovery', 'skipped')], [server_id])

    def test_server_with_protect_false_in_metadata(self):
        server_id = self._server('cmp-3',
                                 metadata={'vmguard:protect': 'false'})
        decision = self._decision('reboot', 'cmp-3', vm=server_id)
        self.assertEqual('skipped', self.executor.execute(decision))
        self.assertEqual('not protected', self._recovery(decision).error)
        self._assert_nothing_sent(server_id, 'cmp-3')
        self._fault_row('vmguard:protect=false, crashed VM', decision,
                        [('recovery', 'skipped')], [server_id])

    def test_r10_storm_escalation_sends_nothing(self):
        server_id = self._server('cmp-2')
        decision = self._decision('escalate', 'cmp-2', rule='R10',
                                  reason='storm guard: shared cause')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertEqual([], self._rows(decision))
        service = self._service('cmp-2')
        self.assertEqual(('enabled', False, 'up'),
                         (service.status, service.forced_down,
                          service.state))
        self._assert_nothing_sent(server_id, 'cmp-2')
        self.assertEqual([decision.uuid], [a[0] for a in self.alerts])
