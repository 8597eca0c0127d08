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

"""Base of the judgment drivers.

A judge looks at one node's snapshot of one cycle and writes its findings
into the cycle's :class:`Assessment`. It keeps what it must remember across
cycles (counters, baselines) in its own slot of the node's state,
``state.data[judge.name]`` -- a JSON-able dict, so that the engine can
persist it and another engine can continue with it. Judges do no I/O.

Operators add a judge from their own package by declaring a class derived
from :class:`Judge` in the ``vmguard.judges`` entry point namespace and
naming it in ``[engine] judges``. Findings a custom judge wants to act on
go into ``assessment.findings`` (a list of dicts); a judge may also return
decisions from :meth:`Judge.decide`.
"""

import abc


class Thresholds:
    """The [engine] thresholds the judges and rules use."""

    __slots__ = ('cycle_interval', 'max_reboots', 'reboot_window',
                 'identity_cycles', 'external_cycles', 'service_cycles',
                 'silent_cycles', 'pairing_timeout', 'max_cycle_skew',
                 'storm_window', 'storm_min_nodes', 'storm_ratio')

    def __init__(self, cycle_interval=10, max_reboots=3, reboot_window=30,
                 identity_cycles=3, external_cycles=3, service_cycles=3,
                 silent_cycles=3, pairing_timeout=15.0, max_cycle_skew=3,
                 storm_window=3, storm_min_nodes=3, storm_ratio=0.25):
        self.cycle_interval = cycle_interval
        self.max_reboots = max_reboots
        self.reboot_window = reboot_window
        self.identity_cycles = identity_cycles
        self.external_cycles = external_cycles
        self.service_cycles = service_cycles
        self.silent_cycles = silent_cycles
        self.pairing_timeout = pairing_timeout
        self.max_cycle_skew = max_cycle_skew
        self.storm_window = storm_window
        self.storm_min_nodes = storm_min_nodes
        self.storm_ratio = storm_ratio

    @classmethod
    def from_config(cls, conf):
        e = conf.engine
        return cls(e.cycle_interval, e.max_reboots, e.reboot_window,
                   e.identity_cycles, e.external_cycles, e.service_cycles,
                   e.silent_cycles, e.pairing_timeout, e.max_cycle_skew,
                   e.storm_window, e.storm_min_nodes, e.storm_ratio)


class Assessment:
    """What the judges found for one node in one cycle."""

    __slots__ = ('node', 'cycle', 'host_state', 'not_ok',
                 'external_failed', 'external_streaks', 'services_down',
                 'identity_lost', 'identity_off', 'identity_changes',
                 'crashed',
                 'not_crashed', 'findings', 'previous', 'same_hardware',
                 'same_vms')

    def __init__(self, node, cycle):
        self.node = node
        self.cycle = cycle
        self.host_state = 'unknown'
        # [(item id, kind, health)] of hardware items not ok.
        self.not_ok = []
        # ids of external items failed in this cycle.
        self.external_failed = []
        # {external id: consecutive failed cycles}, failed items only.
        self.external_streaks = {}
        # {service name: consecutive down cycles}, down services only.
        self.services_down = {}
        # [{id, identity, path, baseline, cycles}] items read through a
        # path worse than their baseline for >= identity_cycles cycles.
        self.identity_lost = []
        # Number of items read through a worse path than their baseline
        # in this cycle, whatever their count (R5 re-arms only at 0).
        self.identity_off = 0
        # [{id, change, ...}] replacements and path changes (history).
        self.identity_changes = []
        # VMInfo records crashed in this snapshot (not yet deduplicated).
        self.crashed = []
        # uuids seen not crashed in this snapshot (re-arm).
        self.not_crashed = ()
        self.findings = []
        # While the judges run: the node's previous assessment, and whether
        # the hardware / VM lists are the very ones of the previous
        # snapshot (unchanged: judges may reuse their previous result).
        self.previous = None
        self.same_hardware = False
        self.same_vms = False

    def to_dict(self):
        return {'node': self.node, 'cycle': self.cycle,
                'host_state': self.host_state,
                'not_ok': [list(x) for x in self.not_ok],
                'external_failed': list(self.external_failed),
                'services_down': dict(self.services_down),
                'identity_lost': list(self.identity_lost),
                'identity_changes': list(self.identity_changes),
                'findings': list(self.findings)}


class JudgeContext:
    """What every judge is given: the thresholds and the Nova task state
    of VMs known from notifications ({uuid: task_state}, shared with the
    pipeline, which keeps it current)."""

    __slots__ = ('thresholds', 'tasks')

    def __init__(self, thresholds=None, tasks=None):
        self.thresholds = thresholds or Thresholds()
        self.tasks = tasks if tasks is not None else {}


class Judge(abc.ABC):
    """One judgment driver, built with one :class:`JudgeContext`."""

    #: Name of the judge; its slot in the node state.
    name = None

    def __init__(self, context):
        if isinstance(context, Thresholds):
            context = JudgeContext(context)
        self.context = context
        self.thresholds = context.thresholds

    @abc.abstractmethod
    def judge(self, snapshot, data, assessment):
        """Judge one snapshot.

        :param snapshot: :class:`vmguard.objects.records.Snapshot`
        :param data: this judge's JSON-able dict in the node's state.
        :param assessment: :class:`Assessment` to fill in.
        """

    def decide(self, assessment, data):
        """Extra decisions of a custom judge (none by default)."""
        return ()
