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

"""R7 service fault.

SPEC row: *a service of N is ``stopped``/``failed`` in c while the host
state is ``normal``, and it has been down for fewer than
``service_cycles`` [3] consecutive cycles* -> ``restart_service`` for that
service (the agent restarts it), once per such cycle; never an
evacuation.

Not an incident; R8 replaces it once the count reaches the threshold, and
while R8's incident for the service is open.

Decision line: ``restart_service``, ``service`` the service, rule R7.
"""

from vmguard.engine import decision as dec
from vmguard.engine.rules import base


class ServiceRestart(base.Rule):

    name = 'R7'
    needs = ('services', 'host_hardware')

    def on_snapshot(self, st, a, out):
        down = a.services_down
        if not down or a.host_state != 'normal':
            return
        need = self.t.service_cycles
        node, cycle = st.name, a.cycle
        for name in sorted(down):
            count = down[name]
            if count >= need or 'R8:%s' % name in st.incidents:
                continue
            base.emit(out, dec.Decision(
                node, cycle, 'restart_service', self.name,
                'service %s down for %d consecutive cycle(s) while host '
                'normal: restart it (no evacuation)' % (name, count),
                service=name,
                evidence={'host_state': a.host_state, 'down_cycles': count},
                incident_key='R7:%s:%s:%s' % (node, name, cycle)))
