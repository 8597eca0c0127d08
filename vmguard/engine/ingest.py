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

"""Snapshots straight from their partition's queue to the node's owner.

Agents cast each snapshot (RPC API 1.4, :meth:`vmguard.engine.rpcapi.
EngineAPI.report_snapshot`) with the routing key of its node's partition,
``<[engine] topic>-ingest.<n>``, ``n`` = CRC-32 of the node name modulo
``[engine] ingest_partitions``. Every engine declares the queue of every
partition (so that nothing cast while an engine restarts is dropped), as
a RabbitMQ *single active consumer* queue, and consumes the partitions
the hash ring gives it (:meth:`vmguard.engine.coordination.Coordinator.
owned_partitions`; the ring places partitions, so the engine consuming a
node's queue is the node's owner). Hence:

* no second hop: a snapshot is never forwarded to another engine;
* per-node order: one partition, one active consumer -- while ownership
  moves, the new owner's consumer waits (inactive) until the old owner
  has let go, then receives what is left in order;
* nothing lost: messages are taken in batches of up to ``[engine]
  ingest_batch_size`` and acknowledged (one ``basic.ack`` with
  ``multiple``) only after the batch is judged and what it changed is
  committed. An engine killed before the commit leaves them unacknowledged
  and RabbitMQ delivers them again to the partition's next owner, which
  continues from the stored state; what was stored already is a
  duplicate the pipeline ignores, and decisions are unique by incident
  key.

When the ring moves a partition away, the engine acknowledges what it has
judged and closes its channel: RabbitMQ puts everything else it had
prefetched back in the queue, in order, for the new owner.

The consumer is kombu's: oslo.messaging acknowledges an RPC cast before it
dispatches it and has no batch consumer for RPC. The wire format is
oslo.messaging's (the agents' cast, JSON envelope); the payload is decoded
by the same flat decoder as the RPC path (:func:`vmguard.engine.manager.
snapshot_from_primitive`), every rejection counted and logged.

Crash events, agent stops and the API's casts stay on the RPC topic: a
crash is judged as soon as it arrives, not after a batch.
"""

import json
import socket
import ssl as ssl_mod
import threading
import time
import urllib.parse

from oslo_db import exception as db_exc
from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard.common import exception
from vmguard.engine import manager as manager_mod
from vmguard.engine import rpcapi
from vmguard.objects import records

LOG = logging.getLogger(__name__)

# Seconds the consumer waits for a first message before it looks at the
# ring again (ownership changes are seen at most this late).
IDLE_WAIT = 1.0
# Pauses between connection attempts (doubling up to the second).
RECONNECT_INTERVAL = 1.0
RECONNECT_MAX_INTERVAL = 30.0


def kombu_urls(conf):
    """kombu's failover URL (``amqp://...;amqp://...``) and SSL options
    for the broker of ``[DEFAULT] transport_url``."""
    url = messaging.TransportURL.parse(conf, conf.transport_url)
    vhost = urllib.parse.quote(url.virtual_host or '', safe='')
    urls = []
    for host in url.hosts or [None]:
        user = urllib.parse.quote(
            (host.username if host else None) or 'guest', safe='')
        password = urllib.parse.quote(
            (host.password if host else None) or 'guest', safe='')
        name = (host.hostname if host else None) or 'localhost'
        if ':' in name and not name.startswith('['):
            name = '[%s]' % name
        port = (host.port if host else None) or 5672
        urls.append('amqp://%s:%s@%s:%d/%s' % (user, password, name, port,
                                               vhost))
    rabbit = conf.oslo_messaging_rabbit
    ssl = None
    if rabbit.ssl:
        ssl = {'cert_reqs': (ssl_mod.CERT_REQUIRED if rabbit.ssl_ca_file
                             else ssl_mod.CERT_NONE)}
        for key, value in (('ca_certs', rabbit.ssl_ca_file),
                           ('certfile', rabbit.ssl_cert_file),
                           ('keyfile', rabbit.ssl_key_file)):
            if value:
                ssl[key] = value
    return ';'.join(urls), ssl


def queue_arguments(conf):
    """Arguments of an ingest queue: single active consumer, and the
    queue type oslo.messaging gives its own queues."""
    args = {'x-single-active-consumer': True}
    if conf.oslo_messaging_rabbit.rabbit_quorum_queue:
        args['x-queue-type'] = 'quorum'
    return args


def _durable(conf):
    rabbit = conf.oslo_messaging_rabbit
    return bool(rabbit.amqp_durable_queues or rabbit.rabbit_quorum_queue)


def ingest_queues(conf, channel=None):
    """kombu queues of every ingest partition (index = partition)."""
    import kombu

    rabbit = conf.oslo_messaging_rabbit
    durable = _durable(conf)
    # The exchange oslo.messaging casts to: declared the same way.
    exchange = kombu.Exchange(conf.control_exchange, type='topic',
                              durable=durable,
                              auto_delete=rabbit.amqp_auto_delete)
    topic = conf.engine.topic
    args = queue_arguments(conf)
    return [kombu.Queue(rpcapi.ingest_topic(topic, p), exchange,
                        routing_key=rpcapi.ingest_topic(topic, p),
                        durable=durable, auto_delete=False,
                        queue_arguments=args, channel=channel)
            for p in range(conf.engine.ingest_partitions)]


def delete_queues(conf):
    """Delete the ingest queues of ``[engine] topic`` (tests, benchmarks:
    a deployment keeps them, they hold what its agents sent)."""
    import kombu

    url, ssl = kombu_urls(conf)
    with kombu.Connection(url, ssl=ssl) as conn:
        channel = conn.channel()
        for q in ingest_queues(conf, channel):
            try:
                q.delete()
            except Exception:
                LOG.debug('Could not delete queue %s', q.name,
                          exc_info=True)
                channel = conn.channel()


def _envelope(body):
    """The RPC message in an oslo.messaging AMQP body (both layers)."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode('utf-8')
    if isinstance(body, str):
        body = json.loads(body)
    if body.__class__ is not dict:
        raise ValueError('message body is not a JSON object')
    inner = body.get('oslo.message')
    if inner is not None:
        body = json.loads(inner)
        if body.__class__ is not dict:
            raise ValueError('oslo.message is not a JSON object')
    return body


def _version_ok(version):
    """A 1.x cast this engine understands (minor <= ours)."""
    if version is None:
        return True
    try:
        major, minor = (int(x) for x in str(version).split('.'))
    except ValueError:
        return False
    my_major, my_minor = (int(x) for x in
                          rpcapi.EngineAPI.RPC_API_VERSION.split('.'))
    return major == my_major and minor <= my_minor


class IngestConsumer:
    """Consumes this engine's ingest partitions in a thread of its own."""

    def __init__(self, conf, engine, manager):
        """:param engine: :class:`vmguard.engine.service.Engine`
        :param manager: :class:`vmguard.engine.manager.EngineManager`
            (its counters and its reject log are shared with RPC)."""
        self.conf = conf
        self.engine = engine
        self.manager = manager
        self.partitions = conf.engine.ingest_partitions
        self.batch_size = conf.engine.ingest_batch_size
        self.batch_wait = conf.engine.ingest_batch_wait
        self._prefix = '%s-ingest.' % conf.engine.topic
        self._cache = {}
        self._stop = threading.Event()
        self._thread = None
        self._batch = []
        # Nodes whose snapshots came on another partition's queue (logged
        # once each).
        self._misrouted_nodes = set()
        # Set once every ingest queue is declared on the broker.
        self.declared = threading.Event()
        # Partitions consumed now (empty while disconnected).
        self.consuming = frozenset()

    # -- service -----------------------------------------------------------

    def start(self):
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='vmguard-ingest')
        self._thread.start()

    def stop(self, timeout=30):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self):
        delay = RECONNECT_INTERVAL
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._session()
            except Exception as exc:
                self.consuming = frozenset()
                if self._stop.is_set():
                    break
                if time.monotonic() - started > 60:
                    delay = RECONNECT_INTERVAL
                LOG.warning('Ingest queues: %s: %s; connecting again in '
                            '%.0fs (unacknowledged snapshots stay in '
                            'RabbitMQ)', type(exc).__name__, exc, delay,
                            exc_info=not isinstance(
                                exc, (OSError, socket.timeout)))
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_INTERVAL)
            else:
                delay = RECONNECT_INTERVAL
        self.consuming = frozenset()

    def owned(self):
        return frozenset(self.engine.coordinator.owned_partitions())

    # -- one connection ----------------------------------------------------

    def _session(self):
        """Consume the owned partitions until they change (or stop)."""
        import kombu

        url, ssl = kombu_urls(self.conf)
        with kombu.Connection(url, ssl=ssl, heartbeat=60,
                              failover_strategy='round-robin') as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            queues = ingest_queues(self.conf, channel)
            for q in queues:
                q.declare()
            self.declared.set()
            owned = self.owned()
            channel.basic_qos(0, 2 * self.batch_size, False)
            consumer = None
            if owned:
                consumer = kombu.Consumer(
                    channel, queues=[queues[p] for p in sorted(owned)],
                    on_message=self._batch.append, no_ack=False)
                consumer.consume()
            self.consuming = owned
            LOG.info('Consuming ingest partitions %s of %d (%s)',
                     ','.join(str(p) for p in sorted(owned)) or 'none',
                     self.partitions, conn.as_uri())
            try:
                while not self._stop.is_set():
                    moved = self._take(conn)
                    if moved or self.owned() != owned:
                        LOG.info('Ingest partitions of this engine '
                                 'changed: letting go of %s',
                                 ','.join(str(p) for p in sorted(owned))
                                 or 'none')
                        return
            finally:
                self.consuming = frozenset()
                self._batch = []
                # Closing the channel gives RabbitMQ back every message
                # not acknowledged, in order, for the partitions' next
                # consumer.
                try:
                    channel.close()
                except Exception:
                    LOG.debug('Closing the ingest channel failed',
                              exc_info=True)

    def _take(self, conn):
        """Fill one batch, judge it, store it, acknowledge it. True when
        a message of a partition this engine no longer owns came."""
        batch = self._batch
        deadline = None
        while len(batch) < self.batch_size and not self._stop.is_set():
            if deadline is None:
                timeout = IDLE_WAIT if not batch else self.batch_wait
            else:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
            try:
                conn.drain_events(timeout=timeout)
            except socket.timeout:
                conn.heartbeat_check()
                if not batch:
                    return False
                break
            if batch and deadline is None:
                deadline = time.monotonic() + self.batch_wait
        if not batch:
            return False
        taken, self._batch[:] = list(batch), []
        moved = self.handle_batch(taken)
        # Busy, the drain never times out: heartbeats are due here too.
        conn.heartbeat_check()
        return moved

    def handle_batch(self, messages, owned=None):
        """Judge and store ``messages`` (kombu messages, in order); ack the
        handled prefix. Returns True when it stopped at a message of a
        partition this engine does not own (that one and the rest are left
        unacknowledged, for the channel's close to requeue)."""
        owned = self.owned() if owned is None else owned
        handled = []
        recs = []
        moved = False
        for message in messages:
            partition = self._partition(message)
            if partition is not None and partition not in owned:
                moved = True
                break
            handled.append(message)
            rec = self._record(message)
            if rec is None:
                continue
            if partition is not None and rpcapi.partition_of(
                    rec.node, self.partitions) != partition:
                self._misrouted(rec, partition)
                continue
            recs.append(rec)
        if recs:
            self._preload(recs)
        for rec in recs:
            try:
                self.engine.handle(rec, defer_write=True)
            except Exception:
                LOG.exception('Judging the snapshot of node %s cycle %s '
                              'failed', rec.node, rec.cycle)
        if not handled:
            return moved
        self._flush(len(handled))
        handled[-1].ack(multiple=True)
        self.manager._count('ingest_batches')
        return moved

    def _misrouted(self, rec, partition):
        """A snapshot on the queue of another partition than its node's:
        its sender counts a different ``[engine] ingest_partitions``. It
        goes to the node's owner (judged here if that is this engine),
        never judged by an engine that does not own the node."""
        self.manager._count('misrouted')
        node = rec.node
        if node not in self._misrouted_nodes:
            self._misrouted_nodes.add(node)
            LOG.error('Snapshot of node %s arrived on ingest partition %d, '
                      'not on its partition %d of %d: its agent has another '
                      '[engine] ingest_partitions than this engine (every '
                      'agent and engine must use the same value); passed '
                      'to the node\'s owner', records.printable(node),
                      partition, rpcapi.partition_of(node, self.partitions),
                      self.partitions)
        try:
            if not self.engine.forward(self.engine.context, rec, rec):
                self.engine.handle(rec, defer_write=True)
        except Exception:
            LOG.exception('Passing the snapshot of node %s cycle %s to its '
                          'owner failed', node, rec.cycle)

    def _preload(self, recs):
        """Read the stored rows of the batch's nodes not cached yet in one
        go (otherwise each is read with its first snapshot)."""
        engine = self.engine
        try:
            engine._until_db('reading nodes', engine.persister.preload,
                             [rec.node for rec in recs])
        except Exception:
            # Judging reads them one by one, as without this.
            LOG.warning('Reading the nodes of a batch of %d snapshots '
                        'failed', len(recs), exc_info=True)

    def _partition(self, message):
        key = (message.delivery_info or {}).get('routing_key') or ''
        if not key.startswith(self._prefix):
            return None
        try:
            return int(key[len(self._prefix):])
        except ValueError:
            return None

    def _record(self, message):
        """The validated snapshot record of ``message``, or None (the
        rejection counted and logged, the message acknowledged with its
        batch: a bad message is never delivered again)."""
        try:
            msg = _envelope(message.body)
            method = msg.get('method')
            if method != 'report_snapshot':
                raise ValueError('method %r is not taken on an ingest '
                                 'queue' % (method,))
            if not _version_ok(msg.get('version')):
                raise ValueError('RPC version %r is not supported (this '
                                 'engine has %s)' % (
                                     msg.get('version'),
                                     rpcapi.EngineAPI.RPC_API_VERSION))
            args = msg.get('args')
            prim = args.get('snapshot') if args.__class__ is dict else None
            if prim.__class__ is not dict:
                raise ValueError('no snapshot object in the message')
        except Exception as exc:
            self.manager.reject('message', None, 'ingest message: %s: %s'
                                % (type(exc).__name__, exc))
            return None
        try:
            rec = manager_mod.snapshot_from_primitive(
                prim, self._cache, self.manager.limits)
        except exception.InvalidRecord as exc:
            self.manager.reject('snapshot', manager_mod._node_of(prim),
                                exc.reason)
            return None
        except Exception as exc:
            self.manager.reject('snapshot', manager_mod._node_of(prim),
                                '%s: %s' % (type(exc).__name__, exc))
            return None
        self.manager._count('snapshots')
        self.manager._count('ingested')
        return rec

    def _flush(self, count):
        """Commit what the batch changed (waits while the database is
        unreachable: the batch stays unacknowledged meanwhile)."""
        engine = self.engine
        try:
            engine._until_db('storing a batch of %d snapshots' % count,
                             engine.persister.flush)
        except db_exc.DBConnectionError:
            # Stopping with the database away: leave the batch
            # unacknowledged (delivered again).
            raise
        except Exception:
            # The persister dropped its caches of these nodes: their next
            # snapshots are compared with the database and write what
            # is missing. A redelivery would change nothing (the pipeline
            # has judged these cycles).
            LOG.exception('Storing a batch of %d snapshots failed; their '
                          'nodes are written again with their next '
                          'snapshots', count)
