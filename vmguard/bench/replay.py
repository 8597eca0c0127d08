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

"""Replay benchmark.

1. Throughput: a generated trace (default 1,000 nodes x 100 cycles, 40 VMs
   and 30 hardware items per node, with faults) is replayed through the
   real pipeline; the baseline is only ``json.loads`` of the same lines,
   measured in the same run. Target: ratio >= 0.5.
2. Memory: a smaller cloud replayed for 100 and for 1,000 cycles; the
   pipeline's state (tracemalloc, after the run) must stay bounded by the
   rule windows: ratio 1,000/100 <= 1.2.
"""

import argparse
import gc
import json
import logging
import random
import time
import tracemalloc

from vmguard.engine import pipeline as pipeline_mod
from vmguard.engine import replay as replay_mod
from vmguard.objects import records

KINDS = ('cpu', 'memory', 'memory', 'memory', 'disk', 'nic', 'power', 'fan',
         'temperature')


def _node_static(n, items, vms):
    hw = []
    for i in range(items):
        kind = KINDS[i % len(KINDS)]
        item = {'id': '%s-%d' % (kind, i), 'kind': kind, 'health': 'ok',
                'identity': 'SN-%05d-%03d' % (n, i),
                'identity_path': 'inband'}
        hw.append(item)
    vm_list = [{'uuid': '%08d-0000-4000-8000-%012d' % (n, v),
                'state': 'running', 'reason': 'booted', 'vcpus': 2,
                'ram_mb': 2048} for v in range(vms)]
    return hw, vm_list


def generate(nodes=1000, cycles=100, items=30, vms=40, seed=42):
    """Yield trace lines. Faults: guest panics, warnings, a failed PSU,
    disks read only by the BMC, failed storage, a stopped service."""
    rnd = random.Random(seed)
    static = [_node_static(n, items, vms) for n in range(nodes)]
    dumps = json.dumps
    for c in range(1, cycles + 1):
        for n in range(nodes):
            hw, vm_list = static[n]
            hw = [dict(h) for h in hw]
            vm_out = vm_list
            r = rnd.random()
            if r < 0.01:
                hw[1]['health'] = 'warning'
            elif r < 0.012:
                hw[6]['health'] = 'critical'
            if n % 97 == 3 and c > 50:
                hw[4]['identity_path'] = 'oob'
            if rnd.random() < 0.02:
                vm_out = [dict(v) for v in vm_list]
                vm_out[rnd.randrange(vms)].update(state='crashed',
                                                  reason='panicked')
            ext_health = 'failed' if (n % 211 == 5 and c > 30) else 'ok'
            svc_state = 'stopped' if (n % 101 == 7 and 20 < c < 24) \
                else 'running'
            yield dumps({
                'type': 'snapshot', 'node': 'cmp-%04d' % n, 'cycle': c,
                'collected_at': '2026-11-26T10:00:00Z', 'hardware': hw,
                'external': [{'id': 'nfs-instances', 'kind': 'storage',
                              'health': ext_health},
                             {'id': 'uplink-0', 'kind': 'network',
                              'health': 'ok'}],
                'services': [{'name': 'nova-compute', 'state': svc_state},
                             {'name': 'libvirtd', 'state': 'running'}],
                'capacity': {'vcpus_free': 40, 'ram_mb_free': 100000},
                'vms': vm_out})


def _throughput(lines, repeat):
    loads = json.loads
    best_json = best_replay = None
    decisions = 0
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for line in lines:
            loads(line)
        dt = time.perf_counter() - t0
        best_json = dt if best_json is None else min(best_json, dt)

        gc.collect()
        pipeline = pipeline_mod.Pipeline()
        count = [0]

        def emit(_d, count=count):
            count[0] += 1

        t0 = time.perf_counter()
        replay_mod.replay(lines, pipeline, emit, lambda n, m: None)
        dt = time.perf_counter() - t0
        best_replay = dt if best_replay is None else min(best_replay, dt)
        decisions = count[0]
    return best_json, best_replay, decisions


def _state_memory(nodes, cycles):
    lines = list(generate(nodes=nodes, cycles=cycles))
    gc.collect()
    tracemalloc.start()
    pipeline = pipeline_mod.Pipeline()
    loads = json.loads
    parse = records.parse_record
    for line in lines:
        pipeline.process(parse(loads(line)))
    del lines
    gc.collect()
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vmguard.bench replay')
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--cycles', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--mem-nodes', type=int, default=50)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)

    print('generating %d nodes x %d cycles ...' % (args.nodes, args.cycles),
          flush=True)
    lines = list(generate(nodes=args.nodes, cycles=args.cycles))
    size = sum(len(x) for x in lines)
    print('trace: %d snapshot lines, %.1f MB' % (len(lines), size / 1e6),
          flush=True)
    t_json, t_replay, decisions = _throughput(lines, args.repeat)
    n = len(lines)
    print('json decode only : %8.0f snapshots/s' % (n / t_json))
    print('replay pipeline  : %8.0f snapshots/s (%d decisions)'
          % (n / t_replay, decisions))
    ratio = t_json / t_replay
    print('throughput ratio replay/json-decode = %.2f (target >= 0.5)'
          % ratio, flush=True)
    del lines

    m100 = _state_memory(args.mem_nodes, 100)
    m1000 = _state_memory(args.mem_nodes, 1000)
    mratio = m1000 / m100
    print('pipeline state after 100 cycles : %.2f MB (%d nodes)'
          % (m100 / 1e6, args.mem_nodes))
    print('pipeline state after 1000 cycles: %.2f MB' % (m1000 / 1e6))
    print('memory ratio 1000/100 cycles = %.2f (target <= 1.2)' % mratio)
    ok = ratio >= 0.5 and mratio <= 1.2
    print('RESULT: %s' % ('PASS' if ok else 'FAIL'))
    return 0 if ok else 1
