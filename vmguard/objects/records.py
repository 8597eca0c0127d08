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

"""The data contract of SPEC.md section 2, as plain in-memory records.

``parse_record`` validates one decoded JSON object (a trace line, or the
primitive of an RPC payload once unwrapped) and returns a ``Snapshot`` or
``VMEvent``. It is on the hot path of both ``replay`` and the engine, so it
is written as straight-line checks on dicts rather than through a schema
library (jsonschema validates such a line about ten times slower).

Unknown fields are ignored. A missing required field or a wrong type raises
:class:`vmguard.common.exception.InvalidRecord` naming the field. This is
the one validator of the contract (SPEC.md, "One validator"):
``replay``, the RPC endpoint and engine-to-engine forwarding all come
here. Types are strict (nothing is coerced); strings are printable text
(:mod:`vmguard.objects.text`) within the stored bounds (``MAX_*``); ids
are unique within their list; a ``detail`` is a flat object of short
strings; the lists are bounded by :class:`Limits`.
"""

import marshal
from operator import attrgetter
import reprlib

from vmguard.common import exception
from vmguard.objects import text

HARDWARE_HEALTH = frozenset(('ok', 'warning', 'critical'))
EXTERNAL_HEALTH = frozenset(('ok', 'degraded', 'failed'))
SERVICE_STATES = frozenset(('running', 'stopped', 'failed'))
IDENTITY_PATHS = frozenset(('inband', 'oob', 'none'))
VM_STATES = frozenset(('nostate', 'running', 'blocked', 'paused', 'shutdown',
                       'shutoff', 'crashed', 'pmsuspended'))
HOST_STATES = ('normal', 'degraded', 'failed', 'unknown')

# Bounds of the contract: what the database columns hold.
MAX_NAME = 255      # node, item ids, identities
MAX_KIND = 32       # item kinds, VM reasons and task states, event names
MAX_SERVICE = 64    # service names
MAX_UUID = 36       # instance UUIDs
MAX_SOURCE = 16     # event sources
MAX_INT = 2 ** 31 - 1       # vCPUs, MB of RAM
MAX_CYCLE = 2 ** 63 - 1
MAX_DETAIL = 32     # entries of a hardware item's detail
MAX_DETAIL_KEY = 64
MAX_DETAIL_VALUE = 255

# Defaults of [engine] max_vms_per_snapshot / max_items_per_snapshot.
DEFAULT_MAX_VMS = 1000
DEFAULT_MAX_ITEMS = 2000


class Limits:
    """Per-snapshot list sizes (from ``[engine]``; see :func:`limits`)."""

    __slots__ = ('max_vms', 'max_items')

    def __init__(self, max_vms=DEFAULT_MAX_VMS, max_items=DEFAULT_MAX_ITEMS):
        self.max_vms = max_vms
        self.max_items = max_items


DEFAULT_LIMITS = Limits()


def limits(conf):
    """The :class:`Limits` of ``conf``'s ``[engine]`` options."""
    return Limits(conf.engine.max_vms_per_snapshot,
                  conf.engine.max_items_per_snapshot)


_NO_PREVIOUS = (None,) * 8
dumps = marshal.dumps
_text = text.is_text
_what_is_wrong = text.what_is_wrong


class HardwareItem:
    __slots__ = ('id', 'kind', 'health', 'identity', 'identity_path',
                 'detail')

    def __init__(self, id, kind, health, identity=None, identity_path=None,
                 detail=None):
        self.id = id
        self.kind = kind
        self.health = health
        self.identity = identity
        self.identity_path = identity_path
        self.detail = detail

    def to_dict(self):
        d = {'id': self.id, 'kind': self.kind, 'health': self.health}
        if self.identity is not None:
            d['identity'] = self.identity
        if self.identity_path is not None:
            d['identity_path'] = self.identity_path
        if self.detail:
            d['detail'] = self.detail
        return d


class ExternalItem:
    __slots__ = ('id', 'kind', 'health')

    def __init__(self, id, kind, health):
        self.id = id
        self.kind = kind
        self.health = health

    def to_dict(self):
        return {'id': self.id, 'kind': self.kind, 'health': self.health}


class ServiceState:
    __slots__ = ('name', 'state')

    def __init__(self, name, state):
        self.name = name
        self.state = state

    def to_dict(self):
        return {'name': self.name, 'state': self.state}


class VMInfo:
    __slots__ = ('uuid', 'state', 'reason', 'vcpus', 'ram_mb', 'task_state')

    def __init__(self, uuid, state, reason=None, vcpus=0, ram_mb=0,
                 task_state=None):
        self.uuid = uuid
        self.state = state
        self.reason = reason
        self.vcpus = vcpus
        self.ram_mb = ram_mb
        self.task_state = task_state

    def to_dict(self):
        d = {'uuid': self.uuid, 'state': self.state, 'reason': self.reason,
             'vcpus': self.vcpus, 'ram_mb': self.ram_mb}
        if self.task_state is not None:
            d['task_state'] = self.task_state
        return d


class Snapshot:
    """What one agent reports for one node and one cycle."""

    __slots__ = ('node', 'cycle', 'collected_at', 'hardware', 'external',
                 'services', 'vcpus_free', 'ram_mb_free', 'vms')
    type = 'snapshot'

    def __init__(self, node, cycle, collected_at=None, hardware=(),
                 external=(), services=(), vcpus_free=None,
                 ram_mb_free=None, vms=()):
        self.node = node
        self.cycle = cycle
        self.collected_at = collected_at
        self.hardware = list(hardware)
        self.external = list(external)
        self.services = list(services)
        self.vcpus_free = vcpus_free
        self.ram_mb_free = ram_mb_free
        self.vms = list(vms)

    def to_dict(self):
        d = {'type': 'snapshot', 'node': self.node, 'cycle': self.cycle,
             'collected_at': self.collected_at,
             'hardware': [h.to_dict() for h in self.hardware],
             'external': [e.to_dict() for e in self.external],
             'services': [s.to_dict() for s in self.services],
             'vms': [v.to_dict() for v in self.vms]}
        if self.vcpus_free is not None or self.ram_mb_free is not None:
            d['capacity'] = {'vcpus_free': self.vcpus_free,
                             'ram_mb_free': self.ram_mb_free}
        return d


class VMEvent:
    """A crash event between cycles (libvirt lifecycle, Nova)."""

    __slots__ = ('node', 'cycle', 'uuid', 'event', 'reason', 'source')
    type = 'vm_event'

    def __init__(self, node, cycle, uuid, event, reason=None, source=None):
        self.node = node
        self.cycle = cycle
        self.uuid = uuid
        self.event = event
        self.reason = reason
        self.source = source

    def to_dict(self):
        d = {'type': 'vm_event', 'node': self.node, 'cycle': self.cycle,
             'uuid': self.uuid, 'event': self.event, 'reason': self.reason}
        if self.source is not None:
            d['source'] = self.source
        return d


def printable(value):  # noqa: D103 - see vmguard.objects.text.printable
    return text.printable(value, MAX_NAME)


class AgentStop:
    """An agent stopping on purpose (SPEC revision 2): its node is not
    judged silent until it reports again."""

    __slots__ = ('node', 'cycle')
    type = 'agent_stop'

    def __init__(self, node, cycle):
        self.node = node
        self.cycle = cycle

    def to_dict(self):
        return {'type': 'agent_stop', 'node': self.node,
                'cycle': self.cycle}

    def __repr__(self):
        return '<AgentStop %s@%s>' % (self.node, self.cycle)


def _fail(where, msg, node=None):
    raise exception.InvalidRecord(
        '%s: %s' % (where, msg),
        node=None if node is None else printable(node))


def _str(d, key, where, node, required=True, max_len=MAX_NAME):
    v = d.get(key)
    if v.__class__ is str:
        if len(v) > max_len:
            _fail(where, '%r must be at most %d characters long, not %d'
                  % (key, max_len, len(v)), node)
        if not _text(v):
            _fail(where, '%r must be printable Unicode text, not one '
                  'holding %s' % (key, _what_is_wrong(v)), node)
        if v or not required:
            return v
        _fail(where, '%r must not be empty' % key, node)
    if v is None and not required:
        return None
    if v is None:
        _fail(where, 'missing required field %r' % key, node)
    _fail(where, '%r must be a string, not %s' % (key, type(v).__name__),
          node)


def _int(d, key, where, node, required=True, maximum=MAX_INT):
    v = d.get(key)
    if v.__class__ is int:
        if v < 0:
            _fail(where, '%r must be >= 0' % key, node)
        if v > maximum:
            _fail(where, '%r must be <= %d' % (key, maximum), node)
        return v
    if v is None:
        if required:
            _fail(where, 'missing required field %r' % key, node)
        return None
    _fail(where, '%r must be an integer, not %s' % (key, type(v).__name__),
          node)


def _enum(value, allowed, key, where, node):
    # Every enum is of strings; an unhashable value (a list, an object)
    # would make the membership test raise TypeError.
    if value.__class__ is str and value in allowed:
        return value
    _fail(where, '%r must be one of %s, not %s'
          % (key, ', '.join(sorted(allowed)), reprlib.repr(value)), node)


def _list(d, key, where, node):
    v = d.get(key)
    if v.__class__ is not list:
        # Not null either: the engine's RPC payloads cannot carry one.
        _fail(where, '%r must be a list, not %s'
              % (key, 'null' if v is None else type(v).__name__), node)
    return v


def _unique(out, attr, lst, node):
    """Ids are unique within their list, as in the database's keys."""
    seen = {}
    for i, item in enumerate(out):
        key = getattr(item, attr)
        if key in seen:
            _fail('%s[%d]' % (lst, i), '%r %a is also the %r of %s[%d]'
                  % (attr, key[:64], attr, lst, seen[key]), node)
        seen[key] = i


def _check_unique(out, attr, lst, node):
    if len(out) > 1 and len(set(map(attrgetter(attr), out))) != len(out):
        _unique(out, attr, lst, node)
    return out


def _slow_hardware(h, i, node):
    where = 'hardware[%d]' % i
    if h.__class__ is not dict:
        _fail(where, 'must be an object', node)
    _str(h, 'id', where, node)
    _str(h, 'kind', where, node, max_len=MAX_KIND)
    _enum(_str(h, 'health', where, node), HARDWARE_HEALTH, 'health', where,
          node)
    _str(h, 'identity', where, node, required=False)
    if h.get('identity_path') is not None:
        _enum(_str(h, 'identity_path', where, node), IDENTITY_PATHS,
              'identity_path', where, node)
    _detail(h.get('detail'), where, node)
    _fail(where, 'invalid item', node)  # pragma: no cover - unreachable


def _detail_ok(detail):
    if len(detail) > MAX_DETAIL:
        return False
    for k, v in detail.items():
        if (k.__class__ is not str or len(k) > MAX_DETAIL_KEY
                or not (k.isprintable() or _text(k))
                or (v is not None and (v.__class__ is not str
                                       or len(v) > MAX_DETAIL_VALUE
                                       or not (v.isprintable()
                                               or _text(v))))):
            return False
    return True


def _detail(detail, where, node):
    """A hardware item's detail: null, or a flat object of short strings
    (or nulls) -- what the versioned object carries, unchanged."""
    if detail is None:
        return
    if detail.__class__ is not dict:
        _fail(where, "'detail' must be an object, not %s"
              % type(detail).__name__, node)
    if len(detail) > MAX_DETAIL:
        _fail(where, "'detail' must have at most %d entries, not %d"
              % (MAX_DETAIL, len(detail)), node)
    for k, v in detail.items():
        if k.__class__ is not str:
            _fail(where, "'detail' keys must be strings", node)
        if len(k) > MAX_DETAIL_KEY:
            _fail(where, "'detail' keys must be at most %d characters long"
                  % MAX_DETAIL_KEY, node)
        if not _text(k):
            _fail(where, "'detail' keys must be printable Unicode text, "
                  'not one holding %s' % _what_is_wrong(k), node)
        if v is None:
            continue
        if v.__class__ is not str:
            _fail(where, "'detail' entry %a must be a string or null, not "
                  '%s' % (k, type(v).__name__), node)
        if len(v) > MAX_DETAIL_VALUE:
            _fail(where, "'detail' entry %a must be at most %d characters "
                  'long' % (k, MAX_DETAIL_VALUE), node)
        if not _text(v):
            _fail(where, "'detail' entry %a must be printable Unicode "
                  'text, not one holding %s' % (k, _what_is_wrong(v)), node)


def _parse_hardware(items, node):
    # Hot path: straight-line checks; the slow path names the culprit.
    out = []
    append = out.append
    health_ok = HARDWARE_HEALTH
    paths = IDENTITY_PATHS
    item_cls = HardwareItem
    get = dict.get
    for h in items:
        try:
            hid = h['id']
            kind = h['kind']
            health = h['health']
        except (KeyError, TypeError):
            _slow_hardware(h, len(out), node)
        ident = get(h, 'identity')
        path = get(h, 'identity_path')
        detail = get(h, 'detail')
        if (hid.__class__ is str and hid and len(hid) <= MAX_NAME
                and kind.__class__ is str and kind and len(kind) <= MAX_KIND
                and health.__class__ is str and health in health_ok
                and (hid.isprintable() or _text(hid))
                and (kind.isprintable() or _text(kind))
                and (ident is None or (ident.__class__ is str
                                       and len(ident) <= MAX_NAME
                                       and (ident.isprintable()
                                            or _text(ident))))
                and (path is None or (path.__class__ is str
                                      and path in paths))
                and (detail is None or (detail.__class__ is dict
                                        and (not detail
                                             or _detail_ok(detail))))):
            if path is None and ident is not None:
                path = 'inband'
            append(item_cls(hid, kind, health, ident, path, detail))
            continue
        _slow_hardware(h, len(out), node)
    return _check_unique(out, 'id', 'hardware', node)


def _parse_external(items, node):
    out = []
    for i, e in enumerate(items):
        if e.__class__ is not dict:
            _fail('external[%d]' % i, 'must be an object', node)
        eid = e.get('id')
        kind = e.get('kind')
        health = e.get('health')
        if not (eid.__class__ is str and eid and len(eid) <= MAX_NAME
                and kind.__class__ is str and kind and len(kind) <= MAX_KIND
                and health.__class__ is str and health in EXTERNAL_HEALTH
                and _text(eid) and _text(kind)):
            where = 'external[%d]' % i
            _str(e, 'id', where, node)
            _str(e, 'kind', where, node, max_len=MAX_KIND)
            _enum(_str(e, 'health', where, node), EXTERNAL_HEALTH,
                  'health', where, node)
        out.append(ExternalItem(eid, kind, health))
    return _check_unique(out, 'id', 'external', node)


def _parse_services(items, node):
    out = []
    for i, s in enumerate(items):
        if s.__class__ is not dict:
            _fail('services[%d]' % i, 'must be an object', node)
        name = s.get('name')
        state = s.get('state')
        if not (name.__class__ is str and name and len(name) <= MAX_SERVICE
                and state.__class__ is str and state in SERVICE_STATES
                and _text(name)):
            where = 'services[%d]' % i
            _str(s, 'name', where, node, max_len=MAX_SERVICE)
            _enum(_str(s, 'state', where, node), SERVICE_STATES, 'state',
                  where, node)
        out.append(ServiceState(name, state))
    return _check_unique(out, 'name', 'services', node)


def _slow_vm(v, i, node):
    where = 'vms[%d]' % i
    if v.__class__ is not dict:
        _fail(where, 'must be an object', node)
    _str(v, 'uuid', where, node, max_len=MAX_UUID)
    _enum(_str(v, 'state', where, node), VM_STATES, 'state', where, node)
    _str(v, 'reason', where, node, required=False, max_len=MAX_KIND)
    for key in ('vcpus', 'ram_mb'):
        # Optional (0 when absent), but not null.
        if key in v and v[key] is None:
            _fail(where, '%r must be an integer, not null' % key, node)
        _int(v, key, where, node, required=False)
    _str(v, 'task_state', where, node, required=False, max_len=MAX_KIND)
    _fail(where, 'invalid item', node)  # pragma: no cover - unreachable


def _parse_vms(items, node):
    out = []
    append = out.append
    states = VM_STATES
    vm_cls = VMInfo
    get = dict.get
    for v in items:
        try:
            uuid = v['uuid']
            state = v['state']
        except (KeyError, TypeError):
            _slow_vm(v, len(out), node)
        reason = get(v, 'reason')
        vcpus = get(v, 'vcpus', 0)
        ram = get(v, 'ram_mb', 0)
        task = get(v, 'task_state')
        if (uuid.__class__ is str and uuid and len(uuid) <= MAX_UUID
                and state.__class__ is str and state in states
                and (uuid.isprintable() or _text(uuid))
                and (reason is None or (reason.__class__ is str
                                        and len(reason) <= MAX_KIND
                                        and (reason.isprintable()
                                            or _text(reason))))
                and vcpus.__class__ is int and 0 <= vcpus <= MAX_INT
                and ram.__class__ is int and 0 <= ram <= MAX_INT
                and (task is None or (task.__class__ is str
                                      and len(task) <= MAX_KIND
                                      and (task.isprintable()
                                           or _text(task))))):
            append(vm_cls(uuid, state, reason, vcpus, ram, task))
            continue
        _slow_vm(v, len(out), node)
    return _check_unique(out, 'uuid', 'vms', node)


def parse_snapshot(d, cache=None, limits=DEFAULT_LIMITS):
    """Validate a snapshot dict.

    :param cache: optional dict kept by the caller across calls (one entry
        per node). When a node's hardware, VM, external or service list is
        identical (same JSON values and types) to the one of its previous
        snapshot -- the usual case -- the previous parsed list is reused
        (the same list object), which saves both the parsing and the
        judges' work. Parsed records are read-only.
    :param limits: the :class:`Limits` on the sizes of the lists.
    """
    node = d.get('node')
    if (node.__class__ is not str or not node or len(node) > MAX_NAME
            or not _text(node)):
        _str(d, 'node', 'snapshot', None)
    cycle = d.get('cycle')
    if cycle.__class__ is not int or cycle < 0 or cycle > MAX_CYCLE:
        _int(d, 'cycle', 'snapshot', node, maximum=MAX_CYCLE)
    collected_at = _str(d, 'collected_at', 'snapshot', node, required=False)
    cap = d.get('capacity')
    vcpus_free = ram_free = None
    if cap is not None:
        if cap.__class__ is not dict:
            _fail('snapshot', "'capacity' must be an object", node)
        vcpus_free = _int(cap, 'vcpus_free', 'capacity', node, False)
        ram_free = _int(cap, 'ram_mb_free', 'capacity', node, False)
    for key in ('hardware', 'external', 'services', 'vms'):
        if key not in d:
            _fail('snapshot', 'missing required field %r' % key, node)
    raw_hw = _list(d, 'hardware', 'snapshot', node)
    raw_vms = _list(d, 'vms', 'snapshot', node)
    raw_ext = _list(d, 'external', 'snapshot', node)
    raw_svc = _list(d, 'services', 'snapshot', node)
    if len(raw_vms) > limits.max_vms:
        _fail('snapshot', "'vms' must hold at most %d VMs (max_vms_per_"
              "snapshot), not %d" % (limits.max_vms, len(raw_vms)), node)
    items = len(raw_hw) + len(raw_ext) + len(raw_svc)
    if items > limits.max_items:
        _fail('snapshot', "'hardware', 'external' and 'services' must hold "
              'at most %d items together (max_items_per_snapshot), not %d'
              % (limits.max_items, items), node)
    if cache is None:
        hardware = _parse_hardware(raw_hw, node)
        vms = _parse_vms(raw_vms, node)
        external = _parse_external(raw_ext, node)
        services = _parse_services(raw_svc, node)
    else:
        # Each list is compared with the node's previous one through its
        # marshal serialisation: equal bytes mean equal lists (the bytes
        # are a faithful encoding), and one contiguous string per list is
        # far cheaper to keep and to compare across a thousand nodes than
        # the decoded dicts. Unequal bytes only mean "parse again".
        try:
            key_hw = dumps(raw_hw)
            key_vms = dumps(raw_vms)
            key_ext = dumps(raw_ext)
            key_svc = dumps(raw_svc)
        except ValueError:
            # Not plain JSON data, or nested too deep for marshal: parse
            # everything (a fresh object equals no previous key).
            key_hw = key_vms = key_ext = key_svc = object()
        prev = cache.get(node)
        if prev is None:
            prev = _NO_PREVIOUS
        hardware = (prev[1] if prev[0] == key_hw
                    else _parse_hardware(raw_hw, node))
        vms = prev[3] if prev[2] == key_vms else _parse_vms(raw_vms, node)
        external = (prev[5] if prev[4] == key_ext
                    else _parse_external(raw_ext, node))
        services = (prev[7] if prev[6] == key_svc
                    else _parse_services(raw_svc, node))
        cache[node] = (key_hw, hardware, key_vms, vms, key_ext, external,
                       key_svc, services)
    snap = Snapshot.__new__(Snapshot)
    snap.node = node
    snap.cycle = cycle
    snap.collected_at = collected_at
    snap.hardware = hardware
    snap.external = external
    snap.services = services
    snap.vcpus_free = vcpus_free
    snap.ram_mb_free = ram_free
    snap.vms = vms
    return snap


def parse_vm_event(d):
    where = 'vm_event'
    node = _str(d, 'node', where, None)
    cycle = _int(d, 'cycle', where, node, maximum=MAX_CYCLE)
    uuid = _str(d, 'uuid', where, node, max_len=MAX_UUID)
    event = _str(d, 'event', where, node, max_len=MAX_KIND)
    reason = _str(d, 'reason', where, node, required=False,
                  max_len=MAX_KIND)
    source = _str(d, 'source', where, node, required=False,
                  max_len=MAX_SOURCE)
    return VMEvent(node, cycle, uuid, event, reason, source)


def parse_agent_stop(d):
    where = 'agent_stop'
    node = _str(d, 'node', where, None)
    cycle = _int(d, 'cycle', where, node, maximum=MAX_CYCLE)
    return AgentStop(node, cycle)


def parse_record(d, cache=None, limits=DEFAULT_LIMITS):
    """Validate one decoded JSON object; return a Snapshot or VMEvent.

    :param cache, limits: see :func:`parse_snapshot`.
    """
    if d.__class__ is not dict:
        _fail('record', 'must be a JSON object, not %s' % type(d).__name__)
    kind = d.get('type')
    if kind == 'snapshot':
        return parse_snapshot(d, cache, limits)
    if kind == 'vm_event':
        return parse_vm_event(d)
    if kind == 'agent_stop':
        return parse_agent_stop(d)
    if kind is None:
        _fail('record', "missing required field 'type'", d.get('node'))
    _fail('record', "'type' must be 'snapshot', 'vm_event' or "
          "'agent_stop', not %s"
          % reprlib.repr(kind), d.get('node') if isinstance(d.get('node'), str)
          else None)
