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

"""Target selection inside failover segments (engine/segments.py)."""

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.engine import segments
from vmguard.engine import targets
from vmguard.tests import base


def _directory(**free):
    directory = targets.MemoryDirectory()
    for name, ram in free.items():
        directory.update(name.replace('_', '-'), 'normal', False, 16, ram)
    return directory


def _map(method, hosts, reserved=()):
    return segments.SegmentMap([{
        'name': 'rack-a', 'recovery_method': method,
        'hosts': [{'name': h, 'reserved': h in reserved} for h in hosts]}])


class TestSegmentSelector(base.TestCase):

    def setUp(self):
        super().setUp()
        # cmp-5 has the most RAM, outside the segment; cmp-4 is reserved.
        self.directory = _directory(cmp_1=1000, cmp_2=4000, cmp_3=3000,
                                    cmp_4=2000, cmp_5=9000)
        self.hosts = ('cmp-1', 'cmp-2', 'cmp-3', 'cmp-4')

    def _select(self, method, source='cmp-1', limit=None, ram=512):
        selector = segments.SegmentSelector(
            targets.MostFreeRamSelector(),
            _map(method, self.hosts, reserved=('cmp-3', 'cmp-4')))
        return selector.select(self.directory, source, 1, ram, limit)

    def test_methods(self):
        self.assertEqual(['cmp-2'], self._select('auto'))
        self.assertEqual(['cmp-3', 'cmp-4'], self._select('reserved_host'))
        self.assertEqual(['cmp-2', 'cmp-3', 'cmp-4'],
                         self._select('auto_priority'))
        self.assertEqual(['cmp-3', 'cmp-4', 'cmp-2'],
                         self._select('rh_priority'))

    def test_limit_over_tiers(self):
        self.assertEqual(['cmp-3'], self._select('rh_priority', limit=1))
        self.assertEqual(['cmp-2', 'cmp-3'],
                         self._select('auto_priority', limit=2))

    def test_capacity_still_counts(self):
        # Only cmp-3 (3000) of the reserved hosts fits 2500 MB.
        self.assertEqual(['cmp-3'], self._select('reserved_host', ram=2500))
        self.assertEqual([], self._select('reserved_host', ram=5000))

    def test_node_outside_segments_never_gets_reserved_hosts(self):
        self.assertEqual(['cmp-2', 'cmp-1'],
                         self._select('auto', source='cmp-5'))

    def test_no_segments_is_the_cloud_wide_pool(self):
        selector = segments.SegmentSelector(targets.MostFreeRamSelector())
        self.assertEqual(['cmp-5', 'cmp-2', 'cmp-3', 'cmp-4'],
                         selector.select(self.directory, 'cmp-1', 1, 512))

    def test_reserved_of(self):
        smap = _map('auto', self.hosts, reserved=('cmp-4',))
        self.assertTrue(smap.reserved_of('cmp-1', 'cmp-4'))
        self.assertFalse(smap.reserved_of('cmp-1', 'cmp-2'))
        self.assertFalse(smap.reserved_of('cmp-9', 'cmp-4'))
        self.assertEqual(('rack-a', 'auto'), smap.describe('cmp-2'))
        self.assertIsNone(smap.describe('cmp-9'))


class TestRecoveryTargets(base.DbTestCase):

    def test_decision_target_leads_only_inside_the_first_tier(self):
        for name, ram in (('cmp-1', 1000), ('cmp-2', 4000),
                          ('cmp-3', 3000)):
            db_api.node_get_or_create(self.context, name)
            db_api.node_update(self.context, name, {
                'host_state': 'normal', 'vcpus_free': 8, 'ram_mb_free': ram})
        smap = _map('rh_priority', ('cmp-1', 'cmp-2', 'cmp-3'),
                    reserved=('cmp-3',))
        selector = targets.MostFreeRamSelector()
        self.assertEqual(['cmp-3', 'cmp-2'], targets.recovery_targets(
            self.context, selector, 'cmp-1', 1, 512, first='cmp-2',
            segments=smap))
        smap = _map('auto_priority', ('cmp-1', 'cmp-2', 'cmp-3'),
                    reserved=('cmp-2',))
        self.assertEqual(['cmp-3', 'cmp-2'], targets.recovery_targets(
            self.context, selector, 'cmp-1', 1, 512, first='cmp-3',
            segments=smap))


class TestParse(base.TestCase):

    def test_shapes(self):
        body = {'segments': [{'name': 'a', 'recovery_method': 'auto',
                              'hosts': ['n1', {'name': 'n2',
                                               'reserved': True}],
                              'uuid': 'ignored'}]}
        self.assertEqual([{'name': 'a', 'recovery_method': 'auto',
                           'hosts': [{'name': 'n1', 'reserved': False},
                                     {'name': 'n2', 'reserved': True}]}],
                         segments.parse(body))
        self.assertEqual(segments.parse(body),
                         segments.parse(body['segments']))

    def test_errors(self):
        for data, expected in (
                ('x', 'expected a list'),
                ([1], 'segment #1: not an object'),
                ([{'recovery_method': 'auto'}], '"name" must be'),
                ([{'name': 'a', 'recovery_method': 'auto'}] * 2,
                 'listed twice'),
                ([{'name': 'a', 'recovery_method': 'auto', 'hosts': 'n'}],
                 '"hosts" must be a list'),
                ([{'name': 'a', 'recovery_method': 'auto',
                   'hosts': [{'name': 'n', 'reserved': 'yes'}]}],
                 '"reserved" must be true or false'),
                ([{'name': 'a', 'recovery_method': 'auto',
                   'hosts': [{}]}], 'a host must be')):
            self.assertRaisesRegex(segments.SegmentFileError, expected,
                                   segments.parse, data)


class TestSegmentDb(base.DbTestCase):

    def test_activation_and_reserving_again(self):
        db_api.segment_create(self.context, {'name': 'a',
                                             'recovery_method': 'auto'},
                              [{'name': 'n1', 'reserved': True}])
        self.assertTrue(db_api.segment_host_activate(self.context, 'n1',
                                                     'first use'))
        # Only the first use is recorded.
        self.assertFalse(db_api.segment_host_activate(self.context, 'n1',
                                                      'second use'))
        [host] = db_api.segment_host_list(self.context, 'a')
        self.assertEqual('first use', host.activated_reason)
        db_api.segment_host_update(self.context, 'a', 'n1',
                                   {'reserved': False})
        db_api.segment_host_update(self.context, 'a', 'n1',
                                   {'reserved': True})
        [host] = db_api.segment_host_list(self.context, 'a')
        self.assertEqual((True, None, None), (
            host.reserved, host.activated_at, host.activated_reason))

    def test_map_and_delete(self):
        db_api.segment_create(self.context, {'name': 'b',
                                             'recovery_method': 'auto'},
                              [{'name': 'n2'}])
        db_api.segment_create(self.context,
                              {'name': 'a',
                               'recovery_method': 'reserved_host'},
                              [{'name': 'n1', 'reserved': True}])
        smap = segments.SegmentMap(db_api.segment_map(self.context))
        self.assertEqual([{'n1'}], smap.tiers('n1'))
        self.assertEqual([{'n2'}], smap.tiers('n2'))
        db_api.segment_delete(self.context, 'a')
        self.assertRaises(exception.SegmentNotFound, db_api.segment_get,
                          self.context, 'a')
        self.assertEqual(['b'], [s['name'] for s in
                                 db_api.segment_map(self.context)])
        # n1 is free again.
        db_api.segment_host_add(self.context, 'b', 'n1')
