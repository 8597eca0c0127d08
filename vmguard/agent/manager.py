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


"""The compute-node agent: cycle loop, buffer, and its RPC endpoint.

Cycles are numbered ``int(unix_time // [engine] cycle_interval)`` so they
line up across nodes. Each cycle every enabled collector runs in a thread
of a futurist pool; one that overruns ``[agent] collector_timeout`` (or
raises) contributes its :meth:`~Collector.unavailable` result instead and
is not started again while it is still running. The merged snapshot is
cast to the engine. Crash events from the collectors' listeners are cast
at once, between cycles.

While the broker is unreachable, snapshots and events queue, in order, in
a buffer of ``[agent] buffer_size`` entries (the oldest are dropped when
it is full); each later send flushes it first.
"""

import collections
import concurrent.futures
import datetime
import shlex
import subprocess
import threading
import time

import futurist
from oslo_log import log as logging
import oslo_messaging as messaging
from stevedore import named

from vmguard.agent import merge
from vmguard.agent import sanitize
from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.common import metrics
from vmguard.common import rpc
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj

LOG = logging.getLogger(__name__)

NAMESPACE = 'vmguard.collectors'


def load_collectors(conf, names):
    """Instantiate the named collector drivers; fail loudly."""

    def missing(names):
        raise exception.DriverLoadError(namespace=NAMESPACE,
                                        name=', '.join(sorted(names)),
                                        reason='no such collector')

    def failed(_manager, entrypoint, exc):
        raise exception.DriverLoadError(namespace=NAMESPACE,
                                        name=entrypoint.name,
                                        reason=exc) from exc

    mgr = named.NamedExtensionManager(
        NAMESPACE, names, invoke_on_load=True, invoke_args=(conf,),
        name_order=True, on_missing_entrypoints_callback=missing,
        on_load_failure_callback=failed)
    return [ext.obj for ext in mgr]


def utcnow_iso():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


class AgentManager:
    """Collects, buffers and sends one node's running info."""

    def __init__(self, conf, collectors=None, transport=None,
                 engine_api=None):
        self.conf = conf
        # Every name read from the system is made valid text (SPEC, "One
        # validator"): one bad name must not cost the whole snapshot.
        self.sanitizer = sanitize.Sanitizer()
        # The node name too: snapshots, events, the clean stop and the
        # agent's RPC server all use the same (escaped) name.
        self.node = self.sanitizer.node(conf.agent.node_name or conf.host)
        self.interval = conf.engine.cycle_interval
        if collectors is None:
            collectors = load_collectors(conf, conf.agent.collectors)
        self.collectors = list(collectors)
        self._pool = futurist.ThreadPoolExecutor(
            max_workers=max(2, 2 * len(self.collectors)))
        self._hung = {}
        self._paths = {}
        self._transport = transport
        # An EngineAPI-like object; built from the transport when None.
        self._engine = engine_api
        self._buffer = collections.deque(maxlen=conf.agent.buffer_size)
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._server = None
        self._last_cycle = None
        #: Seconds each collector took in the last cycle (None: overran).
        self.last_timings = {}
        #: Buffered messages lost because the buffer was full.
        self.dropped = 0
        self.context = vmg_context.get_admin_context()

    # -- collection ---------------------------------------------------------

    def cycle_now(self):
        return int(time.time() // self.interval)

    @staticmethod
    def _timed(collector):
        start = time.monotonic()
        result = collector.collect()
        return result, time.monotonic() - start

    def collect(self, cycle=None):
        """Run every collector once; return a ``records.Snapshot``."""
        if cycle is None:
            cycle = self.cycle_now()
        collected_at = utcnow_iso()
        futures = []
        for collector in self.collectors:
            hung = self._hung.get(collector.name)
            if hung is not None and not hung.done():
                futures.append((collector, None))
            else:
                self._hung.pop(collector.name, None)
                futures.append((collector,
                                self._pool.submit(self._timed, collector)))
        deadline = time.monotonic() + self.conf.agent.collector_timeout
        views = []
        timings = {}
        for collector, fut in futures:
            if fut is None:
                LOG.warning('Collector %s is still running from an earlier '
                            'cycle; its items are unavailable in cycle %s',
                            collector.name, cycle)
                result = collector.unavailable('timeout')
                timings[collector.name] = None
            else:
                try:
                    result, took = fut.result(
                        timeout=max(0.0, deadline - time.monotonic()))
                    timings[collector.name] = took
                except concurrent.futures.TimeoutError:
                    LOG.warning('Collector %s overran %ss in cycle %s; its '
                                'items are reported unavailable',
                                collector.name,
                                self.conf.agent.collector_timeout, cycle)
                    self._hung[collector.name] = fut
                    result = collector.unavailable('timeout')
                    timings[collector.name] = None
                except Exception:
                    LOG.exception('Collector %s failed in cycle %s',
                                  collector.name, cycle)
                    result = collector.unavailable('error')
                    timings[collector.name] = None
            views.append((collector, result))
        self.last_timings = timings
        metrics.collectors_timed(timings)
        return self._build(cycle, collected_at, views)

    def _build(self, cycle, collected_at, views):
        hardware, self._paths = merge.merge_hardware(
            [(c.identity_source, r) for c, r in views], self._paths)
        external, services, vms = [], [], []
        vcpus_free = ram_mb_free = None
        for _collector, result in views:
            external.extend(result.external)
            services.extend(result.services)
            vms.extend(result.vms)
            if vcpus_free is None:
                vcpus_free = result.vcpus_free
            if ram_mb_free is None:
                ram_mb_free = result.ram_mb_free
        return self.sanitizer.snapshot(records.Snapshot(
            self.node, cycle, collected_at, hardware, external, services,
            vcpus_free, ram_mb_free, vms))

    # -- sending ------------------------------------------------------------

    def _engine_api(self):
        if self._engine is None:
            from vmguard.engine import rpcapi as engine_rpcapi
            if self._transport is None:
                rpc.init(self.conf)
            api = engine_rpcapi.EngineAPI(self.conf,
                                          transport=self._transport)
            # Bound the connection retries of each cast: with the broker
            # away the cast fails fast and the message is buffered,
            # instead of blocking the cycle (or the libvirt event loop)
            # until the broker is back. A cast no queue takes (a broker
            # restarted before the engine declared its queue again) is
            # returned by RabbitMQ (mandatory flag) and buffered too,
            # instead of being dropped by the broker.
            api.client = api.client.prepare(
                retry=self.conf.agent.send_retries,
                transport_options=messaging.TransportOptions(
                    at_least_once=True))
            self._engine = api
        return self._engine

    def send_snapshot(self, snap):
        """Cast a ``records.Snapshot`` (buffered if the broker is away)."""
        return self._enqueue('snapshot',
                             snapshot_obj.Snapshot.from_record(snap))

    def report_event(self, uuid, event, reason, source):
        """Event sink of the collectors: cast a crash event at once."""
        rec = self.sanitizer.event(records.VMEvent(
            self.node, self.cycle_now(), uuid, event, reason, source))
        return self._enqueue('vm_event', snapshot_obj.VMEvent.from_record(rec))

    def buffered(self):
        return len(self._buffer)

    def _enqueue(self, kind, obj):
        with self._send_lock:
            if len(self._buffer) == self._buffer.maxlen:
                self.dropped += 1
                LOG.error('Send buffer full (%d); dropping the oldest '
                          'buffered message', self._buffer.maxlen)
            self._buffer.append((kind, obj))
            return self._flush_locked()

    def flush(self):
        """Send what is buffered; True when the buffer is empty."""
        with self._send_lock:
            return self._flush_locked()

    def _flush_locked(self):
        api = self._engine_api()
        while self._buffer:
            kind, obj = self._buffer[0]
            try:
                if kind == 'snapshot':
                    api.report_snapshot(self.context, obj)
                else:
                    api.report_vm_event(self.context, obj)
            except Exception as exc:
                # MessageUndeliverable (no queue took the cast) has no text.
                LOG.warning('Cannot reach the engine (%s: %s); %d '
                            'message(s) buffered', type(exc).__name__, exc,
                            len(self._buffer))
                return False
            self._buffer.popleft()
        return True

    # -- service ------------------------------------------------------------

    def run_cycle(self, cycle=None):
        snap = self.collect(cycle)
        LOG.debug('Cycle %s collected: %s', snap.cycle, self.last_timings)
        self.send_snapshot(snap)
        return snap

    def _loop(self):
        while not self._stop.is_set():
            cycle = self.cycle_now()
            if cycle != self._last_cycle:
                self._last_cycle = cycle
                try:
                    self.run_cycle(cycle)
                except Exception:
                    LOG.exception('Cycle %s failed', cycle)
            next_start = (self.cycle_now() + 1) * self.interval
            self._stop.wait(max(0.0, next_start - time.time()))

    def start(self):
        self._stop.clear()
        self._engine_api()
        for collector in self.collectors:
            collector.start(self.report_event)
        target = messaging.Target(topic=self.conf.agent.topic,
                                  server=self.node)
        self._server = rpc.get_server(target, [AgentEndpoint(self.conf)],
                                      transport=self._transport)
        self._server.start()
        self._thread = threading.Thread(target=self._loop,
                                        name='vmguard-agent-cycle',
                                        daemon=True)
        self._thread.start()
        LOG.info('vmguard agent of node %s started: collectors %s, cycle '
                 '%ss', self.node, [c.name for c in self.collectors],
                 self.interval)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            # A service that ran its cycles stops on purpose: say so, so
            # that the engine does not take the silence for a dead node.
            self.report_stop()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        for collector in self.collectors:
            collector.stop()
        self._pool.shutdown(wait=False)

    def report_stop(self):
        """Cast ``report_agent_stop`` (node, last reported cycle) to the
        engine; True when sent. Buffered messages are flushed first."""
        cycle = (self._last_cycle if self._last_cycle is not None
                 else self.cycle_now())
        try:
            self.flush()
            self._engine_api().report_agent_stop(self.context, self.node,
                                                 cycle)
        except Exception as exc:
            LOG.warning('Could not tell the engine that the agent of %s '
                        'stops (%s: %s); it will be judged silent',
                        self.node, type(exc).__name__, exc)
            return False
        LOG.info('Agent of %s stopping after cycle %s: engine told',
                 self.node, cycle)
        return True

    def request_stop(self):
        """Ask the running agent to stop (from a signal handler)."""
        self._stop.set()

    def wait(self, timeout=None):
        """Wait until a stop is requested; True when it was."""
        return self._stop.wait(timeout)

    def hung_collectors(self):
        """Names of collectors still running past their timeout."""
        return sorted(name for name, fut in self._hung.items()
                      if not fut.done())


class AgentEndpoint:
    """Server side of :class:`vmguard.agent.rpcapi.AgentAPI`."""

    target = messaging.Target(version='1.0')

    def __init__(self, conf):
        self.conf = conf

    def restart_service(self, context, service):
        """Restart one configured service with ``[agent] restart_command``.

        Only services named in ``[agent] services`` are restarted.
        """
        agent = self.conf.agent
        if service not in agent.services:
            LOG.error('Refusing to restart %r: not in [agent] services',
                      service)
            return {'service': service, 'restarted': False,
                    'detail': 'not a configured service'}
        argv = [arg.replace('{service}', service)
                for arg in shlex.split(agent.restart_command)]
        LOG.info('Restarting service %s on request of the engine: %s',
                 service, argv)
        try:
            proc = subprocess.run(argv, capture_output=True,
                                  timeout=agent.restart_timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            LOG.error('Restart of %s failed: %s', service, exc)
            return {'service': service, 'restarted': False,
                    'detail': str(exc)}
        if proc.returncode != 0:
            detail = proc.stderr.decode('utf-8', 'replace').strip()[-500:]
            LOG.error('Restart of %s exited %s: %s', service,
                      proc.returncode, detail)
            return {'service': service, 'restarted': False,
                    'running': False,
                    'detail': 'exit %s: %s' % (proc.returncode, detail)}
        state = self._wait_running(service)
        if state != 'running':
            LOG.error('Service %s is %s after its restart', service, state)
            return {'service': service, 'restarted': True, 'running': False,
                    'state': state,
                    'detail': 'restart command succeeded but the service is '
                              '%s' % state}
        LOG.info('Service %s is running again', service)
        return {'service': service, 'restarted': True, 'running': True,
                'state': state, 'detail': ''}

    def _wait_running(self, service):
        """The service's state as the services collector sees it, once
        running or after ``[agent] restart_timeout``."""
        from vmguard.agent.collectors import services as services_collector

        collector = services_collector.ServicesCollector(self.conf)
        deadline = time.monotonic() + self.conf.agent.restart_timeout
        state = 'unknown'
        while True:
            try:
                found = {s.name: s.state
                         for s in collector.collect().services}
                state = found.get(service, 'unknown')
            except Exception as exc:
                LOG.warning('Cannot read the state of %s: %s', service, exc)
            if state == 'running' or time.monotonic() >= deadline:
                return state
            time.sleep(0.5)
