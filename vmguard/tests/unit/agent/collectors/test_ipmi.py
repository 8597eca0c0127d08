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

from vmguard.agent.collectors import ipmi
from vmguard.tests import base as test_base


class TestIPMI(test_base.TestCase):

    def test_health_bits(self):
        # pyghmi.constants.Health: Ok 0, Warning 1, Critical 2, Failed 4.
        self.assertEqual('ok', ipmi.sensor_health(0))
        self.assertEqual('warning', ipmi.sensor_health(1))
        self.assertEqual('critical', ipmi.sensor_health(2))
        self.assertEqual('critical', ipmi.sensor_health(3))
        self.assertEqual('critical', ipmi.sensor_health(4))

    def test_address_is_required(self):
        self.assertRaises(ValueError, ipmi.IPMICollector, self.conf)
