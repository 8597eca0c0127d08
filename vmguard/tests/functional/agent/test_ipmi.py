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

"""The IPMI collector against OpenIPMI's ipmi_sim.

The simulated BMC has one power supply temperature sensor with upper
thresholds and a FRU with a board serial; the test moves the sensor over
its thresholds through the simulator's console.
"""

from pyghmi import exceptions as pyghmi_exc

from vmguard.agent.collectors import ipmi
from vmguard.tests.functional.agent import fixtures as agent_fixtures


class TestIPMICollector(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.bmc = self.useFixture(agent_fixtures.IpmiSim())
        self.flags(ipmi_address='127.0.0.1', ipmi_port=self.bmc.port,
                   ipmi_username='admin', ipmi_password=self.bmc.PASSWORD,
                   group='agent')
        self.collector = ipmi.IPMICollector(self.conf)

    def items(self):
        return {h.id: h for h in self.collector.collect().hardware}

    def test_sensor_health_follows_thresholds(self):
        items = self.items()
        sensor = items['ipmi:PSU1 Temp']
        self.assertEqual(('temperature', 'ok', '64.0'),
                         (sensor.kind, sensor.health,
                          sensor.detail['value']))
        self.bmc.set_sensor(1, 0x80)  # 128: over non-critical
        self.assertEqual('warning', self.items()['ipmi:PSU1 Temp'].health)
        self.bmc.set_sensor(1, 0x95)  # 149: over critical
        items = self.items()
        self.assertEqual('critical', items['ipmi:PSU1 Temp'].health)
        sel = items['ipmi:sel']
        self.assertGreaterEqual(int(sel.detail['entries']), 2)
        self.assertIn('Upper critical', sel.detail['newest'])
        self.bmc.set_sensor(1, 0x40)
        self.assertEqual('ok', self.items()['ipmi:PSU1 Temp'].health)

    def test_fru_serial_is_an_oob_identity(self):
        system = self.items()['fru:System']
        self.assertEqual(('system', 'BRD-42', 'oob'),
                         (system.kind, system.identity,
                          system.identity_path))

    def test_unreachable_bmc_raises(self):
        self.bmc._stop()
        self.assertRaises(pyghmi_exc.IpmiException, self.collector.collect)
