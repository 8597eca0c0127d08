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

"""The ingest consumer's batch (bad input, ownership moving, misrouted
snapshots) and the agents' side of RPC API 1.4 (partition, pin,
fallback). The broker is crossed in ``functional.engine.test_ingest``
and ``functional.faults.test_ingest_kill``."""

import json
import zlib

import oslo_messaging as messaging
from oslo_messaging import _utils as msg_utils

from vmguard.engine import ingest
from vmguard.engine import rpcapi
from vmguard.objects import records
from vmguard.tests.unit.engine import streams
from vmguard.tests.unit.engine import test_persistence


def _message(snap=None, partition=None, body=None, topic='vmguard-engine',
             partitions=64):
    message = test_persistence._Message(snap or streams.snapshot('n', 1))
    if body is not None:
        message.body = body
    if partition is None and snap is not None:
        partition = rpcapi.partition_of(snap['node'], partitions)
    if partition is not None:
        message.delivery_info = {
            'routing_key': rpcapi.ingest_topic(topic, partition)}
    return message


def _envelope(msg):
    return json.dumps({'oslo.version': '2.0',
                       'oslo.message': json.dumps(msg)})


class TestIngestBatchInput(test_persistence.PreloadTestCase):

    def setUp(self):
        super().setUp()
        self.flags(group='engine', ingest_partitions=64)
        self.consumer = ingest.IngestConsumer(self.conf, self.engine,
                                              self.manager)
        self.all = frozenset(range(self.conf.engine.ingest_partitions))

    def test_bad_messages_are_counted_acknowledged_and_dropped(self):
        good = streams.snapshot('good', 3)
        prim = test_persistence._Message(good)
        inner = json.loads(json.loads(prim.body)['oslo.message'])
        broken = json.loads(json.dumps(inner))
        broken['args']['snapshot']['vmguard_object.data']['cycle'] = 'x'
        bad = [b'\xff not json', '[1, 2]',
               _envelope(dict(inner, method='report_vm_event')),
               _envelope(dict(inner, version='2.0')),
               _envelope(dict(inner, args={'snapshot': 'nope'})),
               _envelope(broken)]
        messages = [_message(body=b, partition=0) for b in bad]
        messages.append(_message(good))
        self.assertFalse(self.consumer.handle_batch(messages, self.all))
        self.assertEqual(6, self.manager.stats['rejected'])
        self.assertEqual(1, self.manager.stats['ingested'])
        self.assertEqual(1, self.engine.pipeline.stats['snapshots'])
        # One ack for the batch: the last message, multiple.
        self.assertEqual([[]] * 6 + [[True]],
                         [m.acked for m in messages])
        self.assertEqual(3, self.engine.persister._nodes['good'].last_cycle)

    def test_partition_moved_away_stops_the_batch_unacknowledged(self):
        nodes = ['a-%d' % i for i in range(40)]
        parts = {n: rpcapi.partition_of(n, 64) for n in nodes}
        gone = parts[nodes[2]]
        owned = self.all - {gone}
        messages = [_message(streams.snapshot(n, 1)) for n in nodes]
        self.assertTrue(self.consumer.handle_batch(messages, owned))
        first_gone = next(i for i, n in enumerate(nodes)
                          if parts[n] == gone)
        self.assertEqual(2, first_gone)
        # Judged and acknowledged up to the first message of the lost
        # partition; the rest stays for the channel's close to requeue.
        self.assertEqual([[], [True]] + [[]] * 38,
                         [m.acked for m in messages])
        self.assertEqual(2, self.engine.pipeline.stats['snapshots'])

    def test_misrouted_snapshot_goes_to_the_owner(self):
        snap = streams.snapshot('lost', 1)
        right = rpcapi.partition_of('lost', 64)
        wrong = (right + 1) % 64
        forwarded = []
        self.engine.forward = lambda ctx, rec, obj: forwarded.append(
            rec) or True
        message = _message(snap, partition=wrong)
        self.assertFalse(self.consumer.handle_batch([message], self.all))
        self.assertEqual(1, self.manager.stats['misrouted'])
        self.assertEqual(['lost'], [r.node for r in forwarded])
        self.assertEqual(0, self.engine.pipeline.stats['snapshots'])
        self.assertEqual([True], message.acked)
        # The owner is this engine: judged here.
        self.engine.forward = lambda ctx, rec, obj: False
        message = _message(streams.snapshot('lost', 2), partition=wrong)
        self.consumer.handle_batch([message], self.all)
        self.assertEqual(1, self.engine.pipeline.stats['snapshots'])


class _Client:
    """EngineAPI's RPC client: what is cast, where, at which version."""

    def __init__(self, cap, undeliverable=False, kwargs=None, sent=None):
        self.cap = cap
        self.undeliverable = undeliverable
        self.kwargs = kwargs or {}
        self.sent = [] if sent is None else sent

    def can_send_version(self, version):
        return msg_utils.version_is_compatible(self.cap, version)

    def prepare(self, **kwargs):
        return _Client(self.cap, self.undeliverable,
                       dict(self.kwargs, **kwargs), self.sent)

    def cast(self, ctxt, method, **kwargs):
        if self.undeliverable and 'topic' in self.kwargs:
            raise messaging.MessageUndeliverable(None, None, None, None)
        self.sent.append((self.kwargs.get('topic'),
                          self.kwargs.get('version'), method))


class TestAgentSide(test_persistence.PreloadTestCase):

    def api(self, cap='1.4', undeliverable=False):
        api = rpcapi.EngineAPI.__new__(rpcapi.EngineAPI)
        api.client = _Client(cap, undeliverable)
        api.topic = 'vmguard-engine'
        api.partitions = 64
        api._fallback_logged = False
        return api

    def send(self, api, node='cmp-7'):
        api.report_snapshot(self.context, records.Snapshot(node, 1))
        return api.client.sent

    def test_partition_is_stable_crc32(self):
        # The same in every process and every release (agents and engines
        # of two releases must agree): CRC-32 of the UTF-8 name.
        self.assertEqual(zlib.crc32(b'cmp-7') % 64,
                         rpcapi.partition_of('cmp-7', 64))
        self.assertEqual(rpcapi.partition_of('n\u00e9', 16),
                         zlib.crc32('n\u00e9'.encode()) % 16)

    def test_snapshot_to_its_partition_queue(self):
        part = rpcapi.partition_of('cmp-7', 64)
        self.assertEqual([('vmguard-engine-ingest.%d' % part, '1.4',
                           'report_snapshot')], self.send(self.api()))

    def test_pinned_agent_uses_the_shared_topic(self):
        self.assertEqual([(None, '1.0', 'report_snapshot')],
                         self.send(self.api(cap='1.3')))

    def test_no_ingest_queue_falls_back_to_the_shared_topic(self):
        api = self.api(undeliverable=True)
        self.assertEqual([(None, '1.0', 'report_snapshot')], self.send(api))
        self.assertTrue(api._fallback_logged)

    def test_pin_option_caps_the_client(self):
        self.flags(group='upgrade_levels', engine='1.3')
        api = rpcapi.EngineAPI(self.conf, transport=messaging.
                               get_rpc_transport(self.conf, url='fake:/'))
        self.assertFalse(api.client.can_send_version('1.4'))
        self.flags(group='upgrade_levels', engine=None)
        api = rpcapi.EngineAPI(self.conf, transport=messaging.
                               get_rpc_transport(self.conf, url='fake:/'))
        self.assertTrue(api.client.can_send_version('1.4'))


class TestIngestOnRabbitMQOnly(test_persistence.PreloadTestCase):

    def setUp(self):
        super().setUp()
        # Registers transport_url.
        messaging.get_rpc_transport(self.conf, url='fake:/').cleanup()
        self.flags(group='engine', ingest_partitions=64)

    def test_partitions_in_use_depend_on_the_transport(self):
        for url, expected in (('rabbit://u:p@h1:5672,u:p@h2:5672/', 64),
                              ('kombu://h/', 64),
                              ('fake://', 0), ('amqp://h/', 0)):
            self.flags(transport_url=url)
            self.assertEqual(expected, rpcapi.ingest_partitions(self.conf),
                             url)
        self.flags(transport_url='rabbit://h/')
        self.flags(group='engine', ingest_partitions=0)
        self.assertEqual(0, rpcapi.ingest_partitions(self.conf))

    def test_ring_places_nodes_one_by_one_without_partitions(self):
        from vmguard.engine import coordination
        self.flags(transport_url='fake://')
        ring = coordination.Coordinator(self.conf, 'a')
        ring._set_members(frozenset(('a', 'b')))
        self.assertEqual(0, ring.partitions)
        self.assertEqual([], ring.owned_partitions())
        owners = {ring.owner('node-%d' % i) for i in range(50)}
        self.assertEqual({'a', 'b'}, owners)
