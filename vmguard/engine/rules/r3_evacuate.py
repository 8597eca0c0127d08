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

"""R3 crashed VM, unhealthy host.

SPEC row: *a VM is newly crashed in c and N's host state in c is
``degraded`` or ``failed``, or an external item of N is ``failed`` in c*
-> ``evacuate`` that VM to a target node. No eligible target ->
``escalate`` for that VM instead (same rule). A crash event whose cycle's
snapshot did not come within ``pairing_timeout`` is paired with host
state ``unknown``, which is not ``normal``.

Not an incident: each newly crashed VM is decided once.

Decision line: ``evacuate`` (``target`` the chosen node) or ``escalate``,
``vm`` the crashed VM, rule R3.
"""

from vmguard.engine import decision as dec
from vmguard.engine.rules import base


class EvacuateCrashed(base.Rule):

    name = 'R3'
    needs = ('vm_crash', 'host_hardware', 'external')

    def evacuate(self, st, cycle, vm, what, host_state, ext_failed, not_ok,
                 source, evidence, out):
        node, uuid = st.name, vm.uuid
        vcpus, ram_mb = vm.vcpus, vm.ram_mb
        if host_state == 'unknown':
            why = ('host state of cycle %s unknown (%s)'
                   % (cycle, 'its snapshot did not arrive within '
                      'pairing_timeout' if source.endswith('timeout')
                      else 'no hardware info'))
        elif host_state != 'normal':
            why = 'host %s in cycle %s: %s' % (host_state, cycle,
                                               base.items(not_ok))
        else:
            why = 'external item failed in cycle %s: %s' % (
                cycle, ', '.join(ext_failed))
        p = self.book.p
        choices = p.selector.select(p.directory, node, vcpus, ram_mb,
                                    limit=3)
        key = 'R3:%s:%s:%s' % (node, uuid, cycle)
        if not choices:
            base.emit(out, dec.Decision(
                node, cycle, 'escalate', self.name,
                'VM crashed (%s), %s; no eligible target node with %d '
                'vCPUs and %d MB RAM free' % (what, why, vcpus, ram_mb),
                vm=uuid, evidence=evidence, incident_key=key))
            return
        target = choices[0]
        p.directory.reserve(target, vcpus, ram_mb)
        evidence['targets'] = choices[:3]
        base.emit(out, dec.Decision(
            node, cycle, 'evacuate', self.name,
            'VM crashed (%s), %s: evacuate to %s' % (what, why, target),
            vm=uuid, target=target, evidence=evidence, incident_key=key))
