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


"""The libvirt collector against libvirt's test driver (test:///file).

The test driver holds the domains of a node XML in memory: states come
from ``<test:runstate>``, reasons from real API calls on the collector's
own connection.
"""

import json
import os
import subprocess
import sys

import fixtures
import libvirt

from vmguard.agent.collectors import libvirt as lv_collector
from vmguard.agent import manager
from vmguard.objects import records
from vmguard.tests.functional.agent import fixtures as agent_fixtures

NODE_XML = """<node>
  <cpu><mhz>2000</mhz><model>x86</model><nodes>1</nodes><sockets>1</sockets>
    <cores>16</cores><threads>1</threads><active>16</active></cpu>
  <memory>33554432</memory>
%s
</node>
"""

DOMAIN = """  <domain type='test'
          xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>%(name)s</name><uuid>%(uuid)s</uuid>
    <memory>%(kib)d</memory><vcpu>%(vcpus)d</vcpu>
    <os><type>hvm</type></os>
    <test:runstate>%(state)d</test:runstate>
  </domain>"""

# runstate -> (state name, reason name) the snapshot must show. The test
# driver forces the runstate with reason 0, i.e. 'unknown'.
RUNSTATES = {
    libvirt.VIR_DOMAIN_RUNNING: ('running', 'unknown'),
    libvirt.VIR_DOMAIN_BLOCKED: ('blocked', 'unknown'),
    libvirt.VIR_DOMAIN_PAUSED: ('paused', 'unknown'),
    libvirt.VIR_DOMAIN_SHUTDOWN: ('shutdown', 'unknown'),
    libvirt.VIR_DOMAIN_SHUTOFF: ('shutoff', 'unknown'),
    libvirt.VIR_DOMAIN_CRASHED: ('crashed', 'unknown'),
    libvirt.VIR_DOMAIN_PMSUSPENDED: ('pmsuspended', 'unknown'),
}


def uuid_for(state):
    return '00000000-0000-4000-8000-%012d' % state


def write_node(path, runstates=RUNSTATES):
    doms = [DOMAIN % {'name': 'dom-%d' % s, 'uuid': uuid_for(s),
                      'kib': 1048576 * (s + 1), 'vcpus': 1 + s % 2,
                      'state': s} for s in runstates]
    with open(path, 'w') as f:
        f.write(NODE_XML % '\n'.join(doms))


class TestLibvirtTestDriver(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.node_xml = os.path.join(tmp, 'node.xml')
        write_node(self.node_xml)
        self.uri = 'test://' + self.node_xml
        self.flags(libvirt_uri=self.uri, group='agent')
        self.collector = lv_collector.LibvirtCollector(self.conf)
        self.addCleanup(self.collector.stop)

    def _vms(self):
        return {v.uuid: v for v in self.collector.collect().vms}

    def test_every_runstate_maps_to_its_spec_name(self):
        vms = self._vms()
        self.assertEqual(len(RUNSTATES), len(vms))
        for state, (name, reason) in RUNSTATES.items():
            vm = vms[uuid_for(state)]
            self.assertEqual((name, reason), (vm.state, vm.reason),
                             'runstate %d' % state)
            self.assertEqual(1 + state % 2, vm.vcpus)
            self.assertEqual(1024 * (state + 1), vm.ram_mb)

    def test_reasons_follow_the_api_calls(self):
        conn = self.collector.connection()
        dom = conn.lookupByUUIDString(uuid_for(libvirt.VIR_DOMAIN_RUNNING))
        steps = [
            (dom.suspend, ('paused', 'user')),
            (dom.resume, ('running', 'unpaused')),
            (dom.shutdown, ('shutoff', 'shutdown')),
            (dom.create, ('running', 'booted')),
            (dom.destroy, ('shutoff', 'destroyed')),
        ]
        for call, expected in steps:
            call()
            vm = self._vms()[dom.UUIDString()]
            self.assertEqual(expected, (vm.state, vm.reason), call.__name__)

    def test_capacity_counts_only_active_domains(self):
        result = self.collector.collect()
        active = [v for v in result.vms if v.state != 'shutoff']
        self.assertEqual(16 - sum(v.vcpus for v in active),
                         result.vcpus_free)
        self.assertEqual(32768 - sum(v.ram_mb for v in active),
                         result.ram_mb_free)

    def test_non_crash_events_are_not_reported(self):
        events = []
        self.collector.start(lambda *args: events.append(args))
        conn = self.collector.connection()
        dom = conn.lookupByUUIDString(uuid_for(libvirt.VIR_DOMAIN_RUNNING))
        # Count the lifecycle events libvirt delivers on this very
        # connection, so the test knows the loop ran them.
        seen = []
        cb = conn.domainEventRegisterAny(
            dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda *args: seen.append(args[2:4]), None)
        self.addCleanup(conn.domainEventDeregisterAny, cb)
        dom.suspend()
        dom.resume()
        dom.destroy()
        agent_fixtures.wait_for(lambda: len(seen) >= 3, 10,
                                what='lifecycle events')
        self.assertEqual([], events)

    def test_snapshot_of_the_agent(self):
        self.flags(collectors=['libvirt'], group='agent')
        agent = manager.AgentManager(self.conf)
        snap = agent.collect()
        parsed = records.parse_record(json.loads(json.dumps(
            snap.to_dict())))
        self.assertEqual(self.conf.agent.node_name, parsed.node)
        self.assertEqual(len(RUNSTATES), len(parsed.vms))
        crashed = [v for v in parsed.vms if v.state == 'crashed']
        self.assertEqual([uuid_for(libvirt.VIR_DOMAIN_CRASHED)],
                         [v.uuid for v in crashed])


class TestOncePrint(agent_fixtures.AgentFunctionalTestCase):
    """``vmguard-agent --once --print`` as an operator runs it."""

    def test_prints_one_valid_snapshot(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        node_xml = os.path.join(tmp, 'node.xml')
        write_node(node_xml)
        conf = os.path.join(tmp, 'agent.conf')
        with open(conf, 'w') as f:
            f.write('[agent]\nnode_name = cmp-print\ncollectors = libvirt\n'
                    'libvirt_uri = test://%s\n' % node_xml)
        proc = subprocess.run(
            [sys.executable, '-m', 'vmguard.cmd.agent', '--config-file',
             conf, '--once', '--print'], capture_output=True, timeout=120,
            check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertEqual(1, len(lines), proc.stdout)
        snap = records.parse_record(json.loads(lines[0]))
        self.assertEqual('cmp-print', snap.node)
        self.assertEqual(len(RUNSTATES), len(snap.vms))
