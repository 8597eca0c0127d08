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

"""A real vmguard-agent is SIGKILLed and started again.

The agent runs as a process (``python -m vmguard.cmd.agent``) with the
libvirt collector on libvirt's test driver (``test:///<node XML>``: the
domains and their run states come from a node XML file the test writes)
and the in-band collector on a sysfs-shaped tree (one healthy DIMM: host
state ``normal``). It casts over RabbitMQ to a real engine (in-process
``EngineService``, dry run: decisions are stored, nothing is rebooted, so
a crashed domain stays crashed). The test driver reads the node XML when
the agent connects, so the restarted agent sees the new XML: a domain
that crashed while the agent was away.

A crash the first agent reported must not become a second decision after
the restart (doubled = 0); the crash that happened meanwhile is decided
once (lost = 0).
"""

import collections
import os

import fixtures
from testtools import content
import libvirt

from vmguard.db import api as db_api
from vmguard.tests.functional.agent import fixtures as agent_fixtures
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.faults import daemons
from vmguard.tests.functional.faults import table

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
    <memory>1048576</memory><vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <test:runstate>%(state)d</test:runstate>
  </domain>"""

VM_A = '0fa17000-0000-4000-8000-00000000000a'
VM_B = '0fa17000-0000-4000-8000-00000000000b'
VM_C = '0fa17000-0000-4000-8000-00000000000c'
RUNNING = libvirt.VIR_DOMAIN_RUNNING
CRASHED = libvirt.VIR_DOMAIN_CRASHED


def write_node(path, states):
    """states: {uuid: libvirt run state}; written atomically."""
    doms = [DOMAIN % {'name': 'dom-%s' % uuid[-1], 'uuid': uuid,
                      'state': state}
            for uuid, state in sorted(states.items())]
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(NODE_XML % '\n'.join(doms))
    os.replace(tmp, path)


class TestAgentRestart(EngineFunctionalTestCase):
    """SIGKILL the agent, start it again: no crash decided twice or lost."""

    CYCLE = 1  # seconds; the engine's fixture uses the same

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        sysfs = self.useFixture(agent_fixtures.SysfsTree())
        sysfs.add_dimm(0, 0, 'DIMM_A1')
        self.node = 'ar-%s' % self.topic[-10:]
        self.sysfs_root = sysfs.root
        self.agents = []

    def _agent(self, node_xml):
        n = len(self.agents) + 1
        config = daemons.write_config(
            os.path.join(self.tmp, 'agent-%d.conf' % n), {
                'DEFAULT': {'transport_url': self.url,
                            'host': self.node},
                'engine': {'topic': self.topic,
                           'cycle_interval': self.CYCLE},
                'agent': {'node_name': self.node,
                          'collectors': ['libvirt', 'inband'],
                          'libvirt_uri': 'test://%s' % node_xml,
                          'libvirt_reconnect_interval': 0.5,
                          'sysfs_root': self.sysfs_root,
                          'topic': 'vmguard-agent-%s' % self.topic[-10:]},
            })
        agent = daemons.Daemon(
            'agent', config, os.path.join(self.tmp, 'agent-%d.log' % n))
        self.agents.append(agent)
        self.addCleanup(agent.kill)
        self.addCleanup(self._attach_log, agent, n)
        return agent.start()

    def _attach_log(self, agent, n):
        self.addDetail('agent-%d-log' % n,
                       content.text_content(agent.log_tail(20000)))

    def _rows(self):
        return [d for d in db_api.decision_list(self.context)
                if d.node == self.node]

    def _decided(self, vm, agent):
        def found():
            return [d for d in self._rows() if d.vm == vm]
        return daemons.wait_for(found, 60, what='a decision for %s' % vm,
                                alive=(agent,))[0]

    def _last_cycle(self):
        try:
            return db_api.node_get(self.context, self.node).last_cycle
        except Exception:
            return None

    def _cycles_judged(self, after, agent, what):
        """Wait until the engine stored a snapshot of a cycle > after."""
        return daemons.wait_for(
            lambda: (self._last_cycle() or 0) > after, 60,
            what=what, alive=(agent,))

    def _run(self, libvirt_late):
        first_xml = os.path.join(self.tmp, 'node-1.xml')
        write_node(first_xml, {VM_A: CRASHED, VM_B: RUNNING,
                               VM_C: RUNNING})
        first = self._agent(first_xml)
        decision_a = self._decided(VM_A, first)
        # Still crashed for a few more cycles of the same agent: decided
        # once (SPEC 1: a crash is decided once).
        self._cycles_judged(decision_a.cycle + 2, first,
                            'cycles after the decision of VM A')
        first.kill()
        killed_at = self._last_cycle()
        # While the agent is away VM A stays crashed (dry run: nobody
        # rebooted it) and VM B crashes.
        second_xml = os.path.join(self.tmp, 'node-2.xml')
        states = {VM_A: CRASHED, VM_B: CRASHED, VM_C: RUNNING}
        if not libvirt_late:
            write_node(second_xml, states)
        second = self._agent(second_xml)
        if libvirt_late:
            # libvirt is not reachable yet when the agent comes back (a
            # node booting, libvirtd restarted with the agent): its first
            # snapshots carry the hardware but no domains.
            self._cycles_judged(killed_at + 2, second,
                                'snapshots of the restarted agent without '
                                'libvirt')
            write_node(second_xml, states)
        decision_b = self._decided(VM_B, second)
        # A few more cycles: the old crash of VM A, still reported, is not
        # decided again.
        self._cycles_judged(decision_b.cycle + 3, second,
                            'cycles after the decision of VM B')
        second.stop()
        self.assertEqual(0, second.proc.returncode, second.log_tail())
        return [(d.vm, d.action) for d in self._rows()]

    def _check(self, scenario, made, detail):
        expected = collections.Counter({(VM_A, 'reboot'): 1,
                                        (VM_B, 'reboot'): 1})
        row = table.record(scenario, expected.elements(), made, detail)
        self.assertEqual((0, 0), (row.lost, row.doubled),
                         '%s: decisions %s' % (row, made))

    def test_crash_reported_before_the_kill_is_not_decided_again(self):
        made = self._run(libvirt_late=False)
        self._check('agent SIGKILLed and restarted', made,
                    'real agent (libvirt test driver): crash A before the '
                    'kill, crash B while it was away')

    def test_restarted_agent_without_libvirt_yet(self):
        made = self._run(libvirt_late=True)
        self._check('agent restarted before libvirt is up', made,
                    'first snapshots after the restart list no domains; '
                    'A still crashed, B new')
