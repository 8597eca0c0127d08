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

"""R9 silent node (engine/rules/r9_silent_node.py) by replay's clock."""

from vmguard.common import exception
from vmguard.objects import records
from vmguard.tests import base
from vmguard.tests.unit.engine import streams


class TestSilentNode(base.TestCase):

    def test_silent_once_the_others_reach_k_plus_silent(self):
        j = streams.Judged()
        out = []
        for c in range(1, 8):
            out += j.cycle(c, a={} if c <= 2 else None)
        self.assertEqual([('a', 5, 'R9', 'migrate_all', 'b')], out)
        self.assertTrue(j.pipeline.silent('a'))
        # Reports again, normal: the incident ends.
        j.cycle(8)
        self.assertFalse(j.pipeline.silent('a'))

    def test_agent_stop_is_not_silence(self):
        j = streams.Judged()
        j.cycle(1)
        j.feed({'type': 'agent_stop', 'node': 'a', 'cycle': 1})
        out = []
        for c in range(2, 9):
            out += j.cycle(c, a=None)
        self.assertEqual([], out)

    def test_a_far_ahead_node_fences_nobody(self):
        j = streams.Judged()
        j.cycle(1)
        self.assertRaises(exception.RecordRejected, j.pipeline.process,
                          records.parse_record(dict(
                              streams.snapshot('c', 500), type='snapshot')))
        self.assertEqual(1, j.pipeline.stats['rejected'])
        out = []
        for c in range(2, 6):
            out += j.cycle(c)
        self.assertEqual([], out)

    def test_two_nodes(self):
        # The clock of a node is the other node's cycle.
        j = streams.Judged()
        out = []
        for c in range(1, 7):
            out += j.cycle(c, nodes=('a', 'b'), a={} if c == 1 else None)
        self.assertEqual([('a', 4, 'R9', 'migrate_all', 'b')], out)
