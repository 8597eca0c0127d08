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

"""Two ``vmguard-engine`` processes share 50 nodes; one is SIGKILLed.

Real RabbitMQ, MariaDB and Redis (tooz). Every expected decision must
exist exactly once afterwards, the survivor must have taken the dead
engine's nodes over, and nothing may be decided that should not be (no
node of the dead engine judged silent).
"""

import collections
import os
import signal
import subprocess
import sys
import time

import fixtures
import oslo_messaging as messaging
from oslo_utils import uuidutils
import tooz.coordination

from vmguard.common import context as vmg_context
from vmguard.db import api as db_api
from vmguard.engine import rpcapi
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional import base
from vmguard.tests.functional.engine import test_engine
from vmguard.tests.unit.engine import streams

NODES = ['n%02d' % i for i in range(50)]
CYCLES = 16
KILL_AFTER = 6


def node_snapshot(i, name, cycle):
    uuid = streams.vm_uuid(name)
    kind = i % 5
    if kind == 0:
        return streams.snapshot(name, cycle, vms=[(uuid,) + streams.RUNNING],
                                health='critical' if cycle >= 3 else 'ok')
    if kind == 1:
        return streams.snapshot(name, cycle, vms=[(uuid,) + streams.RUNNING],
                                external='failed' if cycle >= 5 else 'ok')
    if kind == 2:
        state = streams.CRASHED if cycle >= 9 else streams.RUNNING
        return streams.snapshot(name, cycle, vms=[(uuid,) + state])
    return streams.snapshot(name, cycle, vms=[(uuid,) + streams.RUNNING],
                            ram=400000)


def expected():
    out = collections.Counter()
    for i, name in enumerate(NODES):
        kind = i % 5
        if kind == 0:
            out[(name, 'R4', 'migrate_all')] += 1
            out[(name, 'R4', 'disable_node')] += 1
        elif kind == 1:
            out[(name, 'R6', 'migrate_all')] += 1
            out[(name, 'R6', 'disable_node')] += 1
        elif kind == 2:
            out[(name, 'R1', 'reboot')] += 1
    return out


class TestTwoEngines(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.rabbit = self.require_rabbitmq()
        self.redis = self.require_redis()
        self.db = self.mariadb()
        objects.register_all()
        self.suffix = uuidutils.generate_uuid(dashed=False)[:10]
        self.topic = 'vmguard-engine-so-%s' % self.suffix
        self.group = 'vmguard-so-%s' % self.suffix
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _config(self, host):
        path = os.path.join(self.tmp, '%s.conf' % host)
        with open(path, 'w') as f:
            f.write('\n'.join([
                '[DEFAULT]',
                'transport_url = %s' % self.rabbit,
                'host = %s' % host,
                'log_file = %s' % os.path.join(self.tmp, host + '.log'),
                'debug = false',
                '[database]',
                'connection = %s' % self.db.url,
                '[coordination]',
                'backend_url = %s' % self.redis,
                'group = %s' % self.group,
                'membership_timeout = 2',
                '[engine]',
                'topic = %s' % self.topic,
                'periodic_interval = 1',
                'silent_cycles = 8',
                # 20 of 50 nodes fail on purpose: not an R10 storm here.
                'storm_min_nodes = 1000',
                '[notifications]',
                'nova_listener = false',
                'emit = false',
                '[recovery]',
                'dry_run = true',
                'compute_driver = fake',
                '']))
        return path

    def _engine(self, host):
        proc = subprocess.Popen(
            [sys.executable, '-m', 'vmguard.cmd.engine', '--config-file',
             self._config(host)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self._reap, proc)
        return proc

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _members(self):
        coord = tooz.coordination.get_coordinator(
            self.redis, ('probe-%s' % self.suffix).encode())
        coord.start()
        try:
            return {m.decode() for m in
                    coord.get_members(self.group.encode()).get()}
        except tooz.coordination.GroupNotCreated:
            return set()
        finally:
            coord.stop()

    def _log(self, host):
        with open(os.path.join(self.tmp, host + '.log')) as f:
            return f.read()

    def test_sigkill_one_engine_every_decision_exactly_once(self):
        a, b = 'engine-a-%s' % self.suffix, 'engine-b-%s' % self.suffix
        proc_a = self._engine(a)
        self._engine(b)
        test_engine.wait_for(lambda: self._members() == {a, b},
                             timeout=60, what='both engines in the group')
        # Both rings must know both members before the stream starts.
        test_engine.wait_for(
            lambda: 'members now: %s, %s' % (a, b) in self._log(a),
            timeout=10, what='engine a to see engine b')
        time.sleep(1.5)
        self.flags(group='engine', topic=self.topic)
        transport = messaging.get_rpc_transport(self.conf, url=self.rabbit)
        self.addCleanup(transport.cleanup)
        api = rpcapi.EngineAPI(self.conf, transport=transport)
        ctx = vmg_context.get_admin_context()
        killed_at = None
        for cycle in range(1, CYCLES + 1):
            started = time.monotonic()
            for i, name in enumerate(NODES):
                api.report_snapshot(ctx, snapshot_obj.Snapshot.from_json_dict(
                    node_snapshot(i, name, cycle)))
            if cycle == KILL_AFTER:
                proc_a.send_signal(signal.SIGKILL)
                proc_a.wait()
                killed_at = time.monotonic()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        want = expected()

        def done():
            got = streams.counted(db_api.decision_list(self.context))
            return got if sum(got.values()) >= sum(want.values()) else None

        try:
            test_engine.wait_for(done, timeout=30, what='all decisions')
        except AssertionError:
            pass
        rows = db_api.decision_list(self.context)
        self.assertEqual(want, streams.counted(rows))
        engines = collections.Counter(r.engine for r in rows)
        self.assertEqual({a, b}, set(engines), engines)
        # The survivor saw the dead engine leave, within a bounded time.
        self.assertEqual({b}, self._members())
        self.assertIn('Engine group members now: %s' % b, self._log(b))
        # Nodes the dead engine owned were judged by the survivor after
        # the kill: the crashes of cycle 9 are all decided by b.
        crash_engines = {r.engine for r in rows if r.rule == 'R1'}
        self.assertEqual({b}, crash_engines)
        self.assertIsNotNone(killed_at)
