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

"""The Redfish collector against the project's mockup corpus.

Each mockup of ``redfish_mockups/`` is served by sushy-static; the items
expected of it are written out here by hand, from reading the mockup:
``{id: (kind, health, identity)}``.
"""

import os

from vmguard.agent.collectors import redfish
from vmguard.agent import manager
from vmguard.tests.functional.agent import fixtures as agent_fixtures

RACK_SYSTEM = 'Systems/R640-7Q2'
RACK_STORAGE = RACK_SYSTEM + '/Storage/RAID.1'

RACK = {
    'system': ('system', 'ok', 'RS1100-7Q2'),
    'cpu:CPU 1': ('cpu', 'ok', 'CPU-SN-A01'),
    'cpu:CPU 2': ('cpu', 'ok', None),
    'accelerator:GPU1': ('accelerator', 'ok', None),
    'dimm:A1': ('memory', 'ok', 'DIMM-SN-A1'),
    'dimm:B1': ('memory', 'ok', 'DIMM-SN-B1'),
    # Disabled from the start, no Health: configuration, not a fault.
    'dimm:B2': ('memory', 'ok', 'DIMM-SN-B2'),
    'storage:RAID.1': ('storage', 'ok', None),
    'storage:RAID.1/0': ('storage', 'ok', 'CTL-SN-01'),
    'disk:Bay.0': ('disk', 'ok', 'SSD-SN-0'),
    'disk:Bay.1': ('disk', 'ok', 'SSD-SN-1'),
    'nic:NIC.1': ('nic', 'ok', 'b0:26:28:00:07:01'),
    'nic:NIC.2': ('nic', 'ok', 'b0:26:28:00:07:02'),
    'chassis:1U': ('chassis', 'ok', 'CH-7Q2'),
    'psu:1U/0': ('psu', 'ok', 'PSU-SN-1'),
    'psu:1U/1': ('psu', 'ok', 'PSU-SN-2'),
    'fan:1U/Fan 1': ('fan', 'ok', None),
    'temp:1U/CPU 1 Temp': ('temperature', 'ok', None),
    'temp:1U/Inlet Temp': ('temperature', 'ok', None),
}

BLADE1 = {
    'system': ('system', 'ok', 'BL-0001'),
    'dimm:DIMM1': ('memory', 'ok', 'B1-DIMM-1'),
    'chassis:Blade1': ('chassis', 'ok', 'BL-CH-0001'),
    'temp:Blade1/CPU Temp': ('temperature', 'ok', None),
    'psu:Enclosure/PSU1': ('psu', 'ok', 'ENC-PSU-1'),
    'psu:Enclosure/PSU2': ('psu', 'ok', 'ENC-PSU-2'),
    'fan:Enclosure/Fan 1': ('fan', 'ok', None),
    'fan:Enclosure/Fan 2': ('fan', 'ok', None),
}

BLADE2 = {
    'system': ('system', 'critical', 'BL-0002'),
    'dimm:DIMM1': ('memory', 'warning', 'B2-DIMM-1'),
    'chassis:Blade2': ('chassis', 'critical', 'BL-CH-0002'),
    'temp:Blade2/CPU Temp': ('temperature', 'critical', None),
    'psu:Enclosure/PSU2': ('psu', 'ok', 'ENC-PSU-2'),
    'psu:Enclosure/PSU3': ('psu', 'critical', 'ENC-PSU-3'),
    'fan:Enclosure/Fan 3': ('fan', 'warning', None),
    'fan:Enclosure/Fan 4': ('fan', 'ok', None),
}

TOWER = {
    'system': ('system', 'ok', None),
    'cpu:1': ('cpu', 'ok', None),
    'dimm:1': ('memory', 'ok', 'TW-DIMM-1'),
    'dimm:2': ('memory', 'ok', None),
    'storage:HBA': ('storage', 'ok', None),
    'storage:NVMe': ('storage', 'ok', None),
    'storage:NVMe/0': ('storage', 'ok', None),
    'disk:0': ('disk', 'ok', None),
    'nic:eth0': ('nic', 'ok', '3c:ec:ef:10:20:30'),
    'chassis:Tower': ('chassis', 'ok', None),
    'psu:Tower/0': ('psu', 'ok', None),
    'fan:Tower/System Fan': ('fan', 'ok', None),
}

SUBSYSTEMS = {
    'system': ('system', 'ok', 'NEW-0001'),
    'storage:AHCI': ('storage', 'ok', None),
    'disk:AHCI/Port0': ('disk', 'ok', None),
    'chassis:chassis': ('chassis', 'ok', 'NEW-CH-01'),
    'psu:chassis/Bay1': ('psu', 'ok', 'NEW-PSU-1'),
    'psu:chassis/Bay2': ('psu', 'ok', 'NEW-PSU-2'),
    'fan:chassis/Fan0': ('fan', 'ok', None),
    'fan:chassis/Fan1': ('fan', 'ok', None),
    'temp:chassis/CPU0': ('temperature', 'ok', None),
    'temp:chassis/InletTemp': ('temperature', 'ok', None),
}


def view(result):
    return {h.id: (h.kind, h.health, h.identity) for h in result.hardware}


class CorpusTestCase(agent_fixtures.AgentFunctionalTestCase):

    corpus = None
    system = None

    def setUp(self):
        super().setUp()
        self.bmc = self.useFixture(agent_fixtures.SushyStatic(self.corpus))
        self.flags(redfish_address=self.bmc.address,
                   redfish_system_id=self.system, group='agent')
        self.collector = redfish.RedfishCollector(self.conf)

    def items(self):
        return {h.id: h for h in self.collector.collect().hardware}


class TestRackServer(CorpusTestCase):

    corpus = 'rack'

    def test_expected_items(self):
        result = self.collector.collect()
        self.assertEqual(RACK, view(result))
        items = {h.id: h for h in result.hardware}
        self.assertEqual('Disabled', items['dimm:B2'].detail['state'])
        # Neither the VLAN interface nor the BMC's host interface, the
        # empty socket, slot and fan bay, nor SimpleStorage's copy of the
        # disks.
        self.assertEqual('oob', items['disk:Bay.1'].identity_path)

    def test_critical_psu_and_warning_dimm(self):
        self.bmc.update(RACK_SYSTEM + '/Memory/DIMM.A1',
                        lambda d: d['Status'].update(Health='Warning'))

        def fail(doc):
            doc['PowerSupplies'][1]['Status']['Health'] = 'Critical'
        self.bmc.update('Chassis/1U/Power', fail)
        items = view(self.collector.collect())
        expected = dict(RACK)
        expected['psu:1U/1'] = ('psu', 'critical', 'PSU-SN-2')
        expected['dimm:A1'] = ('memory', 'warning', 'DIMM-SN-A1')
        self.assertEqual(expected, items)

    def test_drive_absent_after_being_seen_is_reported_missing(self):
        self.collector.collect()
        self.bmc.update(RACK_STORAGE + '/Drives/Bay.1',
                        lambda d: d['Status'].update(State='Absent'))
        items = self.items()
        self.assertEqual(('warning', None, 'missing'),
                         (items['disk:Bay.1'].health,
                          items['disk:Bay.1'].identity,
                          items['disk:Bay.1'].detail['state']))
        # The slot that was always empty is still not an item.
        self.assertNotIn('disk:Bay.2', items)
        # Still missing next cycle; back when it comes back.
        self.assertEqual('warning', self.items()['disk:Bay.1'].health)
        self.bmc.update(RACK_STORAGE + '/Drives/Bay.1',
                        lambda d: d['Status'].update(State='Enabled'))
        self.assertEqual(RACK, view(self.collector.collect()))

    def test_drive_unlisted_after_being_seen_is_reported_missing(self):
        self.collector.collect()
        self.bmc.update(RACK_STORAGE, lambda d: d['Drives'].pop(0))
        items = self.items()
        self.assertEqual('missing', items['disk:Bay.0'].detail['state'])
        self.assertEqual('ok', items['disk:Bay.1'].health)

    def test_unavailable_offline_psu_and_dimm_disabled_while_watched(self):
        self.collector.collect()

        def offline(doc):
            doc['PowerSupplies'][0]['Status'] = {
                'State': 'UnavailableOffline'}
        self.bmc.update('Chassis/1U/Power', offline)
        self.bmc.update(RACK_SYSTEM + '/Memory/DIMM.B1',
                        lambda d: d.update(Status={'State': 'Disabled'}))
        items = self.items()
        self.assertEqual('warning', items['psu:1U/0'].health)
        self.assertEqual('warning', items['dimm:B1'].health)
        # Disabled from the start stays ok.
        self.assertEqual('ok', items['dimm:B2'].health)

    def test_unparsable_storage_makes_only_its_items_unknown(self):
        self.collector.collect()
        with open(self.bmc.path(RACK_STORAGE), 'w') as f:
            f.write('{"Id": "RAID.1", "Drives": [')
        items = self.items()
        self.assertEqual(set(RACK), set(items))
        for item_id in ('storage:RAID.1', 'storage:RAID.1/0', 'disk:Bay.0',
                        'disk:Bay.1'):
            self.assertEqual('unknown', items[item_id].detail['state'])
            self.assertIn('JSONDecodeError', items[item_id].detail['error'])
            self.assertEqual('ok', items[item_id].health)
        self.assertEqual('SSD-SN-1', items['disk:Bay.1'].identity)
        self.assertNotIn('state', items['dimm:A1'].detail)
        self.assertEqual(RACK['psu:1U/1'][2], items['psu:1U/1'].identity)

    def test_unparsable_storage_on_first_read_leaves_the_rest(self):
        with open(self.bmc.path(RACK_STORAGE), 'w') as f:
            f.write('not json')
        items = view(self.collector.collect())
        expected = {k: v for k, v in RACK.items()
                    if not k.startswith(('storage:', 'disk:'))}
        self.assertEqual(expected, items)

    def test_storage_collection_missing_is_unknown_not_missing(self):
        self.collector.collect()
        os.remove(self.bmc.path(RACK_SYSTEM + '/Storage'))
        items = self.items()
        self.assertEqual('unknown', items['disk:Bay.0'].detail['state'])
        self.assertIn('not found', items['disk:Bay.0'].detail['error'])

    def test_host_state_through_the_agent(self):
        self.flags(collectors=['redfish'], group='agent')
        agent = manager.AgentManager(self.conf)
        snap = agent.collect()
        self.assertEqual(RACK, {h.id: (h.kind, h.health, h.identity)
                                for h in snap.hardware})


class TestBladeEnclosure(CorpusTestCase):

    corpus = 'blades'
    system = '/redfish/v1/Systems/Blade1'

    def test_blade1_sees_only_its_own_and_what_powers_and_cools_it(self):
        self.assertEqual(BLADE1, view(self.collector.collect()))

    def test_blade2_sees_its_faults(self):
        self.flags(redfish_system_id='Blade2', group='agent')
        collector = redfish.RedfishCollector(self.conf)
        self.assertEqual(BLADE2, view(collector.collect()))

    def test_shared_psu_failure_reaches_both_blades(self):
        self.bmc.update(
            'Chassis/Enclosure/PowerSubsystem/PowerSupplies/PSU2',
            lambda d: d['Status'].update(Health='Critical'))
        self.assertEqual('critical',
                         self.items()['psu:Enclosure/PSU2'].health)


class TestTower(CorpusTestCase):

    corpus = 'tower'

    def test_optional_properties_left_out(self):
        result = self.collector.collect()
        self.assertEqual(TOWER, view(result))
        self.assertEqual('none', {h.id: h for h in result.hardware}[
            'disk:0'].identity_path)


class TestNewSubsystemsOnly(CorpusTestCase):

    corpus = 'subsystems'

    def test_power_and_thermal_subsystems(self):
        self.assertEqual(SUBSYSTEMS, view(self.collector.collect()))

    def test_sensor_health_and_absent_fan(self):
        self.collector.collect()
        self.bmc.update('Chassis/chassis/Sensors/CPU0Temp',
                        lambda d: d['Status'].update(Health='Critical'))
        self.bmc.update('Chassis/chassis/ThermalSubsystem/Fans/Fan1',
                        lambda d: d['Status'].update(State='Absent'))
        items = self.items()
        self.assertEqual('critical', items['temp:chassis/CPU0'].health)
        self.assertEqual('missing', items['fan:chassis/Fan1'].detail['state'])

    def test_unreadable_sensor_makes_only_its_reading_unknown(self):
        self.collector.collect()
        os.remove(self.bmc.path('Chassis/chassis/Sensors/InletTemp'))
        items = self.items()
        self.assertEqual('unknown',
                         items['temp:chassis/InletTemp'].detail['state'])
        self.assertNotIn('state', items['temp:chassis/CPU0'].detail)
        self.assertEqual(set(SUBSYSTEMS), set(items))
