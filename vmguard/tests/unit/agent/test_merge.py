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


from vmguard.agent.collectors import base
from vmguard.agent import merge
from vmguard.tests import base as test_base


def hw(item_id, identity=None, health='ok', path=None, kind='disk'):
    if path is None and identity:
        path = 'inband'
    return base.HardwareItem(item_id, kind, health, identity=identity,
                             identity_path=path, detail={})


def oob(*items):
    for i in items:
        if i.identity:
            i.identity_path = 'oob'
    return ('oob', base.Result(hardware=list(items)))


def inband(*items, complete=True):
    return ('inband', base.Result(hardware=list(items), complete=complete))


class TestMerge(test_base.TestCase):

    def merged(self, views, previous=None):
        items, paths = merge.merge_hardware(views, previous)
        return {i.id: i for i in items}, paths

    def test_both_views_merge_into_one_inband_item(self):
        items, paths = self.merged([
            oob(hw('disk:Bay0', 'SN-1')),
            inband(hw('disk:sda', ' sn-1 ', health='critical'))])
        self.assertEqual(['disk:Bay0'], list(items))
        disk = items['disk:Bay0']
        self.assertEqual(('inband', 'critical', 'SN-1', 'disk:sda'),
                         (disk.identity_path, disk.health, disk.identity,
                          disk.detail['inband_id']))
        self.assertEqual({'sn-1': 'inband'}, paths)

    def test_only_the_bmc_reads_it_is_oob(self):
        items, _ = self.merged([oob(hw('disk:Bay1', 'SN-2')),
                                inband(hw('disk:sda', 'SN-1'))])
        self.assertEqual('oob', items['disk:Bay1'].identity_path)
        self.assertEqual('inband', items['disk:sda'].identity_path)

    def test_no_identity_is_kept_as_reported(self):
        items, paths = self.merged([
            oob(hw('disk:Bay2', None, path='none')),
            inband(hw('disk:sdc', None, path='none'),
                   hw('temp:cpu', None, kind='temperature'))])
        self.assertEqual('none', items['disk:Bay2'].identity_path)
        self.assertEqual('none', items['disk:sdc'].identity_path)
        self.assertIsNone(items['temp:cpu'].identity_path)
        self.assertEqual({}, paths)

    def test_incomplete_inband_view_keeps_previous_path(self):
        items, _ = self.merged(
            [oob(hw('disk:Bay0', 'SN-1'), hw('disk:Bay9', 'SN-9')),
             inband(complete=False)],
            previous={'sn-1': 'inband'})
        self.assertEqual('inband', items['disk:Bay0'].identity_path)
        # Never seen before: only the BMC vouches for it.
        self.assertEqual('oob', items['disk:Bay9'].identity_path)

    def test_without_inband_collector_everything_is_oob(self):
        items, _ = self.merged([oob(hw('disk:Bay0', 'SN-1'))],
                               previous={'sn-1': 'inband'})
        self.assertEqual('oob', items['disk:Bay0'].identity_path)

    def test_same_id_from_two_drivers_collapses_to_worst(self):
        items, _ = self.merged([
            oob(hw('psu:1', None, health='warning', kind='psu')),
            oob(hw('psu:1', None, health='critical', kind='psu'))])
        self.assertEqual('critical', items['psu:1'].health)
        self.assertEqual(1, len(items))

    def test_collectors_without_identity_pass_through(self):
        items, _ = self.merged([(None, base.Result(hardware=[
            hw('fan:1', None, kind='fan')]))])
        self.assertEqual(['fan:1'], list(items))
