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

"""The engine's RPC endpoint on a real (SQLite) database."""

import collections
import time
from unittest import mock

from oslo_db import exception as db_exc

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.engine import manager
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import base as objects_base
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.engine import streams


def obj(data):
    return snapshot_obj.Snapshot.from_json_dict(data)


class EngineTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        # One node per rule: five incidents within three cycles would be
        # a storm for R10 (revision 2), which has its own tests.
        self.flags(group='engine', max_reboots=1, storm_min_nodes=100)
        self.flags(host='engine-a')
        self.engine = service.Engine(self.conf)
        self.manager = manager.EngineManager(self.engine)

    def send(self, data):
        self.manager.report_snapshot(self.context, obj(data))

    def decisions(self):
        return db_api.decision_list(self.context)

    def later(self, engine=None, silent=('r9', 'quiet')):
        """1000 s later every node but ``silent`` reports again for
        silent_cycles cycles (R9 needs other nodes reporting, and counts
        from the end of a pause of all nodes), then the periodic task
        runs."""
        engine = engine or self.engine
        now = time.time() + 1000
        interval = self.conf.engine.cycle_interval
        for step in range(self.conf.engine.silent_cycles + 1):
            for name in sorted(engine.pipeline.nodes):
                st = engine.pipeline.nodes[name]
                if name in silent or st.last_cycle is None:
                    continue
                data = streams.next_snapshot(name, st.last_cycle + 1)
                engine.handle(records.parse_snapshot(data),
                              now=now + step * interval)
        engine.tick(now=now + self.conf.engine.silent_cycles * interval)

    def stream(self, cycles=None):
        for _cycle, snaps in streams.rule_stream()[:cycles]:
            for data in snaps:
                self.send(data)


class TestRules(EngineTestCase):

    def test_every_rule_decided_once_and_stored_with_evidence(self):
        self.stream()
        self.later()
        rows = self.decisions()
        self.assertEqual(streams.EXPECTED, streams.counted(rows))
        r4 = [r for r in rows if r.rule == 'R4'][0]
        self.assertEqual('failed', r4.evidence['host_state'])
        self.assertEqual([['dimm-A1', 'memory', 'critical']],
                         r4.evidence['not_ok'])
        self.assertEqual('engine-a', r4.engine)
        r3 = [r for r in rows if r.rule == 'R3'][0]
        self.assertIn(r3.target, streams.TARGETS)
        # Every decision has its pending recovery.
        for row in rows:
            self.assertEqual(
                'pending',
                db_api.recovery_get_by_decision(self.context,
                                                row.id).status)

    def test_redelivered_stream_changes_nothing(self):
        stream = streams.rule_stream()
        for _cycle, snaps in stream + stream:
            for data in snaps:
                self.send(data)
        self.later()
        self.assertEqual(streams.EXPECTED,
                         streams.counted(self.decisions()))
        stats = self.engine.pipeline.stats
        self.assertEqual(len(streams.NODES) * streams.CYCLES - 4,
                         stats['duplicates'] + stats['late'])

    def test_derived_state_is_stored_change_only(self):
        self.stream()
        node = db_api.node_get(self.context, 'r4')
        self.assertEqual(streams.CYCLES, node.last_cycle)
        self.assertEqual('failed', node.host_state)
        self.assertTrue(node.disabled)
        self.assertIsNotNone(node.judge_state)
        periods = db_api.host_state_period_list(self.context, node.id,
                                                sort_dir='asc')
        self.assertEqual([('normal', 1, 2), ('failed', 3, None)],
                         [(p.state, p.cycle_from, p.cycle_to)
                          for p in periods])
        self.assertEqual('critical', periods[1].reason['not_ok'][0][2])
        changes = db_api.hardware_change_list(self.context, node.id,
                                              sort_dir='asc')
        self.assertEqual([(3, 'critical')],
                         [(c.cycle, c.health) for c in changes])
        r5 = db_api.node_get(self.context, 'r5')
        paths = [c.identity_path for c in db_api.hardware_change_list(
            self.context, r5.id, sort_dir='asc')]
        self.assertEqual(['oob'], paths)
        item = db_api.hardware_item_list(self.context, r5.id)[0]
        self.assertEqual('inband', item.baseline_path)
        svc = db_api.node_service_states(self.context,
                                         db_api.node_get(self.context,
                                                         'r7').id)[0]
        self.assertEqual(('running', 4), (svc.state, svc.since_cycle))
        vm, name = db_api.vm_get(self.context, streams.vm_uuid('r1'))
        self.assertEqual(('r1', 'crashed', 3),
                         (name, vm.state, vm.changed_cycle))

    def test_older_cycle_does_not_run_rules_backwards(self):
        self.send(streams.snapshot('n', 5))
        self.send(streams.snapshot('n', 4, health='critical'))
        self.assertEqual([], self.decisions())
        self.assertEqual(1, self.engine.pipeline.stats['late'])
        self.assertEqual(5, db_api.node_get(self.context, 'n').last_cycle)
        self.assertEqual('normal',
                         db_api.node_get(self.context, 'n').host_state)

    def test_crash_event_paired_and_stored_once(self):
        uuid = streams.vm_uuid('x')
        self.send(streams.snapshot('ok-1', 1))
        self.send(streams.snapshot('x', 1, vms=[(uuid, 'running', None)]))
        ev = snapshot_obj.VMEvent(node='x', cycle=2, uuid=uuid,
                                  event='crashed', reason='panicked',
                                  source='libvirt')
        self.manager.report_vm_event(self.context, ev)
        self.manager.report_vm_event(self.context, ev)
        self.assertEqual([], self.decisions())
        self.send(streams.snapshot('x', 2, vms=[(uuid, 'crashed',
                                                 'panicked')]))
        rows = self.decisions()
        self.assertEqual([('R1', 'reboot', uuid)],
                         [(r.rule, r.action, r.vm) for r in rows])
        self.assertEqual(1, len(db_api.vm_event_list(self.context)))

    def test_silent_by_cycles_but_not_by_the_clock_is_not_r9(self):
        # A burst (backlog): 'late' is behind in cycles, not in time.
        for cycle in (1, 2):
            self.send(streams.snapshot('late', cycle))
        for cycle in range(1, 7):
            self.send(streams.snapshot('ok-1', cycle))
        self.engine.tick()
        self.assertEqual([], self.decisions())
        for cycle in range(3, 7):
            self.send(streams.snapshot('late', cycle))
        self.later()
        self.assertEqual([], self.decisions())
        self.assertFalse(self.engine.pipeline.nodes['late'].disabled)

    def test_wall_clock_tick_decides_silent_node(self):
        for cycle in (1, 2):
            self.send(streams.snapshot('quiet', cycle))
        for cycle in range(1, 6):
            self.send(streams.snapshot('ok-1', cycle))
        self.assertEqual([], self.decisions())
        self.later()
        rows = self.decisions()
        self.assertEqual([('quiet', 'R9', 'migrate_all', 5)],
                         [(r.node, r.rule, r.action, r.cycle)
                          for r in rows])
        # The R9 incident is part of the stored judge state.
        state, _cycle = db_api.engine_judge_state_get(self.context,
                                                      'quiet')
        self.assertIn('R9', state['incidents'])


class TestRefusedByTheJudgment(EngineTestCase):
    """SPEC revision 2 on the engine path: counted, never judged."""

    def test_crash_event_of_a_node_never_seen(self):
        ev = snapshot_obj.VMEvent(node='ghost', cycle=1, uuid='u-1',
                                  event='crashed', reason='panicked',
                                  source='libvirt')
        self.manager.report_vm_event(self.context, ev)
        self.assertEqual(1, self.engine.rejected)
        self.assertEqual(1, self.engine.pipeline.stats['rejected'])
        self.assertEqual([], self.decisions())

    def test_cycle_far_ahead_of_the_wall_clock(self):
        cycle = int(time.time() // self.conf.engine.cycle_interval) + 100
        self.send(streams.snapshot('future', cycle, health='critical'))
        self.assertEqual(1, self.engine.rejected)
        self.assertEqual([], self.decisions())
        self.assertRaises(exception.NodeNotFound, db_api.node_get,
                          self.context, 'future')


class TestBaselineStored(EngineTestCase):
    """One R5 baseline: what the API shows is what the judge uses."""

    def baseline(self, node):
        item = db_api.hardware_item_list(
            self.context, db_api.node_get(self.context, node).id)[0]
        return item.baseline_path

    def test_better_healthy_path_upgrades_the_stored_baseline(self):
        self.send(streams.snapshot('p', 1, path='oob'))
        self.assertEqual('oob', self.baseline('p'))
        self.send(streams.snapshot('p', 2, path='inband'))
        self.assertEqual('inband', self.baseline('p'))
        self.send(streams.snapshot('p', 3, path='oob'))
        self.assertEqual('inband', self.baseline('p'))
        judge = self.engine.pipeline.nodes['p'].data['identity']
        self.assertEqual('inband', judge['items']['dimm-A1'][1])

    def test_no_baseline_until_read_healthy(self):
        self.send(streams.snapshot('q', 1, health='warning'))
        self.assertIsNone(self.baseline('q'))
        self.send(streams.snapshot('q', 2, path='oob'))
        self.assertEqual('oob', self.baseline('q'))


class TestDecideAndStore(EngineTestCase):
    """A crash is decided only once its decision is stored (issue 14)."""

    def test_refused_record_is_rejected_and_the_crash_decided_later(self):
        uuid = streams.vm_uuid('x')
        crashed = [(uuid, 'crashed', 'panicked')]
        self.send(streams.snapshot('ok-1', 1))
        self.send(streams.snapshot('x', 1, vms=[(uuid, 'running', None)]))
        bad = records.parse_snapshot(streams.snapshot('x', 2, vms=crashed))
        # A value the database cannot store (the validator refuses it at
        # the RPC boundary; here it reaches the store).
        bad.vms[0].reason = 'panic\ud800'
        self.assertEqual([], self.engine.handle(bad))
        self.assertEqual(1, self.engine.rejected)
        self.assertEqual([], self.decisions())
        self.assertNotIn(uuid, self.engine.pipeline.nodes['x'].decided)
        self.assertEqual({}, self.engine.pipeline.reboots)
        out = self.engine.handle(records.parse_snapshot(
            streams.snapshot('x', 3, vms=crashed)))
        self.assertEqual([('R1', 'reboot', uuid, 3)],
                         [(d.rule, d.action, d.vm, d.cycle) for d in out])
        self.assertEqual([('R1', uuid, 3)],
                         [(r.rule, r.vm, r.cycle) for r in self.decisions()])

    def test_refused_incident_opens_with_the_next_record(self):
        self.send(streams.snapshot('ok-1', 1))
        self.send(streams.snapshot('x', 1))
        bad = records.parse_snapshot(streams.snapshot('x', 2,
                                                      health='critical'))
        bad.hardware[0].kind = 'memory\ud800'
        self.assertEqual([], self.engine.handle(bad))
        self.assertNotIn('R4', self.engine.pipeline.nodes['x'].incidents)
        self.send(streams.snapshot('x', 3, health='critical'))
        self.assertEqual([('R4', 'disable_node', 3), ('R4', 'migrate_all', 3)],
                         sorted((r.rule, r.action, r.cycle)
                                for r in self.decisions()))


class TestAgentStop(EngineTestCase):
    """RPC 1.2 ``report_agent_stop`` (SPEC revision 2)."""

    def r9(self):
        return [(r.node, r.cycle) for r in self.decisions()
                if r.rule == 'R9']

    def test_stopped_agent_is_not_silent_until_it_reports_again(self):
        for cycle in (1, 2):
            self.send(streams.snapshot('calm', cycle))
            self.send(streams.snapshot('ok-1', cycle))
        self.manager.report_agent_stop(self.context, 'calm', 2)
        self.assertEqual(1, self.manager.stats['agent_stops'])
        state, _cycle = db_api.engine_judge_state_get(self.context, 'calm')
        self.assertEqual(2, state['stopped'])
        self.later(silent=('calm',))
        self.assertEqual([], self.r9())
        # Reports again, then goes quiet: silent as usual.
        self.send(streams.snapshot('calm', 8))
        self.later(silent=('calm',))
        self.assertEqual([('calm', 11)], self.r9())

    def test_bad_agent_stop_is_a_counted_rejection(self):
        self.manager.report_agent_stop(self.context, 'calm', 'two')
        self.manager.report_agent_stop(self.context, None, 2)
        self.assertEqual(2, self.manager.stats['rejected_agent_stop'])
        self.assertEqual(0, self.manager.stats['agent_stops'])


class TestTakeOver(EngineTestCase):

    def test_new_engine_continues_from_stored_state(self):
        stream = streams.rule_stream()
        for _cycle, snaps in stream[:4]:
            for data in snaps:
                self.send(data)
        other = service.Engine(self.conf)
        # What the service does at start and when membership changes.
        other.rebalance()
        other_manager = manager.EngineManager(other)
        for _cycle, snaps in stream[4:]:
            for data in snaps:
                other_manager.report_snapshot(self.context, obj(data))
        self.later(other)
        self.assertEqual(streams.EXPECTED,
                         streams.counted(self.decisions()))

    def test_two_engines_judging_the_same_records_store_once(self):
        other = manager.EngineManager(service.Engine(self.conf))
        for _cycle, snaps in streams.rule_stream():
            for data in snaps:
                self.send(data)
                other.report_snapshot(self.context, obj(data))
        self.later()
        self.later(other.engine)
        rows = self.decisions()
        self.assertEqual(streams.EXPECTED, streams.counted(rows))
        self.assertGreater(other.engine.persister.stats[
            'decisions_existing'], 0)


class _Share:
    """A coordinator giving this engine the nodes ``mine``."""

    enabled = True

    def __init__(self, host, mine):
        self.host, self.mine = host, set(mine)

    def owner(self, node):
        return self.host if node in self.mine else 'other-engine'

    def owns(self, node):
        return node in self.mine


class TestStormGuardAcrossEngines(EngineTestCase):
    """R10 is the cloud's when engines share the nodes: one engine's
    share is not a sample of the cloud (issue 20: two engines on etcd)."""

    NODES = ['n%02d' % i for i in range(20)]

    def setUp(self):
        super().setUp()
        # 20 nodes: max(3, 0.25 x 20) = 5 may open incidents in a window.
        self.flags(group='engine', storm_min_nodes=3)
        self.a = service.Engine(
            self.conf, coordinator=_Share('engine-a', self.NODES[:8]))
        self.b = service.Engine(
            self.conf, coordinator=_Share('engine-a', self.NODES[8:]))

    def cycle(self, cycle, critical=()):
        for engine, nodes in ((self.a, self.NODES[:8]),
                              (self.b, self.NODES[8:])):
            for name in nodes:
                engine.handle(records.parse_snapshot(streams.snapshot(
                    name, cycle, health='critical' if name in critical
                    else 'ok')))
        for engine in (self.a, self.b):
            engine.rebalance()

    def test_share_with_most_failed_nodes_drains_them(self):
        self.cycle(1)
        # Four failed nodes, all engine a's (4 of its 8, 4 of the 20):
        # under the cloud's limit, each drained.
        self.cycle(2, critical=self.NODES[:4])
        rows = self.decisions()
        self.assertEqual([], [r.node for r in rows if r.rule == 'R10'])
        self.assertEqual(4, len([r for r in rows
                                 if r.action == 'migrate_all']))
        # Two more, engine b's: with a's four, the sixth is one too many.
        self.cycle(3, critical=self.NODES[:4] + self.NODES[8:10])
        self.assertEqual([('n09', 'R10', 'escalate')],
                         [(r.node, r.rule, r.action)
                          for r in self.decisions() if r.rule == 'R10'])


    def test_database_error_keeps_the_last_view(self):
        self.cycle(1)
        peers = self.a.pipeline.peers
        self.assertEqual(20, peers.reporting)
        with mock.patch.object(db_api, 'decision_storm_openings',
                               side_effect=db_exc.DBConnectionError()):
            self.a.rebalance()
        self.assertIs(peers, self.a.pipeline.peers)


class TestPoison(EngineTestCase):

    def _primitive(self, data):
        return obj(data).obj_to_primitive()

    def deserialize(self, entity):
        serializer = manager.EngineSerializer(
            objects_base.VmguardObjectSerializer())
        return serializer.deserialize_entity(self.context, entity)

    def test_bad_payloads_are_counted_and_dropped(self):
        wrong_type = self._primitive(streams.snapshot('bad-1', 1))
        wrong_type['vmguard_object.data']['cycle'] = 'forty-two'
        unknown_version = self._primitive(streams.snapshot('bad-2', 1))
        unknown_version['vmguard_object.version'] = '9.0'
        missing = self._primitive(streams.snapshot('bad-3', 1))
        del missing['vmguard_object.data']['hardware']
        payloads = [self.deserialize(wrong_type),
                    self.deserialize(unknown_version),
                    self.deserialize(missing),
                    self.deserialize('garbage'),
                    self.deserialize({'vmguard_object.name': 'Nope'}),
                    42]
        self.assertIsInstance(payloads[0], manager.Rejected)
        self.assertEqual('bad-1', payloads[0].node)
        self.assertEqual('bad-2', payloads[1].node)
        with self.assertLogs('vmguard.engine.manager', 'WARNING') as logs:
            for i, payload in enumerate(payloads):
                self.send(streams.snapshot('good', i + 1))
                self.manager.report_snapshot(self.context, payload)
            self.send(streams.snapshot('good', 10, health='critical'))
        self.assertEqual(6, self.manager.stats['rejected'])
        self.assertIn('from node bad-1', logs.output[0])
        self.assertIn('from node bad-2', logs.output[1])
        self.assertEqual(10, db_api.node_get(self.context,
                                             'good').last_cycle)
        self.assertEqual(collections.Counter({
            ('good', 'R4', 'migrate_all'): 1,
            ('good', 'R4', 'disable_node'): 1}),
            streams.counted(self.decisions()))
        self.assertRaises(exception.NodeNotFound, db_api.node_get,
                          self.context,
                          'bad-1')

    def test_bad_event_is_counted(self):
        self.manager.report_vm_event(self.context, manager.Rejected(
            'ValueError: x', 'n1'))
        self.manager.report_vm_event(self.context,
                                     obj(streams.snapshot('n1', 1)))
        self.assertEqual(2, self.manager.stats['rejected_vm_event'])
