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

import copy

from oslo_versionedobjects import fixture

from vmguard.common import exception
from vmguard import objects
from vmguard.objects import base
from vmguard.objects import snapshot
from vmguard.tests import base as test_base

# Changing an object's fields without bumping its version breaks agents
# and engines of different releases talking to each other. When this test
# fails: bump the object's VERSION, document it, then update the hash.
EXPECTED_OBJECT_HASHES = {
    'AlertPayload': '1.0-b4ef4ba0399ea0b410a36a248ac1efbe',
    'DecisionPayload': '1.0-6aa1b511f8e96e139a64dfff736b395c',
    'ExternalItem': '1.0-da2ff77a8d08d56f4dc1a20cba2c18cf',
    'HardwareItem': '1.0-fb2b6dacd1a1832052c5b927735d3691',
    'RecoveryPayload': '1.0-ab4545c04c30ae7f96d0a665c150ced8',
    'ServiceState': '1.0-f8f0224588046a27088338d798a80a30',
    'Snapshot': '1.0-b74fc1b0c34f39faad2fd176ffde088e',
    'VMEvent': '1.0-16da40e2ad5dc50e0a6a8ae92f79cc5c',
    'VMInfo': '1.0-1d9cfb099b3926b1b7ed46641f9dc389',
}

SNAPSHOT = {
    'type': 'snapshot', 'node': 'cmp-01', 'cycle': 42,
    'collected_at': '2026-11-26T10:00:00Z',
    'hardware': [{'id': 'dimm-A1', 'kind': 'memory', 'health': 'ok',
                  'identity': 'SN-7731', 'identity_path': 'inband',
                  'detail': {'ce_count': '0'}}],
    'external': [{'id': 'nfs-instances', 'kind': 'storage',
                  'health': 'ok'}],
    'services': [{'name': 'libvirtd', 'state': 'running'}],
    'capacity': {'vcpus_free': 30, 'ram_mb_free': 120000},
    'vms': [{'uuid': '2b1c0e5e-8f0a-4c59-9d7b-5f7f3d0e0a11',
             'state': 'crashed', 'reason': 'panicked', 'vcpus': 2,
             'ram_mb': 4096}],
}


class TestObjectVersions(test_base.TestCase):

    def test_versions(self):
        objects.register_all()
        checker = fixture.ObjectVersionChecker(
            base.VmguardObjectRegistry.obj_classes())
        expected, actual = checker.test_hashes(EXPECTED_OBJECT_HASHES)
        self.assertEqual(expected, actual,
                         'Object fields changed: bump the version')


class TestSnapshotObject(test_base.TestCase):

    def test_json_round_trip_through_primitive(self):
        obj = snapshot.Snapshot.from_json_dict(copy.deepcopy(SNAPSHOT))
        primitive = obj.obj_to_primitive()
        again = snapshot.Snapshot.obj_from_primitive(primitive)
        self.assertEqual(SNAPSHOT, again.to_json_dict())

    def test_to_record_keeps_values(self):
        rec = snapshot.Snapshot.from_json_dict(SNAPSHOT).to_record()
        self.assertEqual('cmp-01', rec.node)
        self.assertEqual(42, rec.cycle)
        self.assertEqual('SN-7731', rec.hardware[0].identity)
        self.assertEqual('inband', rec.hardware[0].identity_path)
        self.assertEqual('panicked', rec.vms[0].reason)
        self.assertEqual(120000, rec.ram_mb_free)

    def test_from_json_rejects_bad_record_with_field_name(self):
        bad = copy.deepcopy(SNAPSHOT)
        bad['vms'][0]['vcpus'] = 'two'
        exc = self.assertRaises(exception.InvalidRecord,
                                snapshot.Snapshot.from_json_dict, bad)
        self.assertIn("vms[0]", str(exc))
        self.assertIn("'vcpus'", str(exc))
        self.assertEqual('cmp-01', exc.node)

    def test_vm_event_round_trip(self):
        data = {'type': 'vm_event', 'node': 'cmp-01', 'cycle': 42,
                'uuid': 'u-1', 'event': 'crashed', 'reason': 'panicked'}
        obj = snapshot.VMEvent.from_json_dict(data)
        again = snapshot.VMEvent.obj_from_primitive(obj.obj_to_primitive())
        self.assertEqual(data, again.to_json_dict())
