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


"""External items (storage heartbeat, uplinks) and services, for real.

* Uplink: a veth pair whose peer sits in a network namespace of the
  test's own; setting the peer down drops the carrier the collector reads
  in the real /sys, and the reachability probe to the peer's address
  stops getting answers.
* Storage: a heartbeat on a real directory; a hung file system is
  stood in for by a FIFO where the heartbeat file goes (open() blocks,
  as on a dead NFS server).
* Services: a process of a unique name, found and then missed in the
  process table; the engine's ``restart_service`` call goes over a real
  RabbitMQ to the agent's RPC server, which runs the restart command.
"""

import os
import shutil
import signal
import subprocess
import time
import uuid

import fixtures
import oslo_messaging as messaging

from vmguard.agent.collectors import external
from vmguard.agent.collectors import services
from vmguard.agent import manager
from vmguard.agent import rpcapi as agent_rpcapi
from vmguard.tests.functional.agent import fixtures as agent_fixtures


def ip(*args):
    subprocess.run(('ip',) + args, check=True, capture_output=True)


class TestUplink(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        tag = uuid.uuid4().hex[:8]
        self.host_if = 'vga%s' % tag
        self.peer_if = 'vgb%s' % tag
        self.netns = 'vmguard-ft-%s' % tag
        # A /30 out of the link-local range, private to this namespace
        # pair: nothing outside this machine is ever addressed.
        octet = int(tag[:2], 16) % 64 * 4
        self.host_ip = '169.254.%d.%d' % (200 + int(tag[2], 16) % 50,
                                         octet + 1)
        self.peer_ip = self.host_ip.rsplit('.', 1)[0] + '.%d' % (octet + 2)
        ip('netns', 'add', self.netns)
        self.addCleanup(ip, 'netns', 'del', self.netns)
        ip('link', 'add', self.host_if, 'type', 'veth', 'peer', 'name',
           self.peer_if)
        self.addCleanup(subprocess.run, ['ip', 'link', 'del', self.host_if],
                        check=False, capture_output=True)
        ip('link', 'set', self.peer_if, 'netns', self.netns)
        ip('addr', 'add', self.host_ip + '/30', 'dev', self.host_if)
        ip('link', 'set', self.host_if, 'up')
        self.peer('addr', 'add', self.peer_ip + '/30', 'dev', self.peer_if)
        self.peer('link', 'set', self.peer_if, 'up')
        self.flags(uplinks=[self.host_if],
                   probe_addresses=['%s:9' % self.peer_ip],
                   probe_timeout=0.5, sysfs_root='/sys', group='agent')
        self.collector = external.ExternalCollector(self.conf)

    def peer(self, *args):
        ip('netns', 'exec', self.netns, 'ip', *args)

    def items(self):
        return {(e.kind, e.id): e.health
                for e in self.collector.collect().external}

    def test_peer_down_fails_carrier_and_probe(self):
        agent_fixtures.wait_for(
            lambda: self.items()[('uplink', self.host_if)] == 'ok', 10,
            what='carrier up')
        self.assertEqual('ok', self.items()[('gateway',
                                             '%s:9' % self.peer_ip)])
        self.peer('link', 'set', self.peer_if, 'down')
        agent_fixtures.wait_for(
            lambda: self.items()[('uplink', self.host_if)] == 'failed', 10,
            what='carrier down')
        self.assertEqual('failed', self.items()[('gateway',
                                                 '%s:9' % self.peer_ip)])


class TestStorageHeartbeat(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.ok_dir = self.useFixture(fixtures.TempDir()).path
        self.hung_dir = self.useFixture(fixtures.TempDir()).path
        self.flags(storage_paths=[self.ok_dir, self.hung_dir,
                                  self.ok_dir + '/missing'],
                   storage_timeout=0.5, group='agent')
        node = self.conf.agent.node_name
        self.fifo = os.path.join(self.hung_dir,
                                 '.vmguard-heartbeat-%s.tmp' % node)
        os.mkfifo(self.fifo)
        self.addCleanup(self._release)

    def _release(self):
        # Open the reading end so the hung writer thread returns.
        fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        time.sleep(0.1)
        os.close(fd)

    def test_hung_and_missing_paths_fail_without_stalling(self):
        collector = external.ExternalCollector(self.conf)
        for _cycle in range(2):
            started = time.monotonic()
            items = {e.id: e.health for e in collector.collect().external}
            took = time.monotonic() - started
            self.assertEqual({self.ok_dir: 'ok', self.hung_dir: 'failed',
                              self.ok_dir + '/missing': 'failed'}, items)
        # Both cycles were bounded by the probe timeout, not the hang.
        print('storage collector with one hung path: %.2f s' % took)
        with open(os.path.join(self.ok_dir, '.vmguard-heartbeat-%s'
                               % self.conf.agent.node_name)) as f:
            self.assertTrue(f.read().strip())

    def test_agent_cycle_reports_overrun_collector_as_failed(self):
        # The whole collector overruns [agent] collector_timeout: the
        # cycle goes on, the items are failed.
        self.flags(storage_timeout=5.0, collector_timeout=0.3,
                   group='agent')
        agent = manager.AgentManager(
            self.conf, collectors=[external.ExternalCollector(self.conf)])
        self.addCleanup(agent.stop)
        started = time.monotonic()
        snap = agent.collect()
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual({'failed'}, {e.health for e in snap.external})
        self.assertEqual(3, len(snap.external))
        self.assertIsNone(agent.last_timings['external'])


class TestServices(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.service = 'vmgsvc-%s' % uuid.uuid4().hex[:6]
        self.binary = os.path.join(tmp, self.service)
        shutil.copy('/bin/sleep', self.binary)
        self.pidfile = os.path.join(tmp, 'pid')
        self.starter = os.path.join(tmp, 'restart.sh')
        with open(self.starter, 'w') as f:
            f.write('#!/bin/sh\n'
                    '"%s/$1" 600 </dev/null >/dev/null 2>&1 &\n'
                    'echo $! > "%s"\n' % (tmp, self.pidfile))
        os.chmod(self.starter, 0o755)
        self.flags(services=[self.service],
                   restart_command='%s {service}' % self.starter,
                   group='agent')
        self.addCleanup(self._kill)

    def _kill(self):
        try:
            with open(self.pidfile) as f:
                os.kill(int(f.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def state(self):
        result = services.ServicesCollector(self.conf).collect()
        return {s.name: s.state for s in result.services}[self.service]

    def test_state_and_restart_over_rpc(self):
        if services.systemd_running():
            self.fail('this test exercises the process-table check; '
                      'systemd runs here')
        self.assertEqual('stopped', self.state())

        transport = messaging.get_rpc_transport(self.conf, url=self.url)
        self.addCleanup(transport.cleanup)
        self.flags(topic='vmguard-ft-agent-%s' % uuid.uuid4().hex[:8],
                   group='agent')
        agent = manager.AgentManager(self.conf, collectors=[],
                                     transport=transport)
        agent.start()
        self.addCleanup(agent.stop)
        api = agent_rpcapi.AgentAPI(self.conf, transport=transport)
        answer = api.restart_service(self.context, agent.node, self.service,
                                     timeout=30)
        # Confirmed: the agent answers once it sees the service running.
        self.assertEqual({'service': self.service, 'restarted': True,
                          'running': True, 'state': 'running',
                          'detail': ''}, answer)
        agent_fixtures.wait_for(lambda: self.state() == 'running', 10,
                                what='the restarted service')
        self._kill()
        agent_fixtures.wait_for(lambda: self.state() == 'stopped', 10,
                                what='the killed service')

        refused = api.restart_service(self.context, agent.node, 'sshd',
                                      timeout=30)
        self.assertFalse(refused['restarted'])
