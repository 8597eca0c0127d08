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

"""R1 crashed VM, healthy host.

SPEC row: *a VM is newly crashed in c, and N's host state in the same
cycle c is ``normal`` and no external item of N is ``failed`` in c* ->
``reboot`` that VM in place (Nova hard reboot); no other VM is touched.

Not an incident: each newly crashed VM is decided once (the crash re-arms
after the VM was seen not crashed, see :class:`~.RuleBook`). Each reboot
is counted in the VM's reboot budget (per VM UUID, on any node: SPEC
revision 2), which R2 reads.

Decision line: ``reboot``, ``vm`` the crashed VM, rule R1.
"""

from vmguard.engine import decision as dec
from vmguard.engine.rules import base


class RebootInPlace(base.Rule):

    name = 'R1'
    needs = ('vm_crash', 'host_hardware', 'external')

    def reboot(self, st, cycle, uuid, what, evidence, out):
        reboots = self.book.p.reboots
        reboots.setdefault(uuid, []).append(cycle)
        base.emit(out, dec.Decision(
            st.name, cycle, 'reboot', self.name,
            'VM crashed (%s) while host normal in cycle %s: hard reboot in '
            'place' % (what, cycle),
            vm=uuid, evidence=evidence,
            incident_key='R1:%s:%s:%s' % (st.name, uuid, cycle)))
