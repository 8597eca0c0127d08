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

"""The persister's node caches read in one go (``Persister.preload``,
``engine_node_load_by_names``) are those read one node at a time."""

import collections
import json

import fixtures
import sqlalchemy as sa

from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.engine import ingest
from vmguard.engine import manager
from vmguard.engine import persistence
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.engine import streams


def cache_dict(cache):
    return {slot: getattr(cache, slot)
            for slot in persistence._NodeCache.__slots__}


def rows_dict(rows):
    """engine_node_load_by_name's rows as comparable values."""
    def cols(row):
        if row is None:
            return None
        return {c.key: getattr(row, c.key)
                for c in sa.inspect(row).mapper.column_attrs}

    out = {'node': cols(rows['node']), 'period': cols(rows['period'])}
    for key in ('hardware', 'external', 'services', 'vms'):
        out[key] = sorted((cols(r) for r in rows[key]),
                          key=lambda c: c['id'])
    return out


class _NoWriter:
    def notify(self):
        pass


class _Message:
    """A kombu message of an ingest queue."""

    def __init__(self, snap):
        prim = snapshot_obj.Snapshot.from_json_dict(snap).obj_to_primitive()
        self.body = json.dumps({'oslo.message': json.dumps({
            'method': 'report_snapshot', 'version': '1.4',
            'args': {'snapshot': prim}}), 'oslo.version': '2.0'})
        self.delivery_info = {}
        self.acked = []

    def ack(self, multiple=False):
        self.acked.append(multiple)


class PreloadTestCase(base.DbTestCase):

    # A node of each kind: several host state periods, a judge state and
    # a disable (r4), hardware gone (gone), VMs (vm), two host state
    # changes stored in one transaction (flap), never stored (new).
    STORED = ('r4', 'gone', 'vm', 'flap')

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(host='engine-a')
        self.engine = service.Engine(self.conf)
        self.engine.writer = _NoWriter()
        self.manager = manager.EngineManager(self.engine)

    def send(self, node, cycle, **kw):
        self.manager.report_snapshot(
            self.context, snapshot_obj.Snapshot.from_json_dict(
                streams.snapshot(node, cycle, **kw)))

    def store(self):
        vms = [(streams.vm_uuid('vm', n), 'running', 'booted')
               for n in range(3)]
        for cycle in range(1, 5):
            self.send('r4', cycle,
                      health='critical' if cycle >= 3 else 'ok')
            self.send('gone', cycle, items=3 if cycle <= 2 else 1,
                      service='stopped' if cycle == 4 else 'running')
            self.send('vm', cycle, vms=vms[:cycle], external=(
                'failed' if cycle == 2 else 'ok'))
            self.engine.persister.flush()
        for cycle in range(1, 5):
            self.send('flap', cycle,
                      health='warning' if cycle == 2 else 'ok')
            if cycle in (1, 4):
                self.engine.persister.flush()

    def periods(self, node_id):
        with self.db.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT cycle_to FROM host_state_periods WHERE node_id = '
                ':n ORDER BY id'), {'n': node_id}).scalars().all()

    def count_queries(self):
        counter = collections.Counter()

        def count(*args):
            counter['queries'] += 1
        sa.event.listen(self.db.engine, 'before_cursor_execute', count)
        self.addCleanup(sa.event.remove, self.db.engine,
                        'before_cursor_execute', count)
        return counter


class TestLoadByNames(PreloadTestCase):

    def test_same_rows_as_one_by_one(self):
        self.store()
        names = list(self.STORED) + ['new', 'r4']
        got = db_api.engine_node_load_by_names(self.context, names)
        self.assertEqual(set(self.STORED), set(got))
        for name in self.STORED:
            one = db_api.engine_node_load_by_name(self.context, name)
            self.assertEqual(rows_dict(one), rows_dict(got[name]), name)
        # What the stored nodes have, so that the comparison means
        # something.
        r4 = got['r4']
        self.assertTrue(r4['node'].disabled)
        self.assertIsNotNone(r4['node'].judge_state)
        self.assertEqual(1, len(r4['hardware']))
        self.assertEqual([2, None], self.periods(r4['node'].id))
        self.assertIsNone(r4['period'].cycle_to)
        # Both periods of 'flap' stored in one transaction: the first is
        # closed by the second, the newer one is the node's.
        flap = got['flap']
        self.assertEqual([1, 2, None], self.periods(flap['node'].id))
        self.assertEqual(('normal', 3), (flap['period'].state,
                                          flap['period'].cycle_from))
        self.assertEqual(3, len(got['vm']['vms']))
        gone = {h.item_id: h.gone_cycle for h in got['gone']['hardware']}
        self.assertEqual({'dimm-A1': None, 'item-1': 3, 'item-2': 3}, gone)

    def test_empty_and_unknown(self):
        self.assertEqual({}, db_api.engine_node_load_by_names(
            self.context, []))
        self.assertEqual({}, db_api.engine_node_load_by_names(
            self.context, ['nope', 'none']))

    def test_queries_do_not_grow_with_the_nodes(self):
        self.useFixture(fixtures.MockPatchObject(sqla_api, 'LOAD_CHUNK', 4))
        for cycle in (1, 2):
            for n in range(8):
                self.send('n-%d' % n, cycle)
        self.engine.persister.flush()
        counter = self.count_queries()
        # Statements of the transaction itself (SQLite: BEGIN).
        db_api.engine_node_load_by_names(self.context, ['x'])
        overhead = counter.pop('queries') - 1
        few = db_api.engine_node_load_by_names(
            self.context, ['n-%d' % n for n in range(4)])
        # One per table.
        self.assertEqual(6, counter.pop('queries') - overhead)
        many = db_api.engine_node_load_by_names(
            self.context, ['n-%d' % n for n in range(8)] + ['x', 'y'])
        # Two chunks of four names (six each) and one of two unknown
        # names (the nodes query only).
        self.assertEqual(13, counter.pop('queries') - overhead)
        self.assertEqual(4, len(few))
        self.assertEqual({'n-%d' % n for n in range(8)}, set(many))
        for name, rows in many.items():
            self.assertEqual(
                rows_dict(db_api.engine_node_load_by_name(self.context,
                                                          name)),
                rows_dict(rows))


class TestPreload(PreloadTestCase):

    def test_same_caches_as_one_by_one(self):
        self.store()
        names = list(self.STORED) + ['new']
        one = persistence.Persister(self.context)
        batch = persistence.Persister(self.context)
        self.assertEqual(len(names), batch.preload(names + ['r4']))
        self.assertEqual(set(names), set(batch._nodes))
        for name in names:
            self.assertEqual(cache_dict(one._cache(name)),
                             cache_dict(batch._nodes[name]), name)
        self.assertEqual(0, batch.preload(names))
        new = batch._nodes['new']
        self.assertEqual((None, {}, None), (new.node_id, new.hardware,
                                            new.judge_state))
        r4 = batch._nodes['r4']
        self.assertTrue(r4.disabled)
        self.assertEqual(4, r4.last_cycle)
        self.assertEqual(r4.judge_state, one._cache('r4').judge_state)
        self.assertIsNotNone(r4.judge_state)
        self.assertNotIn(r4.host_state, (None, 'normal'))
        self.assertEqual(['dimm-A1'], list(batch._nodes['gone'].hardware))
        self.assertEqual('stopped',
                         batch._nodes['gone'].services['libvirtd'])
        self.assertEqual(3, len(batch._nodes['vm'].vms))
        self.assertEqual(('storage', 'ok'),
                         batch._nodes['vm'].external['nfs'])

    def test_cached_nodes_are_not_read_nor_replaced(self):
        self.store()
        persister = persistence.Persister(self.context)
        r4 = persister._cache('r4')
        calls = []
        real = sqla_api.engine_node_load_by_names

        def load(context, names):
            calls.append(list(names))
            return real(context, names)
        self.useFixture(fixtures.MockPatchObject(
            sqla_api, 'engine_node_load_by_names', load))
        self.assertEqual(2, persister.preload(['r4', 'gone', 'new']))
        self.assertEqual([['gone', 'new']], calls)
        self.assertIs(r4, persister._nodes['r4'])

    def test_cache_made_during_the_read_stays(self):
        self.store()
        persister = persistence.Persister(self.context)
        real = sqla_api.engine_node_load_by_names
        made = {}

        def load(context, names):
            rows = real(context, names)
            # The judge thread reads the node meanwhile.
            with persister._lock:
                made['r4'] = persister._cache('r4')
            return rows
        self.useFixture(fixtures.MockPatchObject(
            sqla_api, 'engine_node_load_by_names', load))
        self.assertEqual(2, persister.preload(['r4', 'gone']))
        self.assertIs(made['r4'], persister._nodes['r4'])
        self.assertIn('gone', persister._nodes)

    def test_nothing_cached_when_a_cache_is_dropped_during_the_read(self):
        self.store()
        persister = persistence.Persister(self.context)
        real = sqla_api.engine_node_load_by_names

        def load(context, names):
            rows = real(context, names)
            persister.forget('vm')
            return rows
        self.useFixture(fixtures.MockPatchObject(
            sqla_api, 'engine_node_load_by_names', load))
        self.assertEqual(0, persister.preload(['r4', 'gone']))
        self.assertEqual({}, persister._nodes)


class TestIngestBatch(PreloadTestCase):

    def setUp(self):
        super().setUp()
        self.consumer = ingest.IngestConsumer(self.conf, self.engine,
                                              self.manager)
        self.calls = collections.Counter()
        for name in ('engine_node_load_by_name',
                     'engine_node_load_by_names'):
            self.useFixture(fixtures.MockPatchObject(
                sqla_api, name, self.counted(name)))

    def counted(self, name):
        real = getattr(sqla_api, name)

        def call(*args, **kwargs):
            self.calls[name] += 1
            return real(*args, **kwargs)
        return call

    def test_batch_reads_its_nodes_at_once(self):
        self.store()
        self.engine = service.Engine(self.conf)
        self.manager = manager.EngineManager(self.engine)
        consumer = ingest.IngestConsumer(self.conf, self.engine,
                                         self.manager)
        self.calls.clear()
        messages = [_Message(streams.snapshot(name, 5))
                    for name in self.STORED + ('new',)]
        messages.append(_Message(streams.snapshot('new', 6)))
        self.assertFalse(consumer.handle_batch(messages, owned=set()))
        self.assertEqual({'engine_node_load_by_names': 1}, self.calls)
        self.assertEqual([True], messages[-1].acked)
        for name in self.STORED:
            self.assertEqual(5, db_api.node_get(self.context,
                                                name).last_cycle)
        self.assertEqual(6, db_api.node_get(self.context, 'new').last_cycle)

    def test_failed_read_falls_back_to_one_by_one(self):
        def broken(context, names):
            raise RuntimeError('boom')
        self.useFixture(fixtures.MockPatchObject(
            sqla_api, 'engine_node_load_by_names', broken))
        messages = [_Message(streams.snapshot(name, 1))
                    for name in ('a', 'b')]
        self.assertFalse(self.consumer.handle_batch(messages, owned=set()))
        self.assertEqual(2, self.calls['engine_node_load_by_name'])
        self.assertEqual(1, db_api.node_get(self.context, 'b').last_cycle)
