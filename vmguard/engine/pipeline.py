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

"""The judgment pipeline: snapshots and crash events in, decisions out.

One code path for the engine service and ``vmguard-manage replay``:

* :meth:`Pipeline.process` takes a :class:`~vmguard.objects.records.Snapshot`
  or :class:`~vmguard.objects.records.VMEvent` and returns the decisions it
  causes, at once.
* :meth:`Pipeline.tick` runs the wall-clock work of a service (crash events
  whose snapshot did not come within ``pairing_timeout`` seconds, silent
  nodes).
* :meth:`Pipeline.finish` ends a trace: events still waiting for their
  snapshot are judged with host state ``unknown``.

Clock. A service passes ``now`` (seconds). A trace has no wall clock: its
clock is the highest cycle seen so far. An event waiting for the snapshot
of its cycle c times out once the trace reaches cycle
c + ceil(pairing_timeout / cycle_interval) + 1 without it. A node that last
reported cycle k is silent (R9) once another node reports cycle
k + silent_cycles; the decision belongs to that cycle.

Order of the decision lines of one node and cycle: crash decisions
(R1/R2/R3; events first, then the snapshot's VM order), service rules
(R7/R8, by service name), node incidents R4, R5, R6, decisions of custom
judges; then, when the clock moves, R9 and timed-out events of other nodes
(by node name).

Snapshots of a cycle at or before the node's latest are duplicates (same
cycle, ignored) or late arrivals: a late snapshot still pairs the crash
events of its own cycle, but rules never run backwards.
"""

import math

from oslo_log import log as logging
import stevedore

from vmguard.common import exception
from vmguard.engine import decision as dec
from vmguard.engine.judges import base
from vmguard.engine.judges import vm as vm_judge
from vmguard.engine import rules
from vmguard.engine import targets
from vmguard.objects import records

LOG = logging.getLogger(__name__)

JUDGE_NAMESPACE = 'vmguard.judges'
SELECTOR_NAMESPACE = 'vmguard.target_selectors'
DEFAULT_JUDGES = ('host_hardware', 'external', 'services', 'identity',
                  'vm_crash')
# Host states remembered per node for pairing late crash events.
_HISTORY_MIN = 4


class NodeState:
    """What the pipeline remembers of one node (bounded by the windows)."""

    __slots__ = ('name', 'last_cycle', 'data', 'history', 'incidents',
                 'disabled', 'decided', 'reboots', 'vms', 'hardware',
                 'assessment')

    def __init__(self, name):
        self.name = name
        self.last_cycle = None
        self.data = {}          # judge name -> JSON-able dict
        self.history = {}       # cycle -> (host_state, ext_failed, not_ok)
        self.incidents = {}     # incident key -> first cycle
        self.disabled = False   # disabled by vmguard
        self.decided = {}       # crashed VM uuid -> cycle of its decision
        self.reboots = {}       # uuid -> [cycles of R1 reboots]
        self.vms = ()           # VMInfo list of the latest snapshot
        self.hardware = ()      # HardwareItem list of the latest snapshot
        self.assessment = None  # latest base.Assessment

    def vm(self, uuid):
        for vm in self.vms:
            if vm.uuid == uuid:
                return vm
        return None

    def export(self):
        return {'last_cycle': self.last_cycle, 'data': self.data,
                'history': {str(c): list(v) for c, v in
                            self.history.items()},
                'incidents': dict(self.incidents),
                'disabled': self.disabled,
                'decided': dict(self.decided),
                'reboots': {u: list(c) for u, c in self.reboots.items()}}

    def load(self, blob):
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
        self.reboots = {u: list(c) for u, c in
                        (blob.get('reboots') or {}).items()}


def load_judges(names, thresholds, tasks):
    judges = []
    for name in names:
        try:
            mgr = stevedore.DriverManager(JUDGE_NAMESPACE, name,
                                          invoke_on_load=False)
        except Exception as exc:
            raise exception.DriverLoadError(
                namespace=JUDGE_NAMESPACE, name=name, reason=exc) from exc
        cls = mgr.driver
        if issubclass(cls, vm_judge.VMCrashJudge):
            judges.append(cls(thresholds, tasks=tasks))
        else:
            judges.append(cls(thresholds))
    return judges


def load_selector(name):
    try:
        return stevedore.DriverManager(SELECTOR_NAMESPACE, name,
                                       invoke_on_load=True).driver
    except Exception as exc:
        raise exception.DriverLoadError(
            namespace=SELECTOR_NAMESPACE, name=name, reason=exc) from exc


class Pipeline:

    def __init__(self, thresholds=None, judges=None, selector=None,
                 directory=None):
        self.t = thresholds or base.Thresholds()
        self.tasks = {}   # uuid -> Nova task state (notifications)
        if judges is None:
            judges = load_judges(DEFAULT_JUDGES, self.t, self.tasks)
        for judge in judges:
            if isinstance(judge, vm_judge.VMCrashJudge):
                judge.tasks = self.tasks
        self.judges = judges
        # Only judges that add decisions of their own are asked for them.
        self.deciders = [j for j in judges
                         if type(j).decide is not base.Judge.decide]
        self.selector = selector or targets.MostFreeRamSelector()
        self.directory = directory or targets.MemoryDirectory()
        self.nodes = {}
        self.pending = {}     # (node, cycle) -> {uuid: (event, arrival)}
        self.latest_cycle = None
        self.pairing_cycles = int(math.ceil(
            self.t.pairing_timeout / self.t.cycle_interval))
        self.history_len = max(_HISTORY_MIN, self.pairing_cycles + 2)
        self.rules = rules.Rules(self)
        self.stats = {'snapshots': 0, 'events': 0, 'duplicates': 0,
                      'late': 0, 'decisions': 0}

    @classmethod
    def from_config(cls, conf, directory=None):
        thresholds = base.Thresholds.from_config(conf)
        tasks = {}
        judges = load_judges(conf.engine.judges, thresholds, tasks)
        pipeline = cls(thresholds, judges,
                       load_selector(conf.engine.target_selector),
                       directory)
        return pipeline

    # -- hooks for the engine ----------------------------------------------

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
        return None if st is None else st.export()

    def import_node_state(self, node, blob):
        st = self._node(node)
        st.load(blob)
        if st.disabled and hasattr(self.directory, 'set_disabled'):
            self.directory.set_disabled(node, True)

    def forget_node(self, node):
        self.nodes.pop(node, None)
        for key in [k for k in self.pending if k[0] == node]:
            del self.pending[key]
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

    # -- input ---------------------------------------------------------------

    def _node(self, name):
        st = self.nodes.get(name)
        if st is None:
            st = self.nodes[name] = NodeState(name)
        return st

    def process(self, record, now=None):
        if record.__class__ is records.Snapshot:
            return self._snapshot(record, now)
        if record.__class__ is records.VMEvent:
            return self._event(record, now)
        raise TypeError('not a snapshot or vm_event record: %r' % (record,))

    def _snapshot(self, snap, now):
        self.stats['snapshots'] += 1
        node = snap.node
        cycle = snap.cycle
        st = self.nodes.get(node)
        if st is None:
            st = self.nodes[node] = NodeState(node)
        out = []
        if self.latest_cycle is None or cycle > self.latest_cycle:
            self._advance(cycle, out, reporting=node)
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
        if out:
            self.stats['decisions'] += len(out)
        return out

    def _late_snapshot(self, st, snap, out):
        """A snapshot older than the node's latest: pair its events only."""
        assessment = base.Assessment(snap.node, snap.cycle)
        for judge in self.judges:
            if judge.name == 'host_hardware':
                judge.judge(snap, {}, assessment)
        failed = [e.id for e in snap.external if e.health == 'failed']
        st.history[snap.cycle] = (assessment.host_state, failed,
                                  assessment.not_ok)
        waiting = self.pending.pop((snap.node, snap.cycle), None)
        if waiting:
            self.rules.on_events(st, snap.cycle, waiting, out)

    def _event(self, event, now):
        self.stats['events'] += 1
        out = []
        if self.latest_cycle is None or event.cycle > self.latest_cycle:
            self._advance(event.cycle, out, reporting=event.node)
        if not vm_judge.is_crash(event.event, event.reason,
                                 self.tasks.get(event.uuid)):
            return out
        st = self._node(event.node)
        if event.uuid in st.decided:
            return out
        if event.cycle in st.history:
            self.rules.on_events(st, event.cycle,
                                 {event.uuid: (event, now)}, out)
            return out
        waiting = self.pending.setdefault((event.node, event.cycle), {})
        waiting.setdefault(event.uuid, (event, now))
        return out

    # -- clock ---------------------------------------------------------------

    def _advance(self, cycle, out, reporting=None):
        """The trace's clock moved to ``cycle``."""
        self.latest_cycle = cycle
        self._check_silent(cycle, out, reporting)
        if self.pending:
            limit = cycle - self.pairing_cycles - 1
            expired = [k for k, waiting in self.pending.items()
                       if k[1] <= limit and any(
                           arrival is None
                           for _e, arrival in waiting.values())]
            for key in sorted(expired):
                self._expire(key, out)

    def _expire(self, key, out):
        waiting = self.pending.pop(key)
        st = self._node(key[0])
        self.rules.on_events(st, key[1], waiting, out, timed_out=True)

    def _check_silent(self, latest, out, reporting=None):
        silent = self.t.silent_cycles
        for name in sorted(self.nodes):
            st = self.nodes[name]
            if name == reporting or st.last_cycle is None:
                continue
            if 'R9' in st.incidents:
                continue
            if latest >= st.last_cycle + silent:
                self.rules.silent_node(st, latest, out)

    def tick(self, now, latest_cycle=None):
        """Wall-clock work of a service.

        :param now: seconds (``time.time()``).
        :param latest_cycle: latest cycle any node reported (the engine
            knows it across engines); defaults to the pipeline's own.
        """
        out = []
        timeout = self.t.pairing_timeout
        for key in sorted(self.pending):
            waiting = self.pending[key]
            if any(arrival is not None and now - arrival >= timeout
                   for _e, arrival in waiting.values()):
                self._expire(key, out)
        if latest_cycle is not None and (self.latest_cycle is None
                                         or latest_cycle >
                                         self.latest_cycle):
            self.latest_cycle = latest_cycle
        if self.latest_cycle is not None:
            self._check_silent(self.latest_cycle, out)
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
