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


"""Snapshots and crash events reach a real RabbitMQ; buffering when not.

A stand-in engine RPC server listens on a topic of its own. The broker is
taken away from the agent (only) by a loopback TCP proxy the test closes:
the machine's RabbitMQ keeps running for everyone else.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import fixtures
import oslo_messaging as messaging

from vmguard.agent.collectors import base
from vmguard.agent import manager
from vmguard.tests.functional.agent import fixtures as agent_fixtures
from vmguard.tests.functional.agent import test_libvirt_test_driver
from vmguard.tests.functional import base as func_base


class _OneVM(base.Collector):
    name = 'one-vm'

    def collect(self):
        return base.Result(vms=[base.VMInfo(
            'aaaaaaaa-0000-4000-8000-000000000001', 'running', 'booted',
            2, 2048)])


class TestRabbitMQ(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        url = self.require_rabbitmq()
        self.engine = self.useFixture(
            agent_fixtures.RecordingEngine(self.conf, url))

    def _agent(self, url):
        transport = messaging.get_rpc_transport(self.conf, url=url)
        self.addCleanup(transport.cleanup)
        agent = manager.AgentManager(self.conf, collectors=[_OneVM(
            self.conf)], transport=transport)
        self.addCleanup(agent.stop)
        return agent

    def test_snapshot_and_event_reach_the_engine_topic(self):
        agent = self._agent(func_base.RABBIT_URL)
        snap = agent.run_cycle()
        _, got = self.engine.get_kind('snapshot')
        self.assertEqual(snap.to_dict(), got.to_record().to_dict())

        sent = time.monotonic()
        self.assertTrue(agent.report_event(
            'aaaaaaaa-0000-4000-8000-000000000001', 'crashed', 'panicked',
            'libvirt'))
        arrived, event = self.engine.get_kind('vm_event')
        self.assertEqual(('aaaaaaaa-0000-4000-8000-000000000001', 'crashed',
                          'panicked', self.conf.agent.node_name),
                         (event.uuid, event.event, event.reason, event.node))
        self.assertEqual(agent.cycle_now(), event.cycle)
        print('cast -> engine queue -> server: %.1f ms'
              % ((arrived - sent) * 1000))

    def test_buffered_while_the_broker_is_away_then_sent_in_order(self):
        host, port = '127.0.0.1', 5672
        proxy = self.useFixture(agent_fixtures.TcpProxy(host, port))
        agent = self._agent('rabbit://guest:guest@127.0.0.1:%d/'
                            % proxy.port)
        agent.run_cycle(cycle=100)
        self.engine.get_kind('snapshot')

        proxy.down()
        self.assertFalse(agent.send_snapshot(agent.collect(cycle=101)))
        self.assertFalse(agent.report_event(
            'aaaaaaaa-0000-4000-8000-000000000001', 'crashed', 'panicked',
            'libvirt'))
        self.assertFalse(agent.send_snapshot(agent.collect(cycle=102)))
        self.assertEqual(3, agent.buffered())
        self.assertTrue(self.engine.received.empty())

        proxy.up()
        agent_fixtures.wait_for(agent.flush, 30, interval=0.5,
                                what='the buffer to flush')
        agent.run_cycle(cycle=103)
        got = [self.engine.get(10)[1:] for _ in range(4)]
        self.assertEqual(
            [('snapshot', 101), ('vm_event', 'panicked'),
             ('snapshot', 102), ('snapshot', 103)],
            [(kind, obj.cycle if kind == 'snapshot' else obj.reason)
             for kind, obj in got])
        self.assertEqual(0, agent.buffered())
        self.assertEqual(0, agent.dropped)


class TestAgentProcess(agent_fixtures.AgentFunctionalTestCase):
    """``vmguard-agent`` as a daemon: cycles reach the engine, SIGTERM."""

    def test_daemon_reports_each_cycle_and_stops_on_sigterm(self):
        url = self.require_rabbitmq()
        engine = self.useFixture(agent_fixtures.RecordingEngine(self.conf,
                                                                url))
        tmp = self.useFixture(fixtures.TempDir()).path
        node_xml = os.path.join(tmp, 'node.xml')
        test_libvirt_test_driver.write_node(node_xml)
        conf = os.path.join(tmp, 'agent.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = %s\n'
                    '[engine]\ncycle_interval = 1\ntopic = %s\n'
                    '[agent]\nnode_name = cmp-daemon\n'
                    'collectors = libvirt,services\n'
                    'services = vmguard-no-such-service\n'
                    'topic = vmguard-ft-agent-%s\n'
                    'libvirt_uri = test://%s\n'
                    % (url, engine.topic, uuid.uuid4().hex[:8], node_xml))
        proc = subprocess.Popen(
            [sys.executable, '-m', 'vmguard.cmd.agent', '--config-file',
             conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.kill)
        cycles = set()
        while len(cycles) < 3:
            _, snap = engine.get_kind('snapshot', timeout=60)
            self.assertEqual('cmp-daemon', snap.node)
            self.assertEqual([('vmguard-no-such-service', 'stopped')],
                             [(s.name, s.state) for s in snap.services])
            cycles.add(snap.cycle)
        # Consecutive wall-clock cycles, one snapshot each.
        self.assertEqual(2, max(cycles) - min(cycles))
        with open('/proc/%d/status' % proc.pid) as f:
            rss = [line for line in f if line.startswith('VmRSS')]
        print('agent daemon (libvirt test driver, services) %s'
              % rss[0].strip())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(60))
        # The clean stop: a going-away cast after the last snapshot, with
        # the last cycle the agent reported.
        while True:
            _arrived, kind, obj = engine.get(timeout=10)
            if kind == 'snapshot':
                cycles.add(obj.cycle)
                continue
            self.assertEqual('agent_stop', kind)
            break
        self.assertEqual({'node': 'cmp-daemon', 'cycle': max(cycles)}, obj)
