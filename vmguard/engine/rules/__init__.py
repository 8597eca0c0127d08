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

"""The rules of SPEC.md section 1 and its revision 2, one module each.

=====  ==========================================  ======================
rule   module                                      decision lines
=====  ==========================================  ======================
R1     :mod:`.r1_reboot`                           reboot
R2     :mod:`.r2_crash_loop`                       escalate
R3     :mod:`.r3_evacuate`                         evacuate / escalate
R4     :mod:`.r4_failed_host`                      migrate_all, disable
R5     :mod:`.r5_identity_lost`                    migrate_all, disable
R6     :mod:`.r6_external`                         migrate_all, disable
R7     :mod:`.r7_service_restart`                  restart_service
R8     :mod:`.r8_service_failing`                  disable_node, escalate
R9     :mod:`.r9_silent_node`                      migrate_all
R10    :mod:`.r10_storm_guard`                     escalate
=====  ==========================================  ======================

:class:`RuleBook` runs the enabled rules for the pipeline. It holds what
rules share: the crash dispatch of R1/R2/R3 (a crash is decided once and
re-arms after the VM was seen not crashed), and incidents (R4, R5, R6, R8,
R9): opened once -- through R10's storm guard -- and ended only by a cycle
in which the node is ``normal`` and the rule's fault absent.
"""

from oslo_log import log as logging

from vmguard.common import exception
from vmguard.engine import decision as dec
from vmguard.engine.rules import base
from vmguard.engine.rules import r10_storm_guard
from vmguard.engine.rules import r1_reboot
from vmguard.engine.rules import r2_crash_loop
from vmguard.engine.rules import r3_evacuate
from vmguard.engine.rules import r4_failed_host
from vmguard.engine.rules import r5_identity_lost
from vmguard.engine.rules import r6_external
from vmguard.engine.rules import r7_service_restart
from vmguard.engine.rules import r8_service_failing
from vmguard.engine.rules import r9_silent_node

LOG = logging.getLogger(__name__)

RULE_CLASSES = (r1_reboot.RebootInPlace, r2_crash_loop.CrashLoop,
                r3_evacuate.EvacuateCrashed, r4_failed_host.FailedHost,
                r5_identity_lost.IdentityLost, r6_external.ExternalFault,
                r7_service_restart.ServiceRestart,
                r8_service_failing.ServiceFailing,
                r9_silent_node.SilentNode, r10_storm_guard.StormGuard)
ALL_RULES = tuple(cls.name for cls in RULE_CLASSES)


def check_needs(rule_names, judge_names):
    """Raise when an enabled rule reads a judge that is not enabled."""
    known = {cls.name: cls for cls in RULE_CLASSES}
    for name in rule_names:
        cls = known.get(name)
        if cls is None:
            raise exception.RuleConfigError(
                reason='unknown rule %s (known: %s)'
                % (name, ', '.join(ALL_RULES)))
        for judge in cls.needs:
            if judge not in judge_names:
                raise exception.RuleConfigError(
                    reason='rule %s needs judge %s, which is not in '
                    '[engine] judges' % (name, judge))


class RuleBook:
    """The enabled rules, run for the pipeline."""

    def __init__(self, pipeline, enabled=ALL_RULES, judge_names=None):
        if judge_names is not None:
            check_needs(enabled, judge_names)
        self.p = pipeline
        self.t = pipeline.t
        self.rules = {cls.name: cls(self) for cls in RULE_CLASSES
                      if cls.name in enabled}
        get = self.rules.get
        self.r1, self.r2, self.r3 = get('R1'), get('R2'), get('R3')
        self.r9, self.storm = get('R9'), get('R10')
        # Rules judged on every snapshot, in decision-line order.
        self.per_snapshot = [self.rules[n] for n in
                             ('R7', 'R8', 'R4', 'R5', 'R6')
                             if n in self.rules]
        self.incident_rules = {r.name: r for r in self.rules.values()
                               if r.incident}
        self.pruned_at = 0

    # -- crashed VMs (R1, R2, R3) -------------------------------------------

    def crash(self, st, cycle, vm, state, reason, host_state, ext_failed,
              not_ok, source, out):
        """A VM newly crashed in ``cycle``: decide it, once."""
        uuid = vm.uuid
        st.decided[uuid] = cycle
        what = '%s/%s' % (state, reason) if reason else state
        evidence = {'host_state': host_state, 'not_ok': not_ok,
                    'external_failed': list(ext_failed),
                    'vm_state': state, 'vm_reason': reason,
                    'seen_by': source}
        if host_state == 'normal' and not ext_failed:
            if self.r2 is not None and self.r2.escalates(
                    st, cycle, uuid, what, evidence, out):
                return
            if self.r1 is not None:
                self.r1.reboot(st, cycle, uuid, what, evidence, out)
            return
        if self.r3 is not None:
            self.r3.evacuate(st, cycle, vm, what, host_state, ext_failed,
                             not_ok, source, evidence, out)

    def on_events(self, st, cycle, waiting, out, timed_out=False):
        """Crash events of ``cycle`` paired with that cycle's host state."""
        entry = None if timed_out else st.history.get(cycle)
        if entry is None:
            host_state, ext_failed, not_ok = 'unknown', [], []
        else:
            host_state, ext_failed, not_ok = entry
        tasks = self.p.tasks
        for uuid in waiting:
            event, _arrival = waiting[uuid]
            if uuid in st.decided or tasks.get(uuid):
                continue
            vm = st.vm(uuid) or _NoVM(uuid)
            self.crash(st, cycle, vm, event.event, event.reason,
                       host_state, ext_failed, not_ok,
                       'event+timeout' if timed_out else 'event', out)

    # -- one snapshot -------------------------------------------------------

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
            self.crash(st, cycle, vm, vm.state, vm.reason, a.host_state,
                       a.external_failed, a.not_ok, 'snapshot', out)
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
        if cycle > self.pruned_at:
            self.pruned_at = cycle
            if self.r2 is not None and p.reboots:
                self.r2.prune(cycle)
        for rule in self.per_snapshot:
            rule.on_snapshot(st, a, out)
        if st.incidents and a.host_state == 'normal':
            self._rearm(st, a)

    def _rearm(self, st, a):
        """Node normal this cycle: incidents whose fault is absent end."""
        for key in list(st.incidents):
            rule = self.incident_rules.get(key.split(':', 1)[0])
            if rule is None or rule.ended(st, a, key):
                LOG.info('Incident %s of node %s (since cycle %s) ended in '
                         'cycle %s: rule re-armed', key, st.name,
                         st.incidents[key], a.cycle)
                del st.incidents[key]

    # -- incidents ----------------------------------------------------------

    def first_target(self, st):
        vcpus = ram = 0
        if st.vms:
            vcpus, ram = st.vms[0].vcpus, st.vms[0].ram_mb
        choices = self.p.selector.select(self.p.directory, st.name, vcpus,
                                         ram, limit=1)
        return choices[0] if choices else None

    def open_incident(self, st, rule, cycle, why, evidence, out,
                      key=None, service=None,
                      actions=('migrate_all', 'disable_node')):
        """Open incident ``key`` (default: the rule) and emit its lines.

        R10 may replace the lines by one ``escalate`` (storm guard).
        """
        key = key or rule
        node = st.name
        st.incidents[key] = cycle
        evidence = dict(evidence, vms=len(st.vms))
        ident = '%s:%s:%s' % (rule, node, cycle)
        if service:
            ident = '%s:%s:%s:%s' % (rule, node, service, cycle)
        if self.storm is not None and self.storm.guards(
                st, rule, cycle, why, evidence, out, ident):
            return
        if 'disable_node' in actions or 'migrate_all' in actions:
            st.disabled = True
            self.p.directory.set_disabled(node, True)
        for action in actions:
            target = None
            reason = why
            if action == 'migrate_all':
                target = self.first_target(st)
                reason = '%s%s: move all %d VMs of %s%s' % (
                    why, '' if target else '; no eligible target node',
                    len(st.vms), node,
                    ' (first target %s)' % target if target else '')
            elif action == 'disable_node' and not service:
                reason = '%s: disable %s' % (why, node)
            base.emit(out, dec.Decision(
                node, cycle, action, rule, reason, service=service,
                target=target, evidence=evidence,
                incident_key='%s:%s' % (ident, action)))

    def silent_nodes(self, now, out):
        """R9 over every node, by the pipeline's clock."""
        if self.r9 is not None:
            self.r9.check_all(now, out)


class _NoVM:
    """A crashed VM the node's latest snapshot does not list."""

    __slots__ = ('uuid', 'vcpus', 'ram_mb')

    def __init__(self, uuid):
        self.uuid = uuid
        self.vcpus = 0
        self.ram_mb = 0
