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

"""The judgment pipeline: records in, decisions out.

One code path for the engine service and ``vmguard-manage replay``:

* :meth:`Pipeline.process` takes a :class:`~vmguard.objects.records.Snapshot`,
  :class:`~vmguard.objects.records.VMEvent` or
  :class:`~vmguard.objects.records.AgentStop` and returns the decisions it
  causes, at once. A record the judgment refuses (a cycle more than
  ``max_cycle_skew`` ahead of the clock, a crash event of a node that never
  sent a snapshot) raises :class:`~vmguard.common.exception.RecordRejected`
  having changed nothing; it is counted in ``stats['rejected']``.
* :meth:`Pipeline.tick` runs the wall-clock work of a service: crash
  events whose snapshot did not come within ``pairing_timeout`` seconds,
  and silent nodes (R9, by the wall clock).
* :meth:`Pipeline.finish` ends a trace: events still waiting for their
  snapshot are judged with host state ``unknown``.

The clock (:mod:`vmguard.engine.clock`) is the only difference between a
trace and a service: ``replay`` uses the median of the other nodes'
latest cycles, the engine the wall clock. An event waiting for the
snapshot of its cycle c times out once the clock reaches
c + ceil(pairing_timeout / cycle_interval) + 1 without it (in a service:
after ``pairing_timeout`` seconds). The rules are in
:mod:`vmguard.engine.rules`, one module each.

Order of the decision lines of one node and cycle: crash decisions
(R1/R2/R3; events first, then the snapshot's VM order), service rules
(R7/R8, by service name), node incidents R4, R5, R6, decisions of custom
judges; then, when the clock moves, R9 and timed-out events (by node
name).

Snapshots of a cycle at or before the node's latest are duplicates (same
cycle, ignored) or late arrivals: a late snapshot still pairs the crash
events of its own cycle, but rules never run backwards.
"""

import collections
import math

from oslo_log import log as logging
import stevedore

from vmguard.common import exception
from vmguard.engine import clock as clock_mod
from vmguard.engine import decision as dec
from vmguard.engine.judges import base
from vmguard.engine.judges import vm as vm_judge
from vmguard.engine import rules as rules_mod
from vmguard.engine import segments as segments_mod
from vmguard.engine import targets
from vmguard.objects import records

LOG = logging.getLogger(__name__)

JUDGE_NAMESPACE = 'vmguard.judges'
SELECTOR_NAMESPACE = targets.SELECTOR_NAMESPACE
DEFAULT_JUDGES = ('host_hardware', 'external', 'services', 'identity',
                  'vm_crash')
# Host states remembered per node for pairing late crash events.
_HISTORY_MIN = 4


class NodeState:
    """What the pipeline remembers of one node (bounded by the windows)."""

    __slots__ = ('name', 'last_cycle', 'data', 'history', 'incidents',
                 'disabled', 'decided', 'vms', 'hardware', 'assessment',
                 'stopped')

    def __init__(self, name):
        self.name = name
        self.last_cycle = None
        self.data = {}          # judge name -> JSON-able dict
        self.history = {}       # cycle -> (host_state, ext_failed, not_ok)
        self.incidents = {}     # incident key -> first cycle
        self.disabled = False   # disabled by vmguard
        self.decided = {}       # crashed VM uuid -> cycle of its decision
        self.vms = ()           # VMInfo list of the latest snapshot
        self.hardware = ()      # HardwareItem list of the latest snapshot
        self.assessment = None  # latest base.Assessment
        self.stopped = None     # cycle of its agent's clean stop

    def vm(self, uuid):
        for vm in self.vms:
            if vm.uuid == uuid:
                return vm
        return None

    def export(self, reboots=None):
        return {'last_cycle': self.last_cycle, 'data': self.data,
                'history': {str(c): list(v) for c, v in
                            self.history.items()},
                'incidents': dict(self.incidents),
                'disabled': self.disabled,
                'decided': dict(self.decided),
                'stopped': self.stopped,
                'reboots': reboots or {}}

    def load(self, blob):
        """Restore from :meth:`export`; returns the reboot budgets."""
        self.last_cycle = blob.get('last_cycle')
        self.data = blob.get('data') or {}
        self.history = {int(c): tuple(v) for c, v in
                        (blob.get('history') or {}).items()}
        self.incidents = dict(blob.get('incidents') or {})
        self.disabled = bool(blob.get('disabled'))
        decided = blob.get('decided') or {}
        if isinstance(decided, list):  # older blobs: no cycle
            decided = dict.fromkeys(decided, self.last_cycle or 0)
        self.decided = dict(decided)
        self.stopped = blob.get('stopped')
        return {u: list(c) for u, c in (blob.get('reboots') or {}).items()}


def load_judges(names, context):
    """The judges named, each built with the one ``context``."""
    judges = []
    for name in names:
        try:
            mgr = stevedore.DriverManager(JUDGE_NAMESPACE, name,
                                          invoke_on_load=False)
        except Exception as exc:
            raise exception.DriverLoadError(
                namespace=JUDGE_NAMESPACE, name=name, reason=exc) from exc
        judges.append(mgr.driver(context))
    return judges


load_selector = targets.load_selector


Peers = collections.namedtuple('Peers', 'reporting openings')


class Pipeline:

    def __init__(self, thresholds=None, judges=None, selector=None,
                 directory=None, clock=None, rules=None):
        self.t = thresholds or base.Thresholds()
        self.tasks = {}   # uuid -> Nova task state (notifications)
        self.context = base.JudgeContext(self.t, self.tasks)
        if judges is None:
            judges = load_judges(DEFAULT_JUDGES, self.context)
        for judge in judges:
            # One context for all: the pipeline keeps ``tasks`` current.
            judge.context = self.context
        self.judges = judges
        # Only judges that add decisions of their own are asked for them.
        self.deciders = [j for j in judges
                         if type(j).decide is not base.Judge.decide]
        # Targets stay inside the failed node's failover segment (an
        # empty map until segments are set: the cloud-wide pool).
        self.selector = segments_mod.SegmentSelector(
            selector or targets.MostFreeRamSelector())
        self.directory = directory or targets.MemoryDirectory()
        self.clock = clock or clock_mod.TraceClock(self.t)
        self._clock_mark = None
        self.nodes = {}
        # The other engines' share (see set_peers); None: this pipeline
        # judges every node.
        self.peers = None
        self.pending = {}     # (node, cycle) -> {uuid: (event, arrival)}
        # Reboot budget per VM on any node (R1/R2): uuid -> [cycles].
        self.reboots = {}
        self.pairing_cycles = int(math.ceil(
            self.t.pairing_timeout / self.t.cycle_interval))
        self.history_len = max(_HISTORY_MIN, self.pairing_cycles + 2)
        self.rules = rules_mod.RuleBook(
            self, rules_mod.ALL_RULES if rules is None else rules,
            [j.name for j in judges])
        self.stats = {'snapshots': 0, 'events': 0, 'agent_stops': 0,
                      'duplicates': 0, 'late': 0, 'rejected': 0,
                      'decisions': 0}

    @classmethod
    def from_config(cls, conf, directory=None, wall_clock=False):
        """The pipeline ``[engine]`` describes.

        :param wall_clock: the engine's clock (wall-clock time) instead of
            replay's (the other nodes' cycles).
        """
        thresholds = base.Thresholds.from_config(conf)
        context = base.JudgeContext(thresholds)
        judges = load_judges(conf.engine.judges, context)
        clock = (clock_mod.WallClock(thresholds) if wall_clock
                 else clock_mod.TraceClock(thresholds))
        return cls(thresholds, judges,
                   load_selector(conf.engine.target_selector),
                   directory, clock, conf.engine.rules)

    # -- hooks for the engine ----------------------------------------------

    def set_segments(self, segments):
        """The failover segments (a :class:`~vmguard.engine.segments.
        SegmentMap`) the target choice of decisions follows."""
        self.selector.segments = segments

    def set_vm_task_state(self, uuid, task_state):
        """A VM in a Nova task (from notifications) is never crashed."""
        if task_state:
            self.tasks[uuid] = task_state
        else:
            self.tasks.pop(uuid, None)

    def enable_node(self, node):
        """An operator enabled a node vmguard had disabled."""
        st = self.nodes.get(node)
        if st is not None:
            st.disabled = False
        set_disabled = getattr(self.directory, 'set_disabled', None)
        if set_disabled is not None:
            set_disabled(node, False)

    def export_node_state(self, node):
        st = self.nodes.get(node)
        if st is None:
            return None
        reboots = None
        if self.reboots:
            reboots = {vm.uuid: list(self.reboots[vm.uuid])
                       for vm in st.vms if vm.uuid in self.reboots}
        return st.export(reboots)

    def import_node_state(self, node, blob, now=None):
        """Continue a node from its stored state (a take-over)."""
        st = self._node(node)
        for uuid, cycles in st.load(blob).items():
            merged = set(self.reboots.get(uuid, ())) | set(cycles)
            self.reboots[uuid] = sorted(merged)
        if st.disabled and hasattr(self.directory, 'set_disabled'):
            self.directory.set_disabled(node, True)
        self.clock.adopt(node, st.last_cycle, now)

    def adopt_node(self, node, now=None):
        """A node this service takes over without a stored state."""
        self.clock.adopt(node, None, now)

    def set_peers(self, reporting, openings):
        """Engines sharing the nodes: the cloud's view for R10.

        :param reporting: number of nodes of the whole cloud.
        :param openings: ``(cycle, node)`` of the incident openings (R4,
            R5, R6, R8, R9 and R10's escalations) stored recently by any
            engine.
        """
        self.peers = Peers(reporting, tuple(openings))

    def forget_node(self, node):
        self.nodes.pop(node, None)
        for key in [k for k in self.pending if k[0] == node]:
            del self.pending[key]
        self.clock.forget(node)
        forget = getattr(self.directory, 'forget', None)
        if forget is not None:
            forget(node)

    def assessment(self, node):
        """Latest :class:`~vmguard.engine.judges.base.Assessment`."""
        st = self.nodes.get(node)
        return None if st is None else st.assessment

    def host_state(self, node, cycle):
        st = self.nodes.get(node)
        if st is None:
            return None
        entry = st.history.get(cycle)
        return None if entry is None else entry[0]

    def silent(self, node):
        """Judged silent (R9 incident open)?"""
        st = self.nodes.get(node)
        return st is not None and 'R9' in st.incidents

    def undo(self, decisions):
        """``decisions`` were not stored (the database refused them): they
        are not made. A crash is decided only once its decision is stored;
        an incident opens only once its lines are stored."""
        for d in decisions:
            st = self.nodes.get(d.node)
            if st is None:
                continue
            if d.vm is not None and d.rule in ('R1', 'R2', 'R3'):
                if st.decided.get(d.vm) == d.cycle:
                    del st.decided[d.vm]
                cycles = self.reboots.get(d.vm)
                if d.rule == 'R1' and cycles and d.cycle in cycles:
                    cycles.remove(d.cycle)
                    if not cycles:
                        del self.reboots[d.vm]
                continue
            rule = d.evidence.get('replaces', d.rule)
            for key, cycle in list(st.incidents.items()):
                if cycle == d.cycle and key.split(':', 1)[0] == rule:
                    del st.incidents[key]
                    LOG.warning('Incident %s of node %s (cycle %s) not '
                                'stored: not opened', key, d.node, cycle)

    # -- input ---------------------------------------------------------------

    def _node(self, name):
        st = self.nodes.get(name)
        if st is None:
            st = self.nodes[name] = NodeState(name)
        return st

    def process(self, record, now=None):
        cls = record.__class__
        if cls is records.Snapshot:
            return self._snapshot(record, now)
        if cls is records.VMEvent:
            return self._event(record, now)
        if cls is records.AgentStop:
            return self._agent_stop(record, now)
        raise TypeError('not a snapshot, vm_event or agent_stop record: %r'
                        % (record,))

    def _reject(self, record, why):
        self.stats['rejected'] += 1
        LOG.warning('Rejected %s of node %s cycle %s: %s', record.type,
                    record.node, record.cycle, why)
        raise exception.RecordRejected(why, record.node)

    def _check_clock(self, record, now):
        clock = self.clock.cycle_for(record.node, now)
        if clock is not None and record.cycle > clock + \
                self.t.max_cycle_skew:
            self._reject(record, 'cycle %d is more than max_cycle_skew '
                         '(%d) cycles ahead of the clock (cycle %s)'
                         % (record.cycle, self.t.max_cycle_skew, clock))

    def _snapshot(self, snap, now):
        node = snap.node
        cycle = snap.cycle
        self._check_clock(snap, now)
        self.stats['snapshots'] += 1
        st = self.nodes.get(node)
        if st is None:
            st = self.nodes[node] = NodeState(node)
        out = []
        last = st.last_cycle
        if last is not None and cycle <= last:
            if cycle in st.history:
                self.stats['duplicates'] += 1
                return out
            self.stats['late'] += 1
            self._late_snapshot(st, snap, out)
            return out
        assessment = base.Assessment(node, cycle)
        prev = st.assessment
        if prev is not None:
            assessment.previous = prev
            assessment.same_hardware = snap.hardware is st.hardware
            assessment.same_vms = snap.vms is st.vms
        data = st.data
        for judge in self.judges:
            jdata = data.get(judge.name)
            if jdata is None:
                jdata = data[judge.name] = {}
            judge.judge(snap, jdata, assessment)
        assessment.previous = None
        st.last_cycle = cycle
        st.stopped = None
        st.vms = snap.vms
        st.hardware = snap.hardware
        st.assessment = assessment
        history = st.history
        history[cycle] = (assessment.host_state,
                          assessment.external_failed,
                          assessment.not_ok)
        if len(history) > self.history_len:
            del history[min(history)]
        self.directory.update(node, assessment.host_state,
                              bool(assessment.external_failed),
                              snap.vcpus_free, snap.ram_mb_free)
        self.rules.on_snapshot(st, assessment, out)
        for judge in self.deciders:
            extra = judge.decide(assessment, data[judge.name])
            if extra:
                out.extend(extra)
        self.clock.observe(node, cycle, now)
        self._clock_moved(now, out)
        if out:
            self.stats['decisions'] += len(out)
        return out

    def _late_snapshot(self, st, snap, out):
        """A snapshot older than the node's latest: pair its events only
        (every judge runs on scratch state, so rules never run
        backwards)."""
        assessment = base.Assessment(snap.node, snap.cycle)
        for judge in self.judges:
            judge.judge(snap, {}, assessment)
        st.history[snap.cycle] = (assessment.host_state,
                                  assessment.external_failed,
                                  assessment.not_ok)
        waiting = self.pending.pop((snap.node, snap.cycle), None)
        if waiting:
            self.rules.on_events(st, snap.cycle, waiting, out)
        if out:
            self.stats['decisions'] += len(out)

    def _event(self, event, now):
        st = self.nodes.get(event.node)
        if st is None or st.last_cycle is None:
            self._reject(event, 'crash event for node %r, which never sent '
                         'a snapshot' % event.node)
        self._check_clock(event, now)
        self.stats['events'] += 1
        out = []
        if not vm_judge.is_crash(event.event, event.reason,
                                 self.tasks.get(event.uuid)):
            return out
        if event.uuid in st.decided:
            return out
        if event.cycle in st.history:
            self.rules.on_events(st, event.cycle,
                                 {event.uuid: (event, now)}, out)
            self.stats['decisions'] += len(out)
            return out
        waiting = self.pending.setdefault((event.node, event.cycle), {})
        waiting.setdefault(event.uuid, (event, now))
        return out

    def _agent_stop(self, rec, now):
        """The node's agent stopped on purpose: not silent until it
        reports again."""
        self._check_clock(rec, now)
        self.stats['agent_stops'] += 1
        st = self.nodes.get(rec.node)
        if st is not None:
            st.stopped = rec.cycle
            self.clock.forget(rec.node)
            LOG.info('Agent of node %s stopped cleanly in cycle %s: not '
                     'judged silent until it reports again', rec.node,
                     rec.cycle)
        return []

    # -- clock ---------------------------------------------------------------

    def _clock_moved(self, now, out):
        mark = self.clock.mark(now)
        if mark is None or mark == self._clock_mark:
            return
        self._clock_mark = mark
        self.rules.silent_nodes(now, out)
        if self.pending:
            self._expire_by_cycle(now, out)

    def _expire_by_cycle(self, now, out):
        clock = self.clock
        keep = self.pairing_cycles + 1
        for key in sorted(self.pending):
            waiting = self.pending[key]
            if not any(arrival is None for _e, arrival in waiting.values()):
                continue
            cycle = clock.cycle_for(key[0], now)
            if cycle is not None and key[1] <= cycle - keep:
                self._expire(key, out)

    def _expire(self, key, out):
        waiting = self.pending.pop(key)
        st = self._node(key[0])
        self.rules.on_events(st, key[1], waiting, out, timed_out=True)

    def tick(self, now):
        """Wall-clock work of a service (``now``: ``time.time()``)."""
        out = []
        timeout = self.t.pairing_timeout
        for key in sorted(self.pending):
            waiting = self.pending[key]
            if any(arrival is not None and now - arrival >= timeout
                   for _e, arrival in waiting.values()):
                self._expire(key, out)
        if self.clock.wall:
            self._clock_mark = self.clock.mark(now)
            self.rules.silent_nodes(now, out)
        self.stats['decisions'] += len(out)
        return out

    def finish(self):
        """End of a trace: judge the events still waiting."""
        out = []
        for key in sorted(self.pending):
            self._expire(key, out)
        self.stats['decisions'] += len(out)
        return out


__all__ = ['Pipeline', 'NodeState', 'dec']
