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

"""Nova's FakeDriver with a stable node identity, so it can restart.

The stock FakeDriver derives its node UUID from a sentinel that changes
with every process and writes no ``compute_id`` file, so a restarted
nova-compute refuses to start (or registers a second node). This subclass
derives the UUID from the node name and persists it in ``state_path``.
Loaded by nova-compute as ``compute_driver =
vmguard_nova_fake.StableFakeDriver`` (this directory on PYTHONPATH).
"""

import os
import uuid

from nova.virt import fake
from nova.virt import node as virt_node

import nova.conf

CONF = nova.conf.CONF
NAMESPACE = uuid.UUID('6f1f4a8e-5b7e-4d2c-9a51-7f0a6d2b9c11')


def node_uuid(nodename):
    return str(uuid.uuid5(NAMESPACE, nodename))


class StableFakeDriver(fake.FakeDriver):

    def init_host(self, host):
        super().init_host(host)
        path = os.path.join(CONF.state_path, virt_node.COMPUTE_ID_FILE)
        if not os.path.exists(path):
            virt_node.write_local_node_uuid(node_uuid(self._nodes[0]))

    def get_available_resource(self, nodename):
        resources = super().get_available_resource(nodename)
        if resources:
            resources['uuid'] = node_uuid(nodename)
        return resources

    def get_nodenames_by_uuid(self, refresh=False):
        return {node_uuid(n): n for n in self.get_available_nodes()}
