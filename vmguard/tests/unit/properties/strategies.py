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

"""Hypothesis strategies of the SPEC.md section 2 contract.

Valid snapshots and crash events are drawn from the contract itself (every
field, optional ones present or not, unknown fields added, strings up to
their bound) together with ``normal_*``, what ``parse_record`` must make of
them. ``broken_snapshot``/``broken_event`` take a valid one and break one
field -- dropped, null, of a wrong type, out of its enum, too long, too
large, negative, NaN, an unpaired surrogate, nested deep -- and say which
field the error must name.

Importing this module loads the ``vmguard`` settings profile: runs are
derandomised (every CI run draws the same examples) and keep no example
database; Hypothesis's caches go to the temporary directory (no
``.hypothesis`` directory in the tree).
"""

import json
import os
import tempfile

import hypothesis
from hypothesis import configuration
from hypothesis import strategies as st

from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj

# Hypothesis keeps caches (Unicode tables, constants of the code under
# test) under .hypothesis in the working directory: not in the tree.
configuration.set_hypothesis_home_dir(
    os.path.join(tempfile.gettempdir(), 'vmguard-hypothesis'))
hypothesis.settings.register_profile(
    'vmguard', derandomize=True, database=None, deadline=None,
    max_examples=100, print_blob=False,
    suppress_health_check=[hypothesis.HealthCheck.too_slow,
                           hypothesis.HealthCheck.data_too_large,
                           hypothesis.HealthCheck.large_base_example])
hypothesis.settings.load_profile('vmguard')

# -- text ---------------------------------------------------------------------

# Every code point of valid text: all that have a UTF-8 form (all but the
# surrogates), 4-byte characters included, but no control character (C0,
# DEL, C1) and no line or paragraph separator.
CHARS = st.characters(codec='utf-8', exclude_categories=['Cc', 'Zl', 'Zp'])
SURROGATES = st.characters(categories=['Cs'])
CONTROLS = st.characters(categories=['Cc', 'Zl', 'Zp'])


def text(min_size=0, max_size=16):
    return st.text(CHARS, min_size=min_size, max_size=max_size)


def bounded(max_len, min_size=1):
    """Short strings, and now and then one of exactly ``max_len``."""
    return text(min_size, min(max_len, 16)) | text(max_len, max_len)


def optional(max_len):
    return st.none() | bounded(max_len, min_size=0)


counts = st.integers(0, records.MAX_INT)
cycles = st.integers(0, records.MAX_CYCLE)


def nested(depth, leaf=None):
    """``[[...[leaf]...]]``, ``depth`` lists deep (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# Any JSON value: NaN and the infinities, integers of any size, text with
# unpaired surrogates, small containers.
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats()
                | text(max_size=10)
                | st.builds(lambda a, s: a + s, text(max_size=3), SURROGATES))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        text(max_size=8), children, max_size=3),
    max_leaves=10)
deep_values = st.sampled_from([50, 900, 1200, 5000, 50000]).map(nested)


def _extras(known):
    """Unknown fields: the contract says they are ignored."""
    return st.dictionaries(text(1, 8).filter(lambda k: k not in known),
                           json_values, max_size=2)


def _with_extras(required, optional_fields, known=None):
    known = set(required) | set(optional_fields) | set(known or ())
    return st.builds(lambda fields, extra: {**extra, **fields},
                     st.fixed_dictionaries(required,
                                           optional=optional_fields),
                     _extras(known))


# -- valid records -------------------------------------------------------

string_detail = st.dictionaries(
    text(max_size=8), st.none() | bounded(records.MAX_DETAIL_VALUE, 0),
    max_size=3)

hardware_item = _with_extras(
    {'id': bounded(records.MAX_NAME), 'kind': bounded(records.MAX_KIND),
     'health': st.sampled_from(sorted(records.HARDWARE_HEALTH))},
    {'identity': optional(records.MAX_NAME),
     'identity_path': st.none() | st.sampled_from(
         sorted(records.IDENTITY_PATHS)),
     'detail': st.none() | string_detail})
external_item = _with_extras(
    {'id': bounded(records.MAX_NAME), 'kind': bounded(records.MAX_KIND),
     'health': st.sampled_from(sorted(records.EXTERNAL_HEALTH))}, {})
service_item = _with_extras(
    {'name': bounded(records.MAX_SERVICE),
     'state': st.sampled_from(sorted(records.SERVICE_STATES))}, {})
vm_item = _with_extras(
    {'uuid': bounded(records.MAX_UUID),
     'state': st.sampled_from(sorted(records.VM_STATES))},
    {'reason': optional(records.MAX_KIND), 'vcpus': counts,
     'ram_mb': counts, 'task_state': optional(records.MAX_KIND)})

capacity = st.fixed_dictionaries({}, optional={
    'vcpus_free': st.none() | counts, 'ram_mb_free': st.none() | counts})



def _snapshots(min_items=0):
    return _with_extras(
        {'type': st.just('snapshot'), 'node': bounded(records.MAX_NAME),
         'cycle': cycles,
         # Ids are unique within their list (the database's keys).
         'hardware': st.lists(hardware_item, min_size=min_items,
                              max_size=4, unique_by=lambda h: h['id']),
         'external': st.lists(external_item, min_size=min_items,
                              max_size=2, unique_by=lambda e: e['id']),
         'services': st.lists(service_item, min_size=min_items,
                              max_size=2, unique_by=lambda v: v['name']),
         'vms': st.lists(vm_item, min_size=min_items, max_size=4,
                         unique_by=lambda v: v['uuid'])},
        {'collected_at': optional(records.MAX_NAME),
         'capacity': st.none() | capacity})


snapshots = _snapshots()
# At least one item in every list: every field of the contract is there.
full_snapshots = _snapshots(min_items=1)

vm_events = _with_extras(
    {'type': st.just('vm_event'), 'node': bounded(records.MAX_NAME),
     'cycle': cycles, 'uuid': bounded(records.MAX_UUID),
     'event': bounded(records.MAX_KIND)},
    {'reason': optional(records.MAX_KIND),
     'source': optional(records.MAX_SOURCE)})


def normal_snapshot(d):
    """What ``parse_record(d).to_dict()`` must be, from SPEC.md alone."""
    def hardware(h):
        out = {'id': h['id'], 'kind': h['kind'], 'health': h['health']}
        if h.get('identity') is not None:
            out['identity'] = h['identity']
        path = h.get('identity_path')
        if path is None and h.get('identity') is not None:
            path = 'inband'
        if path is not None:
            out['identity_path'] = path
        if h.get('detail'):
            out['detail'] = h['detail']
        return out

    def vm(v):
        out = {'uuid': v['uuid'], 'state': v['state'],
               'reason': v.get('reason'), 'vcpus': v.get('vcpus', 0),
               'ram_mb': v.get('ram_mb', 0)}
        if v.get('task_state') is not None:
            out['task_state'] = v['task_state']
        return out

    out = {'type': 'snapshot', 'node': d['node'], 'cycle': d['cycle'],
           'collected_at': d.get('collected_at'),
           'hardware': [hardware(h) for h in d['hardware']],
           'external': [{k: e[k] for k in ('id', 'kind', 'health')}
                        for e in d['external']],
           'services': [{k: s[k] for k in ('name', 'state')}
                        for s in d['services']],
           'vms': [vm(v) for v in d['vms']]}
    cap = d.get('capacity') or {}
    if (cap.get('vcpus_free') is not None
            or cap.get('ram_mb_free') is not None):
        out['capacity'] = {'vcpus_free': cap.get('vcpus_free'),
                           'ram_mb_free': cap.get('ram_mb_free')}
    return out


def normal_event(d):
    out = {'type': 'vm_event', 'node': d['node'], 'cycle': d['cycle'],
           'uuid': d['uuid'], 'event': d['event'],
           'reason': d.get('reason')}
    if d.get('source') is not None:
        out['source'] = d['source']
    return out


def line(d):
    return json.dumps(d)


# -- broken records ---------------------------------------------------------

DROP = object()   # the field is removed

DETAIL = ('object?', 'detail')
# field -> (kind, bound). Kinds: str/int/enum/list/object, each required
# ('!') or optional ('?'); int0: may be absent (0), never null.
SNAPSHOT_FIELDS = {
    'type': ('type', None),
    'node': ('str!', records.MAX_NAME),
    'cycle': ('int!', records.MAX_CYCLE),
    'collected_at': ('str?', records.MAX_NAME),
    'capacity': ('object?', None),
    'hardware': ('list!', None),
    'external': ('list!', None),
    'services': ('list!', None),
    'vms': ('list!', None),
}
CAPACITY_FIELDS = {
    'vcpus_free': ('int?', records.MAX_INT),
    'ram_mb_free': ('int?', records.MAX_INT),
}
ITEM_FIELDS = {
    'hardware': {
        'id': ('str!', records.MAX_NAME),
        'kind': ('str!', records.MAX_KIND),
        'health': ('enum!', records.HARDWARE_HEALTH),
        'identity': ('str?', records.MAX_NAME),
        'identity_path': ('enum?', records.IDENTITY_PATHS),
        'detail': DETAIL,
    },
    'external': {
        'id': ('str!', records.MAX_NAME),
        'kind': ('str!', records.MAX_KIND),
        'health': ('enum!', records.EXTERNAL_HEALTH),
    },
    'services': {
        'name': ('str!', records.MAX_SERVICE),
        'state': ('enum!', records.SERVICE_STATES),
    },
    'vms': {
        'uuid': ('str!', records.MAX_UUID),
        'state': ('enum!', records.VM_STATES),
        'reason': ('str?', records.MAX_KIND),
        'vcpus': ('int0', records.MAX_INT),
        'ram_mb': ('int0', records.MAX_INT),
        'task_state': ('str?', records.MAX_KIND),
    },
}
EVENT_FIELDS = {
    'type': ('type', None),
    'node': ('str!', records.MAX_NAME),
    'cycle': ('int!', records.MAX_CYCLE),
    'uuid': ('str!', records.MAX_UUID),
    'event': ('str!', records.MAX_KIND),
    'reason': ('str?', records.MAX_KIND),
    'source': ('str?', records.MAX_SOURCE),
}

_not_str = (st.integers() | st.floats() | st.booleans()
            | st.lists(json_scalars, max_size=2)
            | st.dictionaries(text(max_size=3), json_scalars, max_size=2))
_not_int = (st.floats() | st.booleans() | text(max_size=4)
            | st.integers(0, 99).map(str)
            | st.sampled_from([float('nan'), float('inf'), 1.0, -0.0])
            | st.lists(st.integers(), max_size=2) | st.just({}))
_not_container = (st.integers() | st.floats() | st.booleans()
                  | text(max_size=5))


_huge_text = st.sampled_from([10 ** 5, 10 ** 6]).map(lambda n: '\u00e9' * n)


def _too_long(bound):
    return (text(bound + 1, bound + 3)
            | st.sampled_from([bound + 1, 4 * bound, 10 ** 6]).map(
                lambda n: 'é' * n))


def _with_surrogate(bound):
    return st.builds(lambda a, s, b: (a + s + b)[:bound], text(max_size=3),
                     SURROGATES, text(max_size=3))


def _with_control(bound):
    """A newline (a forged log line), another control character or a line
    separator, within the bound."""
    return st.builds(lambda a, c, b: (a + c + b)[:bound], text(max_size=3),
                     st.sampled_from(['\n', '\r', '\x00', '\x1b', '\x7f',
                                      '\x85', '\u2028']) | CONTROLS,
                     text(max_size=3))


def not_text(bound):
    """Strings that are not printable text: a surrogate or a control."""
    return _with_surrogate(bound) | _with_control(bound)


# A detail that is an object, but not a flat one of short strings.
bad_detail = st.one_of(
    st.builds(lambda k, v: {k: v}, text(max_size=4),
              st.integers() | st.floats() | st.booleans()
              | st.lists(json_scalars, max_size=2) | st.just({})
              | text(records.MAX_DETAIL_VALUE + 1,
                     records.MAX_DETAIL_VALUE + 2) | not_text(8)),
    st.builds(lambda k: {k: 'x'}, not_text(8)
              | text(records.MAX_DETAIL_KEY + 1, records.MAX_DETAIL_KEY + 2)),
    st.just({'k%d' % i: 'v' for i in range(records.MAX_DETAIL + 1)}))


def wrong_values(spec):
    """Values never valid for a field of this (kind, bound)."""
    return st.one_of(wrong_options(spec))


def wrong_options(spec):
    """``wrong_values`` as a list of strategies, one per way of being
    wrong (dropped or null, a wrong type, too long, out of the enum...)."""
    kind, bound = spec
    base, required = kind.rstrip('!?0'), kind.endswith('!')
    # A list is a list however deep; anything else must not be one.
    options = [] if base == 'list' else [deep_values, _huge_text]
    if required:
        options.append(st.sampled_from([DROP, None]))
    if kind == 'int0':
        options.append(st.none())
    if base == 'str':
        options += [_not_str, _too_long(bound), _with_surrogate(bound),
                    _with_control(bound)]
        options.remove(_huge_text)
        if required:
            options.append(st.just(''))
    elif base == 'int':
        options += [_not_int, st.integers(max_value=-1),
                    st.integers(min_value=bound + 1)]
    elif base == 'enum':
        allowed = sorted(bound)
        options += [
            text(max_size=12).filter(lambda s: s not in bound),
            st.sampled_from([s.upper() for s in allowed]
                            + [' %s' % s for s in allowed]),
            _not_str]
    elif base == 'list':
        options += [_not_container, st.dictionaries(
            text(max_size=3), json_scalars, max_size=2)]
    elif base == 'object':
        options += [_not_container, st.lists(json_scalars, max_size=2)]
        if spec == DETAIL:
            options += [bad_detail]
    elif base == 'type':
        options += [st.sampled_from([DROP, None, 'Snapshot', 'event', '']),
                    text(max_size=8).filter(
                        lambda t: t not in ('snapshot', 'vm_event')),
                    _not_str]
    return options


def field_targets(data):
    """[(where, holder, key, spec)]: every field of a record, at every
    level (a snapshot's capacity and the items of its lists included)."""
    if data['type'] == 'vm_event':
        return [('vm_event' if key != 'type' else 'record', data, key,
                 spec) for key, spec in EVENT_FIELDS.items()]
    out = [('snapshot' if key != 'type' else 'record', data, key, spec)
           for key, spec in SNAPSHOT_FIELDS.items()]
    if not isinstance(data.get('capacity'), dict):
        data['capacity'] = {}
    out += [('capacity', data['capacity'], key, spec)
            for key, spec in CAPACITY_FIELDS.items()]
    for lst, fields in ITEM_FIELDS.items():
        for i, item in enumerate(data[lst]):
            out += [('%s[%d]' % (lst, i), item, key, spec)
                    for key, spec in fields.items()]
    return out


def _break(draw, holder, key, spec):
    value = draw(wrong_values(spec))
    if value is DROP:
        del holder[key]
    else:
        holder[key] = value


@st.composite
def broken_snapshot(draw):
    """(snapshot dict, where, key): one field broken.

    The error must name ``where`` (``snapshot``, ``capacity``,
    ``vms[2]``...) and, unless it is None (the whole item is not an
    object), ``repr(key)``.
    """
    snap = draw(snapshots)
    # The level first, then the field: each field gets its share.
    levels = ['snapshot', 'capacity'] + [lst for lst in ITEM_FIELDS
                                         if snap[lst]]
    level = draw(st.sampled_from(levels))
    if level == 'snapshot':
        target = (level, draw(st.sampled_from(list(SNAPSHOT_FIELDS))))
    elif level == 'capacity':
        target = (level, draw(st.sampled_from(list(CAPACITY_FIELDS))))
    else:
        target = (level, draw(st.integers(0, len(snap[level]) - 1)),
                  draw(st.sampled_from(list(ITEM_FIELDS[level]) + [None])))
    if target[0] == 'snapshot':
        key = target[1]
        _break(draw, snap, key, SNAPSHOT_FIELDS[key])
        return snap, 'record' if key == 'type' else 'snapshot', key
    if target[0] == 'capacity':
        key = target[1]
        if not isinstance(snap.get('capacity'), dict):
            snap['capacity'] = {}
        _break(draw, snap['capacity'], key, CAPACITY_FIELDS[key])
        return snap, 'capacity', key
    lst, i, key = target
    where = '%s[%d]' % (lst, i)
    if key is None:
        snap[lst][i] = draw(_not_container | st.none()
                            | st.lists(json_scalars, max_size=2))
        return snap, where, None
    _break(draw, snap[lst][i], key, ITEM_FIELDS[lst][key])
    return snap, where, key


@st.composite
def broken_event(draw):
    """(event dict, where, key): one field broken."""
    event = draw(vm_events)
    key = draw(st.sampled_from(sorted(EVENT_FIELDS)))
    _break(draw, event, key, EVENT_FIELDS[key])
    return event, 'record' if key == 'type' else 'vm_event', key


# -- RPC primitives -------------------------------------------------------

NAME = 'vmguard_object.name'
NAMESPACE = 'vmguard_object.namespace'
VERSION = 'vmguard_object.version'
DATA = 'vmguard_object.data'


def _envelope(name, data):
    return {NAME: name, NAMESPACE: 'vmguard', VERSION: '1.0', DATA: data}


def primitive_of(d):
    """The primitive an agent casts for the JSON form ``d``, built by hand
    so that it can carry what the versioned objects would refuse."""
    if d.get('type') == 'vm_event':
        return _envelope('VMEvent', {k: v for k, v in d.items()
                                     if k != 'type'})
    data = {k: v for k, v in d.items()
            if k not in ('type', 'capacity', 'hardware', 'external',
                         'services', 'vms')}
    cap = d.get('capacity') or {}
    if isinstance(cap, dict):
        data.update(cap)
    for lst, cls in (('hardware', 'HardwareItem'),
                     ('external', 'ExternalItem'),
                     ('services', 'ServiceState'), ('vms', 'VMInfo')):
        if lst in d:
            items = d[lst]
            data[lst] = ([_envelope(cls, i) if isinstance(i, dict) else i
                          for i in items] if isinstance(items, list)
                         else items)
    return _envelope('Snapshot', data)


def object_primitive(d):
    """The primitive of the versioned object, through JSON (the wire)."""
    if d.get('type') == 'vm_event':
        obj = snapshot_obj.VMEvent.from_json_dict(d)
    else:
        obj = snapshot_obj.Snapshot.from_json_dict(d)
    return json.loads(json.dumps(obj.obj_to_primitive()))


@st.composite
def oversized_or_duplicated(draw):
    """(primitive, 'snapshot', words): a snapshot valid but for an id
    that appears twice in its list, or more VMs or items than the default
    limits ([engine] max_vms_per_snapshot / max_items_per_snapshot)."""
    d = draw(full_snapshots)
    how = draw(st.sampled_from(['duplicate', 'vms', 'items']))
    if how == 'duplicate':
        lst = draw(st.sampled_from(sorted(ITEM_FIELDS)))
        d[lst].append(dict(d[lst][0]))
        return primitive_of(d), 'snapshot', [lst + '[', 'is also the']
    if how == 'vms':
        d['vms'] = [{'uuid': 'vm-%d' % i, 'state': 'running'}
                    for i in range(records.DEFAULT_MAX_VMS + 1)]
        return primitive_of(d), 'snapshot', ['max_vms_per_snapshot']
    d['services'] = [{'name': 'svc-%d' % i, 'state': 'running'}
                     for i in range(records.DEFAULT_MAX_ITEMS + 1)]
    return primitive_of(d), 'snapshot', ['max_items_per_snapshot']


@st.composite
def broken_primitive(draw):
    """(primitive, method, words): a damaged snapshot or event payload;
    the rejection reason must contain each of ``words``."""
    kind = draw(st.sampled_from(['snapshot', 'vm_event']))
    if draw(st.integers(0, 3)) == 0:
        # The envelope: object name, version, data.
        d = draw(snapshots if kind == 'snapshot' else vm_events)
        prim = primitive_of(d)
        cls = 'Snapshot' if kind == 'snapshot' else 'VMEvent'
        how = draw(st.sampled_from(['version', 'no-version', 'data']))
        if how == 'version':
            prim[VERSION] = draw(st.sampled_from(['2.0', '1.1', '0.9', 'x',
                                                  '', '1', '1.0.0']))
            return prim, kind, [cls]
        if how == 'no-version':
            prim[VERSION] = draw(_not_str | st.none())
            return prim, kind, [cls]
        prim[DATA] = draw(_not_container | st.none()
                          | st.lists(json_scalars, max_size=2))
        return prim, kind, [cls]
    if kind == 'snapshot' and draw(st.integers(0, 7)) == 0:
        return draw(oversized_or_duplicated())
    if kind == 'snapshot':
        d, where, key = draw(broken_snapshot())
        if where == 'record' or key == 'capacity':
            # No such field in the object (its capacity is flat): break a
            # count instead.
            d = draw(snapshots)
            where, key = 'capacity', draw(
                st.sampled_from(sorted(CAPACITY_FIELDS)))
            d['capacity'] = dict(d.get('capacity') or {})
            _break(draw, d['capacity'], key, CAPACITY_FIELDS[key])
        if key is None:
            # An item that is not an object: "hardware: items must be..."
            return primitive_of(d), kind, [where.split('[')[0]]
        if key in ITEM_FIELDS:
            # "Snapshot field 'vms' must be a list"
            return primitive_of(d), kind, [repr(key)]
        return primitive_of(d), kind, [where, repr(key)]
    d, where, key = draw(broken_event())
    if where == 'record':
        d['type'] = 'vm_event'
        key = draw(st.sampled_from(sorted(set(EVENT_FIELDS) - {'type'})))
        _break(draw, d, key, EVENT_FIELDS[key])
    return primitive_of(d), kind, ['vm_event', repr(key)]


# -- the database -----------------------------------------------------------

def db_dump(engine):
    """Every row of every table, to compare before and after a request."""
    out = {}
    with engine.connect() as conn:
        tables = [r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "ORDER BY name")]
        for table in tables:
            rows = conn.exec_driver_sql('SELECT * FROM "%s"' % table)
            out[table] = sorted(repr(tuple(r)) for r in rows)
    return out


# Objects whose ``type`` (or any one field) is any value at all.
any_objects = st.builds(
    lambda key, value, rest: {**rest, key: value},
    st.sampled_from(['type', 'node', 'cycle', 'hardware', 'uuid']),
    json_values | deep_values | _huge_text,
    st.fixed_dictionaries({}, optional={
        'type': st.sampled_from(['snapshot', 'vm_event']),
        'node': text(1, 5), 'cycle': st.integers(0, 5)}))


@st.composite
def not_printable(draw):
    """(record dict, where, key): one string of a valid snapshot or event
    holds an unpaired surrogate (a JSON "\\udc80" escape alone) or a
    control character (a newline)."""
    data = draw(snapshots | vm_events)
    if data['type'] == 'vm_event':
        holders = [('vm_event', data, EVENT_FIELDS)]
    else:
        holders = [('snapshot', data, SNAPSHOT_FIELDS)] + [
            ('%s[%d]' % (lst, i), item, ITEM_FIELDS[lst])
            for lst in ITEM_FIELDS for i, item in enumerate(data[lst])]
    where, holder, fields = draw(st.sampled_from(holders))
    key = draw(st.sampled_from(sorted(
        k for k, (kind, _bound) in fields.items() if kind[:3] == 'str')))
    holder[key] = draw(not_text(fields[key][1]))
    return data, where, key
