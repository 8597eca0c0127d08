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

"""What the engine stores of the snapshots it judged, and its decisions.

Change-only: per node the persister remembers what it last stored (host
state, hardware, external items, services, VMs) and builds a *delta* with
the rows that changed; a steady node costs one UPDATE of its ``nodes`` row
per cycle. Deltas are written by :meth:`Persister.flush`, several snapshots
in one transaction (the engine flushes after every RPC message or from a
writer thread, see :class:`BatchWriter`).

The judge state of a node (counters, baselines of the rule windows) goes
into ``nodes.judge_state`` with the same UPDATE when it changed, so that an
engine taking the node over continues where the previous owner stopped.

Decisions are stored through ``decision_create``: the unique incident key
makes each stored exactly once, whichever engine computed it.
"""

import json
import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import timeutils

from vmguard.db import api as db_api
from vmguard.engine.judges import identity as identity_judge

LOG = logging.getLogger(__name__)


def _utcnow():
    return timeutils.utcnow().replace(tzinfo=None)


class _NodeCache:
    """What was last stored for one node."""

    __slots__ = ('node_id', 'host_state', 'hardware', 'external',
                 'services', 'vms', 'judge_json', 'judge_state',
                 'last_cycle', 'disabled')

    def __init__(self, node_id):
        self.node_id = node_id
        self.host_state = None
        self.hardware = {}   # item id -> (kind, health, identity, path)
        self.external = {}   # item id -> (kind, health)
        self.services = {}   # name -> state
        self.vms = {}        # uuid -> (state, reason, vcpus, ram_mb)
        self.judge_json = None
        self.judge_state = None
        self.last_cycle = None
        self.disabled = False


class Persister:
    """Builds deltas of judged snapshots and stores them."""

    def __init__(self, context):
        self.context = context
        self._nodes = {}
        self._lock = threading.Lock()
        self._pending = []   # deltas not yet written
        self._flush_lock = threading.Lock()
        self._disabled = set()   # nodes whose disable is stored
        # Caches dropped so far (a preload started before a drop must not
        # put back what it read: it may be older than the database).
        self._drops = 0
        self.stats = {'deltas': 0, 'transactions': 0, 'stale': 0,
                      'decisions_created': 0, 'decisions_existing': 0}

    # -- node cache --------------------------------------------------------

    def _cache(self, name):
        cache = self._nodes.get(name)
        if cache is not None:
            return cache
        cache = self._nodes[name] = self._node_cache(
            db_api.engine_node_load_by_name(self.context, name))
        return cache

    @staticmethod
    def _node_cache(rows):
        """The cache of a node from its stored rows (None: unknown node,
        its row is created with its first delta)."""
        if rows is None:
            return _NodeCache(None)
        node = rows['node']
        cache = _NodeCache(node.id)
        cache.last_cycle = node.last_cycle
        cache.disabled = bool(node.disabled)
        if rows['period'] is not None:
            cache.host_state = rows['period'].state
        cache.hardware = {h.item_id: (h.kind, h.health, h.identity,
                                      h.identity_path)
                          for h in rows['hardware'] if h.gone_cycle is None}
        cache.external = {e.item_id: (e.kind, e.health)
                          for e in rows['external']}
        cache.services = {s.name: s.state for s in rows['services']}
        cache.vms = {v.uuid: (v.state, v.reason, v.vcpus, v.ram_mb)
                     for v in rows['vms']}
        if node.judge_state is not None:
            cache.judge_json = json.dumps(node.judge_state, sort_keys=True)
            cache.judge_state = node.judge_state
        return cache

    def preload(self, names):
        """Read the nodes of ``names`` not cached yet, all at once (what
        :meth:`_cache` reads one node at a time). Returns how many it
        cached. Raises, having changed nothing, when the read fails."""
        with self._lock:
            missing = [n for n in dict.fromkeys(names)
                       if n not in self._nodes]
            drops = self._drops
        if not missing:
            return 0
        # Read without the lock: the judge thread and the writer go on.
        loaded = db_api.engine_node_load_by_names(self.context, missing)
        with self._lock:
            if self._drops != drops:
                # A cache was dropped meanwhile (failed write, node
                # moved): its node may have changed after this read.
                # _cache reads such nodes again, one by one.
                return 0
            for name in missing:
                # A cache made meanwhile (by _cache) may hold changes
                # not stored yet: it stays.
                if name not in self._nodes:
                    self._nodes[name] = self._node_cache(loaded.get(name))
        return len(missing)

    def stored_judge_state(self, name):
        """The judge state stored for ``name`` (None if none), read with
        the node's rows (one database round trip for a new node)."""
        with self._lock:
            return self._cache(name).judge_state

    def forget(self, name):
        """The node moved to another engine: its rows may change there."""
        with self._lock:
            self._nodes.pop(name, None)
            self._drops += 1

    # -- snapshots -----------------------------------------------------------

    def add_snapshot(self, snap, assessment, judge_state=None,
                     disabled=False, queue=True):
        """Build the delta of a snapshot the pipeline judged as new.

        :param snap: :class:`vmguard.objects.records.Snapshot`
        :param assessment: the pipeline's assessment of that cycle.
        :param judge_state: the node's exported judge state, or None.
        :param queue: queue it for the next :meth:`flush`; otherwise it
            is returned for the caller to pass to :meth:`flush` itself
            (with the decisions it caused).
        """
        with self._lock:
            delta = self._delta(snap, assessment, judge_state, disabled)
            if delta is not None and queue:
                self._pending.append(delta)
        return delta

    def _delta(self, snap, a, judge_state, disabled):
        cache = self._cache(snap.node)
        cycle = snap.cycle
        if cache.last_cycle is not None and cycle <= cache.last_cycle:
            return None
        prev_cycle = cache.last_cycle
        node = {'last_cycle': cycle, 'last_report_at': _utcnow(),
                'host_state': a.host_state,
                'vcpus_free': snap.vcpus_free,
                'ram_mb_free': snap.ram_mb_free}
        delta = {'node_id': cache.node_id, 'cycle': cycle, 'node': node,
                 'name': snap.node}
        if judge_state is not None:
            blob = json.dumps(judge_state, sort_keys=True)
            if blob != cache.judge_json:
                node['judge_state'] = judge_state
                node['judge_state_cycle'] = cycle
                cache.judge_json = blob
        if disabled and not cache.disabled:
            cache.disabled = True
            delta['disable'] = True
        if a.host_state != cache.host_state:
            delta['period'] = {
                'state': a.host_state,
                'close_at': prev_cycle,
                'reason': {'not_ok': [list(x) for x in a.not_ok],
                           'external_failed': list(a.external_failed)}}
            cache.host_state = a.host_state
        hw_rows, hw_new, hw_changes = [], [], []
        baselines = (identity_judge.baselines(judge_state)
                     if snap.hardware else None)
        known = cache.hardware
        for h in snap.hardware:
            value = (h.kind, h.health, h.identity, h.identity_path)
            old = known.get(h.id)
            if old == value:
                continue
            row = {'item_id': h.id, 'kind': h.kind, 'health': h.health,
                   'identity': h.identity, 'identity_path': h.identity_path,
                   'changed_cycle': cycle, 'gone_cycle': None}
            if baselines is not None:
                # The identity judge's baseline, the one R5 compares with
                # (one definition: what the API shows is what is judged).
                row['baseline_path'] = baselines.get(h.id)
            if old is None:
                row['first_cycle'] = cycle
                hw_new.append(row)
            else:
                hw_rows.append(row)
            if old is not None:
                # A change; the first sighting is the item row itself.
                hw_changes.append({'item_id': h.id, 'cycle': cycle,
                                   'health': h.health,
                                   'identity': h.identity,
                                   'identity_path': h.identity_path})
            known[h.id] = value
        if len(known) > len(snap.hardware):
            present = {h.id for h in snap.hardware}
            for item_id in [i for i in known if i not in present]:
                kind, health, identity, path = known.pop(item_id)
                hw_rows.append({'item_id': item_id, 'kind': kind,
                                'health': health, 'changed_cycle': cycle,
                                'gone_cycle': cycle})
        if hw_rows:
            delta['hardware'] = hw_rows
        if hw_new:
            delta['hardware_new'] = hw_new
        if hw_changes:
            delta['hardware_changes'] = hw_changes
        ext, ext_new = [], []
        for e in snap.external:
            value = (e.kind, e.health)
            old = cache.external.get(e.id)
            if old != value:
                (ext if old else ext_new).append(
                    {'item_id': e.id, 'kind': e.kind, 'health': e.health,
                     'since_cycle': cycle})
                cache.external[e.id] = value
        svcs, svcs_new = [], []
        for s in snap.services:
            old = cache.services.get(s.name)
            if old != s.state:
                (svcs if old else svcs_new).append(
                    {'name': s.name, 'state': s.state,
                     'since_cycle': cycle})
                cache.services[s.name] = s.state
        vms, vms_new = [], []
        for v in snap.vms:
            value = (v.state, v.reason, v.vcpus, v.ram_mb)
            old = cache.vms.get(v.uuid)
            if old != value:
                (vms if old else vms_new).append(
                    {'uuid': v.uuid, 'state': v.state, 'reason': v.reason,
                     'vcpus': v.vcpus, 'ram_mb': v.ram_mb,
                     'changed_cycle': cycle})
                cache.vms[v.uuid] = value
        for key, rows in (('external', ext), ('external_new', ext_new),
                          ('services', svcs), ('services_new', svcs_new),
                          ('vms', vms), ('vms_new', vms_new)):
            if rows:
                delta[key] = rows
        cache.last_cycle = cycle
        return delta

    def pending(self):
        with self._lock:
            return len(self._pending)

    def flush(self, deltas=(), decisions=(), judge_states=(),
              engine=None, retried=False):
        """Write the queued deltas, plus the given ones, the judge states
        and the decisions, in one transaction.

        When the database cannot be reached (``DBConnectionError``) the
        queued deltas stay queued, in order, for the next flush: nothing
        of them was written, or all of it was and writing it again changes
        nothing (node rows are never written backwards, new rows and
        decisions are unique). The given deltas, judge states and
        decisions are the caller's to retry.

        :param retried: an earlier call with these decisions failed; a
            decision of ``engine`` found stored is then its own, committed
            by that call before the connection was lost, and counts as
            stored now.
        :returns: [(decision row, Decision)] of the decisions stored now
            (not those another engine had stored already).
        """
        with self._flush_lock:
            with self._lock:
                queued, self._pending = self._pending, []
            deltas = queued + [d for d in deltas if d is not None]
            if not deltas and not decisions and not judge_states:
                return []
            for d in deltas:
                if d.pop('disable', False):
                    d['node'].update(disabled=True, disabled_at=_utcnow(),
                                     disabled_reason='disabled by vmguard')
            names = [d['name'] for d in deltas]
            values = [self._decision_values(d, engine) for d in decisions]
            try:
                self._ensure_nodes(deltas)
                stored, results = db_api.engine_state_save(
                    self.context, deltas, judge_states, values)
            except db_exc.DBConnectionError:
                with self._lock:
                    self._pending[:0] = queued
                raise
            except Exception:
                # The caches say "stored": drop them so that the next
                # snapshot of these nodes is compared with the database.
                with self._lock:
                    for name in names:
                        self._nodes.pop(name, None)
                    self._drops += 1
                raise
            self.stats['transactions'] += 1
            self.stats['deltas'] += len(deltas)
            self.stats['stale'] += len(deltas) - len(stored)
            with self._lock:
                for name, d in zip(names, deltas, strict=True):
                    cache = self._nodes.get(name)
                    if cache is not None and cache.node_id is None:
                        cache.node_id = d['node_id']
                    if d['node'].get('disabled'):
                        self._disabled.add(name)
            new = []
            for (row, created), d in zip(results, decisions,
                                                 strict=True):
                if created or (retried and engine is not None
                               and row.engine == engine):
                    self.stats['decisions_created'] += 1
                    new.append((row, d))
                else:
                    self.stats['decisions_existing'] += 1
                    LOG.debug('Decision %s exists already (made by %s)',
                              d.incident_key, row.engine)
            for _row, d in new:
                if d.action == 'disable_node':
                    db_api.node_mark_disabled(self.context, d.node,
                                              '%s: %s' % (d.rule, d.reason))
                    with self._lock:
                        self._disabled.add(d.node)
            return new

    def _ensure_nodes(self, deltas):
        """Give every delta of a node not stored yet its node id (node
        rows are created in their own transaction: two engines may create
        the same node at once)."""
        new = sorted({d['name'] for d in deltas if d['node_id'] is None})
        if not new:
            return
        ids = db_api.engine_nodes_ensure(self.context, new)
        for name in new:
            if name not in ids:
                ids[name] = db_api.node_get_or_create(self.context,
                                                      name).id
        for d in deltas:
            if d['node_id'] is None:
                d['node_id'] = ids[d['name']]

    @staticmethod
    def _decision_values(d, engine):
        return {'incident_key': d.incident_key[:255], 'node': d.node,
                'cycle': d.cycle, 'action': d.action, 'vm': d.vm,
                'service': d.service, 'target': d.target, 'rule': d.rule,
                'reason': d.reason, 'evidence': d.evidence,
                'engine': engine}

    def disabled_stored(self, name):
        """True when this engine stored vmguard's disable of ``name``."""
        with self._lock:
            return name in self._disabled

    def enabled(self, name):
        """An operator enabled ``name`` again."""
        with self._lock:
            self._disabled.discard(name)
            cache = self._nodes.get(name)
            if cache is not None:
                cache.disabled = False

    # -- events and decisions ------------------------------------------------

    def add_event(self, event):
        """Store a crash event; False when it was stored already."""
        _row, created = db_api.vm_event_create(self.context, {
            'node': event.node, 'cycle': event.cycle, 'uuid': event.uuid,
            'event': event.event[:32], 'reason': (event.reason or None),
            'source': (event.source or 'libvirt')[:16]})
        return created

    def store_decisions(self, decisions, engine=None):
        """Store decisions; return [(row, decision)] of the new ones."""
        return self.flush(decisions=decisions, engine=engine)


class BatchWriter:
    """Flushes a persister from a thread, at most every ``interval`` s.

    Under load many snapshots share one transaction; when idle a delta
    waits at most ``interval`` seconds.
    """

    def __init__(self, persister, interval=0.05):
        self.persister = persister
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='vmguard-db-writer')
        self._thread.start()

    def notify(self):
        self._wake.set()

    def _run(self):
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            time.sleep(self.interval)
            try:
                self.persister.flush()
            except db_exc.DBConnectionError as exc:
                # The deltas stay queued (see Persister.flush).
                LOG.warning('Database unreachable, %d snapshot deltas '
                            'kept for the next attempt: %s',
                            self.persister.pending(), exc)
            except Exception:
                LOG.exception('Storing snapshot state failed; retrying '
                              'with the next snapshots')

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            self.persister.flush()
        except Exception:
            LOG.exception('Final flush of snapshot state failed')
