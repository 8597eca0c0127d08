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

"""R8 service keeps failing.

SPEC row: *the same service is down for the ``service_cycles``-th
consecutive cycle* -> ``disable_node`` + ``escalate`` (once; replaces R7
from then on).

Incident (one per service, key ``R8:<service>``): opened once; ends after
a cycle in which the node is ``normal`` and the service runs. R10 may
replace the lines by one ``escalate``.

Decision lines: ``disable_node`` and ``escalate``, ``service`` the
service, rule R8.
"""

from vmguard.engine.rules import base


class ServiceFailing(base.Rule):

    name = 'R8'
    needs = ('services',)
    incident = True

    def on_snapshot(self, st, a, out):
        down = a.services_down
        if not down:
            return
        need = self.t.service_cycles
        cycle = a.cycle
        for name in sorted(down):
            count = down[name]
            key = 'R8:%s' % name
            if count < need or key in st.incidents:
                continue
            self.book.open_incident(
                st, self.name, cycle,
                'service %s down for %d consecutive cycles (cycles %d-%d): '
                'restarts did not help'
                % (name, count, cycle - count + 1, cycle),
                {'host_state': a.host_state, 'down_cycles': count}, out,
                key=key, service=name,
                actions=('disable_node', 'escalate'))

    def ended(self, st, a, key):
        return key[3:] not in a.services_down
