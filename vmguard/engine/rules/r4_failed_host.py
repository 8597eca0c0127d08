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

"""R4 failed host.

SPEC row: *N's host state is ``failed`` in c* -> ``migrate_all`` VMs of N
to target nodes, and ``disable_node`` N.

Incident: opened once; ends after a cycle in which the node is ``normal``
(its fault, a critical item, is then absent). A new incident emits all
its lines again, ``disable_node`` included. R10 may replace the lines by
one ``escalate``.
"""

from vmguard.engine.rules import base


class FailedHost(base.Rule):

    name = 'R4'
    needs = ('host_hardware',)
    incident = True

    def on_snapshot(self, st, a, out):
        if a.host_state == 'failed' and 'R4' not in st.incidents:
            self.book.open_incident(
                st, self.name, a.cycle,
                'host failed in cycle %s: %s' % (a.cycle,
                                                 base.items(a.not_ok)),
                {'host_state': a.host_state, 'not_ok': a.not_ok}, out)

    def ended(self, st, a, key):
        return a.host_state == 'normal'
