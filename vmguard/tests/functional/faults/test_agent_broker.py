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

"""RabbitMQ stops and starts under the agents: they buffer, then catch up.

Real agents (``AgentManager``, each with its own transport) cast to an
engine (in-process ``EngineService``) through the machine's RabbitMQ.
The broker application is stopped (``rabbitmqctl stop_app``) while the
agents keep running cycles -- faults begin during the outage, one of them
announced by a crash event -- and started again. The agents buffer what
they cannot send and send it in order when the broker is back; the
engine reconnects. Every decision must be made once, every node must
reach its last cycle, no buffered message may be dropped.
"""

import collections
import subprocess
import time

import oslo_messaging as messaging

from vmguard.agent.collectors import base as collectors_base
from vmguard.agent import manager as agent_manager
from vmguard.db import api as db_api
from vmguard.objects import records
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.engine.test_engine import wait_for
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams

NODES = ('ab-ok-1', 'ab-ok-2', 'ab-hw', 'ab-vm')
LAST = 16
# Cycles run while the broker is stopped.
DOWN = range(6, 11)
EVENT_CYCLE = 8

EXPECTED = collections.Counter({
    ('ab-hw', 'R4', 'migrate_all'): 1,
    ('ab-hw', 'R4', 'disable_node'): 1,
    ('ab-vm', 'R1', 'reboot'): 1,
})


def _snapshot(node, cycle):
    uuid = streams.vm_uuid(node)
    if node == 'ab-hw':
        # Failed DIMM from cycle 7 (broker away).
        return streams.snapshot(node, cycle, vms=[(uuid,) + streams.RUNNING],
                                health='critical' if cycle >= 7 else 'ok')
    if node == 'ab-vm':
        # Crash event in cycle 8 (broker away), crashed guest after it.
        return streams.snapshot(node, cycle, vms=[(uuid,) + (
            streams.CRASHED if cycle >= EVENT_CYCLE else streams.RUNNING)])
    return streams.snapshot(node, cycle, vms=[(uuid,) + streams.RUNNING],
                            ram=400000)


class _Scripted(collectors_base.Collector):
    """The node's scripted view of cycle ``self.cycle``."""

    name = 'scripted'
    identity_source = 'inband'

    def __init__(self, conf, node):
        super().__init__(conf)
        self.node = node
        self.cycle = 0

    def collect(self):
        rec = records.parse_snapshot(_snapshot(self.node, self.cycle))
        return collectors_base.Result(
            hardware=list(rec.hardware), external=list(rec.external),
            services=list(rec.services), vms=list(rec.vms),
            vcpus_free=rec.vcpus_free, ram_mb_free=rec.ram_mb_free)


class TestAgentsAcrossBrokerRestart(EngineFunctionalTestCase):
    """stop_app/start_app under running agents: buffered, nothing lost."""

    def _rabbitmqctl(self, *args):
        subprocess.run(['rabbitmqctl', '-q'] + list(args), check=True,
                       timeout=120, capture_output=True)

    def _agents(self):
        agents = {}
        for node in NODES:
            self.flags(node_name=node, group='agent')
            transport = messaging.get_rpc_transport(self.conf, url=self.url)
            self.addCleanup(transport.cleanup)
            collector = _Scripted(self.conf, node)
            agent = agent_manager.AgentManager(
                self.conf, collectors=[collector], transport=transport)
            # The test's cycles are the agents' clock (crash events are
            # stamped with it).
            agent.cycle_now = lambda c=collector: c.cycle
            self.addCleanup(agent.stop)
            agents[node] = (agent, collector)
        return agents

    def _cycle(self, agents, cycle):
        """Every agent runs a cycle; returns how many messages wait."""
        for node, (agent, collector) in agents.items():
            collector.cycle = cycle
            if node == 'ab-vm' and cycle == EVENT_CYCLE:
                agent.report_event(streams.vm_uuid(node), 'crashed',
                                   'panicked', 'libvirt')
            agent.run_cycle(cycle=cycle)
        return sum(a.buffered() for a, _c in agents.values())

    def test_agents_buffer_and_no_decision_is_lost(self):
        agents = self._agents()
        for cycle in range(1, DOWN[0]):
            self._cycle(agents, cycle)
            time.sleep(0.2)
        # Whatever happens from here, the broker is started again.
        self.addCleanup(self._rabbitmqctl, 'start_app')
        stopped = time.monotonic()
        self._rabbitmqctl('stop_app')
        peak = 0
        for cycle in DOWN:
            peak = max(peak, self._cycle(agents, cycle))
            time.sleep(0.2)
        # Away longer than silent_cycles * cycle_interval (3 s here): the
        # nodes whose backlog arrives after the first agent's must not
        # look silent (R9).
        time.sleep(max(0.0, 5 - (time.monotonic() - stopped)))
        self._rabbitmqctl('start_app')
        outage = time.monotonic() - stopped
        for cycle in range(DOWN[-1] + 1, LAST + 1):
            self._cycle(agents, cycle)
            time.sleep(0.2)
        # The last cycle may have been cast while a transport was still
        # reconnecting: what is left goes with the next flush.
        wait_for(lambda: all(a.flush() for a, _c in agents.values()), 60,
                 interval=0.5, what='the agents to empty their buffers')
        wait_for(lambda: all(
            n.last_cycle == LAST for n in db_api.node_list(self.context)),
            60, what='every node stored up to cycle %d' % LAST)
        made = self.wait_decisions(EXPECTED, 60)
        # Nothing more comes later (an R9 of a node whose backlog arrived
        # after the others' would).
        time.sleep(3 * self.conf.engine.periodic_interval)
        made = streams.counted(self.decisions())
        dropped = sum(a.dropped for a, _c in agents.values())
        events = db_api.vm_event_list(self.context,
                                      uuid=streams.vm_uuid('ab-vm'))
        row = table.record(
            'RabbitMQ restarted (agent side)', EXPECTED.elements(),
            made.elements(),
            '%d agents, broker away %.1fs (stop_app to start_app) over '
            'cycles %d-%d; up to %d messages buffered, %d dropped; crash '
            'event stored %d time(s)'
            % (len(NODES), outage, DOWN[0], DOWN[-1], peak, dropped,
               len(events)))
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(EXPECTED, made)
        self.assertGreaterEqual(peak, len(NODES) * len(DOWN))
        self.assertEqual(0, dropped)
        self.assertEqual([('libvirt', 'crashed', EVENT_CYCLE)],
                         [(e.source, e.event, e.cycle) for e in events])
