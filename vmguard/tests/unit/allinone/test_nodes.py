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

"""Unit tests of the all-in-one demo's simulated nodes."""

import json
import os

import fixtures
import libvirt

from vmguard.agent.collectors import inband
from vmguard.allinone import nodes as sim
from vmguard.tests import base


class TestSimNode(base.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.node = sim.SimNode('cmp-x', 2, self.root)

    def test_node_xml_loads_in_the_test_driver(self):
        web = self.node.add_domain('web')
        db = self.node.add_domain('db', vcpus=4, ram_mb=4096)
        self.node.domains[db]['state'] = sim.CRASHED
        self.node.write_xml()
        conn = libvirt.open('test://' + self.node.xml)
        self.addCleanup(conn.close)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         conn.lookupByUUIDString(web).state()[0])
        dom = conn.lookupByUUIDString(db)
        self.assertEqual(libvirt.VIR_DOMAIN_CRASHED, dom.state()[0])
        self.assertEqual(4096 * 1024, dom.info()[1])

    def test_sysfs_tree_matches_the_bmc_identities(self):
        self.node.write_sysfs()
        self.node.prepare_mockup()
        found = inband.InbandCollector(self._conf()).collect().hardware
        disks = {i.id: i.identity for i in found if i.kind == 'disk'}
        self.assertEqual({'disk:sda': 'DISK-SN-CMP-X-0001',
                          'disk:sdb': 'DISK-SN-CMP-X-0002'}, disks)
        drive = os.path.join(self.node.mockup, 'Systems', '1', 'Storage',
                             '1', 'Drives', 'Disk.Bay.1', 'index.json')
        with open(drive) as f:
            self.assertEqual('DISK-SN-CMP-X-0002',
                             json.load(f)['SerialNumber'])
        self.node.remove_disk('sdb')
        found = inband.InbandCollector(self._conf()).collect().hardware
        self.assertEqual(['disk:sda'],
                         [i.id for i in found if i.kind == 'disk'])

    def _conf(self):
        self.flags(sysfs_root=self.node.sysfs,
                   smartctl_path='vmguard-no-smartctl', group='agent')
        return self.conf
