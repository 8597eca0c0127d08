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

"""Nodes read in one go on the real MariaDB: the rows and caches read one
node at a time (vmguard.tests.unit.engine.test_persistence on SQLite)."""

import fixtures

from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.engine import manager
from vmguard.engine import persistence
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional import base
from vmguard.tests.unit.engine import streams
from vmguard.tests.unit.engine import test_persistence as unit


class TestNodeLoadMariaDB(base.FunctionalTestCase):

    # Names MariaDB's binary collation keeps apart (migration 0003).
    NAMES = ('r4', 'gone', 'cmp-1', 'CMP-1', 'cmp-1 ')

    def setUp(self):
        super().setUp()
        self.mariadb()
        objects.register_all()
        self.flags(host='engine-a')
        self.engine = service.Engine(self.conf)
        self.engine.writer = unit._NoWriter()
        self.manager = manager.EngineManager(self.engine)

    def send(self, node, cycle, **kw):
        self.manager.report_snapshot(
            self.context, snapshot_obj.Snapshot.from_json_dict(
                streams.snapshot(node, cycle, **kw)))

    def test_same_rows_and_caches_as_one_by_one(self):
        # Chunks of two names: several queries per table.
        self.useFixture(fixtures.MockPatchObject(sqla_api, 'LOAD_CHUNK', 2))
        vms = [(streams.vm_uuid('x', n), 'running', 'booted')
               for n in range(3)]
        for cycle in range(1, 5):
            self.send('r4', cycle, vms=vms[:1],
                      health='critical' if cycle >= 3 else 'ok')
            self.send('gone', cycle, items=3 if cycle <= 2 else 1,
                      service='stopped' if cycle == 4 else 'running')
            for i, name in enumerate(self.NAMES[2:]):
                if cycle <= 2 + i:
                    self.send(name, cycle, vms=vms[1 + i:2 + i])
            self.engine.persister.flush()
        names = list(self.NAMES) + ['new', 'CMP-1 ']
        got = db_api.engine_node_load_by_names(self.context, names)
        self.assertEqual(set(self.NAMES), set(got))
        for name in self.NAMES:
            self.assertEqual(
                unit.rows_dict(db_api.engine_node_load_by_name(
                    self.context, name)),
                unit.rows_dict(got[name]), name)
        self.assertEqual({'dimm-A1': None, 'item-1': 3, 'item-2': 3},
                         {h.item_id: h.gone_cycle
                          for h in got['gone']['hardware']})
        self.assertEqual([2, 3, 4], [got[n]['node'].last_cycle
                                     for n in self.NAMES[2:]])

        one = persistence.Persister(self.context)
        batch = persistence.Persister(self.context)
        self.assertEqual(len(names), batch.preload(names + names))
        for name in names:
            self.assertEqual(unit.cache_dict(one._cache(name)),
                             unit.cache_dict(batch._nodes[name]), name)
        self.assertIsNone(batch._nodes['new'].node_id)
        self.assertIsNotNone(batch._nodes['r4'].judge_state)
        self.assertTrue(batch._nodes['r4'].disabled)
