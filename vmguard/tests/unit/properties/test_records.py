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

"""Properties of the record validator and of the versioned objects.

For every valid snapshot and crash event of the SPEC.md contract,
``parse_record`` gives its normal form (unknown fields dropped, defaults
filled in) and the record, its JSON and the versioned object's primitive
all round-trip to it. For every record with one field broken,
``parse_record`` and ``Snapshot``/``VMEvent.from_json_dict`` raise
``InvalidRecord`` naming the item and the field -- never another
exception, whatever the value (wrong type, NaN, unhashable, too long, an
unpaired surrogate, nested 50,000 deep).
"""

import json

import hypothesis
from hypothesis import strategies as st

from vmguard.common import exception
from vmguard import objects
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.properties import strategies as s


def _parse(data, cache=None):
    """('ok', normal form) or ('rejected', reason)."""
    try:
        return 'ok', records.parse_record(data, cache).to_dict()
    except exception.InvalidRecord as exc:
        return 'rejected', exc.reason


class TestValidRecords(base.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()

    @hypothesis.given(s.snapshots)
    def test_snapshot_parses_to_its_normal_form_and_round_trips(self, data):
        expected = s.normal_snapshot(data)
        rec = records.parse_record(data)
        self.assertEqual(expected, rec.to_dict())
        self.assertEqual(expected, records.parse_record(
            data, {}).to_dict())
        again = records.parse_record(json.loads(s.line(rec.to_dict())))
        self.assertEqual(expected, again.to_dict())

    @hypothesis.given(s.vm_events)
    def test_event_parses_to_its_normal_form_and_round_trips(self, data):
        expected = s.normal_event(data)
        rec = records.parse_record(data)
        self.assertEqual(expected, rec.to_dict())
        again = records.parse_record(json.loads(s.line(rec.to_dict())))
        self.assertEqual(expected, again.to_dict())

    @hypothesis.given(s.snapshots)
    def test_snapshot_object_round_trips_through_its_primitive(self, data):
        obj = snapshot_obj.Snapshot.from_json_dict(data)
        prim = json.loads(json.dumps(obj.obj_to_primitive()))
        back = snapshot_obj.Snapshot.obj_from_primitive(prim)
        self.assertEqual(s.normal_snapshot(data), back.to_json_dict())

    @hypothesis.given(s.vm_events)
    def test_event_object_round_trips_through_its_primitive(self, data):
        obj = snapshot_obj.VMEvent.from_json_dict(data)
        prim = json.loads(json.dumps(obj.obj_to_primitive()))
        back = snapshot_obj.VMEvent.obj_from_primitive(prim)
        self.assertEqual(s.normal_event(data), back.to_json_dict())

    @hypothesis.given(s.snapshots, st.dictionaries(
        s.text(max_size=6), s.json_values | s.deep_values, max_size=3))
    def test_a_detail_is_flat_short_strings_kept_as_they_are(
            self, data, detail):
        # The record, the versioned object and so every engine hold the
        # same detail; any other is refused naming it.
        hypothesis.assume(data['hardware'])
        data['hardware'][0]['detail'] = detail
        try:
            rec = records.parse_record(data)
        except exception.InvalidRecord as exc:
            self.assertTrue(exc.reason.startswith("hardware[0]: 'detail'"),
                            exc.reason)
            self.assertFalse(all(
                v is None or (isinstance(v, str) and len(v) <= 255
                              and v.isprintable())
                for v in detail.values()) and all(
                    k.isprintable() for k in detail), exc.reason)
            return
        self.assertIs(detail, rec.hardware[0].detail)
        obj = snapshot_obj.Snapshot.from_json_dict(data)
        self.assertEqual(detail, obj.hardware[0].detail)


class TestBrokenRecords(base.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()

    def _assert_names(self, reason, where, key):
        self.assertTrue(reason.startswith(where + ':'), reason)
        if key is not None:
            self.assertIn(repr(key), reason)

    @hypothesis.settings(max_examples=300)
    @hypothesis.given(s.broken_snapshot())
    def test_broken_snapshot_field_is_named(self, case):
        data, where, key = case
        outcome, reason = _parse(data)
        self.assertEqual('rejected', outcome, reason)
        self._assert_names(reason, where, key)
        # The parse cache rejects it the same way.
        self.assertEqual(('rejected', reason), _parse(data, {}))
        if where != 'record':
            # The agents' constructor applies the same checks.
            exc = self.assertRaises(exception.InvalidRecord,
                                    snapshot_obj.Snapshot.from_json_dict,
                                    data)
            self.assertEqual(reason, exc.reason)

    @hypothesis.settings(max_examples=15)
    @hypothesis.given(s.full_snapshots | s.vm_events, st.data())
    def test_every_field_broken_every_way_is_named(self, valid, data):
        # Each field of the contract in turn, each way of being wrong in
        # turn (the value itself drawn), on a fresh copy of the record.
        fields = len(s.field_targets(json.loads(s.line(valid))))
        for i in range(fields):
            spec = s.field_targets(json.loads(s.line(valid)))[i][3]
            for way in s.wrong_options(spec):
                record = json.loads(s.line(valid))
                where, holder, key, _spec = s.field_targets(record)[i]
                value = data.draw(way)
                if value is s.DROP:
                    del holder[key]
                else:
                    holder[key] = value
                outcome, reason = _parse(record)
                self.assertEqual('rejected', outcome, (where, key, reason))
                self._assert_names(reason, where, key)

    @hypothesis.settings(max_examples=150)
    @hypothesis.given(s.broken_event())
    def test_broken_event_field_is_named(self, case):
        data, where, key = case
        outcome, reason = _parse(data)
        self.assertEqual('rejected', outcome, reason)
        self._assert_names(reason, where, key)
        if where != 'record':
            exc = self.assertRaises(exception.InvalidRecord,
                                    snapshot_obj.VMEvent.from_json_dict,
                                    data)
            self.assertEqual(reason, exc.reason)

    @hypothesis.given(s.not_printable())
    def test_a_string_without_utf8_form_is_named(self, case):
        # No database column can store it: refused up front.
        data, where, key = case
        outcome, reason = _parse(data)
        self.assertEqual('rejected', outcome, reason)
        self._assert_names(reason, where, key)
        self.assertIn('must be printable Unicode text', reason)

    @hypothesis.settings(max_examples=200)
    @hypothesis.given(s.json_values | s.deep_values | s.any_objects)
    def test_any_json_value_is_a_record_or_a_clear_error(self, value):
        outcome, reason = _parse(value)
        if outcome == 'rejected':
            # "where: what", where is the record or one of its parts.
            self.assertRegex(reason, r'^(record|snapshot|vm_event|capacity|'
                                     r'(hardware|external|services|vms)'
                                     r'\[\d+\]): .')

    @hypothesis.given(st.one_of(s.snapshots, s.vm_events), st.data())
    def test_any_value_in_any_field_never_crashes(self, data, draw):
        # Any field at any level: the record, its capacity, an item.
        holders = [data]
        if data['type'] == 'snapshot':
            if not isinstance(data.get('capacity'), dict):
                data['capacity'] = {}
            holders.append(data['capacity'])
            holders += [i for lst in ('hardware', 'external', 'services',
                                      'vms') for i in data[lst]]
        holder = draw.draw(st.sampled_from(holders))
        keys = sorted(set(holder) | {'vcpus_free', 'ram_mb_free', 'id',
                                     'state', 'detail', 'identity_path'})
        holder[draw.draw(st.sampled_from(keys))] = draw.draw(
            s.json_values | s.deep_values)
        cls = (snapshot_obj.Snapshot if data['type'] == 'snapshot'
               else snapshot_obj.VMEvent)
        for cache in (None, {}):
            outcome, reason = _parse(data, cache)
            self.assertIn(outcome, ('ok', 'rejected'))
        try:
            cls.from_json_dict(data)
        except exception.InvalidRecord as exc:
            self.assertTrue(exc.reason)

    @hypothesis.given(st.lists(st.one_of(
        s.snapshots, s.broken_snapshot().map(lambda c: c[0])),
        min_size=1, max_size=6), s.bounded(records.MAX_NAME))
    def test_the_parse_cache_never_changes_a_result(self, snaps, node):
        # One node's snapshots in a row (the cache is per node), good and
        # bad: with and without the cache, the same record or error.
        cache = {}
        for cycle, data in enumerate(snaps):
            if isinstance(data.get('node'), str) and isinstance(
                    data.get('cycle'), int):
                data = dict(data, node=node, cycle=cycle)
            self.assertEqual(_parse(data), _parse(data, cache))
