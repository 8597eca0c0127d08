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

"""Random valid and malformed payloads through the real RabbitMQ.

The unit properties (vmguard/tests/unit/properties/) check the validation
itself; this one crosses the real boundary. Hypothesis draws batches of
valid snapshots and crash events (agents' primitives), damaged snapshot
and event payloads (cast as an agent would), and raw AMQP bodies that are
no RPC message at all (bytes that are not JSON or not UTF-8, JSON lists
nested 100,000 deep), in any order. They go through RabbitMQ to a real
engine storing in MariaDB. After each batch the engine still serves (a
snapshot sent last is stored), every valid snapshot and event is stored,
every damaged payload is counted as exactly one rejected snapshot or
event, a raw body as at most one rejected message (oslo.messaging's
driver drops most of them itself, with a log), and no node of a damaged
payload exists.
"""

import json
import time

import hypothesis
from hypothesis import strategies as st
import oslo_messaging as messaging

from vmguard.common import exception
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.tests.functional.engine import test_engine
from vmguard.tests.unit.engine import streams
from vmguard.tests.unit.properties import strategies as s

_ARG = {'snapshot': 'snapshot', 'vm_event': 'event'}


def _castable(case):
    """A damaged payload oslo.messaging can serialise (not nested deep)."""
    try:
        return '[' * 100 not in json.dumps(case[0])
    except (ValueError, RecursionError):
        return False


raw_bodies = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b'\xff\xfe\x00', b'\xed\xa0\x80', b'[1, 2, 3]',
                     b'null', b'"report_snapshot"', b'NaN']),
    st.sampled_from([1000, 100000]).map(lambda n: b'[' * n + b']' * n),
    # An object, but no RPC message.
    st.sampled_from([b'{}', b'{"method": 5}', b'{"oslo.version": "2.0"}']),
)

batches = st.lists(st.one_of(
    (s.snapshots | s.vm_events).map(lambda d: ('good', d)),
    s.broken_primitive().filter(_castable).map(lambda c: ('bad', c)),
    raw_bodies.map(lambda b: ('raw', b))), min_size=1, max_size=8)


def _stored(context, node, cycle):
    try:
        return db_api.node_get(context, node).last_cycle == cycle
    except exception.NodeNotFound:
        return False


class TestRandomPayloadsThroughTheBroker(
        test_engine.EngineFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.client = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=self.topic))
        self.batch = 0
        self.raw_sent = 0

    def _raw_publish(self, bodies):
        # The poison test's publisher: straight to the engine's topic.
        test_engine.TestPoison._raw_publish(self, bodies)

    @hypothesis.settings(max_examples=25)
    @hypothesis.given(batches)
    def test_engine_keeps_serving_and_stores_every_valid_one(self, batch):
        self.batch += 1
        stats = self.svc.manager.stats
        rejected = stats['rejected_snapshot'] + stats['rejected_vm_event']
        snapshots, events, bad_nodes = {}, [], set()
        n_bad = 0
        for i, (verdict, item) in enumerate(batch):
            if verdict == 'raw':
                self.raw_sent += 1
                self._raw_publish([(item, 'application/json')])
                continue
            if verdict == 'good':
                data = dict(item, node='prop-%d-%d' % (self.batch, i))
                # Valid under SPEC revision 2 as well: not ahead of the
                # engine's clock, and a crash event only of a node that
                # has reported (both are tested in test_bad_input).
                now = int(time.time() // self.conf.engine.cycle_interval)
                if data['cycle'] > now:
                    data['cycle'] %= now + 1
                kind, prim = data['type'], s.object_primitive(data)
                if kind == 'snapshot':
                    snapshots[data['node']] = data['cycle']
                else:
                    first = streams.snapshot(data['node'], data['cycle'])
                    self.cast(first)
                    snapshots[data['node']] = data['cycle']
                    events.append(data['node'])
            else:
                prim, kind, words = item
                n_bad += 1
                body = prim.get(s.DATA)
                if (isinstance(body, dict) and isinstance(body.get('node'),
                                                          str)
                        and "'node'" not in words):
                    # A name of its own: it must not appear in the
                    # database.
                    body['node'] = 'bad-%d-%d' % (self.batch, i)
                    bad_nodes.add(body['node'])
            self.client.cast({}, 'report_' + kind, **{_ARG[kind]: prim})
        # Sent last: the engine still serves.
        sentinel = 'prop-%d-sentinel' % self.batch
        self.cast(streams.snapshot(sentinel, 1))
        test_engine.wait_for(lambda: _stored(self.context, sentinel, 1),
                             what='the last snapshot stored')
        for node, cycle in snapshots.items():
            test_engine.wait_for(
                lambda node=node, cycle=cycle: _stored(self.context, node,
                                                       cycle),
                what='snapshot of %s stored' % node)
        for node in events:
            test_engine.wait_for(
                lambda node=node: db_api.vm_event_list(self.context,
                                                       node=node),
                what='event of %s stored' % node)
        def bad():
            return stats['rejected_snapshot'] + stats['rejected_vm_event']
        test_engine.wait_for(lambda: bad() >= rejected + n_bad,
                             what='%d rejections' % n_bad)
        self.assertEqual(rejected + n_bad, bad())
        # (Over all batches: one may count late what another sent.)
        self.assertLessEqual(stats['rejected_message'], self.raw_sent)
        names = {n.name for n in db_api.node_list(self.context)}
        self.assertEqual(set(), bad_nodes & names)
