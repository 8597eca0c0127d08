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

"""The engine side of the all-in-one demo."""

import collections
import threading
import time

from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard.common import context as vmg_context
from vmguard.common import rpc
import vmguard.conf
from vmguard.db import api as db_api
from vmguard.engine import pipeline as pipeline_mod
from vmguard.engine import recovery as recovery_mod
from vmguard.objects import records

CONF = vmguard.conf.CONF
LOG = logging.getLogger(__name__)


def normal_cycles(pipeline, node):
    """How many of the last 4 cycles ``node`` was judged normal in."""
    now = int(time.time() // CONF.engine.cycle_interval)
    return sum(1 for cycle in range(now - 3, now + 1)
               if pipeline.host_state(node, cycle) == 'normal')


class DemoEngine:
    """Stand-in used only when the engine service does not start.

    An RPC endpoint on the engine topic: snapshots and crash events cast
    by the agents are judged by the real pipeline; each decision is stored
    once (``decision_create``) and its recovery run, in decision order, by
    the real recovery executor. No derived node state is stored (that is
    the engine service's persistence).
    """

    # The engine's RPC version (vmguard.engine.manager): agents of this
    # release cast report_agent_stop (1.2) when they stop.
    target = messaging.Target(version='1.2')

    def __init__(self, conf, transport, driver):
        self.conf = conf
        self.transport = transport
        self.pipeline = pipeline_mod.Pipeline.from_config(conf)
        self.executor = recovery_mod.RecoveryExecutor(
            driver=driver, owner='vmguard-allinone')
        self.context = vmg_context.get_admin_context()
        self._lock = threading.Lock()
        self._queue = collections.deque()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads = []
        self._server = None
        self.rejected = 0

    # RPC endpoint -----------------------------------------------------------

    def report_snapshot(self, context, snapshot):
        try:
            rec = snapshot.to_record()
        except Exception as exc:
            self.rejected += 1
            LOG.error('Snapshot rejected: %s', exc)
            return
        with self._lock:
            self._store(self.pipeline.process(rec, now=time.time()))

    def report_vm_event(self, context, event):
        with self._lock:
            self._store(self.pipeline.process(event.to_record(),
                                              now=time.time()))

    def report_agent_stop(self, context, node, cycle, forwarded=False):
        try:
            rec = records.parse_agent_stop({'node': node, 'cycle': cycle})
        except Exception as exc:
            self.rejected += 1
            LOG.error('Agent stop rejected: %s', exc)
            return
        with self._lock:
            self._store(self.pipeline.process(rec, now=time.time()))

    def _store(self, decisions):
        for d in decisions:
            row, created = db_api.decision_create(self.context, {
                'incident_key': d.incident_key, 'node': d.node,
                'cycle': d.cycle, 'action': d.action, 'vm': d.vm,
                'service': d.service, 'target': d.target, 'rule': d.rule,
                'reason': d.reason, 'evidence': d.evidence,
                'engine': 'vmguard-allinone'})
            if not created:
                continue
            with self._wake:
                self._queue.append(row)
                self._wake.notify()

    # threads -----------------------------------------------------------------

    def _recover(self):
        while not self._stop.is_set():
            with self._wake:
                while not self._queue and not self._stop.is_set():
                    self._wake.wait(0.5)
                if self._stop.is_set():
                    return
                row = self._queue.popleft()
            try:
                self.executor.execute(row)
            except Exception:
                LOG.exception('Recovery of decision %s failed', row.uuid)

    def _tick(self):
        while not self._stop.wait(self.conf.engine.periodic_interval):
            with self._lock:
                self._store(self.pipeline.tick(time.time()))

    def start(self):
        target = messaging.Target(topic=self.conf.engine.topic,
                                  server='vmguard-allinone')
        self._server = rpc.get_server(target, [self],
                                      transport=self.transport)
        self._server.start()
        for fn, name in ((self._recover, 'vmguard-recovery'),
                         (self._tick, 'vmguard-periodic')):
            t = threading.Thread(target=fn, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self):
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
        for t in self._threads:
            t.join(10)

    def ready(self, node):
        return normal_cycles(self.pipeline, node)


class ServiceEngine:
    """The real engine service (:mod:`vmguard.engine.service`): RPC
    endpoint, pipeline, persistence, recovery through the given
    executor."""

    def __init__(self, conf, transport, driver):
        from vmguard.engine import service as engine_service
        executor = recovery_mod.RecoveryExecutor(driver=driver,
                                                 owner=conf.host)
        self.service = engine_service.EngineService(
            conf, transport=transport, recovery_executor=executor)

    def start(self):
        self.service.start()

    def stop(self):
        self.service.stop()

    def ready(self, node):
        return normal_cycles(self.service.engine.pipeline, node)
