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

"""R10 storm guard (engine/rules/r10_storm_guard.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams

NODES = tuple('n%02d' % i for i in range(20))


class TestStormGuard(base.TestCase):

    def test_limit_is_the_ratio_of_nodes_reporting(self):
        # 20 nodes: max(3, 0.25 x 20) = 5 may open incidents in the window.
        j = streams.Judged()
        j.cycle(1, nodes=NODES)
        out = j.cycle(2, nodes=NODES, **{n: {'health': 'critical'}
                                         for n in NODES[:7]})
        self.assertEqual([('R4', 'migrate_all')] * 5,
                         [(d[2], d[3]) for d in out if d[3] != 'disable_node'
                          and d[2] == 'R4'])
        self.assertEqual([('n05', 'R10', 'escalate', None),
                          ('n06', 'R10', 'escalate', None)],
                         [(d[0], d[2], d[3], d[4]) for d in out
                          if d[2] == 'R10'])
        # Not disabled by the guard.
        self.assertFalse(j.pipeline.nodes['n06'].disabled)

    def test_guard_ends_when_the_window_holds_no_new_incident(self):
        j = streams.Judged(storm_min_nodes=1, storm_window=2)
        j.cycle(1)
        self.assertEqual(['R4', 'R4'], [d[2] for d in j.cycle(
            2, a={'health': 'critical'})])
        self.assertEqual(['R10'], [d[2] for d in j.cycle(
            3, a={'health': 'critical'}, b={'health': 'critical'})])
        # Cycles 4 and 5 without a new incident; c in cycle 6 is drained.
        j.cycle(4, a={'health': 'critical'}, b={'health': 'critical'})
        j.cycle(5, a={'health': 'critical'}, b={'health': 'critical'})
        self.assertEqual([('c', 'R4', 'migrate_all'),
                          ('c', 'R4', 'disable_node')],
                         [(d[0], d[2], d[3]) for d in j.cycle(
                             6, a={'health': 'critical'},
                             b={'health': 'critical'},
                             c={'health': 'critical'})])
