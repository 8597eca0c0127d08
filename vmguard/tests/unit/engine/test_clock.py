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

"""The judgment's clocks (engine/clock.py)."""

import statistics

from vmguard.engine import clock
from vmguard.engine.judges import base as judge_base
from vmguard.tests import base


class TestTraceClock(base.TestCase):

    def test_median_of_the_other_nodes(self):
        c = clock.TraceClock(judge_base.Thresholds())
        self.assertIsNone(c.cycle_for('a'))
        c.observe('a', 5)
        self.assertIsNone(c.cycle_for('a'))   # no other node
        self.assertEqual(5, c.cycle_for('b'))
        c.observe('b', 7)
        c.observe('c', 1000)
        # a: median of 7 and 1000; c: median of 5 and 7.
        self.assertEqual(503.5, c.cycle_for('a'))
        self.assertEqual(6, c.cycle_for('c'))
        self.assertEqual(7, c.cycle_for('d'))

    def test_against_statistics_median(self):
        c = clock.TraceClock(judge_base.Thresholds())
        latest = {}
        for i, cycle in enumerate([3, 9, 9, 1, 4, 12, 9, 2, 30, 5]):
            node = 'n%d' % (i % 6)
            c.observe(node, cycle)
            latest[node] = max(cycle, latest.get(node, cycle))
            for name in list(latest) + ['new']:
                others = [v for k, v in latest.items() if k != name]
                want = statistics.median(others) if others else None
                self.assertEqual(want, c.cycle_for(name), name)
                if others:
                    self.assertLessEqual(c.cycle_for(name), c.upper())

    def test_never_backwards_and_forget(self):
        c = clock.TraceClock(judge_base.Thresholds())
        c.observe('a', 5)
        c.observe('a', 3)
        c.observe('b', 1)
        self.assertEqual(5, c.cycle_for('b'))
        c.forget('a')
        self.assertIsNone(c.cycle_for('b'))
        self.assertTrue(c.reached('b', 1, 1) is False)


class TestWallClock(base.TestCase):

    def setUp(self):
        super().setUp()
        self.c = clock.WallClock(judge_base.Thresholds(cycle_interval=10))

    def test_cycle_is_wall_time_over_interval(self):
        self.assertEqual(100, self.c.cycle_for('x', 1009.9))

    def test_silent_after_that_long_while_others_report(self):
        c = self.c
        c.observe('a', 1, 1000.0)
        c.observe('b', 1, 1000.0)
        c.observe('b', 2, 1010.0)
        self.assertFalse(c.reached('a', 1, 4, 1035.0))   # b: 10 s only
        c.observe('b', 4, 1030.0)
        self.assertTrue(c.reached('a', 1, 4, 1035.0))
        self.assertFalse(c.reached('a', 1, 4, 1025.0))

    def test_a_pause_of_all_nodes_restarts_the_count(self):
        c = self.c
        c.observe('a', 1, 1000.0)
        c.observe('b', 1, 1000.0)
        # Nobody for two minutes (broker restart); b's backlog arrives.
        c.observe('b', 2, 1120.0)
        c.observe('b', 3, 1121.0)
        self.assertFalse(c.reached('a', 1, 4, 1125.0))
        for cycle, now in ((4, 1135.0), (5, 1145.0), (6, 1150.0)):
            c.observe('b', cycle, now)
        self.assertTrue(c.reached('a', 1, 4, 1151.0))

    def test_taken_over_node_counts_from_the_take_over(self):
        c = self.c
        c.adopt('a', 1, 2000.0)
        for i in range(5):
            c.observe('b', 300 + i, 2000.0 + 10 * i)
        self.assertFalse(c.reached('a', 1, 4, 2029.0))
        self.assertTrue(c.reached('a', 1, 4, 2040.0))
