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

"""A Galera member SIGKILLed during a snapshot flood, recoveries running.

The engine (in this process, so that its fake compute back end can be
counted) stores through HAProxy into the 3-node Galera cluster and takes
its snapshots from the 3-node RabbitMQ cluster (quorum queues). A client
process casts 100 nodes x 100 cycles = 10,000 snapshots as fast as it can;
three fifths of the nodes have faults whose recoveries (100) run on the
fake back end. When a third of the nodes are stored at cycle 7 (their
recoveries running), the Galera member HAProxy writes to is SIGKILLed:
HAProxy cuts its sessions and fails over, the engine sees lost
connections (and, when the member rejoins, certification conflicts).
Every expected decision must be made once and every Nova action issued
once.
"""

import collections
import multiprocessing
import queue
import time

import oslo_messaging as messaging
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmguard.common import rpc
from vmguard.compute import fake
from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import models
from vmguard.engine import recovery
from vmguard.engine import service
from vmguard import objects
from vmguard.tests import base as test_base
from vmguard.tests.functional import base
from vmguard.tests.functional.clusters import engines
from vmguard.tests.functional.clusters import fixtures as clusters
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams

N_NODES = 100
CYCLES = 100
NODES = ['gf-%03d' % i for i in range(N_NODES)]
ACTIONS = ('reboot_server', 'evacuate_server', 'live_migrate_server',
           'migrate_server', 'disable_service', 'force_down_service')


def _flood(url, topic, results):
    """Cast the whole stream (in a process of its own, like agents)."""
    import oslo_messaging as messaging

    from vmguard.common import context
    from vmguard.common import rpc as vmg_rpc
    import vmguard.conf
    from vmguard.engine import rpcapi
    from vmguard import objects as vmg_objects
    from vmguard.objects import snapshot as snapshot_obj

    conf = vmguard.conf.CONF
    conf([], project='vmguard', default_config_files=[])
    vmg_objects.register_all()
    messaging.get_rpc_transport(conf, url=url).cleanup()
    conf.set_override('transport_url', url)
    conf.set_override('rabbit_quorum_queue', True,
                      group='oslo_messaging_rabbit')
    vmg_rpc.init(conf)
    conf.set_override('topic', topic, group='engine')
    api = rpcapi.EngineAPI(conf)
    api.client = api.client.prepare(
        transport_options=messaging.TransportOptions(at_least_once=True))
    ctx = context.get_admin_context()
    stream = [snapshot_obj.Snapshot.from_json_dict(
        engines.node_snapshot(i, node, cycle, crash_cycle=8))
        for cycle in range(1, CYCLES + 1) for i, node in enumerate(NODES)]
    results.put(('ready', time.time()))
    started = time.time()
    for snap in stream:
        api.report_snapshot(ctx, snap)
    results.put(('cast', started, time.time(), len(stream)))
    vmg_rpc.cleanup()


class TestGaleraMemberKilled(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.env = clusters.require('galera', 'rabbit')
        self.flags(group='database', wsrep_sync_wait=1)
        self.db = self.useFixture(base.MariaDBDatabase(
            server=self.env['galera_url']))
        self.db.use_as_default(test_base.CONF)
        objects.register_all()
        suffix = uuidutils.generate_uuid(dashed=False)[:10]
        messaging.get_rpc_transport(
            self.conf, url=self.env['rabbit_url']).cleanup()
        self.topic = 'vmguard-engine-gf-%s' % suffix
        self.flags(transport_url=self.env['rabbit_url'],
                   host='engine-gf-%s' % suffix)
        self.flags(group='oslo_messaging_rabbit', rabbit_quorum_queue=True)
        self.flags(group='engine', topic=self.topic, periodic_interval=1,
                   silent_cycles=30)
        self.flags(group='notifications', nova_listener=False, emit=False)
        self.flags(group='recovery', dry_run=False, retry_interval=0.2)
        self.compute = fake.FakeComputeDriver()
        for node in NODES:
            self.compute.add_host(node)
            self.compute.add_server(streams.vm_uuid(node), node)
        executor = recovery.RecoveryExecutor(
            driver=self.compute, owner='engine-gf-%s' % suffix)
        self.addCleanup(rpc.cleanup)
        self.svc = service.EngineService(self.conf,
                                         recovery_executor=executor)
        self.svc.start()
        self.addCleanup(self.svc.stop)
        # The member is started again whatever happens.
        self.addCleanup(clusters.start, 'galera1')

    def _stored(self, cycle):
        with self.db.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(models.Node)
                .where(models.Node.last_cycle >= cycle)).scalar()

    def _stored_safe(self, cycle):
        try:
            return self._stored(cycle)
        except Exception:
            return 0

    def _issued(self):
        return collections.Counter(
            (c[0], c[1]) for c in list(self.compute.calls)
            if c[0] in ACTIONS)

    def _final(self):
        with self.db.engine.connect() as conn:
            return conn.execute(
                sa.select(models.Recovery.status)).scalars().all()

    def test_galera_member_killed_during_flood(self):
        spawn = multiprocessing.get_context('spawn')
        results = spawn.Queue()
        flood = spawn.Process(target=_flood, args=(
            self.env['rabbit_url'], self.topic, results))
        flood.start()
        self.addCleanup(flood.join, 10)
        self.addCleanup(lambda: flood.is_alive() and flood.kill())
        try:
            results.get(timeout=120)
        except queue.Empty:
            self.fail('the flood process did not start (exit %s)'
                      % flood.exitcode)
        engines.wait_for(lambda: self._stored(7) >= N_NODES // 3, 120,
                         what='a third of the nodes stored at cycle 7')
        clusters.kill('galera1')
        killed = time.time()
        _kind, started, cast_end, sent = results.get(timeout=900)
        flood.join(60)
        self.assertEqual((N_NODES * CYCLES, 0), (sent, flood.exitcode))
        engines.wait_for(lambda: self._stored_safe(CYCLES) == N_NODES, 600,
                         interval=0.5,
                         what='every node stored up to cycle %d' % CYCLES)
        stored_at = time.time()
        want = engines.expected(NODES)

        def decided():
            got = streams.counted(self._decisions())
            return got if sum(got.values()) >= sum(want.values()) else None
        try:
            engines.wait_for(decided, 60, what='decisions')
        except AssertionError:
            pass
        terminal = {'succeeded', 'failed', 'skipped', 'escalated',
                    'cancelled'}
        try:
            engines.wait_for(
                lambda: all(s in terminal for s in self._final()), 120,
                what='every recovery finished')
        except AssertionError:
            pass
        time.sleep(2)
        got = streams.counted(self._decisions())
        issued = self._issued()
        twice = {k: n for k, n in issued.items() if n > 1}
        statuses = collections.Counter(self._final())
        stats = self.svc.stats()
        row = table.record(
            'Galera member SIGKILLed during a flood (clusters)',
            want.elements(), got.elements(),
            '%d nodes x %d cycles = %d snapshots cast in %.1fs; the '
            'HAProxy writer killed %.1fs after the first cast; all stored '
            '%.1fs after it; recoveries %s; Nova actions %d, issued twice '
            '%d; %d database transactions'
            % (N_NODES, CYCLES, sent, cast_end - started, killed - started,
               stored_at - started, dict(statuses), sum(issued.values()),
               len(twice), stats.get('db_transactions', 0)))
        print(row.detail)
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(want, got)
        self.assertEqual({}, twice)
        self.assertEqual({'succeeded'}, set(statuses), statuses)
        self.assertEqual(N_NODES * CYCLES, stats['pipeline_snapshots'])

    def _decisions(self):
        return db_api.decision_list(self.context)
