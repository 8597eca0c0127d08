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

"""R9 after a pause of every node at once (a broker restart).

While the broker is away every agent buffers its snapshots; when it is
back the backlogs arrive one agent after the other. The first backlog
puts its node cycles ahead of the nodes whose backlog is still on its
way, and their last snapshots are old by the clock: without care they
look silent (R9: fence and evacuate). The functional counterpart is
vmguard.tests.functional.faults.test_agent_broker.
"""

from vmguard.db import api as db_api
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard.tests import base
from vmguard.tests.unit.engine import streams

T0 = 1_800_000_000.0
INTERVAL = 10


class TestIntakePause(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(group='engine', cycle_interval=INTERVAL, silent_cycles=3)
        self.engine = service.Engine(self.conf)

    def send(self, node, cycle, now):
        return self.engine.handle(
            records.parse_snapshot(streams.snapshot(node, cycle)), now=now)

    def r9(self):
        return [(d.node, d.rule) for d in db_api.decision_list(self.context)
                if d.rule == 'R9']

    def test_backlogs_after_a_broker_outage_are_not_silence(self):
        for cycle in range(1, 6):
            for node in ('a', 'b', 'c'):
                self.send(node, cycle, T0 + cycle * INTERVAL)
        # The broker is away for two minutes; then the agents' backlogs
        # (cycles 6-17) arrive one agent after the other.
        back = T0 + 5 * INTERVAL + 120
        for i, node in enumerate(('a', 'b', 'c')):
            for cycle in range(6, 18):
                self.send(node, cycle, back + i * 0.5 + cycle * 0.001)
        self.engine.tick(now=back + 2)
        self.assertEqual([], self.r9())

    def test_node_still_silent_after_the_pause_is_decided(self):
        for cycle in range(1, 6):
            for node in ('a', 'b', 'c'):
                self.send(node, cycle, T0 + cycle * INTERVAL)
        back = T0 + 5 * INTERVAL + 120
        for cycle in range(6, 18):
            for node in ('a', 'b'):
                self.send(node, cycle, back + cycle * 0.001)
        # c sends nothing after the outage: silent once the others have
        # reported for silent_cycles * cycle_interval seconds.
        self.engine.tick(now=back + 5)
        self.assertEqual([], self.r9())
        for i, cycle in enumerate((18, 19, 20), 1):
            now = back + i * INTERVAL + 1
            self.send('a', cycle, now)
            self.send('b', cycle, now)
            self.engine.tick(now=now)
        self.assertEqual([('c', 'R9')], self.r9())

    def test_node_silent_while_the_others_report_is_decided(self):
        # No pause of the intake: the usual R9.
        for cycle in range(1, 10):
            for node in ('a', 'b', 'c'):
                if node != 'c' or cycle <= 3:
                    self.send(node, cycle, T0 + cycle * INTERVAL)
        self.assertEqual([('c', 'R9')], self.r9())
