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

"""Snapshot streams of the engine tests: one node per rule R1-R9.

``rule_stream()`` returns the snapshots of cycles 1..CYCLES (SPEC.md JSON
dicts, cycle by cycle) and the decisions they must cause, as a Counter of
(node, rule, action). Run with ``[engine] max_reboots = 1``.
"""

import collections
import zlib

from vmguard.engine.judges import base as judge_base
from vmguard.engine import pipeline as pipeline_mod
from vmguard.objects import records

CYCLES = 6
TARGETS = ('ok-1', 'ok-2')


def snapshot(node, cycle, health='ok', path='inband', external='ok',
             service='running', vms=(), ram=200000, items=1):
    hardware = [{'id': 'dimm-A1', 'kind': 'memory', 'health': health,
                 'identity': 'SN-%s' % node, 'identity_path': path}]
    for i in range(1, items):
        hardware.append({'id': 'item-%d' % i, 'kind': 'sensor',
                         'health': 'ok'})
    return {
        'type': 'snapshot', 'node': node, 'cycle': cycle,
        'collected_at': '2026-11-26T10:00:00Z',
        'hardware': hardware,
        'external': [{'id': 'nfs', 'kind': 'storage', 'health': external}],
        'services': [{'name': 'libvirtd', 'state': service}],
        'capacity': {'vcpus_free': 64, 'ram_mb_free': ram},
        'vms': [{'uuid': u, 'state': s, 'reason': r, 'vcpus': 2,
                 'ram_mb': 2048} for u, s, r in vms]}


def vm_uuid(node, n=0):
    return '%08x-0000-4000-8000-%012x' % (zlib.crc32(node.encode()), n)


RUNNING = ('running', 'booted')
CRASHED = ('crashed', 'panicked')


def _node(node, cycle):
    """Snapshot of ``node`` in ``cycle`` or None (silent)."""
    uuid = vm_uuid(node)
    vm = [(uuid,) + RUNNING]
    if node in TARGETS:
        return snapshot(node, cycle, vms=vm, ram=400000)
    if node == 'r1':
        return snapshot(node, cycle, vms=[(uuid,) + (
            CRASHED if cycle >= 3 else RUNNING)])
    if node == 'r2':
        state = CRASHED if cycle in (3, 5) else RUNNING
        return snapshot(node, cycle, vms=[(uuid,) + state])
    if node == 'r3':
        if cycle >= 3:
            return snapshot(node, cycle, health='warning',
                            vms=[(uuid,) + CRASHED])
        return snapshot(node, cycle, vms=vm)
    if node == 'r4':
        return snapshot(node, cycle, vms=vm,
                        health='critical' if cycle >= 3 else 'ok')
    if node == 'r5':
        return snapshot(node, cycle, vms=vm,
                        path='oob' if cycle >= 3 else 'inband')
    if node == 'r6':
        return snapshot(node, cycle, vms=vm,
                        external='failed' if cycle >= 3 else 'ok')
    if node == 'r7':
        return snapshot(node, cycle, vms=vm,
                        service='stopped' if cycle == 3 else 'running')
    if node == 'r8':
        return snapshot(node, cycle, vms=vm,
                        service='failed' if cycle >= 3 else 'running')
    if node == 'r9':
        return snapshot(node, cycle, vms=vm) if cycle <= 2 else None
    raise ValueError(node)


NODES = TARGETS + ('r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9')

EXPECTED = collections.Counter({
    ('r1', 'R1', 'reboot'): 1,
    ('r2', 'R1', 'reboot'): 1,
    ('r2', 'R2', 'escalate'): 1,
    ('r3', 'R3', 'evacuate'): 1,
    ('r4', 'R4', 'migrate_all'): 1,
    ('r4', 'R4', 'disable_node'): 1,
    ('r5', 'R5', 'migrate_all'): 1,
    ('r5', 'R5', 'disable_node'): 1,
    ('r6', 'R6', 'migrate_all'): 1,
    ('r6', 'R6', 'disable_node'): 1,
    ('r7', 'R7', 'restart_service'): 1,
    ('r8', 'R7', 'restart_service'): 2,
    ('r8', 'R8', 'disable_node'): 1,
    ('r8', 'R8', 'escalate'): 1,
    ('r9', 'R9', 'migrate_all'): 1,
})


def rule_stream(cycles=CYCLES, first=1):
    """[(cycle, [snapshot dicts])] for cycles first..first+cycles-1."""
    out = []
    for cycle in range(first, first + cycles):
        snaps = [s for s in (_node(n, cycle - first + 1) for n in NODES)
                 if s is not None]
        for s in snaps:
            s['cycle'] = cycle
        out.append((cycle, snaps))
    return out


def next_snapshot(node, cycle):
    """Snapshot of ``node`` in ``cycle``: its stream's, else a healthy
    one (nodes of a test's own)."""
    try:
        return _node(node, cycle)
    except ValueError:
        return snapshot(node, cycle)


def counted(rows):
    return collections.Counter((r.node, r.rule, r.action) for r in rows)


class Judged:
    """A replay-clock pipeline fed record by record (rule unit tests).

    ``feed`` takes SPEC.md dicts and returns the decisions as tuples
    (node, cycle, rule, action, what): ``what`` is the target of an
    evacuate/migrate_all, else the VM or the service.
    """

    def __init__(self, rules=None, **thresholds):
        self.pipeline = pipeline_mod.Pipeline(
            judge_base.Thresholds(**thresholds), rules=rules)

    def feed(self, *items):
        out = []
        for data in items:
            data = dict(data)
            data.setdefault('type', 'snapshot')
            for d in self.pipeline.process(records.parse_record(data)):
                what = (d.target if d.action in ('evacuate', 'migrate_all')
                        else d.vm or d.service)
                out.append((d.node, d.cycle, d.rule, d.action, what))
        return out

    def cycle(self, cycle, nodes=('a', 'b', 'c'), **per_node):
        """One cycle: every node healthy unless ``per_node`` gives its
        snapshot keyword arguments (None: silent)."""
        items = []
        for node in nodes:
            kw = per_node.get(node, {})
            if kw is None:
                continue
            items.append(snapshot(node, cycle, **kw))
        return self.feed(*items)
