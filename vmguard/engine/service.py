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

"""The engine: judgment, storage, ownership and the service around them.

:class:`Engine` (called by the RPC endpoint and the Nova listener) owns
the :class:`~vmguard.engine.pipeline.Pipeline`, the persister and the
coordinator; it holds no rule: it feeds the pipeline records and time.
:class:`EngineService` wires it to the RPC server (``[engine] topic`` and
the server named ``[DEFAULT] host``), Nova's notifications, and a
periodic thread (pipeline tick, ownership, other engines' nodes, purge).
"""

import datetime
import queue
import threading
import time

import futurist
from oslo_db import exception as db_exc
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging.rpc import server as rpc_server
from oslo_utils import timeutils

from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.common import metrics
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.engine import coordination
from vmguard.engine import inbox as inbox_mod
from vmguard.engine import manager as engine_manager
from vmguard.engine import notifications
from vmguard.engine import persistence
from vmguard.engine import pipeline as pipeline_mod
from vmguard.engine import rpcapi
from vmguard.engine import segments
from vmguard.engine import targets
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj

LOG = logging.getLogger(__name__)

# Errors of values the database refuses: the same values fail again.
REFUSED = (db_exc.DBDataError, db_exc.DBInvalidUnicodeParameter,
           UnicodeError)
# Attempts to store decisions before giving up on an error other than
# an unreachable database (about a minute).
STORE_ATTEMPTS = 8
# First and longest pause between attempts while the database is
# unreachable.
DB_RETRY_INTERVAL = 0.5
DB_RETRY_MAX_INTERVAL = 5.0
# Seconds start() waits for the ingest queues to be declared.
INGEST_DECLARE_WAIT = 30.0


class DirectRecovery:
    """Seam to the recovery executor: stored decisions in, statuses out.

    Runs :meth:`vmguard.engine.recovery.RecoveryExecutor.execute` for each
    new decision in a bounded pool and emits the ``vmguard.recovery.*``
    notifications around each run. ``executor`` None: decisions are stored
    with their ``pending`` recovery and nothing runs them here.
    """

    def __init__(self, executor, notifier, workers=8):
        self.executor = executor
        self.notifier = notifier
        self.workers = workers
        self._pool = None

    def start(self):
        if self.executor is None:
            return
        self._pool = futurist.ThreadPoolExecutor(max_workers=self.workers)
        # Recoveries this engine left unfinished when it stopped.
        self.executor.resume_unfinished()

    def stop(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        if self.executor is not None:
            self.executor.stop(wait=False)

    def submit(self, row):
        if self.executor is None or self._pool is None:
            return None
        return self._pool.submit(self.run, row)

    def run(self, row):
        self.notifier.recovery(row, 'start')
        try:
            status = self.executor.execute(row)
        except Exception as exc:
            LOG.exception('Recovery of decision %s failed', row.uuid)
            self.notifier.recovery(row, 'error', error=str(exc))
            metrics.recovery_finished('failed')
            return 'failed'
        metrics.recovery_finished(status)
        if status == 'failed':
            self.notifier.recovery(row, 'error', status=status,
                                   error=self._error(row))
        elif status is not None:
            self.notifier.recovery(row, 'end', status=status)
        return status

    @staticmethod
    def _error(row):
        """Why the recovery of decision ``row`` failed (its error)."""
        try:
            return db_api.recovery_get_by_decision(
                vmg_context.get_admin_context(), row.id).error
        except Exception:
            LOG.warning('Cannot read the error of the recovery of decision '
                        '%s', row.uuid, exc_info=True)
            return None


class Engine:
    """Judges the records of the nodes it owns and stores the outcome."""

    def __init__(self, conf, context=None, coordinator=None,
                 recovery=None, notifier=None, api=None, sync_writes=True):
        self.conf = conf
        self.host = conf.host
        self.context = context or vmg_context.get_admin_context()
        self.directory = targets.DbDirectory()
        self.pipeline = pipeline_mod.Pipeline.from_config(
            conf, directory=self.directory, wall_clock=True)
        self.persister = persistence.Persister(self.context)
        self.coordinator = coordinator or coordination.Coordinator(
            conf, self.host)
        self.notifier = notifier or notifications.Notifier(
            conf, 'vmguard-engine:%s' % self.host)
        self.recovery = recovery or DirectRecovery(None, self.notifier)
        self.api = api
        # Notifications of other monitors, manual recoveries (the API's).
        self.inbox = inbox_mod.Inbox(self)
        self.sync_writes = sync_writes
        self.writer = None
        self._lock = threading.Lock()
        self._adopted = set()
        # ServerViews of the recovery executor (set by EngineService).
        self.server_views = None
        # Records the judgment refused (clock skew, unknown node).
        self.rejected = 0
        # Records are judged in arrival order by one thread (see submit).
        self._queue = None
        self._judge_thread = None
        # Set when the service stops: waits for the database end.
        self.stopping = threading.Event()

    def _until_db(self, what, func, *args, **kwargs):
        """Call ``func`` until the database answers.

        RabbitMQ's messages are acknowledged before they are dispatched: a
        record the engine has taken is in its hands only. While the
        database is unreachable the judge thread waits here instead of
        dropping the record (or the decisions it caused); the bounded
        queue fills and RabbitMQ keeps the backlog. ``func`` must have no
        effect when it raises ``DBConnectionError``.
        """
        delay = DB_RETRY_INTERVAL
        while True:
            try:
                return func(*args, **kwargs)
            except db_exc.DBConnectionError as exc:
                if self.stopping.is_set():
                    raise
                LOG.warning('Database unreachable while %s; retrying in '
                            '%.1fs: %s', what, delay, exc)
                self.stopping.wait(delay)
                delay = min(delay * 2, DB_RETRY_MAX_INTERVAL)

    # -- ownership -----------------------------------------------------------

    def forward(self, context, rec, obj):
        """Cast ``rec`` to its owner when that is another engine."""
        owner = self.coordinator.owner(rec.node)
        if owner == self.host or self.api is None:
            return False
        if rec.__class__ is records.Snapshot:
            if obj.__class__ is records.Snapshot:
                obj = snapshot_obj.Snapshot.from_record(rec)
            self.api.forward_snapshot(context, owner, obj)
        elif rec.__class__ is records.AgentStop:
            # RPC 1.2, cast to the owner's server (judged here when the
            # client is capped below 1.2).
            try:
                cctxt = self.api.client.prepare(server=owner, version='1.2')
            except messaging.RPCVersionCapError:
                return False
            cctxt.cast(context, 'report_agent_stop', node=rec.node,
                       cycle=rec.cycle, forwarded=True)
        else:
            if obj.__class__ is records.VMEvent:
                obj = snapshot_obj.VMEvent.from_record(rec)
            self.api.forward_vm_event(context, owner, obj)
        return True

    def _adopt(self, name):
        """First record of a node here: continue from its stored state.

        Raises (having changed nothing) when the stored state cannot be
        read.
        """
        if name in self.pipeline.nodes:
            self._adopted.add(name)
            return
        state = self.persister.stored_judge_state(name)
        self._adopted.add(name)
        # Its silence counts from the take-over (pipeline's wall clock).
        now = time.time()
        self.pipeline.adopt_node(name, now)
        if state:
            self.pipeline.import_node_state(name, state, now)
            LOG.info('Node %s taken over at cycle %s', name,
                     state.get('last_cycle'))

    def adopted_nodes(self):
        """The names of the nodes this engine judges now."""
        with self._lock:
            return set(self._adopted)

    def rebalance(self, summaries=None):
        """Adopt the stored nodes this engine owns now; drop the others."""
        if summaries is None:
            summaries = db_api.engine_node_summaries(self.context)
        self.sync_peers(summaries)
        try:
            segment_map = segments.SegmentMap(
                db_api.segment_map(self.context))
        except db_exc.DBError:
            LOG.warning('Failover segments could not be read; the targets '
                        'of new decisions follow the previous map',
                        exc_info=True)
            segment_map = None
        names = {s['name'] for s in summaries}
        with self._lock:
            for name in sorted(names | set(self.pipeline.nodes)):
                mine = self.coordinator.owns(name)
                if mine and name not in self._adopted:
                    self._adopt(name)
                elif not mine and (name in self._adopted
                                   or name in self.pipeline.nodes):
                    LOG.info('Node %s moved to engine %s', name,
                             self.coordinator.owner(name))
                    self._adopted.discard(name)
                    self.pipeline.forget_node(name)
                    self.persister.forget(name)
            self.directory.refresh(summaries)
            if segment_map is not None:
                self.pipeline.set_segments(segment_map)

    def sync_peers(self, summaries):
        """Engines sharing the nodes: R10 counts the whole cloud (every
        stored node, the incidents any engine opened recently)."""
        if not self.coordinator.enabled:
            return
        t = self.pipeline.t
        since = timeutils.utcnow() - datetime.timedelta(
            seconds=2 * (t.storm_window + 1) * t.cycle_interval)
        try:
            openings = db_api.decision_storm_openings(self.context, since)
        except db_exc.DBError as exc:
            # The last view stays; ownership is not held up by this.
            LOG.warning('Could not read the incidents of the other '
                        'engines (storm guard): %s', exc)
            return
        with self._lock:
            self.pipeline.set_peers(len(summaries), openings)

    # -- records --------------------------------------------------------------

    def start_judge_thread(self, maxsize=10000):
        """Judge records in one thread, in the order they arrived.

        The RPC server's threading executor dispatches several messages at
        once; judged in that order, a node's snapshot could overtake the
        previous cycle of another node and make it look silent (R9). The
        bounded queue pushes back on the dispatcher (and so on RabbitMQ's
        prefetch) when judgment falls behind.
        """
        self._queue = queue.Queue(maxsize=maxsize)
        self._judge_thread = threading.Thread(
            target=self._judge_loop, daemon=True, name='vmguard-judge')
        self._judge_thread.start()

    def stop_judge_thread(self, timeout=10):
        if self._queue is not None:
            self._queue.put(None)
            self._judge_thread.join(timeout)
            self._queue = None

    def _judge_loop(self):
        q = self._queue
        while True:
            rec = q.get()
            if rec is None:
                return
            try:
                self.handle(rec)
            except Exception:
                LOG.exception('Judging %s of node %s cycle %s failed',
                              type(rec).__name__, rec.node, rec.cycle)

    def submit(self, rec):
        """Judge ``rec`` now (no judge thread) or queue it."""
        if self._queue is None:
            return self.handle(rec)
        self._queue.put(rec)
        return None

    def backlog(self):
        return 0 if self._queue is None else self._queue.qsize()

    def handle(self, rec, now=None, defer_write=False):
        """Judge one validated record; store state, events, decisions.

        :param defer_write: the snapshot's delta stays queued in the
            persister for the caller's flush (the ingest consumer commits
            a batch before acknowledging it); decisions are stored now.
        """
        now = time.time() if now is None else now
        name = rec.node
        if rec.__class__ is records.VMEvent:
            self._until_db('storing a crash event of %s' % name,
                           self.persister.add_event, rec)
        # What is stored of the node, read before judging: once the
        # pipeline has judged the record, its delta and decisions must
        # not be lost to a failed read.
        self._until_db('reading node %s' % name,
                       self.persister.stored_judge_state, name)
        delta = None
        with self._lock:
            if name not in self._adopted:
                self._until_db('reading node %s' % name, self._adopt, name)
            st = self.pipeline.nodes.get(name)
            last = st.last_cycle if st is not None else None
            try:
                decisions = self.pipeline.process(rec, now)
            except exception.RecordRejected as exc:
                # Counted and logged by the pipeline; never judged.
                self.rejected += 1
                LOG.debug('Record of node %s rejected: %s', name,
                          exc.reason)
                return []
            if rec.__class__ is records.Snapshot and (
                    last is None or rec.cycle > last):
                st = self.pipeline.nodes[name]
                # Reads the database only if a failed write dropped the
                # node's cache since the read above.
                delta = self._until_db(
                    'reading node %s' % name, self.persister.add_snapshot,
                    rec, st.assessment, self.pipeline.export_node_state(name),
                    st.disabled, queue=not decisions)
            judge_states = ()
            if decisions:
                judge_states = self._judge_states(
                    decisions, skip=name if delta is not None else None)
            elif rec.__class__ is records.AgentStop:
                # Stored in the judge state: a new owner must know it.
                judge_states = self._judge_states([rec])
        if decisions or judge_states:
            # The node's judge state and its decisions in one transaction.
            try:
                self._store(decisions, deltas=[delta],
                            judge_states=judge_states)
            except REFUSED as exc:
                # Decide and store together: refused, the decisions are
                # not made (a later record of the same crash is decided).
                with self._lock:
                    self.pipeline.undo(decisions)
                self.rejected += 1
                LOG.error('Record %s of node %s cycle %s rejected: the '
                          'database refuses what it decides (%s: %s)',
                          rec.type, name, rec.cycle, type(exc).__name__,
                          exc)
                return []
            metrics.crash_to_decision(rec, decisions, now)
        elif defer_write:
            pass
        elif self.writer is not None:
            self.writer.notify()
        else:
            self.persister.flush()
        return decisions

    def _judge_states(self, decisions, skip=None):
        """Judge states of the nodes ``decisions`` are about (lock held)."""
        out = []
        for node in sorted({d.node for d in decisions} - {skip}):
            st = self.pipeline.nodes.get(node)
            if st is not None and st.last_cycle is not None:
                out.append((node, self.pipeline.export_node_state(node),
                            st.last_cycle))
        return out

    def _store(self, decisions, deltas=(), judge_states=()):
        # The pipeline has made these decisions and will not make them
        # again: keep trying until the database is back (it may be
        # restarting); the judge thread waits meanwhile and RabbitMQ
        # keeps the backlog. Other errors are given up after a while.
        failures = 0
        retried = False

        def flush():
            # ``retried`` after any failed attempt: a decision of this
            # engine found stored was committed by that attempt.
            nonlocal retried
            try:
                return self.persister.flush(
                    deltas=deltas, decisions=decisions,
                    judge_states=judge_states, engine=self.host,
                    retried=retried)
            except Exception:
                retried = True
                raise

        while True:
            try:
                new = self._until_db('storing decisions %s' % decisions,
                                     flush)
                break
            except db_exc.DBConnectionError:
                LOG.error('Engine stopping: decisions %s not stored',
                          decisions)
                raise
            except REFUSED:
                # The same values fail the same way: retrying would only
                # hold the judge thread (and every other node) back.
                LOG.exception('Could not store decisions %s: the database '
                              'refuses their values', decisions)
                raise
            except Exception:
                failures += 1
                if failures == STORE_ATTEMPTS:
                    LOG.exception('Could not store decisions %s; giving up',
                                  decisions)
                    raise
                LOG.warning('Storing decisions failed (attempt %d); '
                            'retrying', failures, exc_info=True)
                time.sleep(min(2 ** (failures - 1), 10))
        for row, _decision in new:
            metrics.decision_stored(row)
            self.notifier.decision(row)
            self.recovery.submit(row)
        return new

    def decide(self, decisions):
        """Store decisions once; notify and recover the new ones."""
        with self._lock:
            judge_states = self._judge_states(decisions)
        return self._store(decisions, judge_states=judge_states)

    def tick(self, now=None):
        """Feed the pipeline the time: it judges R9 and crash events
        waiting too long (the service holds no rule of its own)."""
        now = time.time() if now is None else now
        with self._lock:
            decisions = self.pipeline.tick(now)
            judge_states = self._judge_states(decisions) if decisions \
                else ()
        if decisions:
            self._store(decisions, judge_states=judge_states)
        return decisions

    def sync_operator_switches(self, summaries):
        """Nodes an operator enabled again are eligible again."""
        with self._lock:
            for s in summaries:
                st = self.pipeline.nodes.get(s['name'])
                if (st is not None and st.disabled and not s['disabled']
                        and self.persister.disabled_stored(s['name'])):
                    LOG.info('Node %s enabled by an operator', s['name'])
                    self.pipeline.enable_node(s['name'])
                    self.persister.enabled(s['name'])

    # -- Nova -----------------------------------------------------------------

    def nova_instance(self, uuid, host, values, deleted=False):
        with self._lock:
            self.pipeline.set_vm_task_state(uuid, values.get('task_state'))
        if deleted:
            db_api.vm_delete_by_uuid(self.context, uuid)
        else:
            db_api.vm_update_from_nova(self.context, uuid, host, values)

    def nova_crash(self, event):
        owner = self.coordinator.owner(event.node)
        if owner != self.host:
            # Every engine hears Nova; the owner of the host judges it.
            return
        self.submit(event)


class EngineService:
    """``vmguard-engine``: the engine and its servers and threads."""

    def __init__(self, conf, transport=None, recovery_executor=None):
        self.conf = conf
        self.transport = transport
        self.recovery_executor = recovery_executor
        self._stop = threading.Event()
        self._threads = []
        self.rpc_server = None
        self.listener = None
        self.nova_endpoint = None
        self.view_refresher = None
        self.ingest = None
        self.engine = None
        self.manager = None
        self._last_purge = time.monotonic()

    def start(self):
        conf = self.conf
        rpc.init(conf)
        transport = self.transport or rpc.TRANSPORT
        notifier = notifications.Notifier(conf,
                                          'vmguard-engine:%s' % conf.host)
        executor = self.recovery_executor
        if executor is None:
            executor = _default_executor(conf)
        recovery = DirectRecovery(executor, notifier,
                                  conf.recovery.max_concurrent)
        api = rpcapi.EngineAPI(conf, transport=transport)
        coordinator = coordination.Coordinator(conf, conf.host)
        coordinator.start()
        self.engine = Engine(conf, coordinator=coordinator,
                             recovery=recovery, notifier=notifier, api=api)
        # What Nova last said of each server: given every instance
        # notification, read by the recovery before it acts.
        self.engine.server_views = getattr(executor, 'views', None)
        self.engine.writer = persistence.BatchWriter(self.engine.persister)
        self.engine.writer.start()
        self.engine.start_judge_thread()
        self.engine.rebalance()
        self.manager = engine_manager.EngineManager(self.engine)
        serializer = engine_manager.EngineSerializer(
            snapshot_obj.base.VmguardObjectSerializer(), self.manager.limits)
        dispatcher = engine_manager.CountingDispatcher(
            [self.manager], serializer, self.manager)
        target = messaging.Target(topic=conf.engine.topic, server=conf.host)
        self.rpc_server = rpc_server.RPCServer(transport, target,
                                                  dispatcher, 'threading')
        self.rpc_server.start()
        if rpcapi.ingest_partitions(conf):
            from vmguard.engine import ingest
            self.ingest = ingest.IngestConsumer(conf, self.engine,
                                                self.manager)
            self.ingest.start()
            # Agents' casts to queues not declared yet would be dropped
            # (or returned to them): wait a little for the declaration.
            if not self.ingest.declared.wait(INGEST_DECLARE_WAIT):
                LOG.warning('Ingest queues not declared within %ss; the '
                            'consumer keeps trying', INGEST_DECLARE_WAIT)
        if conf.notifications.nova_listener:
            self.listener, self.nova_endpoint, self._nova_transport = (
                notifications.get_nova_listener(conf, self.engine))
            self.listener.start()
        recovery.start()
        if self.engine.server_views is not None:
            from vmguard.engine.recovery import views as views_mod
            self.view_refresher = views_mod.ViewRefresher(
                self.engine.server_views, executor.driver,
                self.engine.adopted_nodes,
                conf.recovery.server_view_refresh_interval)
            self.view_refresher.start()
        thread = threading.Thread(target=self._periodic, daemon=True,
                                  name='vmguard-engine-periodic')
        thread.start()
        self._threads.append(thread)
        LOG.info('vmguard-engine %s started on topic %s', conf.host,
                 conf.engine.topic)

    def _periodic(self):
        interval = self.conf.engine.periodic_interval
        while not self._stop.wait(interval):
            self.run_periodic_once()

    def run_periodic_once(self):
        engine = self.engine
        try:
            engine.coordinator.refresh()
            summaries = db_api.engine_node_summaries(engine.context)
            engine.rebalance(summaries)
            engine.sync_operator_switches(summaries)
            engine.tick()
            engine.inbox.sweep()
        except db_exc.DBConnectionError as exc:
            LOG.warning('Periodic engine task: database unreachable; '
                        'retrying in %ss: %s',
                        self.conf.engine.periodic_interval, exc)
        except Exception:
            LOG.exception('Periodic engine task failed; retrying in %ss',
                          self.conf.engine.periodic_interval)
        purge = self.conf.retention.purge_interval
        if purge and time.monotonic() - self._last_purge >= purge:
            self._last_purge = time.monotonic()
            try:
                counts = db_api.purge_by_age(
                    engine.context, self.conf.retention.history_days,
                    self.conf.retention.decision_days)
                LOG.info('Purged old history: %s', counts)
            except Exception:
                LOG.exception('Periodic purge failed')

    def stats(self):
        out = dict(self.manager.stats) if self.manager else {}
        if self.engine is not None:
            out.update({'pipeline_%s' % k: v for k, v in
                        self.engine.pipeline.stats.items()})
            out.update({'db_%s' % k: v for k, v in
                        self.engine.persister.stats.items()})
        if self.nova_endpoint is not None:
            out.update({'nova_%s' % k: v for k, v in
                        self.nova_endpoint.stats.items()})
        views = getattr(self.engine, 'server_views', None)
        if views is not None:
            out.update({'server_views_%s' % k: v for k, v in
                        views.stats.items()})
        return out

    def stop(self):
        self._stop.set()
        if self.engine is not None:
            self.engine.stopping.set()
        for server in (self.rpc_server, self.listener):
            if server is not None:
                try:
                    server.stop()
                    server.wait()
                except Exception:
                    LOG.warning('Error stopping a server', exc_info=True)
        if self.ingest is not None:
            # Its batch in hand is judged, stored and acknowledged first.
            self.ingest.stop()
        for thread in self._threads:
            thread.join(10)
        if self.view_refresher is not None:
            self.view_refresher.stop()
        if self.engine is not None:
            self.engine.stop_judge_thread()
            if self.engine.writer is not None:
                self.engine.writer.stop()
            self.engine.recovery.stop()
            self.engine.coordinator.stop()
        LOG.info('vmguard-engine stopped: %s', self.stats())

    def request_stop(self):
        """Signal-safe: ask :meth:`wait` to return."""
        self._stop.set()

    def wait(self, timeout=None):
        return self._stop.wait(timeout)


def _default_executor(conf):
    """The recovery executor, or None when it cannot be built."""
    try:
        from vmguard.engine import recovery as recovery_mod
    except ImportError:
        LOG.warning('Recovery executor not available: decisions are '
                    'stored, recoveries stay pending')
        return None
    executor = recovery_mod.RecoveryExecutor(owner=conf.host)
    from vmguard.agent import rpcapi as agent_rpcapi
    agents = agent_rpcapi.AgentAPI(conf)

    executor.register_handler('restart_service',
                              recovery_mod.restart.RestartServiceHandler(
                                  agents))
    return executor
