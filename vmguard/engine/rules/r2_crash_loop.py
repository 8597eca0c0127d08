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

"""R2 crash loop.

SPEC row: *as R1, but that VM was already rebooted by vmguard
``max_reboots`` [3] times within the last ``reboot_window`` [30] cycles*
-> ``escalate`` (no further automatic reboot; alert).

Revision 2: the budget is per VM (its UUID) on any node -- a VM evacuated
from one node keeps its count on the next. The budget lives in the
pipeline (``Pipeline.reboots``: {uuid: [cycles of R1 reboots]}), not in a
node's state.

Decision line: ``escalate``, ``vm`` the crashed VM, rule R2.
"""

from vmguard.engine import decision as dec
from vmguard.engine.rules import base


class CrashLoop(base.Rule):

    name = 'R2'
    needs = ('vm_crash', 'host_hardware', 'external')

    def escalates(self, st, cycle, uuid, what, evidence, out):
        """Escalate instead of a reboot when the budget is spent."""
        t = self.t
        reboots = self.book.p.reboots
        start = cycle - t.reboot_window
        done = [c for c in reboots.get(uuid, ()) if c > start]
        if done:
            reboots[uuid] = done
        else:
            reboots.pop(uuid, None)
        if len(done) < t.max_reboots:
            return False
        evidence['reboots'] = done
        base.emit(out, dec.Decision(
            st.name, cycle, 'escalate', self.name,
            'VM crashed (%s) again while host normal: already rebooted %d '
            'times by vmguard within the last %d cycles (cycles %s); no '
            'further automatic reboot'
            % (what, len(done), t.reboot_window,
               ', '.join(str(c) for c in done)),
            vm=uuid, evidence=evidence,
            incident_key='R2:%s:%s:%s' % (st.name, uuid, cycle)))
        return True

    def prune(self, cycle):
        """Forget reboots that left the window (called once per new
        latest cycle: housekeeping, the budget check uses its own)."""
        reboots = self.book.p.reboots
        start = cycle - self.t.reboot_window
        for uuid in [u for u, done in reboots.items() if done[-1] <= start]:
            del reboots[uuid]
