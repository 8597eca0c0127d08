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

"""R5 identity path lost.

SPEC row: *the same hardware item (same ``id``, same ``identity``) was
read through a path other than its baseline path (the path it had while
healthy, normally ``inband``) in each of the last ``identity_cycles`` [3]
consecutive cycles* -> ``migrate_all`` + ``disable_node`` (the OS is
losing a device the BMC still sees: move VMs before they crash).

Revision 2: paths are ranked ``inband`` > ``oob`` > ``none``; the baseline
comes only from healthy readings and a healthy better-path reading
upgrades it; only cycles read through a *worse* path count. The identity
judge (:mod:`vmguard.engine.judges.identity`) keeps the one baseline and
its counts; this rule acts on ``assessment.identity_lost``.

Incident: opened once; ends after a cycle in which the node is ``normal``
and no item is off its baseline (``assessment.identity_off == 0``): a
count below the threshold does not end it.
"""

from vmguard.engine.rules import base


class IdentityLost(base.Rule):

    name = 'R5'
    needs = ('identity',)
    incident = True

    def on_snapshot(self, st, a, out):
        lost = a.identity_lost
        if lost and 'R5' not in st.incidents:
            self.book.open_incident(
                st, self.name, a.cycle, '; '.join(
                    '%s identity %s read via %s instead of %s in each of '
                    'the last %d cycles (since cycle %s)'
                    % (i['id'], i['identity'], i['path'], i['baseline'],
                       i['cycles'], i['since']) for i in lost),
                {'host_state': a.host_state, 'identity_lost': lost}, out)

    def ended(self, st, a, key):
        return not a.identity_off
