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

"""An engine SIGKILLed during a flood of 10,000 snapshots.

Two real ``vmguard-engine`` processes share the nodes through tooz/Redis
and consume the ingest partitions the ring gives each (RPC API 1.4). The
stream of the flood test (200 nodes x 50 cycles, faults on five nodes
whose decisions are known, most of them after the kill) is cast by a
client process; once the first engine has judged and stored part of it,
it is SIGKILLed -- batches in hand, judged or not, stored or not, never
acknowledged. The survivor sees it leave the group, takes its
partitions, and RabbitMQ delivers it what the dead one had not
acknowledged. Counted: every node stored up to its last cycle, every
expected decision made once and no other, and nothing left in any
ingest queue (every snapshot acknowledged by the engine that stored it).
"""

import collections
import os
import signal
import tempfile
import time

import kombu
import oslo_messaging as messaging
import sqlalchemy as sa
from testtools import content

from vmguard.db.sqlalchemy import models
from vmguard.engine import coordination
from vmguard.engine import ingest
from vmguard.tests.functional import base
from vmguard.tests.functional.faults import daemons
from vmguard.tests.functional.faults import table
from vmguard.tests.functional.faults import test_burst

PARTITIONS = 16
# The flood pauses after this cycle until the engine is killed.
PAUSE_AFTER = 30


class TestEngineKilledDuringFlood(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        self.redis = self.require_redis()
        self.db = self.mariadb()
        self.tmp = tempfile.mkdtemp(prefix='vmguard-ingest-kill-')
        suffix = os.path.basename(self.tmp)[-8:].replace('_', 'x')
        self.topic = 'vmguard-engine-ik-%s' % suffix
        # Building a transport registers oslo.messaging's options.
        messaging.get_rpc_transport(self.conf, url=self.url).cleanup()
        self.flags(transport_url=self.url)
        self.flags(group='engine', topic=self.topic,
                   ingest_partitions=PARTITIONS)
        self.addCleanup(ingest.delete_queues, self.conf)
        self.group = 'vmguard-ik-%s' % suffix
        self.engines = []

    def _config(self, n):
        return daemons.write_config(
            os.path.join(self.tmp, 'engine-%d.conf' % n), {
                'DEFAULT': {'transport_url': self.url,
                            'host': 'ik-engine-%d' % n},
                'database': {'connection': self.db.url},
                'coordination': {'backend_url': self.redis,
                                 'group': self.group,
                                 'membership_timeout': 3,
                                 'heartbeat_interval': 0.5},
                'engine': {'topic': self.topic,
                           'ingest_partitions': PARTITIONS,
                           'periodic_interval': 1,
                           # Cycles of the stream are numbered 1..50:
                           # silence is judged on wall-clock time, and a
                           # partition waits a few seconds for its new
                           # owner; the flood is not about silent nodes.
                           'silent_cycles': 1000,
                           'storm_min_nodes': 100},
                'notifications': {'nova_listener': False, 'emit': False},
                'recovery': {'dry_run': True, 'compute_driver': 'fake'},
                # Two engines on one machine: one metrics port.
                'metrics': {'enabled': False},
            })

    def _start(self, n):
        engine = daemons.Daemon('engine', self._config(n),
                                os.path.join(self.tmp, 'engine-%d.log' % n))
        self.addCleanup(engine.kill)
        self.addCleanup(lambda: self.addDetail(
            'engine-%d-log' % n, content.text_content(engine.log_tail(20000))))
        engine.start()
        daemons.wait_for(lambda: 'started on topic' in engine.log_tail(
            200000), 60, what='vmguard-engine %d to start' % n,
            alive=(engine,))
        self.engines.append(engine)
        return engine

    def _stored(self, cycle=test_burst.CYCLES):
        with self.db.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(models.Node)
                .where(models.Node.last_cycle >= cycle)).scalar()

    def _last_cycle(self, node):
        with self.db.engine.connect() as conn:
            return conn.execute(
                sa.select(models.Node.last_cycle)
                .where(models.Node.name == node)).scalar() or 0

    def _decisions(self):
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(
                models.Decision.node, models.Decision.rule,
                models.Decision.action)).all()
        return collections.Counter(tuple(r) for r in rows)

    def _left_in_queues(self):
        left = 0
        with kombu.Connection(ingest.kombu_urls(self.conf)[0]) as conn:
            channel = conn.channel()
            for q in ingest.ingest_queues(self.conf, channel):
                _name, messages, _consumers = channel.queue_declare(
                    q.name, passive=True)
                left += messages
        return left

    def test_sigkill_mid_flood_loses_and_doubles_nothing(self):
        first = self._start(1)
        second = self._start(2)
        # Both members in both rings before the flood: each consumes its
        # own partitions.
        daemons.wait_for(
            lambda: all('ik-engine-1, ik-engine-2' in e.log_tail(10 ** 6)
                        for e in (first, second)), 30,
            what='both engines in the group', alive=(first, second))
        total = test_burst.N_NODES * test_burst.CYCLES
        flood, result = test_burst.start_flood(
            self, self.url, self.topic, PAUSE_AFTER, PARTITIONS)
        result(120)
        # The engine killed is the owner of bu-100, whose service is
        # down in one snapshot only (cycle 25: R7): if that snapshot were
        # lost with the engine, the decision would be too. Once bu-100 is
        # stored past cycle 15 the victim is frozen (SIGSTOP: its
        # prefetched, unacknowledged messages stay with it), the flood
        # casts on up to cycle 30 -- bu-100's cycle 25 among it -- and the
        # victim is SIGKILLed; then the rest of the stream is cast.
        ring = coordination.Coordinator(self.conf, 'ik-test')
        ring._set_members(frozenset(('ik-engine-1', 'ik-engine-2')))
        victim, survivor = ((first, second)
                            if ring.owner('bu-100') == 'ik-engine-1'
                            else (second, first))
        daemons.wait_for(lambda: self._last_cycle('bu-100') >= 15, 300,
                         interval=0.01, what='bu-100 stored past cycle 15',
                         alive=(first, second))
        os.kill(victim.pid, signal.SIGSTOP)
        at_kill = self._last_cycle('bu-100')
        self.assertEqual(('paused',), result(300))
        victim.kill()
        stored_at_kill = self._stored(15)
        killed_at = time.time()
        # The scenario: killed with bu-100's fault in its hands or queued.
        self.assertLess(at_kill, 25)
        result.go.set()
        _kind, _started, _cast_end, sent = result(600)
        flood.join(60)
        self.assertEqual((total, 0), (sent, flood.exitcode))

        daemons.wait_for(lambda: self._stored() == test_burst.N_NODES, 600,
                         interval=0.2, alive=(survivor,),
                         what='every node stored up to cycle %d'
                         % test_burst.CYCLES)
        done = time.time()
        expected = test_burst.EXPECTED

        def all_made():
            made = self._decisions()
            return made if sum(made.values()) >= sum(expected.values()) \
                else None
        try:
            daemons.wait_for(all_made, 60, what='the decisions')
        except AssertionError:
            pass
        made = self._decisions()
        left = self._left_in_queues()
        took_over = survivor.log_tail(10 ** 7).count(
            'Consuming ingest partitions')
        row = table.record(
            'Engine SIGKILLed during a 10,000-snapshot flood',
            expected.elements(), made.elements(),
            'two engines on %d ingest partitions; the owner of bu-100 '
            '(one-cycle service fault at cycle 25) SIGKILLed with bu-100 '
            'stored up to cycle %d and %d of %d nodes past cycle 15; the '
            'survivor took its partitions and finished %.1fs later; %d of '
            '%d snapshots sent, every node stored up to cycle %d, %d '
            'messages left in the ingest queues'
            % (PARTITIONS, at_kill, stored_at_kill, test_burst.N_NODES,
               done - killed_at, sent, total, test_burst.CYCLES, left))
        print(row.detail)
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(expected, made)
        self.assertEqual(0, left)
        # The survivor consumed again after the death (its partitions
        # plus the dead one's).
        self.assertGreaterEqual(took_over, 2)
