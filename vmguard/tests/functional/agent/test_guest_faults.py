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


"""Guest faults as stock Nova shows them (SPEC.md Revision 2).

Domains without a panic device, as Nova's libvirt driver makes them:

* libvirt's test driver (test:///) with a console log the test writes:
  the agent's crash event reaches a real RabbitMQ, the snapshot says
  crashed/panicked, a restarted domain does not fire on the old text;
* a real QEMU guest (TCG) under libvirtd panicked by an NMI: libvirt
  keeps saying running, the console watcher says crashed/panicked;
* a real QEMU guest with the guest agent's channel and nothing answering
  on it: libvirt_qemu's guest-ping fails for real, the guest is
  crashed/hung after hang_cycles cycles.
"""

import os
import time

import fixtures
import libvirt
import oslo_messaging as messaging

from vmguard.agent import manager
from vmguard.tests.functional.agent import fixtures as agent_fixtures
from vmguard.tests.functional.agent import test_libvirt_test_driver as tdrv
from vmguard.tests.functional.agent import test_qemu
from vmguard.tests.functional import base as func_base

PANIC = (b'[   42.1] Kernel panic - not syncing: NMI: Not continuing\n'
         b'[   42.1] ---[ end Kernel panic - not syncing: NMI ]---\n')


class TestConsoleOnTestDriver(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.require_rabbitmq()
        self.engine = self.useFixture(
            agent_fixtures.RecordingEngine(self.conf, func_base.RABBIT_URL))
        tmp = self.useFixture(fixtures.TempDir()).path
        node_xml = os.path.join(tmp, 'node.xml')
        tdrv.write_node(node_xml)
        self.logs = os.path.join(tmp, 'instances')
        self.flags(libvirt_uri='test://' + node_xml, collectors=['libvirt'],
                   console_log_detection=True,
                   console_log_path=os.path.join(self.logs, '{uuid}',
                                                 'console.log'),
                   group='agent')
        self.uuid = tdrv.uuid_for(libvirt.VIR_DOMAIN_RUNNING)
        os.makedirs(os.path.join(self.logs, self.uuid))
        self.console = os.path.join(self.logs, self.uuid, 'console.log')
        with open(self.console, 'wb') as f:
            f.write(b'[    0.0] Linux version 6.1.0\nVMGUARD-READY\n')

    def start_agent(self):
        transport = messaging.get_rpc_transport(self.conf,
                                                url=func_base.RABBIT_URL)
        self.addCleanup(transport.cleanup)
        agent = manager.AgentManager(self.conf, transport=transport)
        agent.start()
        self.addCleanup(agent.stop)
        return agent

    def vm(self, agent):
        return {v.uuid: v for v in agent.run_cycle().vms}[self.uuid]

    def test_panic_in_console_is_a_crash_event_and_state(self):
        agent = self.start_agent()
        vm = self.vm(agent)
        self.assertEqual('running', vm.state)
        with open(self.console, 'ab') as f:
            f.write(PANIC)
        _arrived, event = self.engine.get_kind(
            'vm_event', timeout=10, match=lambda e: e.uuid == self.uuid)
        self.assertEqual(('crashed', 'panicked', 'console',
                          self.conf.agent.node_name),
                         (event.event, event.reason, event.source,
                          event.node))
        vm = self.vm(agent)
        self.assertEqual(('crashed', 'panicked'), (vm.state, vm.reason))
        # The other domains are untouched.
        other = {v.uuid: v for v in agent.collect().vms}[
            tdrv.uuid_for(libvirt.VIR_DOMAIN_PAUSED)]
        self.assertEqual('paused', other.state)

        # The domain runs again (a hard reboot: destroy + start): the old
        # panic text is still in the log (append mode) and must not fire.
        dom = agent.collectors[0].connection().lookupByUUIDString(self.uuid)
        dom.destroy()
        dom.create()
        with open(self.console, 'ab') as f:
            f.write(b'[    0.0] Linux version 6.1.0\nVMGUARD-READY\n')
        vm = self.vm(agent)
        self.assertEqual(('running', 'booted'), (vm.state, vm.reason))
        self.assertRaises(
            AssertionError, self.engine.get_kind, 'vm_event', timeout=1,
            match=lambda e: e.uuid == self.uuid)


class TestStockGuestOnQemu(test_qemu.QemuTestBase):
    """Real QEMU guests made as Nova makes them: no panic device."""

    def setUp(self):
        super().setUp()
        self.flags(hang_cycles=2, guest_agent_timeout=1, group='agent')

    def test_nmi_panic_seen_through_the_console(self):
        self.flags(console_log_detection=True,
                   console_log_path=os.path.join(self.guests.dir,
                                                 '{uuid}.log'),
                   group='agent')
        agent = self.start_agent()
        dom_uuid = '5ac0b1d2-0000-4000-8000-%012d' % os.getpid()
        dom, _ = self.guests.boot(
            'idle', like_nova=True, dom_uuid=dom_uuid,
            console=os.path.join(self.guests.dir, dom_uuid + '.log'))
        dom.injectNMI(0)
        _arrived, event = self.crash_event(dom_uuid, timeout=30)
        self.assertEqual(('crashed', 'panicked', 'console'),
                         (event.event, event.reason, event.source))
        # libvirt itself still says running: the console is the only
        # witness.
        state, _reason = dom.state()
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, state)
        vm = self.vm(agent, dom_uuid)
        self.assertEqual(('crashed', 'panicked'), (vm.state, vm.reason))

    def test_watchdog_pause_without_panic_device(self):
        # Nova's hw:watchdog_action=pause: an i6300esb with action pause
        # (the test guest opens it and stops feeding it). libvirt itself
        # reports it, panic device or not.
        self.flags(console_log_detection=True,
                   console_log_path=os.path.join(self.guests.dir,
                                                 '{uuid}.log'),
                   group='agent')
        agent = self.start_agent()
        _dom, dom_uuid = self.guests.boot('watchdog', like_nova=True)
        _arrived, event = self.crash_event(dom_uuid, timeout=60)
        self.assertEqual(('paused', 'watchdog', 'libvirt'),
                         (event.event, event.reason, event.source))
        vm = self.vm(agent, dom_uuid)
        self.assertEqual(('paused', 'watchdog'), (vm.state, vm.reason))

    def test_silent_guest_agent_is_hung(self):
        # Nothing in the test guest answers on the channel, so the run
        # is judged after the boot grace instead of after a first answer.
        self.flags(guest_agent_detection=True, guest_agent_boot_grace=0.1,
                   group='agent')
        transport = messaging.get_rpc_transport(self.conf,
                                                url=func_base.RABBIT_URL)
        self.addCleanup(transport.cleanup)
        agent = manager.AgentManager(self.conf, transport=transport)
        agent.collectors[0].start(agent.report_event)
        self.addCleanup(agent.collectors[0].stop)
        _dom, dom_uuid = self.guests.boot('idle', like_nova=True,
                                          agent_channel=True)
        states = []
        for cycle in range(4):
            vm = {v.uuid: v for v in agent.run_cycle().vms}[dom_uuid]
            states.append((vm.state, vm.reason))
            if cycle == 0:
                time.sleep(0.3)  # past the grace
        # First cycle starts the run's grace; two silent cycles after it.
        self.assertEqual([('running', 'booted'), ('running', 'booted'),
                          ('crashed', 'hung'), ('crashed', 'hung')],
                         states)
        _arrived, event = self.crash_event(dom_uuid, timeout=10)
        self.assertEqual(('crashed', 'hung', 'guest-agent'),
                         (event.event, event.reason, event.source))
