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

"""Names that are not text, from a real sysfs tree to a real engine.

A real agent (in-band collector on a sysfs tree the test writes, libvirt
collector on the test:///default driver) whose NIC directory is named with
the bytes ``b'eth\\xff0'`` (not UTF-8) and whose disk serial holds a
control character sends its snapshot over RabbitMQ to a real engine
(MariaDB): the snapshot is stored, not rejected, under the escaped ids.
The same snapshot unescaped is rejected whole by that engine -- which is
what the agent's escaping prevents.
"""

import os

from vmguard.agent import manager
from vmguard.common import exception
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.tests.functional.agent import fixtures as agent_fixtures
from vmguard.tests.functional.engine import test_engine

NIC = os.fsdecode(b'eth\xff0')


class TestNamesThatAreNotText(test_engine.EngineFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.node = 'ft-escape-%s' % self.topic[-10:]
        self.sysfs = self.useFixture(agent_fixtures.SysfsTree())
        self.sysfs.add_nic(NIC, '52:54:00:aa:bb:01')
        self.sysfs.add_nic('eth1', '52:54:00:aa:bb:02')
        self.sysfs.add_disk('sda', serial='S3\x01Z')
        self.flags(group='agent', node_name=self.node,
                   collectors=['inband', 'libvirt'],
                   libvirt_uri='test:///default',
                   sysfs_root=self.sysfs.root)
        self.stats = self.svc.manager.stats

    def _agent(self):
        agent = manager.AgentManager(self.conf, transport=rpc.TRANSPORT)
        self.addCleanup(agent._pool.shutdown, wait=False)
        return agent

    def test_snapshot_is_stored_with_escaped_ids(self):
        self.assertIn(os.fsencode(NIC),
                      os.listdir(os.fsencode(os.path.join(
                          self.sysfs.root, 'class', 'net'))))
        rejected = self.stats['rejected_snapshot']
        agent = self._agent()
        snap = agent.run_cycle()
        self.assertEqual(0, agent.buffered())

        def stored():
            try:
                node = db_api.node_get(self.context, self.node)
            except exception.NodeNotFound:
                return None
            return node if node.last_cycle == snap.cycle else None

        node = test_engine.wait_for(stored, what='the snapshot stored')
        items = {i.item_id: i for i in
                 db_api.hardware_item_list(self.context, node.id)}
        self.assertEqual({'nic:eth\\xff0', 'nic:eth1', 'disk:sda'},
                         set(items))
        self.assertEqual('S3\\x01Z', items['disk:sda'].identity)
        self.assertEqual('52:54:00:aa:bb:01',
                         items['nic:eth\\xff0'].identity)
        # The libvirt test driver's domain came along in the same snapshot.
        self.assertEqual(sorted(v.uuid for v in snap.vms),
                         [vm.uuid for vm, _n in
                          db_api.vm_list(self.context, node=self.node)])
        self.assertNotEqual([], snap.vms)
        self.assertEqual(rejected, self.stats['rejected_snapshot'])

    def test_unescaped_snapshot_is_rejected_by_the_engine(self):
        # Without the agent's escaping (the hole it closes), the engine
        # rejects the node's whole snapshot.
        agent = self._agent()
        agent.sanitizer.snapshot = lambda snap: snap
        rejected = self.stats['rejected_snapshot']
        agent.run_cycle()
        test_engine.wait_for(
            lambda: self.stats['rejected_snapshot'] > rejected,
            what='the snapshot rejected')
        self.assertRaises(exception.NodeNotFound, db_api.node_get,
                          self.context, self.node)
