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

"""Properties of the engine's RPC boundary.

Payloads go through what oslo.messaging's dispatcher calls -- the engine's
serializer (with the versioned object serializer behind it, as the
service builds it), then the endpoint method -- on an engine judging on
SQLite. Whatever the payload (any JSON value, a damaged snapshot or event
primitive), nothing raises out of the endpoint; every bad payload is one
counted rejection whose logged reason names the field, and changes neither
the database nor the judgment state; every good one is judged and stored,
and the counters grow by exactly the number of good and bad ones.
"""

import time

import hypothesis
from hypothesis import strategies as st

from vmguard.db import api as db_api
from vmguard.engine import manager
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import base as objects_base
from vmguard.tests import base
from vmguard.tests.unit.properties import strategies as s

_METHOD = {'snapshot': 'report_snapshot', 'vm_event': 'report_vm_event'}


class TestEngineBoundaryProperties(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(host='engine-prop')
        self.engine = service.Engine(self.conf)
        self.manager = manager.EngineManager(self.engine)
        # As EngineService builds it.
        self.serializer = manager.EngineSerializer(
            objects_base.VmguardObjectSerializer())
        self.reasons = []
        reject = self.manager.reject

        def spy(kind, node, reason):
            self.reasons.append(reason)
            return reject(kind, node, reason)
        self.manager.reject = spy
        self.serial = 0

    def _deliver(self, kind, payload):
        """What the dispatcher does with one cast."""
        entity = self.serializer.deserialize_entity(self.context, payload)
        getattr(self.manager, _METHOD[kind])(self.context, entity)

    def _state(self):
        return (s.db_dump(db_api.get_engine()),
                {name: st.last_cycle
                 for name, st in self.engine.pipeline.nodes.items()})

    def _unique(self, data):
        """``data`` for a node of its own (a first snapshot is stored)."""
        self.serial += 1
        return dict(data, node='prop-%d' % self.serial)

    @hypothesis.settings(max_examples=150)
    @hypothesis.given(st.sampled_from(sorted(_METHOD)),
                      s.json_values | s.deep_values | s.any_objects)
    def test_any_payload_is_one_rejection_and_changes_nothing(
            self, kind, payload):
        before = self._state()
        rejected = self.manager.stats['rejected']
        self._deliver(kind, payload)
        self.assertEqual(rejected + 1, self.manager.stats['rejected'])
        self.assertEqual(before, self._state())

    @hypothesis.settings(max_examples=300)
    @hypothesis.given(s.broken_primitive())
    def test_broken_payload_is_one_rejection_naming_the_field(self, case):
        prim, kind, words = case
        before = self._state()
        rejected = self.manager.stats['rejected']
        self._deliver(kind, prim)
        self.assertEqual(rejected + 1, self.manager.stats['rejected'])
        for word in words:
            self.assertIn(word, self.reasons[-1])
        self.assertEqual(before, self._state())

    @hypothesis.given(s.not_printable())
    def test_a_string_without_utf8_form_is_refused_not_stored(self, case):
        # Accepted, it would fail to store (SQLite and MariaDB alike).
        data, where, key = case
        if key != 'node':
            data = self._unique(data)
        before = self._state()
        rejected = self.manager.stats['rejected']
        self._deliver(data['type'], s.primitive_of(data))
        self.assertEqual(rejected + 1, self.manager.stats['rejected'])
        self.assertIn(repr(key), self.reasons[-1])
        self.assertEqual(before, self._state())

    @hypothesis.settings(max_examples=100)
    @hypothesis.given(s.snapshots | s.vm_events)
    def test_valid_payload_is_the_record_replay_makes(self, data):
        expected = (s.normal_snapshot(data) if data['type'] == 'snapshot'
                    else s.normal_event(data))
        # The versioned object's primitive (what agents cast) and one built
        # by hand with the unknown fields left in: the same record.
        for prim in (s.object_primitive(data), s.primitive_of(data)):
            rec = self.serializer.deserialize_entity(self.context, prim)
            self.assertNotIsInstance(rec, manager.Rejected,
                                     getattr(rec, 'reason', None))
            self.assertEqual(expected, rec.to_dict())

    @hypothesis.settings(max_examples=80)
    @hypothesis.given(st.lists(st.one_of(
        s.snapshots.map(lambda d: ('good', d)),
        s.vm_events.map(lambda d: ('good', d)),
        s.broken_primitive().map(lambda c: ('bad', c))),
        min_size=1, max_size=8))
    def test_counters_grow_by_exactly_the_good_and_the_bad(self, batch):
        stats = dict(self.manager.stats)
        rows = len(s.db_dump(db_api.get_engine())['vm_events'])
        stored, snapshots, events = {}, 0, 0
        # SPEC revision 2: a cycle more than max_cycle_skew ahead of the
        # engine's clock (wall clock // cycle_interval) is valid but
        # refused by the judgment, and not stored.
        engine_conf = self.conf.engine
        clock = (int(time.time() // engine_conf.cycle_interval)
                 + engine_conf.max_cycle_skew)
        for verdict, item in batch:
            if verdict == 'bad':
                prim, kind, _words = item
            else:
                data = self._unique(item)
                kind, prim = data['type'], s.object_primitive(data)
                if kind == 'snapshot':
                    snapshots += 1
                    if data['cycle'] <= clock:
                        stored[data['node']] = data['cycle']
                else:
                    events += 1
            self._deliver(kind, prim)
        bad = sum(1 for verdict, _ in batch if verdict == 'bad')
        self.assertEqual(stats.get('rejected', 0) + bad,
                         self.manager.stats['rejected'])
        self.assertEqual(stats.get('snapshots', 0) + snapshots,
                         self.manager.stats['snapshots'])
        self.assertEqual(stats.get('events', 0) + events,
                         self.manager.stats['events'])
        for node, cycle in stored.items():
            self.assertEqual(cycle,
                             db_api.node_get(self.context, node).last_cycle)
        self.assertEqual(rows + events,
                         len(s.db_dump(db_api.get_engine())['vm_events']))
