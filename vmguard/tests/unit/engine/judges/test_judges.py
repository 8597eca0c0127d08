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

"""Each judge alone: no I/O, state in a plain dict."""

import json

from vmguard.engine.judges import base
from vmguard.engine.judges import external
from vmguard.engine.judges import hardware
from vmguard.engine.judges import identity
from vmguard.engine.judges import services
from vmguard.engine.judges import vm
from vmguard.objects import records
from vmguard.tests import base as test_base


def _snap(cycle=1, hw=(), ext=(), svc=(), vms=()):
    return records.Snapshot('n1', cycle, None,
                            [records.HardwareItem(*h) for h in hw],
                            [records.ExternalItem(*e) for e in ext],
                            [records.ServiceState(*s) for s in svc],
                            10, 1000, [records.VMInfo(*v) for v in vms])


class TestHostHardwareJudge(test_base.TestCase):

    def _state(self, *healths):
        a = base.Assessment('n1', 1)
        snap = _snap(hw=[('i%d' % n, 'disk', h)
                         for n, h in enumerate(healths)])
        hardware.HostHardwareJudge(base.Thresholds()).judge(snap, {}, a)
        return a

    def test_states(self):
        self.assertEqual('normal', self._state('ok', 'ok').host_state)
        self.assertEqual('degraded',
                         self._state('ok', 'warning').host_state)
        self.assertEqual('failed',
                         self._state('warning', 'critical').host_state)
        self.assertEqual('unknown', self._state().host_state)

    def test_not_ok_lists_the_evidence(self):
        a = self._state('ok', 'warning', 'critical')
        self.assertEqual([('i1', 'disk', 'warning'),
                          ('i2', 'disk', 'critical')], a.not_ok)


class TestIdentityPathJudge(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.judge = identity.IdentityPathJudge(
            base.Thresholds(identity_cycles=3))
        self.data = {}

    def _feed(self, cycle, ident, path, health='ok'):
        a = base.Assessment('n1', cycle)
        self.judge.judge(_snap(cycle, hw=[('disk-0', 'disk', health, ident,
                                           path)]), self.data, a)
        return a

    def test_lost_after_three_consecutive_cycles(self):
        self._feed(1, 'S1', 'inband')
        self.assertEqual([], self._feed(2, 'S1', 'oob').identity_lost)
        self.assertEqual([], self._feed(3, 'S1', 'oob').identity_lost)
        lost = self._feed(4, 'S1', 'oob').identity_lost
        self.assertEqual(1, len(lost))
        self.assertEqual({'id': 'disk-0', 'kind': 'disk', 'identity': 'S1',
                          'path': 'oob', 'baseline': 'inband',
                          'cycles': 3, 'since': 2}, lost[0])

    def test_replacement_is_a_new_baseline(self):
        self._feed(1, 'S1', 'inband')
        a = self._feed(2, 'S2', 'oob')
        self.assertEqual('replaced', a.identity_changes[0]['change'])
        for cycle in (3, 4, 5, 6):
            self.assertEqual([], self._feed(cycle, 'S2', 'oob')
                             .identity_lost)

    def test_flapping_restarts_the_count(self):
        self._feed(1, 'S1', 'inband')
        for cycle, path in enumerate(['oob', 'oob', 'inband', 'oob', 'oob',
                                      'inband'], 2):
            self.assertEqual([], self._feed(cycle, 'S1', path)
                             .identity_lost)

    def test_baseline_improves_only_while_healthy(self):
        self._feed(1, 'S1', 'oob')
        self._feed(2, 'S1', 'inband', health='warning')
        self.assertEqual('oob', self.data['items']['disk-0'][1])
        self._feed(3, 'S1', 'inband')
        self.assertEqual('inband', self.data['items']['disk-0'][1])

    def test_no_baseline_until_healthy_and_no_count_meanwhile(self):
        # Revision 2: the baseline comes from a healthy reading only.
        self._feed(1, 'S1', 'inband', health='critical')
        self.assertIsNone(self.data['items']['disk-0'][1])
        for cycle in (2, 3, 4):
            a = self._feed(cycle, 'S1', 'none', health='warning')
            self.assertEqual(([], 0), (a.identity_lost, a.identity_off))
        a = self._feed(5, 'S1', 'oob')
        self.assertEqual('baseline', a.identity_changes[0]['change'])
        self.assertEqual({'disk-0': 'oob'}, identity.baselines(
            {'data': {'identity': self.data}}))
        # none is worse than oob: counted.
        self.assertEqual(1, self._feed(6, 'S1', 'none').identity_off)

    def test_baselines_of_a_state_without_the_judge(self):
        self.assertIsNone(identity.baselines({'data': {}}))
        self.assertIsNone(identity.baselines(None))

    def test_state_is_json(self):
        self._feed(1, 'S1', 'inband')
        self._feed(2, 'S1', 'none')
        self.assertEqual(self.data, json.loads(json.dumps(self.data)))


class TestExternalAndServiceJudges(test_base.TestCase):

    def test_external_streak_counts_failed_only(self):
        judge = external.ExternalJudge(base.Thresholds())
        data = {}
        for cycle, health, expect in ((1, 'failed', 1), (2, 'failed', 2),
                                      (3, 'degraded', None),
                                      (4, 'failed', 1)):
            a = base.Assessment('n1', cycle)
            judge.judge(_snap(cycle, ext=[('nfs', 'storage', health)]),
                        data, a)
            self.assertEqual(expect, a.external_streaks.get('nfs'))

    def test_service_down_count(self):
        judge = services.ServiceJudge(base.Thresholds())
        data = {}
        for cycle, state, expect in ((1, 'stopped', 1), (2, 'failed', 2),
                                     (3, 'running', None)):
            a = base.Assessment('n1', cycle)
            judge.judge(_snap(cycle, svc=[('nova-compute', state)]), data,
                        a)
            self.assertEqual(expect, a.services_down.get('nova-compute'))


class TestVMCrash(test_base.TestCase):

    def test_classification(self):
        crash = [('crashed', 'panicked'), ('crashed', 'unknown'),
                 ('shutoff', 'crashed'), ('shutoff', 'failed'),
                 ('paused', 'ioerror'), ('paused', 'watchdog'),
                 ('paused', 'crashed')]
        not_crash = [('running', 'booted'), ('shutoff', 'shutdown'),
                     ('shutoff', 'destroyed'), ('paused', 'user'),
                     ('paused', 'migration'), ('pmsuspended', None),
                     ('shutdown', 'user')]
        for state, reason in crash:
            self.assertTrue(vm.is_crash(state, reason), (state, reason))
        for state, reason in not_crash:
            self.assertFalse(vm.is_crash(state, reason), (state, reason))

    def test_nova_task_is_never_a_crash(self):
        self.assertFalse(vm.is_crash('crashed', 'panicked', 'migrating'))
        judge = vm.VMCrashJudge(base.Thresholds(),
                                tasks={'u2': 'rebuilding'})
        a = base.Assessment('n1', 1)
        judge.judge(_snap(vms=[('u1', 'crashed', 'panicked'),
                               ('u2', 'crashed', 'panicked'),
                               ('u3', 'running', 'booted')]), {}, a)
        self.assertEqual(['u1'], [v.uuid for v in a.crashed])
        self.assertEqual(['u2', 'u3'], list(a.not_crashed))
