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

"""R5 identity path lost (engine/rules/r5_identity_lost.py)."""

from vmguard.common import exception
from vmguard.engine import pipeline
from vmguard.tests import base
from vmguard.tests.unit.engine import streams


class TestIdentityLost(base.TestCase):

    def test_worse_path_for_identity_cycles(self):
        j = streams.Judged()
        j.cycle(1)
        out = []
        for c in (2, 3, 4):
            out += j.cycle(c, a={'path': 'oob'})
        self.assertEqual([('a', 4, 'R5', 'migrate_all', 'b'),
                          ('a', 4, 'R5', 'disable_node', None)], out)

    def test_better_or_unhealthy_readings_are_no_fault(self):
        # First read only by the BMC (healthy): baseline oob; then
        # in-band (better, healthy): new baseline; none of it a fault.
        j = streams.Judged()
        out = []
        for c, path in enumerate(['oob', 'oob', 'inband', 'inband'], 1):
            out += j.cycle(c, a={'path': path})
        self.assertEqual([], out)
        data = j.pipeline.nodes['a'].data['identity']['items']['dimm-A1']
        self.assertEqual('inband', data[1])

    def test_baseline_only_from_a_healthy_reading(self):
        j = streams.Judged()
        out = j.cycle(1, a={'path': 'inband', 'health': 'warning'})
        for c in (2, 3, 4):
            out += j.cycle(c, a={'path': 'oob'})
        self.assertEqual([], out)

    def test_incident_ends_only_with_no_item_off_baseline(self):
        j = streams.Judged()
        j.cycle(1)
        for c in (2, 3, 4):
            j.cycle(c, a={'path': 'oob'})
        # A missing cycle restarts the count below the threshold; the item
        # is still off its baseline: same incident, nothing new.
        out = []
        for c in (6, 7, 8, 9):
            out += j.cycle(c, a={'path': 'oob'})
        self.assertEqual([], out)
        self.assertEqual([], j.cycle(10))
        out = []
        for c in (11, 12, 13):
            out += j.cycle(c, a={'path': 'oob'})
        self.assertEqual(['migrate_all', 'disable_node'], [d[3] for d in out])

    def test_rule_without_its_judge_fails_at_start(self):
        self.flags(group='engine', judges=['host_hardware', 'external',
                                           'services', 'vm_crash'])
        exc = self.assertRaises(exception.RuleConfigError,
                                pipeline.Pipeline.from_config, self.conf)
        self.assertIn('rule R5 needs judge identity', str(exc))
        self.flags(group='engine', rules=['R1', 'R2', 'R3', 'R4', 'R6',
                                          'R7', 'R8', 'R9', 'R10'])
        pipeline.Pipeline.from_config(self.conf)
