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

"""The pipeline's hooks for the engine service (wall clock, state)."""

import json

from vmguard.common import exception
from vmguard.engine.judges import base as judge_base
from vmguard.engine import clock
from vmguard.engine import pipeline
from vmguard.engine import targets
from vmguard.objects import records
from vmguard.tests import base


def snap(node, cycle, health='ok', vms=(), ram=64000):
    return records.parse_record({
        'type': 'snapshot', 'node': node, 'cycle': cycle,
        'hardware': [{'id': 'psu-1', 'kind': 'power', 'health': health}],
        'external': [], 'services': [],
        'capacity': {'vcpus_free': 16, 'ram_mb_free': ram},
        'vms': [{'uuid': u, 'state': s, 'reason': r, 'vcpus': 2,
                 'ram_mb': 2048} for u, s, r in vms]})


def event(node, cycle, uuid):
    return records.VMEvent(node, cycle, uuid, 'crashed', 'panicked')


class TestPipeline(base.TestCase):

    def setUp(self):
        super().setUp()
        self.p = pipeline.Pipeline.from_config(self.conf)
        for node in ('a', 'b'):
            self.p.process(snap(node, 1, vms=[('u-' + node, 'running',
                                               'booted')]))

    def test_from_config_loads_judges_by_name(self):
        self.assertEqual(list(pipeline.DEFAULT_JUDGES),
                         [j.name for j in self.p.judges])

    def test_unknown_judge_is_a_clear_error(self):
        self.flags(group='engine', judges=['host_hardware', 'nope'])
        exc = self.assertRaises(exception.DriverLoadError,
                                pipeline.Pipeline.from_config, self.conf)
        self.assertIn('vmguard.judges driver nope', str(exc))

    def test_wall_clock_pairing_timeout(self):
        self.assertEqual([], self.p.process(event('a', 2, 'u-a'),
                                            now=1000.0))
        self.assertEqual([], self.p.tick(1005.0))
        out = self.p.tick(1015.0)
        self.assertEqual([('evacuate', 'R3', 'b')],
                         [(d.action, d.rule, d.target) for d in out])
        self.assertEqual('unknown', out[0].evidence['host_state'])

    def test_event_paired_when_snapshot_arrives_in_time(self):
        self.p.process(event('a', 2, 'u-a'), now=1000.0)
        out = self.p.process(snap('a', 2, vms=[('u-a', 'crashed',
                                                'panicked')]), now=1003.0)
        self.assertEqual(['reboot'], [d.action for d in out])
        self.assertEqual([], self.p.tick(1100.0))

    def test_late_snapshot_pairs_its_events_only(self):
        self.p.process(snap('a', 3))
        self.p.process(event('a', 2, 'u-a'), now=10.0)
        out = self.p.process(snap('a', 2, health='critical'))
        # Paired with cycle 2 (failed) -> evacuate; no R4 backwards.
        self.assertEqual([('evacuate', 'R3')],
                         [(d.action, d.rule) for d in out])

    def test_duplicate_snapshot_is_harmless(self):
        crashed = [('u-a', 'crashed', 'panicked')]
        self.assertEqual(1, len(self.p.process(snap('a', 2, vms=crashed))))
        self.assertEqual([], self.p.process(snap('a', 2, vms=crashed)))
        self.assertEqual(1, self.p.stats['duplicates'])

    def test_task_state_hook(self):
        self.p.set_vm_task_state('u-a', 'migrating')
        self.assertEqual([], self.p.process(
            snap('a', 2, vms=[('u-a', 'crashed', 'panicked')])))
        self.p.set_vm_task_state('u-a', None)
        self.p.process(snap('a', 3, vms=[('u-a', 'running', 'booted')]))
        self.p.process(snap('b', 3))
        self.assertEqual(['reboot'], [d.action for d in self.p.process(
            snap('a', 4, vms=[('u-a', 'crashed', 'panicked')]))])

    def test_disabled_until_enabled(self):
        out = self.p.process(snap('b', 2, health='critical'))
        self.assertEqual(['migrate_all', 'disable_node'],
                         [d.action for d in out])
        self.p.process(snap('b', 3))
        crashed = [('u-a', 'crashed', 'panicked')]
        self.p.process(snap('a', 3))
        out = self.p.process(snap('a', 4, health='warning', vms=crashed))
        self.assertEqual([('escalate', None)],
                         [(d.action, d.target) for d in out])
        self.p.enable_node('b')
        for cycle in (4, 5, 6):
            self.p.process(snap('b', cycle))
        self.p.process(snap('a', 5, vms=[('u-a', 'running', 'booted')]))
        out = self.p.process(snap('a', 6, health='warning', vms=crashed))
        self.assertEqual([('evacuate', 'b')],
                         [(d.action, d.target) for d in out])

    def test_export_import_continues_counters(self):
        crashed = [('u-a', 'crashed', 'panicked')]
        ok = [('u-a', 'running', 'booted')]
        c = 2
        for _ in range(3):
            self.p.process(snap('a', c, vms=crashed))
            self.p.process(snap('a', c + 1, vms=ok))
            c += 2
        blob = json.loads(json.dumps(self.p.export_node_state('a')))
        other = pipeline.Pipeline()
        other.import_node_state('a', blob)
        out = other.process(snap('a', c, vms=crashed))
        self.assertEqual([('escalate', 'R2')],
                         [(d.action, d.rule) for d in out])

    def test_incident_key_is_stable(self):
        out1 = self.p.process(snap('b', 2, health='critical'))
        other = pipeline.Pipeline()
        other.process(snap('a', 1))
        other.process(snap('b', 1))
        out2 = other.process(snap('b', 2, health='critical'))
        self.assertEqual([d.incident_key for d in out1],
                         [d.incident_key for d in out2])
        self.assertEqual(len(out1), len({d.incident_key for d in out1}))

    def test_silent_node_by_the_wall_clock(self):
        # Revision 2: the engine's clock is the wall clock; a node is
        # silent after silent_cycles * cycle_interval seconds while
        # another node reports, and R9 is decided once.
        p = pipeline.Pipeline(clock=clock.WallClock(judge_base.Thresholds()))
        t0 = 1000.0
        p.process(snap('a', 1), now=t0)
        p.process(snap('b', 1), now=t0)
        self.assertEqual([], p.process(snap('b', 2), now=t0 + 10))
        self.assertEqual([], p.tick(t0 + 25))
        out = p.process(snap('b', 3), now=t0 + 30)
        self.assertEqual([('a', 'R9', 'migrate_all', 4)],
                         [(d.node, d.rule, d.action, d.cycle) for d in out])
        self.assertEqual([], p.tick(t0 + 100))
        self.assertTrue(p.silent('a'))


class TestTargets(base.TestCase):

    def test_most_free_ram_ties_by_name(self):
        d = targets.MemoryDirectory()
        d.update('c', 'normal', False, 8, 4000)
        d.update('b', 'normal', False, 8, 4000)
        d.update('a', 'normal', False, 8, 1000)
        d.update('x', 'degraded', False, 8, 9000)
        d.update('y', 'normal', True, 8, 9000)
        d.update('z', 'normal', False, None, None)
        sel = targets.MostFreeRamSelector()
        self.assertEqual(['b', 'c', 'a'], sel.select(d, 'src', 2, 512))
        self.assertEqual(['b', 'c'], sel.select(d, 'src', 2, 2000))
        self.assertEqual([], sel.select(d, 'src', 9, 512))
        d.reserve('b', 2, 3500)
        self.assertEqual(['c', 'a', 'b'], sel.select(d, 'src', 2, 100))

    def test_limit_keeps_the_best_in_order(self):
        d = targets.MemoryDirectory()
        for i, ram in enumerate([500, 9000, 700, 9000, 100, 3000]):
            d.update('n%d' % i, 'normal', False, 8, ram)
        sel = targets.MostFreeRamSelector()
        full = sel.select(d, 'src', 1, 1)
        self.assertEqual(['n1', 'n3', 'n5', 'n2', 'n0', 'n4'], full)
        for limit in range(0, 8):
            self.assertEqual(full[:limit],
                             sel.select(d, 'src', 1, 1, limit=limit))

    def test_thresholds_from_config(self):
        self.flags(group='engine', max_reboots=5)
        self.assertEqual(5, judge_base.Thresholds.from_config(
            self.conf).max_reboots)


class TestRegressions(base.TestCase):
    """Bugs found in review of the judgment core."""

    def _ext_snap(self, node, cycle, health):
        return records.parse_record({
            'type': 'snapshot', 'node': node, 'cycle': cycle,
            'hardware': [{'id': 'psu-1', 'kind': 'power', 'health': 'ok'}],
            'external': [{'id': 'nfs', 'kind': 'storage',
                          'health': health}],
            'services': [], 'capacity': {'vcpus_free': 8,
                                         'ram_mb_free': 8000},
            'vms': []})

    def test_event_before_a_snapshot_taken_just_before_the_crash(self):
        p = pipeline.Pipeline()
        p.process(snap('a', 1, vms=[('u', 'running', 'booted')]))
        p.process(snap('b', 1))
        p.process(event('a', 2, 'u'))
        out = p.process(snap('a', 2, vms=[('u', 'running', 'booted')]))
        self.assertEqual(['reboot'], [d.action for d in out])
        # The next cycle still shows the (same) crash: no second decision.
        self.assertEqual([], p.process(
            snap('a', 3, vms=[('u', 'crashed', 'panicked')])))

    def test_decided_crashes_of_departed_vms_are_forgotten(self):
        p = pipeline.Pipeline()
        for c in range(1, 30):
            p.process(snap('a', c, vms=[('vm-%d' % c, 'crashed',
                                         'panicked')]))
            p.process(snap('b', c))
        self.assertLessEqual(len(p.nodes['a'].decided), 1)

    def test_snapshot_without_vms_does_not_rearm_a_decided_crash(self):
        # An agent restarted before libvirt is reachable reports its
        # hardware but no domains for a few cycles; the crashed VM is
        # still crashed when libvirt answers again: decided once.
        p = pipeline.Pipeline()
        crashed = [('u', 'crashed', 'panicked'),
                   ('v', 'running', 'booted')]

        def cycle(c, vms=()):
            p.process(snap('b', c))
            return [(d.action, d.vm) for d in p.process(snap('a', c,
                                                             vms=vms))]

        self.assertEqual([('reboot', 'u')], cycle(1, crashed))
        self.assertEqual([], cycle(2))
        self.assertEqual([], cycle(3))
        self.assertEqual([], cycle(4, crashed))
        # Seen not crashed again: re-armed, a new crash is decided.
        self.assertEqual([], cycle(5, [('u', 'running', 'booted')]))
        self.assertEqual([('reboot', 'u')], cycle(6, crashed))

    def test_consecutive_means_without_a_missing_cycle(self):
        p = pipeline.Pipeline()
        out = []
        for c in (1, 2, 9):
            out += p.process(self._ext_snap('a', c, 'failed'))
        self.assertEqual([], [d.rule for d in out])
        for c in (10, 11):
            out += p.process(self._ext_snap('a', c, 'failed'))
        self.assertEqual(['R6', 'R6'], [d.rule for d in out])


class TestIncidentKey(base.TestCase):

    def test_long_keys_fit_their_column_and_stay_distinct(self):
        from vmguard.engine import decision as dec
        node = 'n' * 255
        a = dec.Decision(node, 7, 'reboot', 'R1', 'x', vm='a' * 36)
        b = dec.Decision(node, 7, 'reboot', 'R1', 'x', vm='b' * 36)
        self.assertEqual(255, len(a.incident_key))
        self.assertNotEqual(a.incident_key, b.incident_key)
        self.assertEqual(a.incident_key, dec.Decision(
            node, 7, 'reboot', 'R1', 'y', vm='a' * 36).incident_key)
        short = dec.Decision('cmp-1', 7, 'reboot', 'R1', 'x', vm='v')
        self.assertEqual('R1:cmp-1:7:reboot:v', short.incident_key)
