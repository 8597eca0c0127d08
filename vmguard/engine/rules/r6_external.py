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

"""R6 external fault.

SPEC row: *an external item of N has been ``failed`` for
``external_cycles`` [3] consecutive cycles* -> ``migrate_all`` +
``disable_node``.

Incident: opened once; ends after a cycle in which the node is ``normal``
and no external item is ``failed`` (revision 2: a failed item whose count
restarted below the threshold does not end it).
"""

from vmguard.engine.rules import base


class ExternalFault(base.Rule):

    name = 'R6'
    needs = ('external',)
    incident = True

    def on_snapshot(self, st, a, out):
        if not a.external_streaks or 'R6' in st.incidents:
            return
        need = self.t.external_cycles
        cycle = a.cycle
        failed = {i: n for i, n in a.external_streaks.items() if n >= need}
        if failed:
            self.book.open_incident(
                st, self.name, cycle, '; '.join(
                    'external %s failed for %d consecutive cycles '
                    '(cycles %d-%d)' % (i, n, cycle - n + 1, cycle)
                    for i, n in sorted(failed.items())),
                {'host_state': a.host_state,
                 'external_failed': sorted(failed)}, out)

    def ended(self, st, a, key):
        return not a.external_failed
