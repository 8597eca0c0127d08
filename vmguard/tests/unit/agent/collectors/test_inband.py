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


import os

import fixtures

from vmguard.agent.collectors import inband
from vmguard.tests import base as test_base


class TestInband(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(self.root, 'class'))
        self.flags(sysfs_root=self.root, edac_ce_warning=10,
                   smartctl_path='/nonexistent/smartctl', group='agent')

    def write(self, rel, value):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('%s\n' % value)

    def collect(self):
        result = inband.InbandCollector(self.conf).collect()
        return {h.id: h for h in result.hardware}

    def test_edac_counters(self):
        mc = 'devices/system/edac/mc/mc0/'
        for i, (corr, uncorr) in enumerate(((0, 0), (10, 0), (0, 1))):
            self.write(mc + 'dimm%d/dimm_label' % i, 'CPU0_DIMM_A%d' % i)
            self.write(mc + 'dimm%d/dimm_ce_count' % i, corr)
            self.write(mc + 'dimm%d/dimm_ue_count' % i, uncorr)
        self.write('devices/system/edac/mc/mc1/ce_count', 3)
        self.write('devices/system/edac/mc/mc1/ue_count', 0)
        items = self.collect()
        self.assertEqual('ok', items['dimm:CPU0_DIMM_A0'].health)
        self.assertEqual('warning', items['dimm:CPU0_DIMM_A1'].health)
        self.assertEqual('critical', items['dimm:CPU0_DIMM_A2'].health)
        self.assertEqual('10', items['dimm:CPU0_DIMM_A1'].detail['ce_count'])
        self.assertEqual('ok', items['memctl:mc1'].health)

    def test_disks_serial_wwid_and_none(self):
        self.write('class/block/sda/device/serial', 'S1')
        self.write('class/block/nvme0n1/device/wwid', 'eui.0025')
        os.makedirs(os.path.join(self.root, 'class/block/sdc/device'))
        self.write('class/block/sda1/partition', 1)
        os.makedirs(os.path.join(self.root, 'class/block/sda1/device'))
        os.makedirs(os.path.join(self.root, 'class/block/loop0'))
        items = self.collect()
        self.assertEqual({'disk:sda', 'disk:nvme0n1', 'disk:sdc'},
                         set(items))
        self.assertEqual(('S1', 'inband'), (items['disk:sda'].identity,
                                            items['disk:sda'].identity_path))
        self.assertEqual('eui.0025', items['disk:nvme0n1'].identity)
        self.assertEqual((None, 'none'), (items['disk:sdc'].identity,
                                          items['disk:sdc'].identity_path))

    def test_nics_physical_only(self):
        os.makedirs(os.path.join(self.root, 'class/net/eno1/device'))
        self.write('class/net/eno1/address', '52:54:00:AB:CD:01')
        self.write('class/net/eno1/carrier', 0)
        self.write('class/net/lo/address', '00:00:00:00:00:00')
        items = self.collect()
        self.assertEqual(['nic:eno1'], list(items))
        self.assertEqual(('52:54:00:ab:cd:01', '0'),
                         (items['nic:eno1'].identity,
                          items['nic:eno1'].detail['carrier']))

    def test_hwmon_thresholds(self):
        base = 'class/hwmon/hwmon0/'
        self.write(base + 'name', 'coretemp')
        for i, (value, label) in enumerate(((40000, 'Core 0'),
                                            (85000, 'Core 1'),
                                            (99000, 'Core 2'))):
            self.write(base + 'temp%d_input' % i, value)
            self.write(base + 'temp%d_label' % i, label)
            self.write(base + 'temp%d_max' % i, 80000)
            self.write(base + 'temp%d_crit' % i, 95000)
        items = self.collect()
        self.assertEqual(
            ['ok', 'warning', 'critical'],
            [items['temp:coretemp/Core %d' % i].health for i in range(3)])

    def test_not_a_sysfs_raises(self):
        self.flags(sysfs_root=self.root + '/nope', group='agent')
        self.assertRaises(OSError, self.collect)

    def test_smart_health(self):
        self.assertEqual(('critical', 'Z1'), inband.smart_health(
            {'serial_number': 'Z1', 'smart_status': {'passed': False}}))
        self.assertEqual(('ok', None), inband.smart_health(
            {'smart_status': {'passed': True}}))
