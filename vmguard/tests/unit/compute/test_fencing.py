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

from vmguard.common import exception
from vmguard.compute import fencing
from vmguard.tests import base as test_base


class TestFencers(test_base.TestCase):

    def test_loaded_by_stevedore_in_configured_order(self):
        self.flags(group='recovery', bmc_redfish={
            'cmp-1': 'https://bmc-1/redfish/v1/Systems/1'},
            bmc_ipmi={'cmp-1': '10.0.0.1', 'cmp-2': '10.0.0.2:6230'})
        fencers = fencing.load_fencers()
        self.assertEqual(['redfish', 'ipmi', 'none'],
                         [f.name for f in fencers.fencers])
        self.assertEqual('redfish', fencers.for_node('cmp-1').name)
        self.assertEqual('ipmi', fencers.for_node('cmp-2').name)
        self.assertEqual('none', fencers.for_node('cmp-3').name)
        self.assertEqual({'fencer': 'ipmi', 'bmc': '10.0.0.2:6230'},
                         fencers.for_node('cmp-2').evidence('cmp-2'))

    def test_without_none_an_unknown_node_has_no_fencer(self):
        fencers = fencing.load_fencers(['redfish', 'ipmi'])
        self.assertIsNone(fencers.for_node('cmp-9'))

    def test_unknown_fencer_is_a_clear_error(self):
        self.assertRaises(exception.DriverLoadError, fencing.load_fencers,
                          ['pdu'])

    def test_none_refuses_unless_operator_says_so(self):
        fencer = fencing.NoneFencer()
        self.assertRaises(fencing.FencingRefused, fencer.power_off, 'cmp-1')
        self.assertRaises(fencing.FencingRefused, fencer.power_state,
                          'cmp-1')
        self.assertFalse(fencer.wait_off('cmp-1', 0))
        self.flags(group='recovery', fence_without_bmc=True)
        fencer.power_off('cmp-1')
        self.assertTrue(fencer.wait_off('cmp-1', 0))

    def test_ipmi_addresses(self):
        fencer = fencing.IPMIFencer(bmcs={
            'a': '10.0.0.1', 'b': '10.0.0.2:6230', 'c': '[fd00::1]:623',
            'd': 'fd00::2'})
        self.assertEqual(('10.0.0.1', 623), fencer._address('a'))
        self.assertEqual(('10.0.0.2', 6230), fencer._address('b'))
        self.assertEqual(('fd00::1', 623), fencer._address('c'))
        self.assertEqual(('fd00::2', 623), fencer._address('d'))

    def test_single_fencer_falls_back_to_none(self):
        fencer = fencing.IPMIFencer(bmcs={'a': '10.0.0.1'})
        fencers = fencing.as_fencer_set(fencer)
        self.assertIs(fencer, fencers.for_node('a'))
        self.assertEqual('none', fencers.for_node('b').name)
