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

"""RabbitMQ stops and starts under the engine while agents publish."""

import collections
import subprocess
import threading
import time

from vmguard.db import api as db_api
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.engine.test_engine import wait_for
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams


class TestBrokerRestart(EngineFunctionalTestCase):
    """RabbitMQ stops and starts while agents publish: nothing is lost."""

    def _rabbitmqctl(self, *args):
        subprocess.run(['rabbitmqctl', '-q'] + list(args), check=True,
                       timeout=120, capture_output=True)

    def test_engine_reconnects_and_no_decision_is_lost(self):
        # The agent's side buffers while the broker is away (the agent
        # helper's job); here "agents" simply retry their casts.
        sent = []
        stop = threading.Event()

        def publish():
            cycle = 1
            while not stop.is_set() and cycle <= 40:
                for node in ('b-1', 'b-2'):
                    data = streams.snapshot(
                        node, cycle,
                        health='critical' if node == 'b-2' and cycle >= 30
                        else 'ok')
                    while not stop.is_set():
                        try:
                            self.cast(data)
                            break
                        except Exception:
                            time.sleep(0.5)
                sent.append(cycle)
                cycle += 1
                time.sleep(0.1)

        self.addCleanup(self._rabbitmqctl, 'start_app')
        thread = threading.Thread(target=publish, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(stop.set)
        wait_for(lambda: len(sent) >= 5, what='first casts')
        self._rabbitmqctl('stop_app')
        time.sleep(2)
        self._rabbitmqctl('start_app')
        thread.join(120)
        self.assertEqual(40, len(sent))
        expected = collections.Counter({
            ('b-2', 'R4', 'migrate_all'): 1,
            ('b-2', 'R4', 'disable_node'): 1})
        made = self.wait_decisions(expected, 60)
        row = table.record('RabbitMQ restarted (engine side)',
                           expected.elements(), made.elements(),
                           '80 snapshots cast across stop_app/start_app')
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(expected, made)
        wait_for(lambda: db_api.node_get(self.context,
                                         'b-1').last_cycle == 40,
                 timeout=60, what='last cycle stored')
