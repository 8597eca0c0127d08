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

"""engine_state_save on MariaDB: the node rows of a batch are written by
one guarded executemany per set of columns, and keep the guarantees of
the row-by-row UPDATE: never backwards, a node twice in one batch ends at
its last cycle, the new rows of a delta another engine made stale (or
stored at the same cycle) are not written, a JSON judge state is stored
as JSON."""

import sqlalchemy as sa

from vmguard.common import context as vmg_context
from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import models
from vmguard.tests.functional import base


def _delta(node_id, name, cycle, vms=(), **node):
    values = {'last_cycle': cycle, 'host_state': 'normal',
              'vcpus_free': 8, 'ram_mb_free': 1024}
    values.update(node)
    delta = {'node_id': node_id, 'name': name, 'cycle': cycle,
             'node': values}
    if vms:
        delta['vms_new'] = [{'uuid': u, 'state': 'running', 'reason': None,
                             'vcpus': 1, 'ram_mb': 512, 'changed_cycle': cycle}
                            for u in vms]
    return delta


class TestEngineStateSaveMariaDB(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.mariadb()
        self.ctx = vmg_context.get_admin_context()
        ids = db_api.engine_nodes_ensure(self.ctx, ['s-1', 's-2', 's-3'])
        self.ids = ids
        stored, _ = db_api.engine_state_save(
            self.ctx, [_delta(ids[n], n, 5) for n in sorted(ids)])
        self.assertEqual(3, len(stored))

    def _rows(self):
        with self.db.engine.connect() as conn:
            nodes = {r.name: r for r in conn.execute(
                sa.select(models.Node)).all()}
            vms = {r.uuid: r.node_id for r in conn.execute(
                sa.select(models.VM.uuid, models.VM.node_id)).all()}
        return nodes, vms

    def test_batch_keeps_row_by_row_guarantees(self):
        ids = self.ids
        # Another engine stored s-2 up to cycle 9.
        db_api.engine_state_save(self.ctx, [_delta(ids['s-2'], 's-2', 9)])
        judge = {'incidents': {'R4': 6}, 'baselines': ['a', 'b']}
        stored, _ = db_api.engine_state_save(self.ctx, [
            _delta(ids['s-1'], 's-1', 6, vms=['vm-a']),
            _delta(ids['s-2'], 's-2', 6, vms=['vm-stale']),
            _delta(ids['s-3'], 's-3', 6, judge_state=judge,
                   judge_state_cycle=6),
            _delta(ids['s-1'], 's-1', 7, vms=['vm-b']),
        ])
        self.assertEqual([ids['s-1'], ids['s-3'], ids['s-1']], stored)
        nodes, vms = self._rows()
        self.assertEqual(7, nodes['s-1'].last_cycle)
        self.assertEqual(9, nodes['s-2'].last_cycle)
        self.assertEqual(6, nodes['s-3'].last_cycle)
        self.assertEqual(judge, nodes['s-3'].judge_state)
        self.assertEqual({'vm-a': ids['s-1'], 'vm-b': ids['s-1']}, vms)

    def test_older_batch_writes_nothing(self):
        ids = self.ids
        stored, _ = db_api.engine_state_save(self.ctx, [
            _delta(ids['s-1'], 's-1', 4, vms=['vm-old']),
            _delta(ids['s-2'], 's-2', 5, vms=['vm-same'])])
        self.assertEqual([], stored)
        nodes, vms = self._rows()
        self.assertEqual((5, 5), (nodes['s-1'].last_cycle,
                                  nodes['s-2'].last_cycle))
        # Cycle 5 again (stored already) is not written either.
        self.assertEqual({}, vms)

    def test_two_periods_of_a_node_in_one_batch(self):
        ids = self.ids

        def period(delta, state, close_at):
            delta['node']['host_state'] = state
            delta['period'] = {'state': state, 'close_at': close_at,
                               'reason': {}}
            return delta
        db_api.engine_state_save(self.ctx, [
            period(_delta(ids['s-1'], 's-1', 6), 'failed', None)])
        db_api.engine_state_save(self.ctx, [
            period(_delta(ids['s-1'], 's-1', 7), 'normal', 6),
            period(_delta(ids['s-1'], 's-1', 8), 'failed', 7)])
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(models.HostStatePeriod.state,
                          models.HostStatePeriod.cycle_from,
                          models.HostStatePeriod.cycle_to)
                .where(models.HostStatePeriod.node_id == ids['s-1'])
                .order_by(models.HostStatePeriod.cycle_from)).all()
        self.assertEqual([('failed', 6, 6), ('normal', 7, 7),
                          ('failed', 8, None)], [tuple(r) for r in rows])
