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

"""Write the scenario library (vmguard/tests/scenarios/).

Each scenario is a trace (``NAME.jsonl``) and the decisions SPEC.md
requires for it (``NAME.expected.jsonl``), written here by hand from the
rules -- not recorded from vmguard's output. ``NAME.conf`` (optional)
overrides thresholds. Expected lines name node, cycle, action, vm,
service, target and rule; ``reason_contains`` lists evidence the reason
must cite.

    python tools/make_scenarios.py
"""

import json
import os

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), 'vmguard', 'tests', 'scenarios')

VM_A = '11111111-aaaa-4000-8000-000000000001'
VM_B = '22222222-bbbb-4000-8000-000000000002'
VM_C = '33333333-cccc-4000-8000-000000000003'


def hw(psu='ok', dimm='ok', disk_path='inband', disk_serial='DSK-1'):
    return [
        {'id': 'psu-1', 'kind': 'power', 'health': psu,
         'identity': 'PSU-1', 'identity_path': 'oob'},
        {'id': 'dimm-A1', 'kind': 'memory', 'health': dimm,
         'identity': 'DIMM-1', 'identity_path': 'inband'},
        {'id': 'disk-0', 'kind': 'disk', 'health': 'ok',
         'identity': disk_serial, 'identity_path': disk_path},
    ]


def vm(uuid, state='running', reason='booted', vcpus=2, ram=2048,
       task=None):
    d = {'uuid': uuid, 'state': state, 'reason': reason, 'vcpus': vcpus,
         'ram_mb': ram}
    if task:
        d['task_state'] = task
    return d


def snap(node, cycle, hardware=None, external=None, services=None,
         vms=(), ram=64000, vcpus=32):
    return {'type': 'snapshot', 'node': node, 'cycle': cycle,
            'collected_at': '2026-11-26T10:00:%02dZ' % (cycle % 60),
            'hardware': hw() if hardware is None else hardware,
            'external': external if external is not None else [
                {'id': 'nfs-instances', 'kind': 'storage', 'health': 'ok'}],
            'services': services if services is not None else [
                {'name': 'nova-compute', 'state': 'running'}],
            'capacity': {'vcpus_free': vcpus, 'ram_mb_free': ram},
            'vms': list(vms)}


def event(node, cycle, uuid, ev='crashed', reason='panicked'):
    return {'type': 'vm_event', 'node': node, 'cycle': cycle, 'uuid': uuid,
            'event': ev, 'reason': reason}


def peers(cycle, ram2=64000, ram3=32000, **kw):
    return [snap('cmp-02', cycle, ram=ram2, **kw),
            snap('cmp-03', cycle, ram=ram3)]


def d(node, cycle, action, rule, vm=None, service=None, target=None,
      contains=()):
    out = {'node': node, 'cycle': cycle, 'action': action, 'vm': vm,
           'service': service, 'target': target, 'rule': rule}
    if contains:
        out['reason_contains'] = list(contains)
    return out


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


@scenario
def r1_same_cycle_pairing():
    """A warning in the previous cycle must not turn a reboot into an
    evacuation: judge with the host state of the crash's own cycle."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A), vm(VM_B)]), *peers(1),
         snap('cmp-01', 2, hw(dimm='warning'), vms=[vm(VM_A), vm(VM_B)]),
         *peers(2),
         snap('cmp-01', 3, vms=[vm(VM_A, 'crashed', 'panicked'), vm(VM_B)]),
         *peers(3)]
    return t, [d('cmp-01', 3, 'reboot', 'R1', vm=VM_A,
                 contains=['panicked', 'normal'])]


@scenario
def r3_same_cycle_degraded():
    """The crash happens in the very cycle the DIMM warns: evacuate, to
    the node with the most free RAM; the previous cycle was normal."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A)]), *peers(1),
         snap('cmp-01', 2, hw(dimm='warning'),
              vms=[vm(VM_A, 'crashed', 'panicked')]), *peers(2)]
    return t, [d('cmp-01', 2, 'evacuate', 'R3', vm=VM_A, target='cmp-02',
                 contains=['dimm-A1', 'degraded'])]


@scenario
def r2_crash_loop_inside_window():
    """Rebooted max_reboots (3) times within reboot_window: escalate."""
    t = []
    for c in range(1, 9):
        state = 'crashed' if c in (2, 4, 6, 8) else 'running'
        t += [snap('cmp-01', c, vms=[vm(VM_A, state, 'panicked')]),
              *peers(c)]
    return t, [d('cmp-01', 2, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 4, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 6, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 8, 'escalate', 'R2', vm=VM_A,
                 contains=['2, 4, 6'])]


@scenario
def r2_crash_loop_outside_window():
    """With reboot_window = 5, the reboots of cycles 2-6 are out of the
    window by cycle 12: reboot again."""
    t = []
    for c in range(1, 13):
        state = 'crashed' if c in (2, 4, 6, 12) else 'running'
        t += [snap('cmp-01', c, vms=[vm(VM_A, state, 'panicked')]),
              *peers(c)]
    return t, [d('cmp-01', 2, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 4, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 6, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 12, 'reboot', 'R1', vm=VM_A)]


@scenario
def r3_no_eligible_target():
    """cmp-02 is degraded, cmp-03 has too little RAM: escalate."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A, ram=8192)]),
         snap('cmp-02', 1, hw(dimm='warning')),
         snap('cmp-03', 1, ram=4096),
         snap('cmp-01', 2, hw(psu='warning'),
              vms=[vm(VM_A, 'crashed', 'panicked', ram=8192)]),
         snap('cmp-02', 2, hw(dimm='warning')),
         snap('cmp-03', 2, ram=4096)]
    return t, [d('cmp-01', 2, 'escalate', 'R3', vm=VM_A,
                 contains=['no eligible target'])]


@scenario
def r4_failed_host_once_and_rearm():
    """PSU critical: R3 for the VM that crashed with it, R4 migrate_all +
    disable_node once per incident; normal again re-arms; a new incident
    emits everything again. cmp-02 has more RAM but 3 is the target of
    the second incident because 2 is degraded then."""
    vms_ok = [vm(VM_A), vm(VM_B)]
    t = [snap('cmp-01', 1, vms=vms_ok), *peers(1),
         snap('cmp-01', 2, hw(psu='critical'),
              vms=[vm(VM_A, 'crashed', 'panicked'), vm(VM_B)]), *peers(2),
         snap('cmp-01', 3, hw(psu='critical'), vms=vms_ok), *peers(3),
         snap('cmp-01', 4, vms=vms_ok), *peers(4),
         snap('cmp-02', 5, hw(dimm='warning')), snap('cmp-03', 5),
         snap('cmp-01', 5, hw(psu='critical'), vms=vms_ok)]
    return t, [
        d('cmp-01', 2, 'evacuate', 'R3', vm=VM_A, target='cmp-02'),
        d('cmp-01', 2, 'migrate_all', 'R4', target='cmp-02',
          contains=['psu-1']),
        d('cmp-01', 2, 'disable_node', 'R4', contains=['psu-1']),
        d('cmp-01', 5, 'migrate_all', 'R4', target='cmp-03'),
        d('cmp-01', 5, 'disable_node', 'R4')]


@scenario
def r5_identity_path_lost():
    """disk-0 read in-band, then only by the BMC for 3 cycles: drain."""
    t = []
    for c in range(1, 7):
        path = 'oob' if c >= 3 else 'inband'
        t += [snap('cmp-01', c, hw(disk_path=path), vms=[vm(VM_A)]),
              *peers(c)]
    return t, [d('cmp-01', 5, 'migrate_all', 'R5', target='cmp-02',
                 contains=['disk-0', 'DSK-1', 'oob', 'inband']),
               d('cmp-01', 5, 'disable_node', 'R5')]


@scenario
def r5_hardware_replaced():
    """A different serial in slot disk-0 is a replacement, not a fault,
    even when the new disk is read only by the BMC: its path is the new
    baseline."""
    t = []
    for c in range(1, 8):
        if c < 3:
            h = hw()
        else:
            h = hw(disk_path='oob', disk_serial='DSK-NEW')
        t += [snap('cmp-01', c, h, vms=[vm(VM_A)]), *peers(c)]
    return t, []


@scenario
def r5_flapping_path():
    """oob, inband, oob, inband, oob, oob: never 3 consecutive cycles."""
    paths = ['inband', 'oob', 'inband', 'oob', 'inband', 'oob', 'oob',
             'inband']
    t = []
    for c, path in enumerate(paths, 1):
        t += [snap('cmp-01', c, hw(disk_path=path)), *peers(c)]
    return t, []


@scenario
def r6_external_degraded_then_failed():
    """Degraded storage is not failed; failed for 3 cycles drains."""
    t = []
    for c in range(1, 9):
        health = 'degraded' if c < 5 else 'failed'
        ext = [{'id': 'nfs-instances', 'kind': 'storage',
                'health': health}]
        t += [snap('cmp-01', c, external=ext, vms=[vm(VM_A)]), *peers(c)]
    return t, [d('cmp-01', 7, 'migrate_all', 'R6', target='cmp-02',
                 contains=['nfs-instances', '3 consecutive']),
               d('cmp-01', 7, 'disable_node', 'R6')]


@scenario
def r3_external_failed_crash():
    """Hardware normal but shared storage failed in the crash's cycle:
    the guest likely died of I/O: evacuate, do not reboot in place."""
    ext = [{'id': 'nfs-instances', 'kind': 'storage', 'health': 'failed'}]
    t = [snap('cmp-01', 1, vms=[vm(VM_A)]), *peers(1),
         snap('cmp-01', 2, external=ext,
              vms=[vm(VM_A, 'paused', 'ioerror')]), *peers(2)]
    return t, [d('cmp-01', 2, 'evacuate', 'R3', vm=VM_A, target='cmp-02',
                 contains=['nfs-instances'])]


@scenario
def r7_r8_service_restart_then_disable():
    """nova-compute down: restart twice (R7), then at the 3rd consecutive
    cycle disable + escalate once (R8); never an evacuation."""
    t = []
    for c in range(1, 8):
        state = 'stopped' if 2 <= c <= 6 else 'running'
        t += [snap('cmp-01', c, vms=[vm(VM_A)],
                   services=[{'name': 'nova-compute', 'state': state},
                             {'name': 'libvirtd', 'state': 'running'}]),
              *peers(c)]
    return t, [
        d('cmp-01', 2, 'restart_service', 'R7', service='nova-compute'),
        d('cmp-01', 3, 'restart_service', 'R7', service='nova-compute'),
        d('cmp-01', 4, 'disable_node', 'R8', service='nova-compute',
          contains=['nova-compute', '3 consecutive']),
        d('cmp-01', 4, 'escalate', 'R8', service='nova-compute')]


@scenario
def r7_not_while_host_unhealthy():
    """A service down on a degraded host is not restarted (R7 needs a
    normal host); the count still runs to R8."""
    t = []
    for c in range(1, 5):
        t += [snap('cmp-01', c, hw(dimm='warning' if c < 4 else 'ok'),
                   services=[{'name': 'libvirtd',
                              'state': 'failed' if c >= 2 else
                              'running'}]), *peers(c)]
    return t, [d('cmp-01', 4, 'disable_node', 'R8', service='libvirtd'),
               d('cmp-01', 4, 'escalate', 'R8', service='libvirtd')]


@scenario
def r9_silent_node():
    """cmp-01 last reports cycle 2; others report on. At cycle 5 (2 + 3)
    it is silent: migrate_all (fence + evacuate), once."""
    t = []
    for c in range(1, 8):
        if c <= 2:
            t.append(snap('cmp-01', c, vms=[vm(VM_A)]))
        t += peers(c)
    return t, [d('cmp-01', 5, 'migrate_all', 'R9', target='cmp-02',
                 contains=['since cycle 2'])]


@scenario
def purposeful_stops_are_not_crashes():
    """shutoff/shutdown, shutoff/destroyed, paused/user and a crashed VM
    in a Nova task are not crashes; paused/watchdog and shutoff/failed
    are."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A), vm(VM_B), vm(VM_C)]), *peers(1),
         snap('cmp-01', 2, vms=[vm(VM_A, 'shutoff', 'shutdown'),
                                vm(VM_B, 'shutoff', 'destroyed'),
                                vm(VM_C, 'paused', 'user')]), *peers(2),
         snap('cmp-01', 3, vms=[vm(VM_A, 'crashed', 'panicked',
                                   task='migrating'),
                                vm(VM_B, 'paused', 'watchdog'),
                                vm(VM_C, 'shutoff', 'failed')]), *peers(3)]
    return t, [d('cmp-01', 3, 'reboot', 'R1', vm=VM_B,
                 contains=['watchdog']),
               d('cmp-01', 3, 'reboot', 'R1', vm=VM_C,
                 contains=['failed'])]


@scenario
def event_before_its_snapshot():
    """The crash event of cycle 3 arrives before cycle 3's snapshot: the
    decision waits for it and pairs with its (normal) host state; the
    snapshot also shows the crash: decided once."""
    t = [snap('cmp-01', 2, vms=[vm(VM_A)]), *peers(2),
         event('cmp-01', 3, VM_A), *peers(3),
         snap('cmp-01', 3, vms=[vm(VM_A, 'crashed', 'panicked')]),
         snap('cmp-01', 4, vms=[vm(VM_A, 'crashed', 'panicked')]),
         *peers(4)]
    return t, [d('cmp-01', 3, 'reboot', 'R1', vm=VM_A)]


@scenario
def event_after_its_snapshot():
    """The event of cycle 3 arrives after cycle 3's snapshot (degraded,
    VM still shown running): paired with cycle 3 -> evacuate, even though
    cycle 4 is normal."""
    t = [snap('cmp-01', 2, vms=[vm(VM_A)]), *peers(2),
         snap('cmp-01', 3, hw(dimm='warning'), vms=[vm(VM_A)]), *peers(3),
         event('cmp-01', 3, VM_A),
         snap('cmp-01', 4, vms=[vm(VM_A, 'crashed', 'panicked')]),
         *peers(4)]
    return t, [d('cmp-01', 3, 'evacuate', 'R3', vm=VM_A, target='cmp-02',
                 contains=['dimm-A1'])]


@scenario
def event_pairing_timeout():
    """The snapshot of the event's cycle never comes: after
    pairing_timeout (15 s = 2 cycles) the host state is unknown, which is
    not normal: evacuate. The silent node rule fires first (cycle 5)."""
    t = [snap('cmp-01', 2, vms=[vm(VM_A)]), *peers(2),
         event('cmp-01', 3, VM_A)]
    for c in range(3, 7):
        t += peers(c)
    return t, [d('cmp-01', 5, 'migrate_all', 'R9', target='cmp-02'),
               d('cmp-01', 3, 'evacuate', 'R3', vm=VM_A, target='cmp-02',
                 contains=['unknown'])]


@scenario
def crash_decided_once_and_rearmed():
    """Crashed in 2 (reboot), still crashed in 3 (nothing), running in 4,
    crashed again in 5 (reboot again)."""
    states = {2: 'crashed', 3: 'crashed', 4: 'running', 5: 'crashed'}
    t = []
    for c in range(1, 6):
        t += [snap('cmp-01', c, vms=[vm(VM_A, states.get(c, 'running'),
                                        'panicked')]), *peers(c)]
    return t, [d('cmp-01', 2, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 5, 'reboot', 'R1', vm=VM_A)]


@scenario
def no_hardware_info_is_unknown():
    """No hardware info: host state unknown, treated as not normal."""
    t = [snap('cmp-01', 1, [], vms=[vm(VM_A)]), *peers(1),
         snap('cmp-01', 2, [], vms=[vm(VM_A, 'crashed', 'panicked')]),
         *peers(2)]
    return t, [d('cmp-01', 2, 'evacuate', 'R3', vm=VM_A, target='cmp-02',
                 contains=['unknown'])]


@scenario
def disabled_node_is_not_a_target():
    """cmp-02 (most RAM) was disabled by R4; once normal again it stays
    disabled until an operator enables it: the evacuation goes to
    cmp-03. Malformed lines in between are rejected and skipped."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A)]),
         snap('cmp-03', 1, ram=128000),
         snap('cmp-02', 1, hw(psu='critical'), ram=256000),
         'this is not json',
         {'type': 'snapshot', 'node': 'cmp-01', 'cycle': 'two'},
         snap('cmp-02', 2, ram=256000), snap('cmp-03', 2, ram=128000),
         snap('cmp-01', 2, hw(dimm='warning'),
              vms=[vm(VM_A, 'crashed', 'panicked')])]
    return t, [d('cmp-02', 1, 'migrate_all', 'R4', target='cmp-03'),
               d('cmp-02', 1, 'disable_node', 'R4'),
               d('cmp-01', 2, 'evacuate', 'R3', vm=VM_A, target='cmp-03'),
               {'rejected_lines': [4, 5]}]


# -- SPEC revision 2 ---------------------------------------------------------


def agent_stop(node, cycle):
    return {'type': 'agent_stop', 'node': node, 'cycle': cycle}


@scenario
def rev2_same_fault_same_incident():
    """Revision 2, same fault same incident: storage failed in cycles 1-3
    drains cmp-01 (R6). Cycle 4 is missing, so the failed count restarts
    below its threshold in 5-8 while the fault is still there: no second
    incident. Cycle 9 is normal with the storage ok (fault absent): the
    incident ends, and failing again for 3 cycles (10-12) drains again."""
    failed = [{'id': 'nfs-instances', 'kind': 'storage', 'health': 'failed'}]
    t = []
    for c in range(1, 13):
        if c != 4:
            ext = None if c == 9 else failed
            t.append(snap('cmp-01', c, external=ext, vms=[vm(VM_A)]))
        t += peers(c)
    return t, [d('cmp-01', 3, 'migrate_all', 'R6', target='cmp-02',
                 contains=['nfs-instances']),
               d('cmp-01', 3, 'disable_node', 'R6'),
               d('cmp-01', 12, 'migrate_all', 'R6', target='cmp-02',
                 contains=['cycles 10-12']),
               d('cmp-01', 12, 'disable_node', 'R6')]


@scenario
def rev2_reboot_budget_follows_the_vm():
    """Revision 2, reboot budget per VM: VM A is rebooted on cmp-01 in
    cycles 2, 4 and 6 (max_reboots 3), then shows up on cmp-02 (moved by
    an operator) and crashes there in cycle 9 on a normal host: its
    budget is spent on any node: escalate (R2), no fourth reboot."""
    t = []
    for c in range(1, 11):
        if c <= 7:
            state = 'crashed' if c in (2, 4, 6) else 'running'
            t.append(snap('cmp-01', c, vms=[vm(VM_A, state, 'panicked')]))
            t.append(snap('cmp-02', c))
        else:
            state = 'crashed' if c == 9 else 'running'
            t.append(snap('cmp-01', c))
            t.append(snap('cmp-02', c, vms=[vm(VM_A, state, 'panicked')]))
        t.append(snap('cmp-03', c, ram=32000))
    return t, [d('cmp-01', 2, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 4, 'reboot', 'R1', vm=VM_A),
               d('cmp-01', 6, 'reboot', 'R1', vm=VM_A),
               d('cmp-02', 9, 'escalate', 'R2', vm=VM_A,
                 contains=['2, 4, 6'])]


@scenario
def rev2_identity_baseline_from_healthy_better_path():
    """Revision 2, identity paths ranked: disk-0 is first read in-band
    while warning (no baseline: not healthy), then only by the BMC while
    ok (baseline oob: no fault in 2-5), then in-band and ok (the OS
    finished enumerating it: baseline upgraded to inband, no fault); read
    by the BMC only in 7, 8, 9: worse than the baseline for 3 cycles:
    drain (R5) in cycle 9."""
    def disk(path, health='ok'):
        h = hw(disk_path=path)
        h[2]['health'] = health
        return h
    t = [snap('cmp-01', 1, disk('inband', 'warning')), *peers(1)]
    for c in range(2, 6):
        t += [snap('cmp-01', c, disk('oob')), *peers(c)]
    t += [snap('cmp-01', 6, disk('inband')), *peers(6)]
    for c in range(7, 11):
        t += [snap('cmp-01', c, disk('oob')), *peers(c)]
    return t, [d('cmp-01', 9, 'migrate_all', 'R5', target='cmp-02',
                 contains=['disk-0', 'oob instead of inband',
                           'since cycle 7']),
               d('cmp-01', 9, 'disable_node', 'R5')]


@scenario
def rev2_clock_far_future_cycle_rejected():
    """Revision 2, the clock: cmp-03 once reports cycle 1000 (line 7). The
    clock for it is the median of the other nodes' latest cycles (2):
    more than max_cycle_skew (3) ahead, so the line is rejected -- no
    node is judged silent, and cmp-03's own later cycles are judged: its
    VM crashed in cycle 4 is rebooted."""
    t = []
    for c in range(1, 5):
        t += [snap('cmp-01', c), snap('cmp-02', c, ram=32000),
              snap('cmp-03', c, vms=[vm(VM_A, 'crashed' if c == 4
                                        else 'running', 'panicked')])]
        if c == 2:
            t.append(snap('cmp-03', 1000, vms=[vm(VM_A)]))
    return t, [d('cmp-03', 4, 'reboot', 'R1', vm=VM_A),
               {'rejected_lines': [7]}]


@scenario
def rev2_crash_event_of_unknown_node_rejected():
    """Revision 2, unknown nodes: a crash event for cmp-09, which never
    sent a snapshot, is bad input (line 4, rejected and counted); it
    never becomes a decision."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A)]), *peers(1),
         event('cmp-09', 1, VM_B), snap('cmp-01', 2, vms=[vm(VM_A)]),
         *peers(2)]
    return t, [{'rejected_lines': [4]}]


@scenario
def rev2_agent_stop_is_not_silence():
    """Revision 2: the agent of cmp-01 stops on purpose after cycle 2
    (agent_stop record): it is not judged silent while the others report
    cycles 3-7. It reports again in cycle 8 and then goes quiet: silent
    (R9) once the clock reaches 8 + 3 = 11."""
    t = [snap('cmp-01', 1, vms=[vm(VM_A)]), *peers(1),
         snap('cmp-01', 2, vms=[vm(VM_A)]), *peers(2),
         agent_stop('cmp-01', 2)]
    for c in range(3, 13):
        if c == 8:
            t.append(snap('cmp-01', c, vms=[vm(VM_A)]))
        t += peers(c)
    return t, [d('cmp-01', 11, 'migrate_all', 'R9', target='cmp-02',
                 contains=['since cycle 8'])]


@scenario
def r10_storm_guard():
    """R10 (revision 2): cmp-01 and cmp-02 fail in cycle 2, cmp-03 and
    cmp-04 in cycle 3. The fourth node within storm_window (3) cycles
    would exceed max(storm_min_nodes 3, 0.25 x 6 nodes): cmp-04 gets one
    escalate (R10, vm null) instead of migrate_all/disable_node. No new
    incident in cycles 4-7 ends the guard: cmp-05 failing in cycle 8 is
    drained as usual. cmp-06 (most RAM) is the target."""
    fail_from = {'cmp-01': 2, 'cmp-02': 2, 'cmp-03': 3, 'cmp-04': 3,
                 'cmp-05': 8}
    t = []
    for c in range(1, 10):
        for i in range(1, 7):
            node = 'cmp-%02d' % i
            bad = c >= fail_from.get(node, 99)
            t.append(snap(node, c, hw(psu='critical' if bad else 'ok'),
                          vms=[vm(VM_A if i == 1 else VM_B)]
                          if i < 3 else (),
                          ram=128000 if i == 6 else 64000))
    return t, [d('cmp-01', 2, 'migrate_all', 'R4', target='cmp-06'),
               d('cmp-01', 2, 'disable_node', 'R4'),
               d('cmp-02', 2, 'migrate_all', 'R4', target='cmp-06'),
               d('cmp-02', 2, 'disable_node', 'R4'),
               d('cmp-03', 3, 'migrate_all', 'R4', target='cmp-06'),
               d('cmp-03', 3, 'disable_node', 'R4'),
               d('cmp-04', 3, 'escalate', 'R10',
                 contains=['storm guard', 'R4', 'cmp-01, cmp-02, cmp-03']),
               d('cmp-05', 8, 'migrate_all', 'R4', target='cmp-06'),
               d('cmp-05', 8, 'disable_node', 'R4')]


CONF = {
    'r2_crash_loop_outside_window': '[engine]\nreboot_window = 5\n',
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in SCENARIOS.items():
        trace, expected = fn()
        with open(os.path.join(OUT, name + '.jsonl'), 'w') as f:
            for line in trace:
                f.write((line if isinstance(line, str)
                         else json.dumps(line)) + '\n')
        with open(os.path.join(OUT, name + '.expected.jsonl'), 'w') as f:
            f.write('# %s\n' % ' '.join(fn.__doc__.split()))
            for line in expected:
                f.write(json.dumps(line) + '\n')
        if name in CONF:
            with open(os.path.join(OUT, name + '.conf'), 'w') as f:
                f.write(CONF[name])
    print('%d scenarios written to %s' % (len(SCENARIOS), OUT))


if __name__ == '__main__':
    main()
