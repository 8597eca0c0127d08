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

"""The RabbitMQ leader of the engine's quorum queue SIGKILLed mid-stream.

A ``vmguard-engine`` process on the test clusters (quorum queues, the
three RabbitMQ hosts in ``transport_url``, Galera, etcd) receives 50
nodes' snapshots, one cycle a second, from a publisher that casts as the
agents do (mandatory, at least once; a failed cast is kept and sent
again). After cycle 5 the member leading the engine's topic queue is
SIGKILLed; it is started again after cycle 12. A new leader takes over,
messages may arrive twice; every expected decision must exist once.
"""

import collections
import time

import fixtures
import oslo_messaging as messaging
from oslo_utils import uuidutils

from vmguard.common import context as vmg_context
from vmguard.db import api as db_api
from vmguard.engine import rpcapi
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base as test_base
from vmguard.tests.functional import base
from vmguard.tests.functional.clusters import engines
from vmguard.tests.functional.clusters import fixtures as clusters
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams

NODES = ['rq%02d' % i for i in range(50)]
CYCLES = 18


class TestQueueLeaderKilled(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.env = clusters.require('galera', 'rabbit', 'etcd')
        self.db = self.useFixture(base.MariaDBDatabase(
            server=self.env['galera_url']))
        self.db.use_as_default(test_base.CONF)
        objects.register_all()
        suffix = uuidutils.generate_uuid(dashed=False)[:10]
        self.topic = 'vmguard-engine-rq-%s' % suffix
        self.tmp = self.useFixture(fixtures.TempDir()).path
        host = 'engine-rq-%s' % suffix
        self.engine = engines.EngineProcess(
            self.tmp, host, engines.config_lines(
                self.env, self.db.url, host, '%s/%s.log' % (self.tmp, host),
                self.topic, 'vmguard-rq-%s' % suffix))
        self.addCleanup(self.engine.reap)

    def _publisher(self):
        messaging.get_rpc_transport(self.conf).cleanup()
        self.flags(group='oslo_messaging_rabbit', rabbit_quorum_queue=True)
        self.flags(group='engine', topic=self.topic)
        transport = messaging.get_rpc_transport(
            self.conf, url=self.env['rabbit_url'])
        self.addCleanup(transport.cleanup)
        api = rpcapi.EngineAPI(self.conf, transport=transport)
        api.client = api.client.prepare(
            retry=2,
            transport_options=messaging.TransportOptions(at_least_once=True))
        return api

    def test_queue_leader_killed_while_agents_publish(self):
        engines.wait_for(lambda: 'started on topic' in self.engine.log(),
                         timeout=90, what='the engine RPC server')
        queue = clusters.queues()[self.topic]
        self.assertEqual('quorum', queue['type'])
        api = self._publisher()
        ctx = vmg_context.get_admin_context()
        buffered = collections.deque()
        failures = 0
        killed = {}
        self.addCleanup(clusters.start, queue['leader'])
        for cycle in range(1, CYCLES + 1):
            started = time.monotonic()
            buffered.extend(
                snapshot_obj.Snapshot.from_json_dict(
                    engines.node_snapshot(i, name, cycle, crash_cycle=8))
                for i, name in enumerate(NODES))
            while buffered:
                try:
                    api.report_snapshot(ctx, buffered[0])
                except messaging.MessagingException:
                    # As the agent does: keep it and send it again later.
                    failures += 1
                    break
                buffered.popleft()
            if cycle == 5:
                killed['leader'] = queue['leader']
                clusters.kill(queue['leader'])
                killed['at'] = time.monotonic()
            if cycle == 12:
                clusters.start(killed['leader'])
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        engines.wait_for(lambda: not buffered or self._drain(api, ctx,
                                                            buffered),
                         timeout=60, what='the buffer sent')
        new_leader = clusters.queues()[self.topic]['leader']
        want = engines.expected(NODES)

        def done():
            rows = db_api.decision_list(self.context)
            return rows if len(rows) >= sum(want.values()) else None
        try:
            engines.wait_for(done, timeout=60, what='all decisions')
        except AssertionError:
            pass
        time.sleep(2)
        got = streams.counted(db_api.decision_list(self.context))
        row = table.record(
            'RabbitMQ leader of the engine queue SIGKILLed (clusters)',
            want.elements(), got.elements(),
            '50 nodes x %d cycles, quorum queue leader %s killed after '
            'cycle 5 and started after cycle 12, new leader %s; %d casts '
            'failed and were sent again'
            % (CYCLES, killed['leader'], new_leader, failures))
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(want, got)
        self.assertIsNone(self.engine.proc.poll())

    @staticmethod
    def _drain(api, ctx, buffered):
        while buffered:
            try:
                api.report_snapshot(ctx, buffered[0])
            except messaging.MessagingException:
                return False
            buffered.popleft()
        return True
