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

"""The engine while the database is unreachable: nothing is dropped.

Database calls fail with oslo.db's ``DBConnectionError`` (what a stopped
or restarting MariaDB gives) for a while, then work again (SQLite). The
functional counterpart restarts the real MariaDB server
(vmguard.tests.functional.faults.test_database).
"""

import collections
import time

import fixtures
from oslo_db import exception as db_exc

from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.engine import manager
from vmguard.engine import persistence
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.engine import streams

R4 = collections.Counter({('r4', 'R4', 'migrate_all'): 1,
                          ('r4', 'R4', 'disable_node'): 1})


class _Recovery:
    def __init__(self):
        self.submitted = []

    def submit(self, row):
        self.submitted.append((row.node, row.rule, row.action))


class _NoWriter:
    """Stands for the BatchWriter thread: the test flushes itself."""

    def notify(self):
        pass


class DbOutageTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(group='engine', max_reboots=1)
        self.flags(host='engine-a')
        self.useFixture(fixtures.MockPatchObject(
            service, 'DB_RETRY_INTERVAL', 0))
        self.recovery = _Recovery()
        self.engine = service.Engine(self.conf, recovery=self.recovery)
        # Deltas without decisions are queued, as in the service; the
        # tests flush them.
        self.engine.writer = _NoWriter()
        self.manager = manager.EngineManager(self.engine)
        self.calls = collections.Counter()

    def down(self, name, times, after=False):
        """``db_api.<name>`` fails ``times`` times with a lost connection
        (``after``: it runs, commits, then the connection is lost)."""
        real = getattr(sqla_api, name)

        def flaky(*args, **kwargs):
            self.calls[name] += 1
            if self.calls[name] > times:
                return real(*args, **kwargs)
            if after:
                real(*args, **kwargs)
            raise db_exc.DBConnectionError('(2013, Lost connection)')
        self.useFixture(fixtures.MockPatchObject(sqla_api, name, flaky))

    def send(self, node, cycle, **kw):
        self.manager.report_snapshot(self.context,
                                     snapshot_obj.Snapshot.from_json_dict(
                                         streams.snapshot(node, cycle, **kw)))

    def cycles(self, first, last):
        for cycle in range(first, last + 1):
            self.send('ok-1', cycle)
            self.send('r4', cycle,
                      health='critical' if cycle >= 3 else 'ok')

    def flush(self):
        self.engine.persister.flush()

    def made(self):
        return streams.counted(db_api.decision_list(self.context))


class TestDatabaseUnreachable(DbOutageTestCase):

    def test_decisions_wait_for_the_database_however_long(self):
        self.cycles(1, 2)
        # Longer than the attempts given to any other error.
        self.down('engine_state_save', service.STORE_ATTEMPTS * 3)
        self.cycles(3, 4)
        self.assertEqual(R4, self.made())
        self.assertEqual(sorted(R4.elements()),
                         sorted(self.recovery.submitted))
        self.flush()
        self.assertEqual(4, db_api.node_get(self.context, 'r4').last_cycle)
        self.assertTrue(db_api.node_get(self.context, 'r4').disabled)

    def test_node_read_failing_after_judgment_loses_nothing(self):
        self.cycles(1, 2)
        # A failed write dropped the node's cache: the next snapshot of
        # the node has to read it again, and the database is away.
        self.engine.persister.forget('r4')
        self.down('engine_node_load_by_name', 5)
        self.cycles(3, 3)
        self.assertEqual(6, self.calls['engine_node_load_by_name'])
        self.assertEqual(R4, self.made())
        self.flush()
        self.assertEqual(3, db_api.node_get(self.context, 'r4').last_cycle)

    def test_node_first_seen_while_the_database_is_away(self):
        self.down('engine_node_load_by_name', 3)
        self.cycles(1, 3)
        self.assertEqual(R4, self.made())
        self.flush()
        self.assertEqual(3, db_api.node_get(self.context, 'r4').last_cycle)

    def test_crash_event_stored_when_the_database_is_back(self):
        uuid = streams.vm_uuid('x')
        self.send('x', 1, vms=[(uuid, 'running', 'booted')])
        self.down('vm_event_create', 4)
        self.manager.report_vm_event(self.context, snapshot_obj.VMEvent(
            node='x', cycle=2, uuid=uuid, event='crashed',
            reason='panicked', source='libvirt'))
        self.send('x', 2, vms=[(uuid, 'crashed', 'panicked')])
        self.assertEqual(5, self.calls['vm_event_create'])
        self.assertEqual(1, len(db_api.vm_event_list(self.context,
                                                     uuid=uuid)))
        rows = db_api.decision_list(self.context)
        self.assertEqual([('R1', 'reboot', 'event')],
                         [(r.rule, r.action, r.evidence['seen_by'])
                          for r in rows])

    def test_decision_committed_as_the_connection_was_lost(self):
        # The commit went through; its answer did not. The retry finds
        # the decisions stored by this engine: recovered once, not zero
        # times.
        self.cycles(1, 2)
        self.down('engine_state_save', 1, after=True)
        self.cycles(3, 3)
        self.assertEqual(R4, self.made())
        self.assertEqual(sorted(R4.elements()),
                         sorted(self.recovery.submitted))

    def test_decision_of_another_engine_is_not_recovered_here(self):
        self.cycles(1, 2)
        other = service.Engine(self.conf)
        other.host = 'engine-b'
        for cycle in (1, 2, 3):
            for node in ('ok-1', 'r4'):
                manager.EngineManager(other).report_snapshot(
                    self.context, snapshot_obj.Snapshot.from_json_dict(
                        streams.snapshot(node, cycle, health='critical'
                                         if node == 'r4' and cycle == 3
                                         else 'ok')))
        self.down('engine_state_save', 1)
        self.cycles(3, 3)
        self.assertEqual(R4, self.made())
        self.assertEqual([], self.recovery.submitted)

    def test_stopping_engine_does_not_wait(self):
        self.down('engine_state_save', 1000)
        self.engine.stopping.set()
        self.cycles(1, 2)
        self.assertRaises(db_exc.DBConnectionError, self.cycles, 3, 3)
        self.assertEqual([], self.recovery.submitted)


class TestQueuedDeltas(DbOutageTestCase):

    def test_deltas_kept_in_order_until_the_database_is_back(self):
        self.send('x', 1)
        self.engine.persister.flush()
        for cycle, health in ((2, 'warning'), (3, 'ok'), (4, 'warning')):
            self.send('x', cycle, health=health)
        self.assertEqual(3, self.engine.persister.pending())
        self.down('engine_state_save', 2)
        for _ in range(2):
            self.assertRaises(db_exc.DBConnectionError,
                              self.engine.persister.flush)
            self.assertEqual(3, self.engine.persister.pending())
        self.send('x', 5, health='critical')
        self.assertEqual(
            [('R4', 'migrate_all'), ('R4', 'disable_node')],
            [(r.rule, r.action) for r in
             db_api.decision_list(self.context)])
        self.assertEqual(0, self.engine.persister.pending())
        node = db_api.node_get(self.context, 'x')
        self.assertEqual(5, node.last_cycle)
        # Every change of the DIMM is in its history, in order.
        changes = db_api.hardware_change_list(self.context, node.id)
        self.assertEqual(
            [(2, 'warning'), (3, 'ok'), (4, 'warning'), (5, 'critical')],
            sorted((c.cycle, c.health) for c in changes))

    def test_other_errors_still_drop_the_batch(self):
        self.send('x', 1)
        self.send('x', 2)
        self.useFixture(fixtures.MockPatchObject(
            sqla_api, 'engine_state_save',
            side_effect=db_exc.DBError('bad row')))
        self.assertRaises(db_exc.DBError, self.engine.persister.flush)
        self.assertEqual(0, self.engine.persister.pending())


class TestBatchWriter(DbOutageTestCase):

    def test_writer_keeps_deltas_across_failures(self):
        self.send('x', 1)
        self.send('x', 2)
        self.down('engine_state_save', 1)
        writer = persistence.BatchWriter(self.engine.persister,
                                         interval=0)
        writer.start()
        writer.notify()
        deadline = time.monotonic() + 10
        while not self.calls['engine_state_save'] and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        writer.stop()
        self.assertEqual(2, self.calls['engine_state_save'])
        self.assertEqual(2, db_api.node_get(self.context, 'x').last_cycle)
