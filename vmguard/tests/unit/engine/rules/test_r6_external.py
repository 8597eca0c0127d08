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

"""R6 external fault (engine/rules/r6_external.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams


class TestExternalFault(base.TestCase):

    def test_failed_for_external_cycles(self):
        j = streams.Judged()
        out = []
        for c in range(1, 5):
            out += j.cycle(c, a={'external': 'failed' if c > 1 else 'ok'})
        self.assertEqual([('a', 4, 'R6', 'migrate_all', 'b'),
                          ('a', 4, 'R6', 'disable_node', None)], out)

    def test_degraded_is_not_failed(self):
        j = streams.Judged()
        out = []
        for c in range(1, 6):
            out += j.cycle(c, a={'external': 'degraded'})
        self.assertEqual([], out)

    def test_count_below_threshold_does_not_end_the_incident(self):
        # Revision 2: same fault, same incident.
        j = streams.Judged()
        out = []
        for c in (1, 2, 3, 5, 6, 7, 8):   # cycle 4 missing
            out += j.cycle(c, a={'external': 'failed'})
        self.assertEqual(['migrate_all', 'disable_node'], [d[3] for d in out])
        self.assertEqual([], j.cycle(9))   # fault absent, normal: ended
        out = []
        for c in (10, 11, 12):
            out += j.cycle(c, a={'external': 'failed'})
        self.assertEqual([('a', 12, 'R6', 'migrate_all', 'b'),
                          ('a', 12, 'R6', 'disable_node', None)], out)
