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

"""Property-based tests (hypothesis): random and malformed snapshots,
crash events, trace lines, RPC payloads and API bodies.

Each property states what must hold for *every* input: valid records
parse and round-trip, invalid ones raise ``InvalidRecord`` naming the
field (never another exception), the parse cache never changes a result,
replay skips exactly the bad lines and judges the rest as if they were
alone, the engine's RPC boundary turns every bad payload into one counted
rejection, and the API answers a body with 200 or a 400 naming the field
-- never a 500 -- and writes nothing on a 400.

Runs are derandomised (the same examples in every CI run) and keep no
example database in the tree.
"""

import copy
import io
import json

import hypothesis
from hypothesis import strategies as st
import jsonschema

from vmguard.api.schemas import nodes as node_schemas
from vmguard.api.schemas import settings as settings_schemas
from vmguard.api import util as api_util
from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.engine import manager
from vmguard.engine import pipeline as pipeline_mod
from vmguard.engine import replay
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.api import test_app
from vmguard.tests.unit.engine import streams

hypothesis.settings.register_profile(
    'vmguard', derandomize=True, database=None, deadline=None,
    max_examples=150,
    suppress_health_check=[hypothesis.HealthCheck.too_slow,
                           hypothesis.HealthCheck.data_too_large])
hypothesis.settings.load_profile('vmguard')

# -- strategies ---------------------------------------------------------------

names = st.text(st.characters(codec='utf-8', exclude_characters='\x00'),
                min_size=1, max_size=20)
opt_text = st.none() | st.text(max_size=16)
counts = st.integers(min_value=0, max_value=records.MAX_INT)
cycles = st.integers(min_value=0, max_value=records.MAX_CYCLE)


def _item(required, optional):
    return st.fixed_dictionaries(required, optional=optional)


hardware_item = _item(
    {'id': names, 'kind': names,
     'health': st.sampled_from(sorted(records.HARDWARE_HEALTH))},
    {'identity': opt_text,
     'identity_path': st.none() | st.sampled_from(
         sorted(records.IDENTITY_PATHS)),
     'detail': st.none() | st.dictionaries(names, opt_text, max_size=3)})
external_item = _item(
    {'id': names, 'kind': names,
     'health': st.sampled_from(sorted(records.EXTERNAL_HEALTH))}, {})
service_item = _item(
    {'name': names, 'state': st.sampled_from(sorted(records.SERVICE_STATES))},
    {})
vm_item = _item(
    {'uuid': names, 'state': st.sampled_from(sorted(records.VM_STATES))},
    {'reason': opt_text, 'vcpus': counts, 'ram_mb': counts,
     'task_state': opt_text})

snapshots = _item(
    {'type': st.just('snapshot'), 'node': names, 'cycle': cycles,
     'hardware': st.lists(hardware_item, max_size=4),
     'external': st.lists(external_item, max_size=2),
     'services': st.lists(service_item, max_size=2),
     'vms': st.lists(vm_item, max_size=4)},
    {'collected_at': opt_text,
     'capacity': _item({}, {'vcpus_free': st.none() | counts,
                            'ram_mb_free': st.none() | counts})})
vm_events = _item(
    {'type': st.just('vm_event'), 'node': names, 'cycle': cycles,
     'uuid': names, 'event': names},
    {'reason': opt_text, 'source': opt_text})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() |
    st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) |
    st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12)

# Values of the wrong type for a field: (key, replacement) pairs are drawn
# so that the replacement is never valid for that key.
_WRONG = {
    'str': st.integers() | st.floats(allow_nan=False) | st.booleans() |
    st.lists(st.integers(), max_size=2) | st.just({}) |
    st.text(min_size=records.MAX_NAME + 1, max_size=300),
    'int': st.text(max_size=5) | st.floats(allow_nan=False) |
    st.booleans() | st.integers(max_value=-1) | st.just([]) |
    st.integers(min_value=records.MAX_CYCLE + 1),
    'enum': st.text(max_size=12).filter(
        lambda s: s not in records.VM_STATES | records.HARDWARE_HEALTH
        | records.EXTERNAL_HEALTH | records.SERVICE_STATES
        | records.IDENTITY_PATHS) | st.integers(),
    'list': st.text(max_size=5) | st.integers() | st.just({}),
}
_SNAPSHOT_FIELDS = {'node': 'str', 'cycle': 'int', 'hardware': 'list',
                    'external': 'list', 'services': 'list', 'vms': 'list'}
_ITEM_FIELDS = {
    'hardware': {'id': 'str', 'kind': 'str', 'health': 'enum'},
    'external': {'id': 'str', 'kind': 'str', 'health': 'enum'},
    'services': {'name': 'str', 'state': 'enum'},
    'vms': {'uuid': 'str', 'state': 'enum', 'vcpus': 'int',
            'ram_mb': 'int'},
}


@st.composite
def broken_snapshots(draw):
    """A valid snapshot with one required field dropped or mistyped.

    Returns (snapshot dict, name of the broken field).
    """
    snap = draw(snapshots)
    targets = [(None, k) for k in _SNAPSHOT_FIELDS]
    for lst, fields in _ITEM_FIELDS.items():
        if snap[lst]:
            targets += [(lst, k) for k in fields]
    where, key = draw(st.sampled_from(targets))
    if where is None:
        holder, kind = snap, _SNAPSHOT_FIELDS[key]
    else:
        holder = snap[where][draw(st.integers(0, len(snap[where]) - 1))]
        kind = _ITEM_FIELDS[where][key]
    if draw(st.booleans()) and kind != 'int' or key in ('node', 'cycle'):
        # Dropping an optional int (vcpus) is valid; the rest is not.
        if draw(st.booleans()):
            del holder[key]
            return snap, key
    holder[key] = draw(_WRONG[kind])
    return snap, key


def _line(d):
    return json.dumps(d)


# -- records ------------------------------------------------------------------

class TestRecordProperties(base.TestCase):

    @hypothesis.given(snapshots)
    def test_valid_snapshot_parses_and_round_trips(self, data):
        rec = records.parse_record(copy.deepcopy(data))
        again = records.parse_record(json.loads(_line(rec.to_dict())))
        self.assertEqual(rec.to_dict(), again.to_dict())
        self.assertEqual(data['node'], rec.node)
        self.assertEqual(len(data['vms']), len(rec.vms))

    @hypothesis.given(snapshots)
    def test_versioned_object_agrees_with_the_record(self, data):
        for item in data['hardware']:
            # The object's detail is a dict of strings.
            item.pop('detail', None)
        obj = snapshot_obj.Snapshot.from_json_dict(copy.deepcopy(data))
        prim = obj.obj_to_primitive()
        back = snapshot_obj.Snapshot.obj_from_primitive(
            json.loads(json.dumps(prim)))
        self.assertEqual(records.parse_record(data).to_dict(),
                         back.to_json_dict())

    @hypothesis.given(vm_events)
    def test_valid_event_round_trips(self, data):
        rec = records.parse_record(copy.deepcopy(data))
        self.assertEqual(rec.to_dict(),
                         records.parse_record(rec.to_dict()).to_dict())

    @hypothesis.given(broken_snapshots())
    def test_broken_field_is_named(self, case):
        data, key = case
        exc = self.assertRaises(exception.InvalidRecord,
                                records.parse_record, data)
        self.assertIn(repr(key), str(exc))

    @hypothesis.given(json_values)
    def test_any_json_value_is_a_record_or_a_clear_error(self, value):
        try:
            rec = records.parse_record(value)
        except exception.InvalidRecord as exc:
            self.assertTrue(str(exc))
            return
        self.assertIn(rec.type, ('snapshot', 'vm_event'))

    @hypothesis.given(snapshots, json_values, st.sampled_from(
        ['node', 'cycle', 'collected_at', 'capacity', 'hardware',
         'external', 'services', 'vms']))
    def test_any_value_in_any_field_never_crashes(self, data, value, key):
        data[key] = value
        try:
            records.parse_record(data)
        except exception.InvalidRecord as exc:
            self.assertTrue(str(exc))

    @hypothesis.given(st.lists(st.one_of(
        snapshots, broken_snapshots().map(lambda c: c[0])), min_size=1,
        max_size=8), names)
    def test_the_parse_cache_never_changes_a_result(self, snaps, node):
        cache = {}
        for cycle, data in enumerate(snaps):
            data = dict(data, node=node, cycle=cycle) \
                if isinstance(data.get('cycle'), int) and data.get(
                    'node') else data
            try:
                plain = records.parse_record(copy.deepcopy(data)).to_dict()
            except exception.InvalidRecord as exc:
                plain = ('rejected', str(exc))
            try:
                cached = records.parse_record(copy.deepcopy(data),
                                              cache).to_dict()
            except exception.InvalidRecord as exc:
                cached = ('rejected', str(exc))
            self.assertEqual(plain, cached)


# -- replay -------------------------------------------------------------------

_STREAM = [_line(dict(s, type='snapshot'))
           for _cycle, snaps in streams.rule_stream() for s in snaps]


def _garbage():
    return st.one_of(
        st.text(max_size=30).filter(lambda s: s.strip()).map(
            lambda s: '{' + s),
        json_values.filter(lambda v: not isinstance(v, dict)).map(_line),
        broken_snapshots().map(lambda c: _line(c[0])))


class TestReplayProperties(base.TestCase):

    def _run(self, lines):
        out, err = io.StringIO(), io.StringIO()
        pipeline = pipeline_mod.Pipeline()
        code = replay.run(lines, stdout=out, stderr=err, pipeline=pipeline)
        return code, out.getvalue(), err.getvalue()

    @hypothesis.settings(max_examples=25)
    @hypothesis.given(st.lists(st.tuples(
        st.integers(0, len(_STREAM)), _garbage()), max_size=6))
    def test_bad_lines_skipped_the_rest_judged_as_alone(self, inserts):
        clean_code, clean_out, _ = self._run(_STREAM)
        lines = list(_STREAM)
        for position, junk in sorted(inserts, key=lambda x: -x[0]):
            lines.insert(position, junk)
        bad = {n for n, line in enumerate(lines, 1)
               if line not in _STREAM}
        code, out, err = self._run(lines)
        self.assertEqual(0, clean_code)
        self.assertEqual(3 if bad else 0, code)
        self.assertEqual(clean_out, out)
        reported = {int(r.split(':')[0].split()[1])
                    for r in err.splitlines() if r.startswith('line ')}
        self.assertEqual(bad, reported)


# -- the engine's RPC boundary -------------------------------------------

def _primitive(data):
    return snapshot_obj.Snapshot.from_json_dict(data).obj_to_primitive()


@st.composite
def broken_primitives(draw):
    """The primitive of a valid snapshot object, damaged somewhere (never
    into another valid payload)."""
    data = draw(snapshots)
    for item in data['hardware']:
        item.pop('detail', None)
    prim = json.loads(json.dumps(_primitive(data)))
    body = prim['vmguard_object.data']
    places = ['node', 'cycle', 'hardware', 'vms', 'version', 'name']
    if body['vms']:
        places.append('item')
    where = draw(st.sampled_from(places))
    if where == 'version':
        prim['vmguard_object.version'] = draw(st.sampled_from(
            ['2.0', '', 'x', None, 7]))
    elif where == 'name':
        prim['vmguard_object.name'] = draw(st.sampled_from(
            ['Snapshot', 'Nope', None]))
        prim.pop('vmguard_object.data')
    elif where == 'item':
        vm = body['vms'][0]['vmguard_object.data']
        key = draw(st.sampled_from(['state', 'vcpus', 'uuid']))
        vm[key] = draw({'state': _WRONG['enum'],
                        'vcpus': _WRONG['int'] | st.none(),
                        'uuid': _WRONG['str'] | st.none()}[key])
    elif where in ('hardware', 'vms'):
        body[where] = draw(st.sampled_from([None, -1, 'x', {}]))
    else:
        body[where] = draw(st.sampled_from([None, -1, '', {}, [1]]
                                           if where == 'cycle' else
                                           [None, -1, '', {}, [1], 7]))
    return prim


class TestEngineBoundaryProperties(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(host='engine-prop')
        self.engine = service.Engine(self.conf)
        self.manager = manager.EngineManager(self.engine)
        self.serializer = manager.EngineSerializer()

    def _deliver(self, prim):
        entity = self.serializer.deserialize_entity(self.context, prim)
        self.manager.report_snapshot(self.context, entity)

    @hypothesis.settings(max_examples=60)
    @hypothesis.given(broken_primitives())
    def test_every_broken_payload_is_one_counted_rejection(self, prim):
        before = self.manager.stats['rejected']
        self._deliver(prim)
        self.assertEqual(before + 1, self.manager.stats['rejected'])

    @hypothesis.settings(max_examples=60)
    @hypothesis.given(json_values)
    def test_any_payload_never_raises_out_of_the_endpoint(self, value):
        before = dict(self.manager.stats)
        self._deliver(value)
        self.assertEqual(before.get('rejected', 0) + 1,
                         self.manager.stats['rejected'])

    @hypothesis.settings(max_examples=20)
    @hypothesis.given(snapshots)
    def test_valid_payload_is_judged_and_stored(self, data):
        for item in data['hardware']:
            item.pop('detail', None)
        data['node'] = 'prop-%d' % len(self.engine.pipeline.nodes)
        self._deliver(json.loads(json.dumps(_primitive(data))))
        self.assertEqual(0, self.manager.stats['rejected'])
        self.assertEqual(data['cycle'],
                         db_api.node_get(self.context,
                                         data['node']).last_cycle)


# -- API bodies -----------------------------------------------------------

_ROUTES = [
    ('/v1/nodes/%s/maintenance', node_schemas.MAINTENANCE, None),
    ('/v1/nodes/%s/enable', node_schemas.ENABLE, None),
    ('/v1/nodes/%s/dry-run', node_schemas.DRY_RUN, None),
    ('/v1/dry-run', settings_schemas.DRY_RUN, '1.1'),
]


_bodies = st.fixed_dictionaries({}, optional={
    'maintenance': json_values, 'dry_run': json_values,
    'other': json_values})


class TestAPIBodyProperties(test_app.APITestCase):

    def _put(self, url, raw, version=None):
        req = test_app.webob.Request.blank(url, method='PUT')
        for name, value in test_app.ADMIN.items():
            req.headers[name] = value
        if version:
            req.headers['OpenStack-API-Version'] = 'vmguard %s' % version
        req.content_type = 'application/json'
        req.body = raw
        return req.get_response(self.app)

    def _dump(self):
        engine = db_api.get_engine()
        out = {}
        with engine.connect() as conn:
            for table in ('nodes', 'settings'):
                out[table] = [tuple(r) for r in conn.exec_driver_sql(
                    'SELECT * FROM %s ORDER BY 1' % table)]
        return out

    @hypothesis.settings(max_examples=80)
    @hypothesis.given(st.sampled_from(_ROUTES), json_values | _bodies)
    def test_body_is_accepted_or_a_400_naming_the_field(self, route, body):
        path, schema, version = route
        url = path % 'cmp-02' if '%s' in path else path
        valid = jsonschema.Draft202012Validator(schema).is_valid(body)
        before = self._dump()
        resp = self._put(url, json.dumps(body).encode(), version)
        if valid:
            self.assertEqual(200, resp.status_int, resp.body)
            return
        self.assertEqual(400, resp.status_int, resp.body)
        error = resp.json['errors'][0]
        self.assertEqual(api_util.SCHEMA_INVALID, error['code'])
        # A known field of the wrong type is named; a missing or unknown
        # one is named by the message itself.
        fields = body.items() if isinstance(body, dict) else ()
        for key, value in fields:
            sub = schema['properties'].get(key)
            if sub and not jsonschema.Draft202012Validator(sub).is_valid(
                    value):
                self.assertIn("field '%s'" % key, error['detail'])
        for key in schema.get('required', ()):
            if isinstance(body, dict) and key not in body:
                self.assertIn(key, error['detail'])
        self.assertEqual(before, self._dump())

    @hypothesis.settings(max_examples=40)
    @hypothesis.given(st.binary(max_size=40))
    def test_bytes_that_are_not_json_are_a_400(self, raw):
        try:
            json.loads(raw)
            hypothesis.assume(False)
        except ValueError:
            pass
        before = self._dump()
        resp = self._put('/v1/nodes/cmp-02/maintenance', raw)
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertEqual(api_util.MALFORMED_JSON,
                         resp.json['errors'][0]['code'])
        self.assertEqual(before, self._dump())
