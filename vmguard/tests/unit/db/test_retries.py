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

"""Which writes are retried on a deadlock, which on a lost connection."""

from unittest import mock

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.tests import base


class TestRetries(base.DbTestCase):

    def setUp(self):
        super().setUp()
        sleep = mock.patch.object(oslo_db_api.time, 'sleep', autospec=True)
        self.sleep = sleep.start()
        self.addCleanup(sleep.stop)
        db_api.node_get_or_create(self.context, 'cmp-1')

    def _failing_once(self, exc):
        real = sqla_api._node_by_name
        calls = []

        def lookup(session, name):
            calls.append(name)
            if len(calls) == 1:
                raise exc
            return real(session, name)
        return mock.patch.object(sqla_api, '_node_by_name',
                                 side_effect=lookup), calls

    def test_deadlock_is_retried(self):
        # A Galera certification failure reaches oslo.db as DBDeadlock.
        patch, calls = self._failing_once(db_exc.DBDeadlock())
        with patch:
            node = db_api.node_update(self.context, 'cmp-1',
                                      {'host_state': 'healthy'})
        self.assertEqual('healthy', node.host_state)
        self.assertEqual(2, len(calls))

    def test_lost_connection_is_retried_for_an_idempotent_write(self):
        patch, calls = self._failing_once(db_exc.DBConnectionError())
        with patch:
            node = db_api.node_update(self.context, 'cmp-1',
                                      {'host_state': 'failed'})
        self.assertEqual('failed', node.host_state)
        self.assertEqual(2, len(calls))

    def test_lost_connection_is_not_retried_for_decisions(self):
        # The caller (engine.persistence) knows whether a decision found
        # stored after a lost commit is its own; the DB layer does not.
        values = {'incident_key': 'k1', 'node': 'cmp-1', 'rule': 'R1',
                  'action': 'reboot', 'cycle': 1, 'engine': 'e1',
                  'reason': 'test'}
        with mock.patch.object(sqla_api.models, 'Decision', autospec=True,
                               side_effect=db_exc.DBConnectionError()) as m:
            self.assertRaises(db_exc.DBConnectionError,
                              db_api.decision_create, self.context, values)
        self.assertEqual(1, m.call_count)

    def test_deadlock_is_retried_for_decisions(self):
        real = sqla_api.models.Decision
        calls = []

        def make(**kw):
            calls.append(kw)
            if len(calls) == 1:
                raise db_exc.DBDeadlock()
            return real(**kw)
        values = {'incident_key': 'k2', 'node': 'cmp-1', 'rule': 'R1',
                  'action': 'reboot', 'cycle': 1, 'engine': 'e1',
                  'reason': 'test'}
        with mock.patch.object(sqla_api.models, 'Decision', side_effect=make):
            _row, created = db_api.decision_create(self.context, values)
        self.assertTrue(created)
        self.assertEqual(2, len(calls))


class TestRepeatAfterLostCommit(base.DbTestCase):
    """A write whose commit went through but whose answer was lost is
    repeated by the retry decorator; the repeat must recognise it."""

    def setUp(self):
        super().setUp()
        db_api.node_get_or_create(self.context, 'cmp-1')
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': 'k', 'node': 'cmp-1', 'rule': 'R1',
            'action': 'reboot', 'cycle': 1, 'engine': 'e1',
            'reason': 'test'})
        self.recovery = db_api.recovery_get_by_decision(self.context,
                                                        decision.id)

    def test_transition_repeat_is_recognised(self):
        seen = {}
        first = sqla_api._recovery_transition(
            self.context, self.recovery.id, 'running', 'pending', seen,
            {'owner': 'e1'})
        again = sqla_api._recovery_transition(
            self.context, self.recovery.id, 'running', 'pending', seen,
            {'owner': 'e1'})
        self.assertEqual(('running', 1), (again.status, again.attempts))
        self.assertEqual(first.id, again.id)

    def test_transition_by_another_engine_is_not_taken_for_ours(self):
        seen = {}
        sqla_api._recovery_transition(
            self.context, self.recovery.id, 'running', 'pending', seen,
            {'owner': 'e2'})
        # e1's call, whose first attempt saw "pending" but did not commit.
        mine = {'before': ('pending', 0, None)}
        self.assertRaises(exception.InvalidStateTransition,
                          sqla_api._recovery_transition, self.context,
                          self.recovery.id, 'running', 'pending', mine,
                          {'owner': 'e1'})

    def test_fresh_call_still_fails_the_swap(self):
        db_api.recovery_transition(self.context, self.recovery.id,
                                   'running', expected='pending',
                                   owner='e1')
        self.assertRaises(exception.InvalidStateTransition,
                          db_api.recovery_transition, self.context,
                          self.recovery.id, 'running', expected='pending',
                          owner='e1')

    def test_action_create_repeat_is_ours(self):
        seen = {}
        row, created = sqla_api._recovery_action_create(
            self.context, self.recovery.id, 'vm-1', 'reboot', None, None,
            seen)
        self.assertTrue(created)
        again, created = sqla_api._recovery_action_create(
            self.context, self.recovery.id, 'vm-1', 'reboot', None, None,
            seen)
        self.assertTrue(created)
        self.assertEqual(row.id, again.id)
        # A fresh call finds it recorded by someone else.
        _row, created = db_api.recovery_action_create(
            self.context, self.recovery.id, 'vm-1', 'reboot')
        self.assertFalse(created)


class TestReadsRetried(base.DbTestCase):
    """Reads of the recovery path and of the engine's periodic task are
    repeated on a lost connection (a Galera member behind HAProxy dying
    between two steps of a recovery must not fail it)."""

    def setUp(self):
        super().setUp()
        sleep = mock.patch.object(oslo_db_api.time, 'sleep', autospec=True)
        self.sleep = sleep.start()
        self.addCleanup(sleep.stop)
        db_api.node_get_or_create(self.context, 'cmp-1')

    def _lost_once(self, func, *args):
        real = sqla_api.sa.select
        calls = []

        def select(*a, **kw):
            calls.append(a)
            if len(calls) == 1:
                raise db_exc.DBConnectionError()
            return real(*a, **kw)
        with mock.patch.object(sqla_api.sa, 'select', side_effect=select):
            out = func(self.context, *args)
        self.assertGreater(len(calls), 1)
        return out

    def test_node_summaries(self):
        # Target selection of migrate_all/evacuate reads them.
        out = self._lost_once(db_api.engine_node_summaries)
        self.assertEqual(['cmp-1'], [s['name'] for s in out])

    def test_storm_openings(self):
        import datetime
        db_api.decision_create(self.context, {
            'incident_key': 'R4:cmp-1:3:migrate_all', 'node': 'cmp-1',
            'rule': 'R4', 'action': 'migrate_all', 'cycle': 3,
            'engine': 'e1', 'reason': 'test'})
        since = datetime.datetime.utcnow() - datetime.timedelta(minutes=1)
        self.assertEqual([(3, 'cmp-1')], self._lost_once(
            db_api.decision_storm_openings, since))

    def test_recovery_reads(self):
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': 'k-read', 'node': 'cmp-1', 'rule': 'R1',
            'action': 'reboot', 'cycle': 1, 'engine': 'e1',
            'reason': 'test'})
        recovery = self._lost_once(db_api.recovery_get_by_decision,
                                   decision.id)
        self.assertEqual('pending', recovery.status)
        self.assertEqual([], self._lost_once(db_api.recovery_action_list,
                                             recovery.id))
        self.assertEqual(1, len(self._lost_once(
            db_api.recovery_list_unfinished)))
        self.assertEqual('cmp-1', self._lost_once(db_api.node_get,
                                                  'cmp-1').name)
