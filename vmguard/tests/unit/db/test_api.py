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

import datetime

import sqlalchemy as sa

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import models
from vmguard.tests import base


def _decision(key='R1:cmp-01:u1:10', **kw):
    values = {'incident_key': key, 'node': 'cmp-01', 'cycle': 10,
              'action': 'reboot', 'vm': 'u1', 'rule': 'R1',
              'reason': 'VM crashed (panicked) while host normal',
              'evidence': {'host_state': 'normal'}}
    values.update(kw)
    return values


class TestNodes(base.DbTestCase):

    def test_get_or_create_is_idempotent(self):
        a = db_api.node_get_or_create(self.context, 'cmp-01')
        b = db_api.node_get_or_create(self.context, 'cmp-01')
        self.assertEqual(a.id, b.id)
        self.assertEqual('unknown', a.host_state)
        self.assertFalse(a.disabled)

    def test_get_missing(self):
        self.assertRaises(exception.NodeNotFound, db_api.node_get,
                          self.context, 'nope')

    def test_list_paginates_by_name(self):
        for name in ('c', 'a', 'b'):
            db_api.node_get_or_create(self.context, name)
        page = db_api.node_list(self.context, limit=2)
        self.assertEqual(['a', 'b'], [n.name for n in page])
        page = db_api.node_list(self.context, limit=2, marker='b')
        self.assertEqual(['c'], [n.name for n in page])

    def test_update(self):
        db_api.node_get_or_create(self.context, 'cmp-01')
        db_api.node_update(self.context, 'cmp-01',
                           {'disabled': True, 'disabled_reason': 'R4'})
        node = db_api.node_get(self.context, 'cmp-01')
        self.assertTrue(node.disabled)
        self.assertEqual('R4', node.disabled_reason)


class TestDecisions(base.DbTestCase):

    def test_create_makes_pending_recovery(self):
        decision, created = db_api.decision_create(self.context,
                                                   _decision())
        self.assertTrue(created)
        recovery = db_api.recovery_get_by_decision(self.context,
                                                   decision.id)
        self.assertEqual('pending', recovery.status)
        self.assertEqual({'host_state': 'normal'}, decision.evidence)

    def test_same_incident_is_stored_once(self):
        first, created1 = db_api.decision_create(self.context, _decision())
        second, created2 = db_api.decision_create(self.context,
                                                  _decision())
        self.assertTrue(created1)
        self.assertFalse(created2)
        self.assertEqual(first.id, second.id)
        with self.db.engine.connect() as conn:
            n_dec = conn.execute(sa.select(sa.func.count()).select_from(
                models.Decision)).scalar()
            n_rec = conn.execute(sa.select(sa.func.count()).select_from(
                models.Recovery)).scalar()
        self.assertEqual((1, 1), (n_dec, n_rec))

    def test_list_filters(self):
        db_api.decision_create(self.context, _decision())
        db_api.decision_create(self.context, _decision(
            key='R4:cmp-02:11', node='cmp-02', cycle=11,
            action='migrate_all', vm=None, rule='R4', reason='PSU failed'))
        self.assertEqual(['R4'], [d.rule for d in db_api.decision_list(
            self.context, node='cmp-02')])
        self.assertEqual(['cmp-01'], [d.node for d in db_api.decision_list(
            self.context, action='reboot')])
        desc = db_api.decision_list(self.context, sort_dir='desc')
        self.assertEqual(['R4', 'R1'], [d.rule for d in desc])


class TestRecoveryStateMachine(base.DbTestCase):

    def setUp(self):
        super().setUp()
        decision, _ = db_api.decision_create(self.context, _decision())
        self.recovery = db_api.recovery_get_by_decision(self.context,
                                                        decision.id)

    def test_happy_path(self):
        r = db_api.recovery_transition(self.context, self.recovery.id,
                                       'running', expected='pending',
                                       owner='engine-1')
        self.assertEqual(('running', 1, 'engine-1'),
                         (r.status, r.attempts, r.owner))
        self.assertIsNotNone(r.started_at)
        r = db_api.recovery_transition(self.context, self.recovery.id,
                                       'succeeded', expected='running')
        self.assertEqual('succeeded', r.status)
        self.assertIsNotNone(r.finished_at)

    def test_takeover_counts_attempts(self):
        db_api.recovery_transition(self.context, self.recovery.id,
                                   'running', owner='engine-1')
        r = db_api.recovery_transition(self.context, self.recovery.id,
                                       'running', expected='running',
                                       owner='engine-2')
        self.assertEqual((2, 'engine-2'), (r.attempts, r.owner))

    def test_illegal_transition(self):
        self.assertRaises(exception.InvalidStateTransition,
                          db_api.recovery_transition, self.context,
                          self.recovery.id, 'succeeded')

    def test_final_states_are_final(self):
        db_api.recovery_transition(self.context, self.recovery.id,
                                   'skipped')
        for status in ('pending', 'running', 'succeeded'):
            self.assertRaises(exception.InvalidStateTransition,
                              db_api.recovery_transition, self.context,
                              self.recovery.id, status)

    def test_compare_and_swap(self):
        # Another engine moved it meanwhile: the caller's view is stale.
        db_api.recovery_transition(self.context, self.recovery.id,
                                   'running', owner='engine-1')
        self.assertRaises(exception.InvalidStateTransition,
                          db_api.recovery_transition, self.context,
                          self.recovery.id, 'running', expected='pending',
                          owner='engine-2')

    def test_unknown_recovery(self):
        self.assertRaises(exception.RecoveryNotFound,
                          db_api.recovery_transition, self.context, 9999,
                          'running')


class TestPurge(base.DbTestCase):

    def test_purge_keeps_recent_open_and_unfinished(self):
        now = datetime.datetime(2026, 11, 26, 12, 0, 0)
        old = now - datetime.timedelta(days=100)
        node = db_api.node_get_or_create(self.context, 'cmp-01')
        with self.db.engine.begin() as conn:
            conn.execute(sa.insert(models.HostStatePeriod), [
                {'node_id': node.id, 'state': 'normal', 'cycle_from': 1,
                 'cycle_to': 5, 'created_at': old},
                {'node_id': node.id, 'state': 'failed', 'cycle_from': 6,
                 'cycle_to': None, 'created_at': old},
            ])
            conn.execute(sa.insert(models.HardwareChange), [
                {'node_id': node.id, 'item_id': 'psu-1', 'cycle': 6,
                 'health': 'critical', 'created_at': old},
                {'node_id': node.id, 'item_id': 'psu-1', 'cycle': 7,
                 'health': 'ok', 'created_at': now},
            ])
            conn.execute(sa.insert(models.VMEvent), [
                {'node': 'cmp-01', 'cycle': 1, 'uuid': 'u1',
                 'event': 'crashed', 'source': 'libvirt',
                 'created_at': old},
            ])
        done, _ = db_api.decision_create(self.context, _decision(
            key='old-done', created_at=old))
        busy, _ = db_api.decision_create(self.context, _decision(
            key='old-busy', created_at=old))
        recent, _ = db_api.decision_create(self.context, _decision(
            key='recent', created_at=now))
        rec = db_api.recovery_get_by_decision(self.context, done.id)
        db_api.recovery_transition(self.context, rec.id, 'skipped')
        rec = db_api.recovery_get_by_decision(self.context, busy.id)
        db_api.recovery_transition(self.context, rec.id, 'running')

        counts = db_api.purge_by_age(self.context, 14, 90, now=now)

        self.assertEqual({'host_state_periods': 1, 'hardware_changes': 1,
                          'vm_events': 1, 'decisions': 1}, counts)
        left = {d.incident_key for d in db_api.decision_list(self.context)}
        self.assertEqual({'old-busy', 'recent'}, left)
        with self.db.engine.connect() as conn:
            open_periods = conn.execute(sa.select(
                models.HostStatePeriod.state)).scalars().all()
        self.assertEqual(['failed'], open_periods)
