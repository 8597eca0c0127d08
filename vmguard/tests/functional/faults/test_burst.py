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

"""A flood of 10,000 snapshots cast in one burst.

200 nodes x 50 cycles are cast as fast as one client can, cycle after
cycle, with faults on five nodes whose decisions are known. The client is
a process of its own, like the agents (in the test's process it would
share the interpreter with the engine it floods). The test waits
(bounded) until every node's last cycle is stored, then counts the
decisions: each expected one made once, no other. The elapsed times and
the rates go into the table's detail (a report, not an assertion).
"""

import collections
import multiprocessing
import queue
import time

import sqlalchemy as sa

from vmguard.db.sqlalchemy import models
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.engine.test_engine import wait_for
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams

N_NODES = 200
CYCLES = 50
NODES = ['bu-%03d' % i for i in range(N_NODES)]

EXPECTED = collections.Counter({
    ('bu-010', 'R4', 'migrate_all'): 1,
    ('bu-010', 'R4', 'disable_node'): 1,
    ('bu-050', 'R1', 'reboot'): 1,
    ('bu-100', 'R7', 'restart_service'): 1,
    ('bu-150', 'R6', 'migrate_all'): 1,
    ('bu-150', 'R6', 'disable_node'): 1,
    ('bu-199', 'R5', 'migrate_all'): 1,
    ('bu-199', 'R5', 'disable_node'): 1,
})


def _snapshot(node, cycle):
    uuid = streams.vm_uuid(node)
    running = [(uuid,) + streams.RUNNING]
    if node == 'bu-010':
        return streams.snapshot(node, cycle, vms=running,
                                health='critical' if cycle >= 20 else 'ok')
    if node == 'bu-050':
        return streams.snapshot(node, cycle, vms=[(uuid,) + (
            streams.CRASHED if cycle >= 30 else streams.RUNNING)])
    if node == 'bu-100':
        return streams.snapshot(node, cycle, vms=running,
                                service='stopped' if cycle == 25
                                else 'running')
    if node == 'bu-150':
        return streams.snapshot(node, cycle, vms=running,
                                external='failed' if cycle >= 45 else 'ok')
    if node == 'bu-199':
        return streams.snapshot(node, cycle, vms=running,
                                path='oob' if cycle >= 35 else 'inband')
    return streams.snapshot(node, cycle, vms=running)


def _flood(url, topic, results, pause_after=None, go=None,
           partitions=None):
    """Cast the whole stream (in a process of its own).

    With ``pause_after``: cast the cycles up to it, put ``('paused',)``
    on ``results`` and wait for the event ``go`` before the rest."""
    import oslo_messaging as messaging

    from vmguard.common import context
    from vmguard.common import rpc
    import vmguard.conf
    from vmguard.engine import rpcapi
    from vmguard import objects
    from vmguard.objects import snapshot as snapshot_obj

    conf = vmguard.conf.CONF
    conf([], project='vmguard', default_config_files=[])
    objects.register_all()
    # Building a transport registers oslo.messaging's options.
    messaging.get_rpc_transport(conf, url=url).cleanup()
    conf.set_override('transport_url', url)
    rpc.init(conf)
    conf.set_override('topic', topic, group='engine')
    if partitions is not None:
        conf.set_override('ingest_partitions', partitions, group='engine')
    api = rpcapi.EngineAPI(conf)
    ctx = context.get_admin_context()
    # Built first: the burst measures casting, not building.
    stream = [snapshot_obj.Snapshot.from_json_dict(_snapshot(node, cycle))
              for cycle in range(1, CYCLES + 1) for node in NODES]
    results.put(('ready', time.time()))
    started = time.time()
    for snap in stream:
        if pause_after is not None and snap.cycle == pause_after + 1:
            results.put(('paused',))
            go.wait(600)
            pause_after = None
        api.report_snapshot(ctx, snap)
    results.put(('cast', started, time.time(), len(stream)))
    rpc.cleanup()


def start_flood(test, url, topic, pause_after=None, partitions=None):
    """Start :func:`_flood` in a process of its own (cleaned up by
    ``test``). Returns the process, a ``result(timeout)`` function giving
    what it reports next, and the ``go`` event that ends a pause."""
    spawn = multiprocessing.get_context('spawn')
    results = spawn.Queue()
    go = spawn.Event()
    flood = spawn.Process(target=_flood, args=(url, topic, results,
                                               pause_after, go, partitions))
    flood.start()
    test.addCleanup(flood.join, 10)
    test.addCleanup(lambda: flood.is_alive() and flood.kill())

    def result(timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return results.get(timeout=1)
            except queue.Empty:
                test.assertTrue(flood.is_alive() or not results.empty(),
                                'the flood process died (exit code %s)'
                                % flood.exitcode)
        raise AssertionError('the flood process is too slow')
    result.go = go
    return flood, result


class TestSnapshotFlood(EngineFunctionalTestCase):
    """10,000 snapshots in a burst: all judged, decisions made once."""

    def _stored(self):
        """Nodes whose last cycle is stored."""
        with self.db.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(models.Node)
                .where(models.Node.last_cycle == CYCLES)).scalar()

    def test_ten_thousand_snapshots(self):
        total = N_NODES * CYCLES
        self.assertEqual(10000, total)
        agents, result = start_flood(self, self.url, self.topic)
        result(120)
        _kind, started, cast_end, sent = result(600)
        agents.join(60)
        self.assertEqual((total, 0), (sent, agents.exitcode))
        wait_for(lambda: self._stored() == N_NODES, 600, interval=0.2,
                 what='every node stored up to cycle %d' % CYCLES)
        done = time.time()
        cast_done, elapsed = cast_end - started, done - started
        made = self.wait_decisions(EXPECTED, 60)
        stats = self.svc.stats()
        row = table.record(
            'Flood of 10,000 snapshots', EXPECTED.elements(),
            made.elements(),
            '%d nodes x %d cycles cast by one client process in %.1fs '
            '(%.0f/s); all judged and stored %.1fs after the first cast '
            '(%.0f snapshots/s end to end, %.1fs after the last cast); '
            '%d database transactions'
            % (N_NODES, CYCLES, cast_done, total / cast_done, elapsed,
               total / elapsed, done - cast_end,
               stats.get('db_transactions', 0)))
        print(row.detail)
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(EXPECTED, made)
        self.assertEqual(total, stats['snapshots'])
        self.assertEqual(total, stats['pipeline_snapshots'])
        self.assertEqual(0, stats.get('rejected', 0))
