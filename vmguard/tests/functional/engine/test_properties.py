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

"""Random valid and broken snapshots through the real RabbitMQ.

The unit properties (vmguard/tests/unit/test_properties.py) check the
validation itself; this one crosses the real boundary: hypothesis draws a
batch of valid snapshots and damaged snapshot payloads, they are cast
through RabbitMQ to a real engine on MariaDB, and every batch must end with
each broken payload counted once as a rejection, each valid snapshot
stored, and the engine still serving.
"""

import json

import hypothesis
from hypothesis import strategies as st
import oslo_messaging as messaging

from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.engine.test_engine import wait_for
from vmguard.tests.unit import test_properties as props


class TestRandomPayloadsThroughTheBroker(EngineFunctionalTestCase):

    @hypothesis.settings(max_examples=12)
    @hypothesis.given(st.lists(st.one_of(
        props.snapshots.map(lambda d: ('good', d)),
        props.broken_primitives().map(lambda p: ('bad', p))),
        min_size=1, max_size=8))
    def test_bad_ones_counted_good_ones_stored(self, batch):
        client = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=self.topic))
        self._batches = getattr(self, '_batches', 0) + 1
        rejected = self.svc.manager.stats['rejected']
        stored = {}
        for i, (kind, payload) in enumerate(batch):
            if kind == 'good':
                for item in payload['hardware']:
                    item.pop('detail', None)
                payload = dict(payload, node='prop-%d-%d'
                               % (self._batches, i))
                stored[payload['node']] = payload['cycle']
                payload = json.loads(json.dumps(
                    props._primitive(payload)))
            else:
                rejected += 1
            client.cast({}, 'report_snapshot', snapshot=payload)
        wait_for(lambda: self.svc.manager.stats['rejected'] >= rejected,
                 what='%d rejections' % rejected)
        for node, cycle in stored.items():
            wait_for(lambda node=node: db_api.node_get(self.context, node)
                     if _exists(self.context, node) else None,
                     what='node %s stored' % node)
            self.assertEqual(cycle,
                             db_api.node_get(self.context, node).last_cycle)
        self.assertEqual(rejected, self.svc.manager.stats['rejected'])


def _exists(context, node):
    try:
        return db_api.node_get(context, node).last_cycle is not None
    except Exception:
        return False
