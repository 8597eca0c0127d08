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

"""Recovery inside failover segments and restart priority (fake Nova)."""

import json

from vmguard.compute import base as compute_base
from vmguard.compute import fake
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.engine.recovery import priority
from vmguard.tests import base


class RecoveryTestCase(base.DbTestCase):
    """Three enabled hosts of the fake Nova and their stored nodes."""

    def setUp(self):
        super().setUp()
        self.flags(group='recovery', retry_interval=0.0, poll_interval=0.05,
                   max_concurrent=1, compute_down_timeout=0)
        self.driver = fake.FakeComputeDriver()
        for host in ('cmp-1', 'cmp-2', 'cmp-3'):
            self.driver.add_host(host)
            self._node(host, ram_mb_free=8192, vcpus_free=8, last_cycle=10)
        self.executor = recovery.RecoveryExecutor(
            driver=self.driver, owner='engine-1', sleep=lambda s: None)
        self.addCleanup(self.executor.stop)
        self._n = 0

    def _node(self, name, **values):
        db_api.node_get_or_create(self.context, name)
        values.setdefault('host_state', 'normal')
        db_api.node_update(self.context, name, values)

    def _decision(self, action, node='cmp-1', target=None, rule='R4'):
        self._n += 1
        decision, _created = db_api.decision_create(self.context, {
            'incident_key': 'test-%s-%s' % (self.id(), self._n),
            'node': node, 'cycle': 10, 'action': action, 'vm': None,
            'target': target, 'rule': rule, 'reason': 'test'})
        return decision

    def _recovery(self, decision):
        return db_api.recovery_get_by_decision(self.context, decision.id)

    def _actions(self, decision):
        rec = self._recovery(decision)
        return {(a.server, a.action): a
                for a in db_api.recovery_action_list(self.context, rec.id)}


class TestReservedHosts(RecoveryTestCase):

    def setUp(self):
        super().setUp()
        self.driver.add_host('cmp-4', status='disabled')
        self._node('cmp-4', ram_mb_free=4096, vcpus_free=8, last_cycle=10)

    def _segment(self, method):
        db_api.segment_create(
            self.context, {'name': 'rack-a', 'recovery_method': method},
            [{'name': 'cmp-1'}, {'name': 'cmp-2'},
             {'name': 'cmp-4', 'reserved': True}])

    def test_reserved_host_enabled_before_the_first_move(self):
        self._segment('reserved_host')
        for name in ('vm-a', 'vm-b'):
            self.driver.add_server(name, 'cmp-1')
        decision = self._decision('migrate_all', target='cmp-2', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual({'cmp-4'},
                         {s.host for s in self.driver.servers.values()})
        calls = [c[0] for c in self.driver.calls
                 if c[0] in ('enable_service', 'live_migrate_server')]
        self.assertEqual(['enable_service', 'live_migrate_server',
                          'live_migrate_server'], calls)
        self.assertEqual('enabled', self.driver.services['cmp-4'].status)
        row = self._actions(decision)[('cmp-4', 'enable')]
        self.assertIn('reserved host of segment rack-a',
                      json.loads(row.detail)['reason'])
        [host] = [h for h in db_api.segment_host_list(self.context, 'rack-a')
                  if h.node == 'cmp-4']
        self.assertIsNotNone(host.activated_at)

    def test_auto_never_uses_the_reserved_host(self):
        self._segment('auto')
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual('cmp-2', self.driver.servers['vm-a'].host)
        self.assertEqual([], self.driver.calls_of('enable_service'))
        self.assertEqual('disabled', self.driver.services['cmp-4'].status)

    def test_auto_priority_falls_back_to_the_reserved_host(self):
        self._segment('auto_priority')
        self._node('cmp-2', ram_mb_free=100)
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual('cmp-4', self.driver.servers['vm-a'].host)
        self.assertEqual(1, len(self.driver.calls_of('enable_service')))

    def test_no_reserved_host_fits_escalates(self):
        self._segment('reserved_host')
        self.driver.add_server('vm-a', 'cmp-1', ram_mb=8192)
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertIn('no eligible target', self._recovery(decision).error)
        self.assertEqual('cmp-1', self.driver.servers['vm-a'].host)
        self.assertEqual([], self.driver.calls_of('enable_service'))

    def test_enable_refused_tries_no_move_there(self):
        self._segment('rh_priority')
        self.driver.fail_next('enable_service', compute_base.ComputeRejected(
            code=403, reason='forbidden'))
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        # The reserved host could not be enabled: the next tier.
        self.assertEqual('cmp-2', self.driver.servers['vm-a'].host)

    def test_node_outside_segments_keeps_away_from_reserved_hosts(self):
        self._segment('auto')
        self._node('cmp-4', ram_mb_free=65536)
        self.driver.add_server('vm-a', 'cmp-3')
        decision = self._decision('migrate_all', node='cmp-3', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertIn(self.driver.servers['vm-a'].host, ('cmp-1', 'cmp-2'))


class TestPriority(RecoveryTestCase):

    def test_priority_from_metadata_then_flavor(self):
        server = self.driver.add_server(
            'vm-a', 'cmp-1', metadata={'vmguard:priority': '7'},
            flavor_extra_specs={'vmguard:priority': '3'})
        self.assertEqual(7, priority.priority(server))
        server = self.driver.add_server(
            'vm-b', 'cmp-1', flavor_extra_specs={'vmguard:priority': '-2'})
        self.assertEqual(-2, priority.priority(server))
        server = self.driver.add_server(
            'vm-c', 'cmp-1', metadata={'vmguard:priority': 'high'},
            flavor_extra_specs={'vmguard:priority': '4'})
        self.assertEqual(4, priority.priority(server))
        self.assertEqual(0, priority.priority(
            self.driver.add_server('vm-d', 'cmp-1')))

    def test_waves_by_priority_then_size(self):
        add = self.driver.add_server
        servers = [add('small', 'cmp-1', ram_mb=512),
                   add('big', 'cmp-1', ram_mb=4096),
                   add('vip', 'cmp-1', metadata={'vmguard:priority': '9'}),
                   add('mid', 'cmp-1', ram_mb=512, vcpus=4,
                       flavor_extra_specs={'vmguard:priority': '1'}),
                   add('mid2', 'cmp-1', ram_mb=1024,
                       flavor_extra_specs={'vmguard:priority': '1'})]
        self.assertEqual(
            [(9, ['vip']), (1, ['mid2', 'mid']), (0, ['big', 'small'])],
            [(p, [s.id for s in wave])
             for p, wave in priority.waves(servers)])

    def test_migrate_all_moves_higher_priority_first(self):
        self.flags(group='recovery', max_concurrent=4)
        self.driver.add_server('low', 'cmp-1')
        self.driver.add_server('high', 'cmp-1',
                               metadata={'vmguard:priority': '10'})
        self.driver.add_server('mid', 'cmp-1',
                               flavor_extra_specs={'vmguard:priority': '5'})
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(['high', 'mid', 'low'], [
            c[1] for c in self.driver.calls_of('live_migrate_server')])
