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


"""Redfish (sushy-static) and in-band (sysfs tree) views, merged.

sushy-static serves the project's mockup (``redfish_mockup/``): one
system with two DIMMs, two drives, a NIC, one chassis with two PSUs, a
fan and a temperature. The sysfs tree shows the same drives and NIC to
the OS. The test rewrites mockup files atomically (as a BMC's view
changes) and removes devices from the tree (as the OS loses them).
"""

from vmguard.agent.collectors import redfish
from vmguard.agent import manager
from vmguard.tests.functional.agent import fixtures as agent_fixtures

PSU = 'Chassis/1U/Power'
DRIVE1 = 'Systems/1/Storage/1/Drives/Disk.Bay.1'


def fail_psu(doc, index=1, health='Critical'):
    doc['PowerSupplies'][index]['Status']['Health'] = health


class RedfishTestBase(agent_fixtures.AgentFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.bmc = self.useFixture(agent_fixtures.SushyStatic())
        self.sysfs = self.useFixture(agent_fixtures.SysfsTree())
        # The OS sees both drives and the NIC the BMC sees, plus a
        # partition and a virtual NIC that are not hardware items.
        self.sysfs.add_disk('sda', serial='DISK-SN-0001')
        self.sysfs.add_disk('sdb', serial='  DISK-SN-0002 ')
        self.sysfs.add_partition('sda', 'sda1')
        self.sysfs.add_nic('eno1', '52:54:00:ab:cd:01')
        self.sysfs.add_nic('veth0', '0a:00:00:00:00:09', physical=False)
        self.flags(redfish_address=self.bmc.address,
                   sysfs_root=self.sysfs.root,
                   smartctl_path='/nonexistent/smartctl',
                   collectors=['redfish', 'inband'], group='agent')

    def snapshot(self, agent):
        snap = agent.collect()
        return snap, {h.id: h for h in snap.hardware}


class TestRedfishCollector(RedfishTestBase):

    def test_inventory_with_serials_is_oob(self):
        result = redfish.RedfishCollector(self.conf).collect()
        items = {h.id: h for h in result.hardware}
        self.assertEqual(
            {'system', 'chassis:1U', 'dimm:A1', 'dimm:A2',
             'disk:Disk.Bay.0', 'disk:Disk.Bay.1', 'nic:NIC1', 'psu:1U/0',
             'storage:1',
             'psu:1U/1', 'fan:1U/Fan 1', 'temp:1U/CPU1 Temp'}, set(items))
        self.assertEqual(('DISK-SN-0002', 'oob', 'disk'),
                         (items['disk:Disk.Bay.1'].identity,
                          items['disk:Disk.Bay.1'].identity_path,
                          items['disk:Disk.Bay.1'].kind))
        self.assertEqual('52:54:00:ab:cd:01', items['nic:NIC1'].identity)
        self.assertEqual({'ok'}, {h.health for h in items.values()})

    def test_psu_failure_and_warning_follow_the_bmc(self):
        collector = redfish.RedfishCollector(self.conf)
        self.bmc.update(PSU, fail_psu)
        self.bmc.update('Systems/1/Memory/DIMM0',
                        lambda d: d['Status'].update(Health='Warning'))
        items = {h.id: h for h in collector.collect().hardware}
        self.assertEqual('critical', items['psu:1U/1'].health)
        self.assertEqual('ok', items['psu:1U/0'].health)
        self.assertEqual('warning', items['dimm:A1'].health)

    def test_absent_drive_is_not_reported(self):
        collector = redfish.RedfishCollector(self.conf)
        self.bmc.update(DRIVE1, lambda d: d['Status'].update(State='Absent'))
        items = {h.id for h in collector.collect().hardware}
        self.assertNotIn('disk:Disk.Bay.1', items)
        self.assertIn('disk:Disk.Bay.0', items)


class TestMergedView(RedfishTestBase):

    def test_seen_by_both_is_inband_with_the_bmc_slot_id(self):
        agent = manager.AgentManager(self.conf)
        _snap, items = self.snapshot(agent)
        disk = items['disk:Disk.Bay.1']
        self.assertEqual(('DISK-SN-0002', 'inband'),
                         (disk.identity, disk.identity_path))
        self.assertEqual('disk:sdb', disk.detail['inband_id'])
        self.assertEqual('inband', items['nic:NIC1'].identity_path)
        # Merged: no second line for the OS names of the same items.
        self.assertNotIn('disk:sdb', items)
        self.assertNotIn('nic:eno1', items)
        self.assertNotIn('nic:veth0', items)
        self.assertNotIn('disk:sda1', items)
        # Only the BMC reads DIMM serials here.
        self.assertEqual('oob', items['dimm:A1'].identity_path)

    def test_disk_lost_by_the_os_is_oob_and_failed_psu_critical(self):
        agent = manager.AgentManager(self.conf)
        self.snapshot(agent)
        self.sysfs.remove_disk('sdb')
        self.bmc.update(PSU, fail_psu)
        _snap, items = self.snapshot(agent)
        self.assertEqual(('DISK-SN-0002', 'oob'),
                         (items['disk:Disk.Bay.1'].identity,
                          items['disk:Disk.Bay.1'].identity_path))
        self.assertEqual('inband', items['disk:Disk.Bay.0'].identity_path)
        self.assertEqual('critical', items['psu:1U/1'].health)

    def test_disk_without_identity_anywhere_is_none(self):
        self.sysfs.add_disk('sdc')
        self.bmc.update(DRIVE1, lambda d: d.pop('SerialNumber'))
        self.sysfs.remove_disk('sdb')
        agent = manager.AgentManager(self.conf)
        _snap, items = self.snapshot(agent)
        self.assertEqual((None, 'none'),
                         (items['disk:sdc'].identity,
                          items['disk:sdc'].identity_path))
        self.assertEqual((None, 'none'),
                         (items['disk:Disk.Bay.1'].identity,
                          items['disk:Disk.Bay.1'].identity_path))

    def test_inband_failure_keeps_the_previous_path(self):
        agent = manager.AgentManager(self.conf)
        self.snapshot(agent)
        # The in-band view cannot be read this cycle (no sysfs there).
        self.flags(sysfs_root=self.sysfs.root + '-missing', group='agent')
        _snap, items = self.snapshot(agent)
        self.assertIsNone(agent.last_timings['inband'])
        self.assertEqual('inband', items['disk:Disk.Bay.1'].identity_path)

    def test_unreachable_bmc_leaves_the_inband_view(self):
        agent = manager.AgentManager(self.conf)
        self.bmc._stop()
        _snap, items = self.snapshot(agent)
        self.assertIsNone(agent.last_timings['redfish'])
        self.assertEqual('inband', items['disk:sdb'].identity_path)
        self.assertEqual('DISK-SN-0002', items['disk:sdb'].identity)

    def test_unreadable_storage_keeps_the_merged_item(self):
        agent = manager.AgentManager(self.conf)
        self.snapshot(agent)
        with open(self.bmc.path('Systems/1/Storage/1'), 'w') as f:
            f.write('<html>BMC busy</html>')
        _snap, items = self.snapshot(agent)
        disk = items['disk:Disk.Bay.1']
        self.assertEqual(('unknown', 'DISK-SN-0002', 'inband'),
                         (disk.detail['state'], disk.identity,
                          disk.identity_path))
        self.assertNotIn('disk:sdb', items)
        self.assertEqual('ok', items['psu:1U/1'].health)
