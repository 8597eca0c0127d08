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

"""Rules R1-R9 of SPEC.md section 1, on top of the judges' assessment.

Incidents (R4, R5, R6, R8 per service, R9) produce their decisions once.
An incident re-arms after a cycle in which the node is ``normal`` and its
condition is false; a new incident then emits all its decisions again,
``disable_node`` included. Every decision is logged once, with its rule
and evidence.
"""

from oslo_log import log as logging

from vmguard.engine import decision as dec

LOG = logging.getLogger(__name__)

_DOWN = ('stopped', 'failed')


def _items(not_ok):
    return ', '.join('%s (%s) %s' % (i, k, h) for i, k, h in not_ok)


class Rules:

    def __init__(self, pipeline):
        self.p = pipeline
        self.t = pipeline.t

    def _emit(self, out, decision):
        LOG.info('Decision %s on %s cycle %s: %s vm=%s service=%s '
                 'target=%s -- %s', decision.rule, decision.node,
                 decision.cycle, decision.action, decision.vm,
                 decision.service, decision.target, decision.reason)
        out.append(decision)

    # -- crashed VMs (R1, R2, R3) -------------------------------------------

    def _crash(self, st, cycle, uuid, state, reason, vcpus, ram_mb,
               host_state, ext_failed, not_ok, source, out):
        st.decided[uuid] = cycle
        what = '%s/%s' % (state, reason) if reason else state
        evidence = {'host_state': host_state, 'not_ok': not_ok,
                    'external_failed': list(ext_failed),
                    'vm_state': state, 'vm_reason': reason,
                    'seen_by': source}
        node = st.name
        if host_state == 'normal' and not ext_failed:
            t = self.t
            window_start = cycle - t.reboot_window
            done = [c for c in st.reboots.get(uuid, ()) if c > window_start]
            if len(done) >= t.max_reboots:
                st.reboots[uuid] = done
                evidence['reboots'] = done
                self._emit(out, dec.Decision(
                    node, cycle, 'escalate', 'R2',
                    'VM crashed (%s) again while host normal: already '
                    'rebooted %d times by vmguard within the last %d '
                    'cycles (cycles %s); no further automatic reboot'
                    % (what, len(done), t.reboot_window,
                       ', '.join(str(c) for c in done)),
                    vm=uuid, evidence=evidence,
                    incident_key='R2:%s:%s:%s' % (node, uuid, cycle)))
                return
            done.append(cycle)
            st.reboots[uuid] = done
            self._emit(out, dec.Decision(
                node, cycle, 'reboot', 'R1',
                'VM crashed (%s) while host normal in cycle %s: hard '
                'reboot in place' % (what, cycle),
                vm=uuid, evidence=evidence,
                incident_key='R1:%s:%s:%s' % (node, uuid, cycle)))
            return
        if host_state == 'unknown':
            why = ('host state of cycle %s unknown (%s)'
                   % (cycle, 'its snapshot did not arrive within '
                      'pairing_timeout' if source.endswith('timeout')
                      else 'no hardware info'))
        elif host_state != 'normal':
            why = 'host %s in cycle %s: %s' % (host_state, cycle,
                                               _items(not_ok))
        else:
            why = 'external item failed in cycle %s: %s' % (
                cycle, ', '.join(ext_failed))
        choices = self.p.selector.select(self.p.directory, node, vcpus,
                                         ram_mb, limit=3)
        if not choices:
            self._emit(out, dec.Decision(
                node, cycle, 'escalate', 'R3',
                'VM crashed (%s), %s; no eligible target node with %d '
                'vCPUs and %d MB RAM free' % (what, why, vcpus, ram_mb),
                vm=uuid, evidence=evidence,
                incident_key='R3:%s:%s:%s' % (node, uuid, cycle)))
            return
        target = choices[0]
        self.p.directory.reserve(target, vcpus, ram_mb)
        evidence['targets'] = choices[:3]
        self._emit(out, dec.Decision(
            node, cycle, 'evacuate', 'R3',
            'VM crashed (%s), %s: evacuate to %s' % (what, why, target),
            vm=uuid, target=target, evidence=evidence,
            incident_key='R3:%s:%s:%s' % (node, uuid, cycle)))

    def on_events(self, st, cycle, waiting, out, timed_out=False):
        """Crash events of ``cycle`` paired with that cycle's host state."""
        entry = None if timed_out else st.history.get(cycle)
        if entry is None:
            host_state, ext_failed, not_ok = 'unknown', [], []
        else:
            host_state, ext_failed, not_ok = entry
        for uuid in waiting:
            event, _arrival = waiting[uuid]
            if uuid in st.decided:
                continue
            if self.p.tasks.get(uuid):
                continue
            vm = st.vm(uuid)
            vcpus = vm.vcpus if vm is not None else 0
            ram = vm.ram_mb if vm is not None else 0
            self._crash(st, cycle, uuid, event.event, event.reason, vcpus,
                        ram, host_state, ext_failed, not_ok,
                        'event+timeout' if timed_out else 'event', out)

    # -- one snapshot -----------------------------------------------------

    def on_snapshot(self, st, a, out):
        cycle = a.cycle
        p = self.p
        waiting = p.pending.pop((st.name, cycle), None) if p.pending \
            else None
        if waiting:
            self.on_events(st, cycle, waiting, out)
        decided = st.decided
        for vm in a.crashed:
            if vm.uuid in decided:
                continue
            self._crash(st, cycle, vm.uuid, vm.state, vm.reason, vm.vcpus,
                        vm.ram_mb, a.host_state, a.external_failed,
                        a.not_ok, 'snapshot', out)
        if decided and st.vms:
            # Re-arm a VM seen not crashed (or gone from the node) in a
            # cycle after its decision: a snapshot of the crash's own cycle
            # may have been collected just before the crash. A snapshot
            # without any VM re-arms nothing: it is what an agent sends
            # when it cannot read libvirt (e.g. restarted before libvirtd
            # is up), and the crashed VMs are still there.
            crashed = {vm.uuid for vm in a.crashed}
            for uuid, when in list(decided.items()):
                if when < cycle and uuid not in crashed:
                    del decided[uuid]
        if st.reboots:
            self._prune_reboots(st, cycle)
        if a.services_down:
            self._services(st, a, out)
        incidents = st.incidents
        if a.host_state == 'failed' and 'R4' not in incidents:
            self._incident(st, a, 'R4', out,
                           'host failed in cycle %s: %s'
                           % (cycle, _items(a.not_ok)),
                           {'host_state': a.host_state,
                            'not_ok': a.not_ok})
        if a.identity_lost and 'R5' not in incidents:
            lost = a.identity_lost
            self._incident(st, a, 'R5', out, '; '.join(
                '%s identity %s read via %s instead of %s in each of the '
                'last %d cycles (since cycle %s)'
                % (i['id'], i['identity'], i['path'], i['baseline'],
                   i['cycles'], i['since']) for i in lost),
                {'host_state': a.host_state, 'identity_lost': lost})
        if a.external_streaks and 'R6' not in incidents:
            need = self.t.external_cycles
            failed = {i: n for i, n in a.external_streaks.items()
                      if n >= need}
            if failed:
                self._incident(st, a, 'R6', out, '; '.join(
                    'external %s failed for %d consecutive cycles '
                    '(cycles %d-%d)' % (i, n, cycle - n + 1, cycle)
                    for i, n in sorted(failed.items())),
                    {'host_state': a.host_state,
                     'external_failed': sorted(failed)})
        if incidents and a.host_state == 'normal':
            self._rearm(st, a)

    def _prune_reboots(self, st, cycle):
        start = cycle - self.t.reboot_window
        for uuid in list(st.reboots):
            kept = [c for c in st.reboots[uuid] if c > start]
            if kept:
                st.reboots[uuid] = kept
            else:
                del st.reboots[uuid]

    def _services(self, st, a, out):
        need = self.t.service_cycles
        cycle = a.cycle
        node = st.name
        for name in sorted(a.services_down):
            count = a.services_down[name]
            key = 'R8:%s' % name
            if count < need:
                if a.host_state != 'normal' or key in st.incidents:
                    continue
                self._emit(out, dec.Decision(
                    node, cycle, 'restart_service', 'R7',
                    'service %s down for %d consecutive cycle(s) while '
                    'host normal: restart it (no evacuation)'
                    % (name, count),
                    service=name,
                    evidence={'host_state': a.host_state,
                              'down_cycles': count},
                    incident_key='R7:%s:%s:%s' % (node, name, cycle)))
            elif count == need and key not in st.incidents:
                st.incidents[key] = cycle
                st.disabled = True
                self.p.directory.set_disabled(node, True)
                reason = ('service %s down for %d consecutive cycles '
                          '(cycles %d-%d): restarts did not help'
                          % (name, count, cycle - count + 1, cycle))
                evidence = {'host_state': a.host_state,
                            'down_cycles': count}
                self._emit(out, dec.Decision(
                    node, cycle, 'disable_node', 'R8', reason,
                    service=name, evidence=evidence,
                    incident_key='R8:%s:%s:%s:disable_node'
                    % (node, name, cycle)))
                self._emit(out, dec.Decision(
                    node, cycle, 'escalate', 'R8', reason, service=name,
                    evidence=evidence,
                    incident_key='R8:%s:%s:%s:escalate'
                    % (node, name, cycle)))

    def _first_target(self, st):
        vcpus = ram = 0
        if st.vms:
            vcpus, ram = st.vms[0].vcpus, st.vms[0].ram_mb
        choices = self.p.selector.select(self.p.directory, st.name, vcpus,
                                         ram, limit=1)
        return choices[0] if choices else None

    def _incident(self, st, a, rule, out, why, evidence, disable=True):
        cycle = a.cycle if a is not None else evidence['cycle']
        node = st.name
        st.incidents[rule] = cycle
        target = self._first_target(st)
        evidence = dict(evidence, vms=len(st.vms))
        reason = why + ('' if target else '; no eligible target node')
        self._emit(out, dec.Decision(
            node, cycle, 'migrate_all', rule,
            '%s: move all %d VMs of %s%s' % (
                reason, len(st.vms), node,
                ' (first target %s)' % target if target else ''),
            target=target, evidence=evidence,
            incident_key='%s:%s:%s:migrate_all' % (rule, node, cycle)))
        st.disabled = True
        self.p.directory.set_disabled(node, True)
        if disable:
            self._emit(out, dec.Decision(
                node, cycle, 'disable_node', rule,
                '%s: disable %s' % (why, node), evidence=evidence,
                incident_key='%s:%s:%s:disable_node' % (rule, node, cycle)))

    def _rearm(self, st, a):
        """Host normal this cycle: incidents whose condition is false end."""
        for key in list(st.incidents):
            if key == 'R4':
                ended = True
            elif key == 'R5':
                ended = not a.identity_lost
            elif key == 'R6':
                need = self.t.external_cycles
                ended = not any(n >= need
                                for n in a.external_streaks.values())
            elif key == 'R9':
                ended = True
            elif key.startswith('R8:'):
                ended = key[3:] not in a.services_down
            else:
                ended = True
            if ended:
                LOG.info('Incident %s of node %s (since cycle %s) ended in '
                         'cycle %s: rule re-armed', key, st.name,
                         st.incidents[key], a.cycle)
                del st.incidents[key]

    # -- silent node (R9) -------------------------------------------------

    def silent_node(self, st, latest, out):
        k = st.last_cycle
        cycle = k + self.t.silent_cycles
        self._incident(
            st, None, 'R9', out,
            'no snapshot from %s since cycle %d (%d consecutive cycles '
            'missing) while other nodes report (latest cycle %d): fence '
            'and evacuate' % (st.name, k, self.t.silent_cycles, latest),
            {'last_cycle': k, 'latest_cycle': latest, 'cycle': cycle},
            disable=False)
