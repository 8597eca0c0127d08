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

"""Server side of :class:`vmguard.engine.rpcapi.EngineAPI`.

The endpoint validates what agents cast, hands each record to the node's
owner (this engine, or the one the hash ring names: forwarded over RPC),
runs the judgment pipeline on it, stores the derived state, the crash
events and the decisions, and gives every *new* decision to recovery.

Bad input never stops the engine: a payload that cannot be deserialised
(unknown object version, wrong types, not an object at all) reaches the
endpoint as :class:`Rejected` (see :class:`EngineSerializer`), is logged
with its node and reason, counted, and dropped. Duplicates are harmless:
the pipeline ignores a cycle it has seen, the persister never writes a
node backwards, events and decisions are unique in the database.

The pipeline is not thread-safe and the ``threading`` executor runs
several messages at once: judgment runs under one lock (it is cheap);
database writes run outside it.
"""

import collections
import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard.common import exception
from vmguard.common import rpc
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj

LOG = logging.getLogger(__name__)


class Rejected:
    """A payload the serializer could not turn into an object."""

    __slots__ = ('reason', 'node')

    def __init__(self, reason, node=None):
        self.reason = reason
        self.node = node


def _node_of(entity):
    try:
        node = entity['vmguard_object.data']['node']
    except (TypeError, KeyError, IndexError):
        return None
    # Logged: a name with a newline must not forge a log line.
    return records.printable(node)


_NS = 'vmguard_object.namespace'
_NAME = 'vmguard_object.name'
_VERSION = 'vmguard_object.version'
_DATA = 'vmguard_object.data'


def _check_version(prim, cls):
    """Accept what this engine understands: same major, minor <= ours."""
    version = prim.get(_VERSION)
    if version.__class__ is not str:
        raise ValueError('%s: no object version' % cls.__name__)
    mine = cls.VERSION
    if version == mine:
        return
    try:
        major, minor = (int(x) for x in version.split('.'))
        my_major, my_minor = (int(x) for x in mine.split('.'))
    except ValueError:
        raise ValueError('%s: bad object version %r'
                         % (cls.__name__, version)) from None
    if major != my_major or minor > my_minor:
        raise ValueError('%s version %s is not supported (this engine '
                         'has %s)' % (cls.__name__, version, mine))


def _items(prims, cls, field):
    out = []
    for prim in prims:
        if prim.__class__ is not dict or prim.get(_NAME) != cls.__name__:
            raise ValueError('%s: items must be %s objects'
                             % (field, cls.__name__))
        _check_version(prim, cls)
        data = prim.get(_DATA)
        if data.__class__ is not dict:
            raise ValueError('%s: object without data' % field)
        out.append(data)
    return out


def snapshot_from_primitive(prim, cache=None,
                            limits=records.DEFAULT_LIMITS):
    """A Snapshot primitive straight to a validated record.

    The same checks as ``replay`` (``records.parse_snapshot``), without
    building the versioned objects first: on the engine's hot path that
    halves the cost of a snapshot.
    """
    _check_version(prim, snapshot_obj.Snapshot)
    data = prim.get(_DATA)
    if data.__class__ is not dict:
        raise ValueError('Snapshot without data')
    d = {'node': data.get('node'), 'cycle': data.get('cycle'),
         'collected_at': data.get('collected_at'),
         'capacity': {'vcpus_free': data.get('vcpus_free'),
                      'ram_mb_free': data.get('ram_mb_free')}}
    for field, cls in (('hardware', snapshot_obj.HardwareItem),
                       ('external', snapshot_obj.ExternalItem),
                       ('services', snapshot_obj.ServiceState),
                       ('vms', snapshot_obj.VMInfo)):
        items = data.get(field)
        if items.__class__ is not list:
            raise ValueError('Snapshot field %r must be a list' % field)
        d[field] = _items(items, cls, field)
    return records.parse_snapshot(d, cache, limits)


def event_from_primitive(prim):
    """A VMEvent primitive straight to a validated record.

    The checks of ``replay`` (``records.parse_vm_event``): the object's
    fields would coerce a wrong type (``"cycle": "42"``) and bound nothing.
    """
    _check_version(prim, snapshot_obj.VMEvent)
    data = prim.get(_DATA)
    if data.__class__ is not dict:
        raise ValueError('VMEvent without data')
    return records.parse_vm_event(data)


class EngineSerializer(rpc.RequestContextSerializer):
    """Deserialises payloads; failures become :class:`Rejected` values.

    Snapshots (the bulk of the traffic) and crash events are turned into
    validated :mod:`~vmguard.objects.records` records directly; everything
    else goes through the versioned object serializer. With the plain
    serializer a bad payload raises inside oslo.messaging's dispatcher,
    where it can only be logged; here the endpoint sees it and accounts
    for it.
    """

    def __init__(self, base=None, limits=records.DEFAULT_LIMITS):
        super().__init__(base)
        self._cache = {}
        self._limits = limits

    def deserialize_entity(self, context, entity):
        try:
            if entity.__class__ is dict and entity.get(_NS) == 'vmguard':
                name = entity.get(_NAME)
                if name == 'Snapshot':
                    return snapshot_from_primitive(entity, self._cache,
                                                   self._limits)
                if name == 'VMEvent':
                    return event_from_primitive(entity)
            return super().deserialize_entity(context, entity)
        except exception.InvalidRecord as exc:
            return Rejected(exc.reason, _node_of(entity))
        except Exception as exc:
            return Rejected('%s: %s' % (type(exc).__name__, exc),
                            _node_of(entity))


class EngineManager:
    """RPC endpoint of the engine (topic ``[engine] topic``)."""

    # 1.1 adds ``forwarded`` (a record an engine passed to the node's
    # owner); 1.2 adds ``report_agent_stop`` (an agent stopping on
    # purpose); 1.3 adds ``process_notification`` and
    # ``execute_decision`` (from the API); see EngineAPI's version history.
    target = messaging.Target(version='1.4')

    def __init__(self, engine):
        """:param engine: :class:`vmguard.engine.service.Engine`."""
        self.engine = engine
        self.stats = collections.Counter()
        self._stats_lock = threading.Lock()
        conf = getattr(engine, 'conf', None)
        self.limits = (records.DEFAULT_LIMITS if conf is None
                       else records.limits(conf))

    def _count(self, key, n=1):
        with self._stats_lock:
            self.stats[key] += n

    def reject(self, kind, node, reason):
        self._count('rejected')
        self._count('rejected_%s' % kind)
        # The node name is whatever the sender wrote: a valid name as it
        # is, anything else as an ASCII repr, so that a lone surrogate
        # cannot break the log handler and a newline cannot forge a line.
        LOG.warning('Rejected %s from node %s: %s', kind,
                    '(unknown)' if not node else records.printable(node),
                    reason)

    def _validate(self, kind, obj, cls, rec_cls):
        if isinstance(obj, Rejected):
            self.reject(kind, obj.node, obj.reason)
            return None
        if obj.__class__ is rec_cls:
            return obj
        if not isinstance(obj, cls):
            self.reject(kind, None, 'payload is not a %s object: %s'
                        % (cls.obj_name(), type(obj).__name__))
            return None
        node = obj.node if obj.obj_attr_is_set('node') else None
        try:
            rec = obj.to_record()
        except Exception as exc:
            self.reject(kind, node, 'incomplete object: %s' % exc)
            return None
        try:
            # The object's field types do not bound lengths and sizes:
            # the record checks are the contract (what the columns hold).
            return records.parse_record(rec.to_dict(), limits=self.limits)
        except exception.InvalidRecord as exc:
            self.reject(kind, node, exc.reason)
            return None

    def report_snapshot(self, context, snapshot, forwarded=False):
        rec = self._validate('snapshot', snapshot, snapshot_obj.Snapshot,
                             records.Snapshot)
        if rec is None:
            return
        self._count('snapshots')
        if not forwarded and self.engine.forward(context, rec, snapshot):
            self._count('forwarded')
            return
        self.engine.submit(rec)

    def report_vm_event(self, context, event, forwarded=False):
        rec = self._validate('vm_event', event, snapshot_obj.VMEvent,
                             records.VMEvent)
        if rec is None:
            return
        self._count('events')
        if not forwarded and self.engine.forward(context, rec, event):
            self._count('forwarded')
            return
        self.engine.submit(rec)

    def report_agent_stop(self, context, node, cycle, forwarded=False):
        """An agent stops on purpose (SPEC revision 2): its node is not
        judged silent until it reports again."""
        try:
            rec = records.parse_agent_stop({'node': node, 'cycle': cycle})
        except exception.InvalidRecord as exc:
            self.reject('agent_stop', node if isinstance(node, str)
                        else None, exc.reason)
            return
        self._count('agent_stops')
        if not forwarded and self.engine.forward(context, rec, None):
            self._count('forwarded')
            return
        self.engine.submit(rec)


    def process_notification(self, context, notification, forwarded=False):
        """A notification of another monitor stored by the API (its
        uuid); see :mod:`vmguard.engine.inbox`."""
        if not isinstance(notification, str):
            self.reject('notification', None, 'notification must be a '
                        'uuid string, not %s' % type(notification).__name__)
            return
        self._count('notifications')
        self.engine.inbox.notification(context, notification, forwarded)

    def execute_decision(self, context, decision, forwarded=False):
        """A manual decision stored by the API (its uuid)."""
        if not isinstance(decision, str):
            self.reject('decision', None, 'decision must be a uuid string, '
                        'not %s' % type(decision).__name__)
            return
        self._count('manual_decisions')
        self.engine.inbox.decision(context, decision, forwarded)


class CountingDispatcher(messaging.RPCDispatcher):
    """Counts the messages oslo.messaging cannot dispatch at all (no such
    method, wrong arguments, not an RPC message) before they are logged
    and dropped by the server."""

    def __init__(self, endpoints, serializer, manager):
        super().__init__(endpoints, serializer)
        self.manager = manager

    def dispatch(self, incoming):
        try:
            return super().dispatch(incoming)
        except Exception as exc:
            message = getattr(incoming, 'message', None)
            method = message.get('method') if isinstance(message,
                                                         dict) else None
            self.manager.reject('message', None,
                                'cannot dispatch method %r: %s: %s'
                                % (method, type(exc).__name__, exc))
            raise
