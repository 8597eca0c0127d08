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

from vmguard.common import exception
from vmguard.objects import records
from vmguard.tests import base
from vmguard.tests.unit.objects import test_objects

SNAPSHOT = test_objects.SNAPSHOT


class TestParseRecord(base.TestCase):

    def _bad(self, mutate, *fragments):
        data = copy.deepcopy(SNAPSHOT)
        mutate(data)
        exc = self.assertRaises(exception.InvalidRecord,
                                records.parse_record, data)
        for fragment in fragments:
            self.assertIn(fragment, str(exc))
        return exc

    def test_valid_snapshot(self):
        rec = records.parse_record(copy.deepcopy(SNAPSHOT))
        self.assertIsInstance(rec, records.Snapshot)
        self.assertEqual(1, len(rec.vms))
        self.assertEqual('crashed', rec.vms[0].state)
        self.assertEqual(30, rec.vcpus_free)

    def test_unknown_fields_are_ignored(self):
        data = copy.deepcopy(SNAPSHOT)
        data['colour'] = 'blue'
        data['vms'][0]['extra'] = {'x': 1}
        rec = records.parse_record(data)
        self.assertEqual('cmp-01', rec.node)

    def test_to_dict_round_trip(self):
        rec = records.parse_record(copy.deepcopy(SNAPSHOT))
        self.assertEqual(SNAPSHOT, rec.to_dict())

    def test_identity_without_path_defaults_to_inband(self):
        data = copy.deepcopy(SNAPSHOT)
        del data['hardware'][0]['identity_path']
        rec = records.parse_record(data)
        self.assertEqual('inband', rec.hardware[0].identity_path)

    def test_missing_node(self):
        self._bad(lambda d: d.pop('node'), "missing required field 'node'")

    def test_cycle_wrong_type(self):
        exc = self._bad(lambda d: d.update(cycle='42'),
                        "'cycle' must be an integer")
        self.assertEqual('cmp-01', exc.node)

    def test_negative_cycle(self):
        self._bad(lambda d: d.update(cycle=-1), "'cycle' must be >= 0")

    def test_bool_is_not_an_integer(self):
        self._bad(lambda d: d.update(cycle=True), "'cycle'")

    def test_missing_list(self):
        self._bad(lambda d: d.pop('vms'), "missing required field 'vms'")

    def test_list_wrong_type(self):
        self._bad(lambda d: d.update(hardware={}),
                  "'hardware' must be a list")

    def test_bad_hardware_health(self):
        self._bad(lambda d: d['hardware'][0].update(health='broken'),
                  'hardware[0]', "'health' must be one of")

    def test_bad_identity_path(self):
        self._bad(lambda d: d['hardware'][0].update(identity_path='bmc'),
                  "'identity_path' must be one of")

    def test_bad_external_health(self):
        # "critical" is a hardware health, not an external one.
        self._bad(lambda d: d['external'][0].update(health='critical'),
                  'external[0]')

    def test_bad_service_state(self):
        self._bad(lambda d: d['services'][0].update(state='dead'),
                  'services[0]', "'state'")

    def test_bad_vm_state(self):
        self._bad(lambda d: d['vms'][0].update(state='exploded'),
                  'vms[0]', "'state'")

    def test_vm_item_not_an_object(self):
        self._bad(lambda d: d.update(vms=['x']), 'vms[0]: must be an object')

    def test_capacity_wrong_type(self):
        self._bad(lambda d: d['capacity'].update(ram_mb_free=1.5),
                  "'ram_mb_free'")

    def test_empty_id(self):
        self._bad(lambda d: d['hardware'][0].update(id=''),
                  "'id' must not be empty")

    def test_not_an_object(self):
        exc = self.assertRaises(exception.InvalidRecord,
                                records.parse_record, [1, 2])
        self.assertIn('must be a JSON object', str(exc))

    def test_unknown_type(self):
        exc = self.assertRaises(exception.InvalidRecord,
                                records.parse_record,
                                {'type': 'banana', 'node': 'n'})
        self.assertIn("'type' must be 'snapshot', 'vm_event' or "
                      "'agent_stop'", str(exc))

    def test_missing_type(self):
        exc = self.assertRaises(exception.InvalidRecord,
                                records.parse_record, {'node': 'n'})
        self.assertIn("'type'", str(exc))

    def test_vm_event(self):
        rec = records.parse_record(
            {'type': 'vm_event', 'node': 'cmp-01', 'cycle': 3,
             'uuid': 'u', 'event': 'crashed', 'reason': 'panicked'})
        self.assertIsInstance(rec, records.VMEvent)
        self.assertEqual('panicked', rec.reason)

    def test_vm_event_missing_uuid(self):
        exc = self.assertRaises(
            exception.InvalidRecord, records.parse_record,
            {'type': 'vm_event', 'node': 'cmp-01', 'cycle': 3,
             'event': 'crashed'})
        self.assertIn("'uuid'", str(exc))
        self.assertEqual('cmp-01', exc.node)


class TestParseCache(base.TestCase):
    """The per-node cache of parse_record(d, cache) used by replay."""

    def _parse(self, cache, mutate=None, cycle=1):
        data = copy.deepcopy(SNAPSHOT)
        data['cycle'] = cycle
        if mutate:
            mutate(data)
        return records.parse_record(data, cache)

    def test_equal_lists_reuse_the_parsed_ones(self):
        cache = {}
        first = self._parse(cache)
        second = self._parse(cache, cycle=2)
        self.assertEqual(2, second.cycle)
        self.assertIs(first.hardware, second.hardware)
        self.assertIs(first.vms, second.vms)
        self.assertIs(first.external, second.external)
        self.assertIs(first.services, second.services)

    def test_a_changed_field_is_parsed_again(self):
        cache = {}
        first = self._parse(cache)

        def warn(d):
            d['hardware'][0]['health'] = 'warning'
        second = self._parse(cache, warn, cycle=2)
        self.assertIsNot(first.hardware, second.hardware)
        self.assertEqual('warning', second.hardware[0].health)
        self.assertIs(first.vms, second.vms)
        # And back: parsed again, not the stale list of cycle 2.
        third = self._parse(cache, cycle=3)
        self.assertEqual('ok', third.hardware[0].health)

    def test_same_values_other_types_are_not_equal(self):
        cache = {}
        self._parse(cache, lambda d: d['vms'][0].update(vcpus=2))
        # 2.0 == 2 in Python, but the record must be rejected.
        self.assertRaises(exception.InvalidRecord, self._parse, cache,
                          lambda d: d['vms'][0].update(vcpus=2.0), 2)

    def test_bad_list_is_rejected_even_after_a_good_one(self):
        cache = {}
        self._parse(cache)
        self.assertRaises(exception.InvalidRecord, self._parse, cache,
                          lambda d: d['hardware'][0].pop('kind'), 2)

    def test_nesting_too_deep_for_marshal_still_parses(self):
        cache = {}
        deep = []
        for _ in range(3000):
            deep = [deep]

        def nest(d):
            # An unknown field: ignored, but marshal cannot encode it.
            d['hardware'][0]['deep'] = deep
        first = self._parse(cache, nest)
        second = self._parse(cache, nest, cycle=2)
        self.assertEqual(2, second.cycle)
        self.assertIsNot(first.hardware, second.hardware)
        self.assertEqual(first.hardware[0].to_dict(),
                         second.hardware[0].to_dict())


class TestBounds(base.TestCase):
    """Values the database columns cannot hold are rejected up front."""

    def _bad(self, mutate, *fragments):
        data = copy.deepcopy(SNAPSHOT)
        mutate(data)
        exc = self.assertRaises(exception.InvalidRecord,
                                records.parse_record, data)
        for fragment in fragments:
            self.assertIn(fragment, str(exc))

    def test_counts_fit_32_bits(self):
        self._bad(lambda d: d['vms'][0].update(vcpus=2 ** 31), "'vcpus'",
                  '<= 2147483647')
        self._bad(lambda d: d['capacity'].update(ram_mb_free=2 ** 40),
                  "'ram_mb_free'")

    def test_null_vcpus_is_named(self):
        self._bad(lambda d: d['vms'][0].update(vcpus=None), 'vms[0]',
                  "'vcpus' must be an integer, not null")

    def test_cycle_fits_64_bits(self):
        self._bad(lambda d: d.update(cycle=2 ** 63), "'cycle'")
        data = copy.deepcopy(SNAPSHOT)
        data['cycle'] = 2 ** 63 - 1
        self.assertEqual(2 ** 63 - 1, records.parse_record(data).cycle)

    def test_string_lengths(self):
        self._bad(lambda d: d.update(node='n' * 256), "'node'",
                  'at most 255')
        self._bad(lambda d: d['vms'][0].update(uuid='u' * 37),
                  'vms[0]', "'uuid'", 'at most 36')
        self._bad(lambda d: d['hardware'][0].update(kind='k' * 33),
                  'hardware[0]', "'kind'")
        self._bad(lambda d: d['services'][0].update(name='s' * 65),
                  'services[0]', "'name'")
        self.assertRaises(exception.InvalidRecord, records.parse_record,
                          {'type': 'vm_event', 'node': 'n', 'cycle': 1,
                           'uuid': 'u', 'event': 'crashed',
                           'source': 's' * 17})
