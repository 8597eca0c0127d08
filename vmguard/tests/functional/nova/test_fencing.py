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


"""The fencers against real BMC emulators: Redfish (sushy-tools' emulator,
whose fake systems apply power actions 1-11 s after they are asked, like
real BMCs) and IPMI (OpenIPMI's ipmi_sim)."""

import time

from vmguard.compute import base as compute_base
from vmguard.compute import fake
from vmguard.compute import fencing
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.tests.functional import base
from vmguard.tests.functional.nova import bmc


class TestRedfishFencing(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.bmc = self.useFixture(bmc.SushyEmulator())
        self.fencer = fencing.RedfishFencer(systems={'cmp-1': self.bmc.url},
                                            username='', password='',
                                            verify=False)

    def test_power_off_confirmed_by_the_bmc(self):
        self.assertTrue(self.fencer.configured('cmp-1'))
        self.assertFalse(self.fencer.configured('cmp-2'))
        self.assertFalse(self.fencer.wait_off('cmp-1', 0.5))
        self.fencer.power_off('cmp-1')
        self.assertTrue(self.fencer.wait_off('cmp-1', 30))
        # Idempotent once off.
        self.fencer.power_off('cmp-1')

    def test_r9_fences_through_bmc_before_evacuating(self):
        self.mariadb()
        self.flags(group='recovery', poll_interval=0.05, fence_timeout=30,
                   compute_down_timeout=0)
        driver = fake.FakeComputeDriver()
        for host in ('cmp-1', 'cmp-2', 'cmp-3'):
            driver.add_host(host)
            db_api.node_get_or_create(self.context, host)
            db_api.node_update(self.context, host, {
                'host_state': 'normal', 'last_cycle': 10,
                'ram_mb_free': 4096, 'vcpus_free': 4})
        driver.services['cmp-1'].state = 'down'
        driver.add_server('vm-1', 'cmp-1')
        powered_off_at = []
        real_evacuate = driver.evacuate_server

        def evacuate(server_id, target, request_id):
            # What the BMC says when the first evacuation is issued.
            if not powered_off_at:
                powered_off_at.append(self.fencer.wait_off('cmp-1', 0))
            return real_evacuate(server_id, target, request_id)

        driver.evacuate_server = evacuate
        executor = recovery.RecoveryExecutor(driver=driver,
                                             fencer=self.fencer,
                                             sleep=time.sleep)
        self.addCleanup(executor.stop)
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': self.id(), 'node': 'cmp-1', 'cycle': 13,
            'action': 'migrate_all', 'target': 'cmp-2', 'rule': 'R9',
            'reason': 'node silent'})
        self.assertEqual('succeeded', executor.execute(decision))
        self.assertEqual([True], powered_off_at)
        self.assertEqual(('cmp-2', compute_base.ACTIVE),
                         (driver.servers['vm-1'].host,
                          driver.servers['vm-1'].status))
        rec = db_api.recovery_get_by_decision(self.context, decision.id)
        actions = [a.action for a in
                   db_api.recovery_action_list(self.context, rec.id)]
        self.assertEqual(['check_compute', 'power_off', 'power_off_confirm',
                          'force_down', 'evacuate'], actions[:5])


class TestIPMIFencing(base.FunctionalTestCase):

    def test_power_off_confirmed_by_the_bmc(self):
        sim = self.useFixture(bmc.IpmiSimBMC())
        fencer = fencing.IPMIFencer(bmcs={'cmp-1': sim.address},
                                    username=sim.USER,
                                    password=sim.PASSWORD)
        self.assertTrue(fencer.configured('cmp-1'))
        self.assertFalse(fencer.configured('cmp-2'))
        self.assertEqual(fencing.POWER_ON, fencer.power_state('cmp-1'))
        self.assertFalse(fencer.wait_off('cmp-1', 0.5))
        self.assertTrue(sim.host_running())
        fencer.power_off('cmp-1')
        self.assertTrue(fencer.wait_off('cmp-1', 30))
        self.assertFalse(sim.host_running())
        # Idempotent once off.
        fencer.power_off('cmp-1')

    def test_unreachable_bmc_is_a_fencing_error(self):
        fencer = fencing.IPMIFencer(bmcs={'cmp-1': '127.0.0.1:%d' % (
            bmc.free_port(bmc.socket.SOCK_DGRAM))}, username='admin',
            password='x')
        self.assertRaises(fencing.FencingError, fencer.power_off, 'cmp-1')
