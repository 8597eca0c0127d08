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

"""The engine's inbox: notifications of other monitors and manual
decisions go through the judgment's own state (in-memory SQLite)."""

import datetime

from oslo_utils import uuidutils

from vmguard.db import api as db_api
from vmguard.engine import manager
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard.tests import base
from vmguard.tests.unit.engine import streams

INTERVAL = 10


class InboxTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(group='engine', storm_min_nodes=100,
                   cycle_interval=INTERVAL)
        self.flags(host='engine-a')
        self.engine = service.Engine(self.conf)
        self.inbox = self.engine.inbox
        self.cycle = 1000

    def report(self, node, cycle=None, **kwargs):
        cycle = self.cycle if cycle is None else cycle
        self.engine.handle(records.parse_snapshot(
            streams.snapshot(node, cycle, **kwargs)), now=self.now(cycle))

    def now(self, cycle=None):
        return ((self.cycle if cycle is None else cycle) * INTERVAL
                + INTERVAL / 2)

    def notify(self, type_, node, client_id=None, **values):
        row, created = db_api.notification_create(self.context, dict(
            values, client_id=client_id or uuidutils.generate_uuid(),
            type=type_, node=node, source='pacemaker'))
        self.assertTrue(created)
        return row

    def process(self, row, cycle=None):
        status = self.inbox.process(row, now=self.now(cycle))
        return status, db_api.notification_get_by_uuid(self.context,
                                                        row.uuid)

    def decisions(self, node=None):
        return [d for d in db_api.decision_list(self.context)
                if node is None or d.node == node]


class TestHostDown(InboxTestCase):

    def test_opens_r9_once(self):
        for node in ('cmp-1', 'cmp-2'):
            self.report(node)
        row = self.notify('host_down', 'cmp-1', 'pcmk-1')
        status, row = self.process(row)
        self.assertEqual('accepted', status)
        [decision] = self.decisions()
        self.assertEqual(('migrate_all', 'R9', 'cmp-1', 'cmp-2'),
                         (decision.action, decision.rule, decision.node,
                          decision.target))
        self.assertEqual('notification:%s:migrate_all' % row.uuid,
                         decision.incident_key)
        self.assertEqual('pcmk-1', decision.evidence['notification'])
        self.assertEqual([decision.uuid], row.decisions)
        self.assertTrue(self.engine.pipeline.silent('cmp-1'))
        # Taken already: another engine (or a redelivery) does nothing.
        self.assertIsNone(self.inbox.process(row, now=self.now()))
        # Another monitor says the same: the node is being recovered.
        status, other = self.process(self.notify('host_down', 'cmp-1'))
        self.assertEqual('ignored', status)
        self.assertIn('R9 incident is open', other.message)
        self.assertEqual(1, len(self.decisions()))

    def test_a_node_r9_judged_silent_already_is_not_decided_again(self):
        self.report('cmp-1')
        self.engine.pipeline.nodes['cmp-1'].incidents['R9'] = 999
        status, row = self.process(self.notify('host_down', 'cmp-1'))
        self.assertEqual('ignored', status)
        self.assertEqual([], self.decisions())

    def test_engine_stopped_while_processing_takes_it_again(self):
        self.report('cmp-1')
        self.report('cmp-2')
        row = self.notify('host_down', 'cmp-1')
        self.assertEqual('accepted', self.process(row)[0])
        # As if the engine died before it wrote the outcome.
        db_api.notification_finish(self.context, row.uuid, 'processing')
        status, row = self.process(row)
        self.assertEqual('accepted', status)
        self.assertEqual(1, len(row.decisions))
        self.assertEqual(1, len(self.decisions()))


class TestVMCrashed(InboxTestCase):

    def test_paired_with_the_host_state_of_its_cycle(self):
        uuid = streams.vm_uuid('cmp-1')
        self.report('cmp-1', vms=[(uuid, 'running', 'booted')])
        self.report('cmp-2')
        status, row = self.process(self.notify(
            'vm_crashed', 'cmp-1', vm=uuid, reason='panicked'))
        self.assertEqual('accepted', status)
        [decision] = self.decisions()
        self.assertEqual(('reboot', 'R1', uuid, self.cycle),
                         (decision.action, decision.rule, decision.vm,
                          decision.cycle))
        self.assertEqual([decision.uuid], row.decisions)
        self.assertEqual([decision.uuid], [d.uuid for d, _r in
                                           db_api.notification_decisions(
                                               self.context, row)])

    def test_unhealthy_host_evacuates(self):
        uuid = streams.vm_uuid('cmp-1')
        self.report('cmp-1', health='warning',
                    vms=[(uuid, 'running', 'booted')])
        self.report('cmp-2')
        status, _row = self.process(self.notify('vm_crashed', 'cmp-1',
                                                vm=uuid))
        self.assertEqual('accepted', status)
        self.assertEqual([('evacuate', 'R3')], [
            (d.action, d.rule) for d in self.decisions()])

    def test_waits_for_the_snapshot_of_its_cycle(self):
        uuid = streams.vm_uuid('cmp-1')
        self.report('cmp-1', vms=[(uuid, 'running', 'booted')])
        status, row = self.process(
            self.notify('vm_crashed', 'cmp-1', vm=uuid), cycle=self.cycle + 1)
        self.assertEqual('accepted', status)
        self.assertIn('waiting for the snapshot', row.message)
        self.assertEqual([], self.decisions())
        self.report('cmp-1', cycle=self.cycle + 1,
                    vms=[(uuid, 'running', 'booted')])
        self.assertEqual(['R1'], [d.rule for d in self.decisions()])
        self.assertEqual(1, len(db_api.notification_decisions(self.context,
                                                              row)))

    def test_unknown_node_is_ignored(self):
        status, row = self.process(self.notify(
            'vm_crashed', 'ghost', vm=streams.vm_uuid('ghost')))
        self.assertEqual('ignored', status)
        self.assertIn('never sent a snapshot', row.message)


class TestProcessDown(InboxTestCase):

    def test_restart_then_escalate(self):
        self.report('cmp-1')
        need = self.conf.engine.service_cycles
        for n in range(need - 1):
            status, _row = self.process(self.notify(
                'process_down', 'cmp-1', service='nova-compute'),
                cycle=self.cycle + n)
            self.assertEqual('accepted', status)
        self.assertEqual([('restart_service', 'R7', 'nova-compute')] *
                         (need - 1), [(d.action, d.rule, d.service)
                                      for d in self.decisions()])
        status, _row = self.process(self.notify(
            'process_down', 'cmp-1', service='nova-compute'),
            cycle=self.cycle + need - 1)
        self.assertEqual('accepted', status)
        self.assertEqual(['disable_node', 'escalate'],
                         [d.action for d in self.decisions()
                          if d.rule == 'R8'])
        status, row = self.process(self.notify(
            'process_down', 'cmp-1', service='nova-compute'),
            cycle=self.cycle + need)
        self.assertEqual('ignored', status)
        self.assertIn('R8 escalated it', row.message)

    def test_not_on_an_unhealthy_host(self):
        self.report('cmp-1', health='critical')
        count = len(self.decisions())
        status, row = self.process(self.notify(
            'process_down', 'cmp-1', service='libvirtd'))
        self.assertEqual('ignored', status)
        self.assertIn('only on a normal host', row.message)
        self.assertEqual(count, len(self.decisions()))


class TestManualAndSweep(InboxTestCase):

    def _manual(self, node, minutes_ago=0):
        uuid = uuidutils.generate_uuid()
        created = (datetime.datetime.utcnow()
                   - datetime.timedelta(minutes=minutes_ago))
        decision, _ = db_api.decision_create(self.context, {
            'uuid': uuid, 'incident_key': 'manual:%s' % uuid, 'node': node,
            'cycle': self.cycle, 'action': 'migrate_all', 'rule': 'manual',
            'reason': 'operator', 'created_at': created})
        return decision

    def test_node_recovery_is_the_node_r9_incident(self):
        self.report('cmp-1')
        submitted = []
        self.engine.recovery.submit = submitted.append
        decision = self._manual('cmp-1')
        self.inbox.decision(self.context, decision.uuid)
        self.assertEqual([decision.uuid], [d.uuid for d in submitted])
        self.assertTrue(self.engine.pipeline.silent('cmp-1'))

    def test_sweep_takes_what_no_cast_brought(self):
        self.report('cmp-1')
        self.report('cmp-2')
        submitted = []
        self.engine.recovery.submit = submitted.append
        old = self._manual('cmp-2', minutes_ago=5)
        self._manual('cmp-1')  # just made: its cast is on the way
        row = self.notify('host_down', 'cmp-1', 'late-1',
                          created_at=datetime.datetime.utcnow()
                          - datetime.timedelta(minutes=5))
        self.assertEqual(2, self.inbox.sweep(now=self.now()))
        self.assertEqual([old.uuid], [d.uuid for d in submitted
                                      if d.rule == 'manual'])
        # The notification's own decision went to recovery too.
        self.assertEqual(['R9'], [d.rule for d in submitted
                                  if d.rule != 'manual'])
        self.assertEqual('accepted', db_api.notification_get(
            self.context, 'late-1').status)
        self.assertEqual(row.uuid, db_api.notification_get(
            self.context, 'late-1').uuid)


class TestBusy(InboxTestCase):

    def test_the_periodic_task_leaves_what_is_being_processed(self):
        self.report('cmp-1')
        row = self.notify('host_down', 'cmp-1',
                          created_at=datetime.datetime.utcnow()
                          - datetime.timedelta(minutes=5))
        db_api.notification_claim(self.context, row.uuid, 'engine-a')
        self.inbox._busy.add(row.uuid)
        self.assertEqual(1, self.inbox.sweep(now=self.now()))
        self.assertEqual('processing', db_api.notification_get_by_uuid(
            self.context, row.uuid).status)
        self.assertEqual([], self.decisions())
        # Once it is not busy (the engine restarted), it is taken again.
        self.inbox._busy.clear()
        self.inbox.sweep(now=self.now())
        self.assertEqual('accepted', db_api.notification_get_by_uuid(
            self.context, row.uuid).status)


class TestEndpoint(InboxTestCase):
    """RPC 1.3 on the engine's endpoint."""

    def test_casts_of_the_api_reach_the_inbox(self):
        endpoint = manager.EngineManager(self.engine)
        self.report('cmp-1')
        self.report('cmp-2')
        row = self.notify('host_down', 'cmp-1', 'ep-1')
        endpoint.process_notification(self.context, row.uuid)
        self.assertEqual('accepted', db_api.notification_get(
            self.context, 'ep-1').status)
        # Bad payloads are rejected and counted, never raised.
        endpoint.process_notification(self.context, {'uuid': row.uuid})
        endpoint.execute_decision(self.context, 42)
        self.assertEqual(2, endpoint.stats['rejected'])
        # Unknown ids are logged and ignored.
        endpoint.process_notification(self.context,
                                      uuidutils.generate_uuid())
        endpoint.execute_decision(self.context, uuidutils.generate_uuid())
        self.assertEqual(1, len(self.decisions()))
