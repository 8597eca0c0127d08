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

    def test_engines_sharing_the_nodes_count_the_cloud(self):
        # This engine judges 8 of a 40-node cloud (Pipeline.set_peers):
        # the limit is max(3, 0.25 x 40) = 10, not max(3, 0.25 x 8) = 3.
        j = streams.Judged()
        j.pipeline.set_peers(40, [])
        j.cycle(1, nodes=NODES[:8])
        out = j.cycle(2, nodes=NODES[:8], **{n: {'health': 'critical'}
                                             for n in NODES[:5]})
        self.assertEqual([], [d for d in out if d[2] == 'R10'])
        self.assertEqual(5, len([d for d in out if d[3] == 'migrate_all']))

    def test_other_engines_openings_count(self):
        # Six nodes of other engines opened incidents in the window: with
        # a limit of 10 (40 nodes), the 5th of this engine is escalated.
        j = streams.Judged()
        others = [(2, 'x%d' % i) for i in range(6)] + [(9, 'late')]
        j.pipeline.set_peers(40, others)
        j.cycle(1, nodes=NODES[:8])
        out = j.cycle(2, nodes=NODES[:8], **{n: {'health': 'critical'}
                                             for n in NODES[:5]})
        self.assertEqual([('n04', 'R10', 'escalate')],
                         [(d[0], d[2], d[3]) for d in out
                          if d[2] == 'R10'])
        self.assertEqual(4, len([d for d in out if d[3] == 'migrate_all']))
