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


"""Real QEMU guests under libvirtd: crash events and states end to end.

Guests are software-emulated (no KVM here), boot a Debian kernel and a
busybox initramfs prepared by ``tools/qemu-test-env.sh`` (cached), and
are made to fail for real: a guest kernel panic through an injected NMI
(pvpanic -> CRASHED/PANICKED), a watchdog that fires (i6300esb, action
pause), an I/O error (disk on a full tmpfs, error_policy='stop') and a
QEMU killed with SIGKILL. The agent's crash event must reach a real
RabbitMQ within a second of libvirt emitting it.
"""

import os
import signal
import time

import libvirt
import oslo_messaging as messaging

from vmguard.agent import manager
from vmguard.tests.functional.agent import fixtures as agent_fixtures
from vmguard.tests.functional.agent import test_redfish
from vmguard.tests.functional import base as func_base

#: The agent's own share: libvirt event -> RPC server of the engine topic.
MAX_AGENT_LATENCY = 1.0


class QemuTestBase(agent_fixtures.AgentFunctionalTestCase):

    collectors = ['libvirt']

    def setUp(self):
        super().setUp()
        self.require_rabbitmq()
        self.engine = self.useFixture(
            agent_fixtures.RecordingEngine(self.conf, func_base.RABBIT_URL))
        self.guests = self.useFixture(agent_fixtures.QemuGuests())
        self.flags(libvirt_uri=self.guests.URI, group='agent')
        self.flags(collectors=self.collectors, group='agent')

    def start_agent(self):
        transport = messaging.get_rpc_transport(self.conf,
                                                url=func_base.RABBIT_URL)
        self.addCleanup(transport.cleanup)
        agent = manager.AgentManager(self.conf, transport=transport)
        agent.start()
        self.addCleanup(agent.stop)
        return agent

    def crash_event(self, dom_uuid, timeout=60):
        arrived, event = self.engine.get_kind(
            'vm_event', timeout=timeout,
            match=lambda e: e.uuid == dom_uuid)
        return arrived, event

    def vm(self, agent, dom_uuid):
        snap = agent.collect()
        return {v.uuid: v for v in snap.vms}[dom_uuid]

    def check_latency(self, what, dom_uuid, libvirt_event, arrived):
        emitted = self.guests.event_time(dom_uuid, libvirt_event)
        latency = arrived - emitted
        print('%s: libvirt event -> engine topic %.1f ms'
              % (what, latency * 1000))
        self.assertLess(latency, MAX_AGENT_LATENCY)


class TestQemuCrashes(QemuTestBase):

    def test_guest_panic(self):
        dom, dom_uuid = self.guests.boot('idle')
        agent = self.start_agent()
        injected = time.monotonic()
        dom.injectNMI(0)
        arrived, event = self.crash_event(dom_uuid)
        self.assertEqual(('crashed', 'panicked', 'libvirt',
                          self.conf.agent.node_name),
                         (event.event, event.reason, event.source,
                          event.node))
        print('guest panic: NMI injected -> engine topic %.1f ms'
              % ((arrived - injected) * 1000))
        self.check_latency('guest panic', dom_uuid,
                           libvirt.VIR_DOMAIN_EVENT_CRASHED, arrived)
        vm = self.vm(agent, dom_uuid)
        self.assertEqual(('crashed', 'panicked'), (vm.state, vm.reason))
        self.assertEqual((1, 256), (vm.vcpus, vm.ram_mb))

    def test_watchdog_pause(self):
        agent = self.start_agent()
        _dom, dom_uuid = self.guests.boot('watchdog')
        arrived, event = self.crash_event(dom_uuid)
        self.assertEqual(('paused', 'watchdog'), (event.event, event.reason))
        self.check_latency('watchdog', dom_uuid,
                           libvirt.VIR_DOMAIN_EVENT_SUSPENDED, arrived)
        vm = self.vm(agent, dom_uuid)
        self.assertEqual(('paused', 'watchdog'), (vm.state, vm.reason))

    def test_io_error_pause(self):
        agent = self.start_agent()
        _dom, dom_uuid = self.guests.boot('ioerror')
        arrived, event = self.crash_event(dom_uuid)
        self.assertEqual(('paused', 'ioerror'), (event.event, event.reason))
        self.check_latency('I/O error', dom_uuid,
                           libvirt.VIR_DOMAIN_EVENT_SUSPENDED, arrived)
        vm = self.vm(agent, dom_uuid)
        self.assertEqual(('paused', 'ioerror'), (vm.state, vm.reason))

    def test_qemu_killed(self):
        dom, dom_uuid = self.guests.boot('idle', persistent=True)
        agent = self.start_agent()
        killed = time.monotonic()
        os.kill(self.guests.qemu_pid(dom.name()), signal.SIGKILL)
        arrived, event = self.crash_event(dom_uuid)
        self.assertEqual(('shutoff', 'failed'), (event.event, event.reason))
        print('kill -9: SIGKILL -> engine topic %.1f ms'
              % ((arrived - killed) * 1000))
        self.check_latency('kill -9', dom_uuid,
                           libvirt.VIR_DOMAIN_EVENT_STOPPED, arrived)
        vm = self.vm(agent, dom_uuid)
        self.assertEqual(('shutoff', 'crashed'), (vm.state, vm.reason))


class TestAcceptance(QemuTestBase, test_redfish.RedfishTestBase):
    """A panicked guest, a failed PSU and a disk only the BMC sees."""

    collectors = ['libvirt', 'redfish', 'inband']

    def test_snapshot_of_the_node(self):
        self.flags(collectors=self.collectors, group='agent')
        self.sysfs.remove_disk('sdb')  # the OS lost the second drive
        self.bmc.update(test_redfish.PSU, test_redfish.fail_psu)
        dom, dom_uuid = self.guests.boot('idle')
        dom.injectNMI(0)
        self.guests.event_time(dom_uuid, libvirt.VIR_DOMAIN_EVENT_CRASHED)

        agent = self.start_agent()
        sent = agent.run_cycle()
        _, got = self.engine.get_kind(
            'snapshot', match=lambda s: s.cycle == sent.cycle
            and any(v.uuid == dom_uuid for v in s.vms))
        snap = got.to_record()
        vms = {v.uuid: v for v in snap.vms}
        hw = {h.id: h for h in snap.hardware}
        self.assertEqual(('crashed', 'panicked'),
                         (vms[dom_uuid].state, vms[dom_uuid].reason))
        psu = hw['psu:1U/1']
        self.assertEqual(('psu', 'critical', 'PSU-SN-0002', 'oob'),
                         (psu.kind, psu.health, psu.identity,
                          psu.identity_path))
        self.assertEqual('ok', hw['psu:1U/0'].health)
        lost = hw['disk:Disk.Bay.1']
        self.assertEqual(('disk', 'ok', 'DISK-SN-0002', 'oob'),
                         (lost.kind, lost.health, lost.identity,
                          lost.identity_path))
        kept = hw['disk:Disk.Bay.0']
        self.assertEqual(('DISK-SN-0001', 'inband'),
                         (kept.identity, kept.identity_path))
        self.assertEqual('inband', hw['nic:NIC1'].identity_path)
        self.assertEqual(
            {'critical'}, {h.health for h in snap.hardware
                           if h.health != 'ok'})


class TestLibvirtdRestart(QemuTestBase):
    """The agent reconnects to a restarted libvirtd and keeps reporting."""

    def test_events_after_libvirtd_restart(self):
        self.flags(libvirt_reconnect_interval=0.2, group='agent')
        agent = self.start_agent()
        collector = agent.collectors[0]
        before = collector.connection()
        with open('/run/libvirtd.pid') as f:
            pid = int(f.read().strip())
        # This libvirtd was started by tools/qemu-test-env.sh (the
        # fixture): stop it and let the script start it again.
        os.kill(pid, signal.SIGTERM)
        agent_fixtures.wait_for(lambda: not os.path.exists('/proc/%d' % pid),
                                30, what='libvirtd to stop')
        guests = self.useFixture(agent_fixtures.QemuGuests())
        agent_fixtures.wait_for(
            lambda: collector._conn is not None
            and collector._conn is not before, 30,
            what='the collector to reconnect')
        dom, dom_uuid = guests.boot('idle')
        dom.injectNMI(0)
        _arrived, event = self.crash_event(dom_uuid)
        self.assertEqual(('crashed', 'panicked'), (event.event, event.reason))
