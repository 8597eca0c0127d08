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

"""Ingest queues over the real RabbitMQ: where agents' snapshots go.

* With an engine of this release, a snapshot travels on its node's
  partition queue (single active consumer) and is judged from there.
* During a rolling upgrade, an agent of this release next to engines of
  the previous one (an RPC server on the shared topic, no ingest queue):
  its 1.4 cast is returned by RabbitMQ and sent again to the shared topic;
  pinned (``[upgrade_levels] engine = 1.3``) it goes there at once.
"""

import kombu
import oslo_messaging as messaging
from oslo_utils import uuidutils

from vmguard.common import rpc
from vmguard.engine import ingest
from vmguard.engine import rpcapi
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional.engine import test_engine
from vmguard.tests.functional import base
from vmguard.tests.unit.engine import streams


def _agent_api(conf):
    """EngineAPI as the agent builds it (vmguard.agent.manager)."""
    api = rpcapi.EngineAPI(conf)
    api.client = api.client.prepare(
        retry=1, transport_options=messaging.TransportOptions(
            at_least_once=True))
    return api


class TestIngestQueues(test_engine.EngineFunctionalTestCase):

    def configure(self):
        self.flags(group='engine', ingest_partitions=64)

    def test_snapshot_judged_from_its_partition_queue(self):
        partitions = self.conf.engine.ingest_partitions
        test_engine.wait_for(
            lambda: len(self.svc.ingest.consuming) == partitions, 30,
            what='the engine consuming every partition')
        queues = ingest.ingest_queues(self.conf)
        with kombu.Connection(ingest.kombu_urls(self.conf)[0]) as conn:
            channel = conn.channel()
            for q in queues:
                _name, _count, consumers = channel.queue_declare(
                    q.name, passive=True)
                # Every partition is declared; this engine consumes all.
                self.assertEqual(1, consumers, q.name)
        api = _agent_api(self.conf)
        api.report_snapshot(self.ctx, snapshot_obj.Snapshot.from_json_dict(
            streams.snapshot('iq-1', 7)))
        test_engine.wait_for(
            lambda: self.svc.stats().get('ingested') == 1, 30,
            what='the snapshot taken from its ingest queue')
        test_engine.wait_for(
            lambda: self.svc.stats().get('ingest_batches') == 1, 30,
            what='its batch stored and acknowledged')
        self.assertEqual(0, self.svc.stats().get('forwarded', 0))


class _OldEngine:
    """What an engine of the previous release serves: RPC API 1.3 on the
    shared topic, no ingest queues."""

    target = messaging.Target(version='1.3')

    def __init__(self):
        self.snapshots = []

    def report_snapshot(self, context, snapshot, forwarded=False):
        self.snapshots.append(snapshot)


class TestRollingUpgrade(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        messaging.get_rpc_transport(self.conf, url=self.url).cleanup()
        topic = 'vmguard-engine-old-%s' % uuidutils.generate_uuid(
            dashed=False)[:10]
        self.flags(transport_url=self.url, host='old-engine')
        self.flags(group='engine', topic=topic, ingest_partitions=64)
        rpc.init(self.conf)
        self.addCleanup(rpc.cleanup)
        self.old = _OldEngine()
        server = rpc.get_server(
            messaging.Target(topic=topic, server='old-engine'), [self.old])
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)

    def _send(self, node):
        from vmguard.common import context as vmg_context
        _agent_api(self.conf).report_snapshot(
            vmg_context.get_admin_context(),
            snapshot_obj.Snapshot.from_json_dict(streams.snapshot(node, 1)))
        test_engine.wait_for(lambda: any(
            s.node == node for s in self.old.snapshots), 30,
            what='the old engine to receive the snapshot of %s' % node)

    def test_unpinned_agent_falls_back_to_the_shared_topic(self):
        self._send('up-1')

    def test_pinned_agent_sends_to_the_shared_topic(self):
        self.flags(group='upgrade_levels', engine='1.3')
        api = _agent_api(self.conf)
        self.assertFalse(api.client.can_send_version('1.4'))
        self._send('up-2')
