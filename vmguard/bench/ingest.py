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

"""python -m vmguard.bench ingest: snapshots/s of the engine vs a no-op.

The same stream of snapshots (``--nodes`` nodes x ``--cycles`` cycles,
``--vms`` VMs and ``--items`` hardware items each) is cast over the real
RabbitMQ to

(0) a raw kombu consumer on the same pre-filled queue (prefetch, one
    ``basic.ack`` per batch, both JSON layers decoded): the broker-side
    ceiling of this machine,
(a) a no-op oslo.messaging RPC server (same serializer: it deserialises
    the versioned objects and drops them), and
(b) ``vmguard-engine`` with a fresh MariaDB database (one engine, then two
    engines sharing the nodes through tooz/Redis).

Each consumer runs in its own process. The stream is queued in RabbitMQ
*before* the consumer starts, so the figure is the consumer's drain rate,
not the publisher's speed. Printed: snapshots/s of each, the ratios b/a
and b/0 (issue 18: b/0 >= 0.5 with one engine), the scaling with two
engines, and the engine's resident memory after it has judged every node.

Needs RabbitMQ, MariaDB and Redis (addresses: VMGUARD_TEST_RABBIT_URL,
VMGUARD_TEST_MYSQL_URL, VMGUARD_TEST_REDIS_URL, or the local defaults).
On the test clusters (tools/clusters/clusterctl.py): the three RabbitMQ
hosts, HAProxy in front of Galera, an ``etcd3+http://`` URL in
VMGUARD_TEST_REDIS_URL and VMGUARD_BENCH_QUORUM_QUEUES=1.
"""

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from vmguard.bench import common

REDIS_URL = os.environ.get('VMGUARD_TEST_REDIS_URL',
                           'redis://127.0.0.1:6379')
# Seconds for the first snapshot to reach an engine.
FIRST_TIMEOUT = 300


# --- the stream ---------------------------------------------------------

def node_snapshot(node, n_vms, n_items):
    hardware = [{'id': 'item-%02d' % i, 'kind': 'memory' if i % 3 else
                 'disk', 'health': 'ok', 'identity': 'SN-%s-%d' % (node, i),
                 'identity_path': 'inband'} for i in range(n_items)]
    vms = [{'uuid': str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                   '%s-%d' % (node, i))),
            'state': 'running', 'reason': 'booted', 'vcpus': 2,
            'ram_mb': 4096} for i in range(n_vms)]
    return {'type': 'snapshot', 'node': node, 'cycle': 1,
            'collected_at': '2026-11-26T10:00:00Z', 'hardware': hardware,
            'external': [{'id': 'nfs', 'kind': 'storage', 'health': 'ok'},
                         {'id': 'uplink', 'kind': 'network',
                          'health': 'ok'}],
            'services': [{'name': n, 'state': 'running'} for n in
                         ('nova-compute', 'libvirtd', 'ovs-vswitchd')],
            'capacity': {'vcpus_free': 32, 'ram_mb_free': 131072},
            'vms': vms}


def publish(conf, topic, nodes, cycles, n_vms, n_items, partitions=0):
    """Cast the stream (wire format of EngineAPI.report_snapshot: to the
    shared topic, or with ``partitions`` to each node's ingest queue as
    RPC API 1.4 does)."""
    import oslo_messaging as messaging

    from vmguard.common import context
    from vmguard.common import rpc
    from vmguard.engine import rpcapi
    from vmguard import objects
    from vmguard.objects import snapshot as snapshot_obj

    objects.register_all()
    if os.environ.get('VMGUARD_BENCH_QUORUM_QUEUES'):
        # Quorum queues make the exchange durable: publish the same way.
        messaging.get_rpc_transport(conf, url=common.RABBIT_URL).cleanup()
        conf.set_override('rabbit_quorum_queue', True,
                          group='oslo_messaging_rabbit')
    transport = messaging.get_rpc_transport(conf, url=common.RABBIT_URL)
    # Pre-serialised primitives: the publisher must not be the bottleneck.
    client = messaging.get_rpc_client(
        transport, messaging.Target(topic=topic),
        serializer=rpc.RequestContextSerializer(None))
    ctx = context.get_admin_context()
    prims = [snapshot_obj.Snapshot.from_json_dict(
        node_snapshot('bench-%04d' % i, n_vms, n_items)).obj_to_primitive()
        for i in range(nodes)]
    if partitions:
        clients = [client.prepare(
            topic=rpcapi.ingest_topic(topic, rpcapi.partition_of(
                prim['vmguard_object.data']['node'], partitions)),
            version='1.4') for prim in prims]
    else:
        clients = [client] * len(prims)
    t0 = time.monotonic()
    for cycle in range(1, cycles + 1):
        for prim, cctxt in zip(prims, clients, strict=True):
            prim['vmguard_object.data']['cycle'] = cycle
            cctxt.cast(ctx, 'report_snapshot', snapshot=prim)
    elapsed = time.monotonic() - t0
    transport.cleanup()
    return elapsed


# --- consumers (run as subprocesses of the benchmark) ------------------------

class _NoopEndpoint:
    def __init__(self):
        import oslo_messaging as messaging
        self.target = messaging.Target(version='1.1')
        self.count = 0
        self.first = None
        self.last = None

    def report_snapshot(self, context, snapshot, forwarded=False):
        now = time.time()
        if self.first is None:
            self.first = now
        self.count += 1
        self.last = now


def _write_config(path, topic, host, db_url=None, coordination=None,
                  partitions=0):
    lines = ['[DEFAULT]', 'transport_url = %s' % common.RABBIT_URL,
             'host = %s' % host, 'use_stderr = false',
             'log_file = %s.log' % path,
             '[engine]', 'topic = %s' % topic, 'periodic_interval = 2',
             'ingest_partitions = %d' % partitions,
             '[notifications]', 'nova_listener = false', 'emit = false',
             '[recovery]', 'dry_run = true', 'compute_driver = fake',
             '[retention]', 'purge_interval = 0']
    if db_url:
        lines += ['[database]', 'connection = %s' % db_url]
    if os.environ.get('VMGUARD_BENCH_QUORUM_QUEUES'):
        # A RabbitMQ cluster (tools/clusters): every queue a quorum queue.
        lines += ['[oslo_messaging_rabbit]', 'rabbit_quorum_queue = true']
    if coordination:
        lines += ['[coordination]', 'backend_url = %s' % REDIS_URL,
                  'group = %s' % coordination, 'membership_timeout = 5']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


#: The raw kombu consumer: messages RabbitMQ may push before an ack, and
#: how many are acknowledged at once (basic.ack multiple).
KOMBU_PREFETCH = 512
KOMBU_ACK_EVERY = 128


def serve_kombu(config_file, expect, out):
    """The broker-side ceiling: a plain kombu consumer on the queue the
    engine's topic uses, prefetching and acknowledging per batch. Each
    message is decoded (the AMQP body and oslo.messaging's envelope, both
    JSON) and dropped: what any consumer of this stream must do at
    least."""
    import json

    import kombu

    from vmguard.common import config as vmg_config
    from vmguard import conf

    CONF = conf.CONF
    vmg_config.prepare_service(['vmguard-bench', '--config-file',
                                config_file])
    seen = {'count': 0, 'first': None, 'last': None, 'unacked': None}

    def on_message(message):
        now = time.time()
        body = json.loads(message.body)
        json.loads(body['oslo.message'])
        if seen['first'] is None:
            seen['first'] = now
        seen['count'] += 1
        seen['last'] = now
        seen['unacked'] = message
        if seen['count'] % KOMBU_ACK_EVERY == 0:
            message.ack(multiple=True)
            seen['unacked'] = None

    with kombu.Connection(common.kombu_url(common.RABBIT_URL)) as connection:
        channel = connection.channel()
        channel.basic_qos(0, KOMBU_PREFETCH, False)
        # The queue exists (the no-op server declared it): consume it as
        # it is, whatever arguments oslo.messaging gave it.
        queue = kombu.Queue(CONF.engine.topic, channel=channel,
                            no_declare=True)
        consumer = kombu.Consumer(channel, queues=[queue],
                                  on_message=on_message, no_ack=False)
        consumer.consume()
        out.write('READY\n')
        out.flush()
        while seen['count'] < expect:
            try:
                connection.drain_events(timeout=1)
            except TimeoutError:
                continue
        if seen['unacked'] is not None:
            seen['unacked'].ack(multiple=True)
        consumer.cancel()
    out.write('FIRST %f\nLAST %f\n' % (seen['first'], seen['last']))
    out.flush()
    return 0


def serve(mode, config_file, expect):
    """Consume until ``expect`` snapshots were handled (or SIGTERM)."""
    if mode == 'kombu':
        return serve_kombu(config_file, expect, sys.stdout)
    import oslo_messaging as messaging
    from oslo_log import log as logging

    from vmguard.common import config as vmg_config
    from vmguard import conf

    CONF = conf.CONF
    vmg_config.prepare_service(['vmguard-bench', '--config-file',
                                config_file])
    logging.getLogger('vmguard').logger.setLevel('WARNING')
    # Who consumes which partition, and when: a few lines per run.
    for name in ('vmguard.engine.ingest', 'vmguard.engine.coordination'):
        logging.getLogger(name).logger.setLevel('INFO')
    out = sys.stdout
    if mode == 'noop':
        from vmguard.common import rpc
        from vmguard import objects
        objects.register_all()
        transport = messaging.get_rpc_transport(CONF)
        endpoint = _NoopEndpoint()
        server = messaging.get_rpc_server(
            transport, messaging.Target(topic=CONF.engine.topic,
                                        server=CONF.host),
            [endpoint], serializer=rpc.get_serializer())
        server.start()
        out.write('READY\n')
        out.flush()
        while endpoint.count < expect:
            time.sleep(0.01)
        out.write('FIRST %f\nLAST %f\n' % (endpoint.first, endpoint.last))
        out.flush()
        server.stop()
        server.wait()
        return 0
    from vmguard.engine import service
    svc = service.EngineService(CONF, recovery_executor=None)
    svc.start()
    out.write('READY\n')
    out.flush()
    first = None
    shown, shown_at = None, 0.0
    try:
        while True:
            stats = svc.manager.stats
            if first is None and stats['snapshots']:
                first = time.time()
                # CPU time of this process from the first snapshot on.
                out.write('FIRST %f\nCPU0 %f\n' % (first, _cpu_seconds()))
                out.flush()
            # Received (from a queue or forwarded), forwarded on, judged.
            count = (stats['snapshots'], stats['forwarded'],
                     svc.engine.pipeline.stats['snapshots'])
            if count != shown and time.monotonic() - shown_at > 0.2:
                shown, shown_at = count, time.monotonic()
                out.write('COUNT %d %d %d\n' % count)
                out.flush()
            if svc.wait(0.01):
                break
    finally:
        svc.stop()
    return 0


# --- driver ----------------------------------------------------------------

class BenchError(RuntimeError):
    """A consumer did not do what the benchmark waits for in time."""


class _Consumer:
    """A consumer process and the lines it prints, read by a thread.

    Every wait on it is bounded: ``proc.stdout.readline()`` alone blocks
    until the process prints or exits, whatever the deadline (that is how
    the two-engine run could hang: an engine that never receives a
    snapshot never prints ``FIRST``).
    """

    def __init__(self, mode, config_file, expect):
        self.config_file = config_file
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'vmguard.bench.ingest', '--serve', mode,
             '--config-file', config_file, '--expect', str(expect)],
            stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.lines = queue.Queue()
        self.seen = {}
        self.latest = {}
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _take(self, timeout):
        line = self.lines.get(timeout=timeout)
        if line is None:
            self.lines.put(None)    # EOF stays visible
            return None
        word, _sep, rest = line.strip().partition(' ')
        self.seen.setdefault(word, rest)
        self.latest[word] = rest
        return word

    def poll_line(self, prefix):
        """The value of line ``prefix`` if printed by now, else None."""
        while prefix not in self.seen:
            try:
                if self._take(0) is None:
                    break
            except queue.Empty:
                break
        return self.seen.get(prefix)

    def wait_line(self, prefix, timeout=120):
        deadline = time.monotonic() + timeout
        while prefix not in self.seen:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise queue.Empty
                if self._take(left) is None:
                    # Its output ended: it exits (or closed stdout).
                    try:
                        self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        pass
                    raise queue.Empty
            except queue.Empty:
                rc = self.proc.poll()
                raise BenchError(
                    'consumer %s %s before printing %s (its log: %s.log)'
                    % (self.config_file,
                       'exited with rc %s' % rc if rc is not None
                       else 'printed nothing for %ss' % timeout,
                       prefix, self.config_file)) from None
        return self.seen[prefix]

    def stop(self):
        common.stop_process(self.proc)


def _spawn(mode, config_file, expect):
    return _Consumer(mode, config_file, expect)


def _wait_line(consumer, prefix, timeout=120):
    return consumer.wait_line(prefix, timeout)


def _cpu_seconds(pid=None):
    """User + system CPU seconds of process ``pid`` (default: this one)."""
    with open('/proc/%s/stat' % (pid or 'self')) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _rss_mb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _prime(procs_args):
    """Start consumers once so their queues exist, then stop them."""
    for mode, path in procs_args:
        proc = _spawn(mode, path, 1)
        _wait_line(proc, 'READY')
        proc.stop()


def run_noop(conf, args, total, tmp, mode='noop'):
    """Drain rate of the no-op oslo.messaging server (``noop``) or of the
    raw kombu consumer (``kombu``) on a pre-filled queue."""
    topic = 'vmguard-bench-%s-%s' % (mode, uuid.uuid4().hex[:8])
    path = _write_config(os.path.join(tmp, '%s.conf' % mode), topic, mode)
    _prime([('noop', path)])
    pub = publish(conf, topic, args.nodes, args.cycles, args.vms,
                  args.items)
    proc = _spawn(mode, path, total)
    try:
        _wait_line(proc, 'READY')
        first = float(_wait_line(proc, 'FIRST', 600))
        last = float(_wait_line(proc, 'LAST', 600))
    finally:
        proc.stop()
    return total / max(last - first, 1e-6), pub


def run_engines(conf, args, total, tmp, count):
    import sqlalchemy as sa

    admin, engine, name, url = common.create_database()
    topic = 'vmguard-bench-engine-%s' % uuid.uuid4().hex[:8]
    group = ('vmguard-bench-%s' % uuid.uuid4().hex[:8]) if count > 1 \
        else None
    partitions = args.ingest_partitions
    paths = [_write_config(os.path.join(tmp, 'engine%d-%d.conf'
                                        % (count, i)),
                           topic, 'bench-engine-%d' % i, url, group,
                           partitions)
             for i in range(count)]
    procs = []
    try:
        _prime([('engine', p) for p in paths])
        pub = publish(conf, topic, args.nodes, args.cycles, args.vms,
                      args.items, partitions)
        procs = [_spawn('engine', p, total) for p in paths]
        for proc in procs:
            _wait_line(proc, 'READY')
        # The first engine to receive a snapshot starts the clock. With
        # two, one may drain the queued stream (its prefetch) before the
        # other subscribes and receive only what is forwarded to it, or
        # nothing: never wait for every engine's FIRST.
        deadline = time.monotonic() + FIRST_TIMEOUT
        while not any(p.poll_line('FIRST') for p in procs):
            dead = [p for p in procs if p.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise BenchError(
                    'no engine received a snapshot within %ss%s (logs: %s)'
                    % (FIRST_TIMEOUT, '; one exited' if dead else '',
                       ', '.join(p.config_file + '.log' for p in procs)))
            time.sleep(0.05)
        query = sa.text('SELECT COUNT(*) FROM nodes WHERE last_cycle = :c')
        deadline = time.monotonic() + args.timeout
        done = 0
        while done < args.nodes:
            if time.monotonic() > deadline:
                raise BenchError(
                    'timed out after %ss: %d of %d nodes stored up to '
                    'cycle %d (engines: %s; logs: %s)'
                    % (args.timeout, done, args.nodes, args.cycles,
                       ', '.join('rc %s' % p.proc.poll() for p in procs),
                       ', '.join(p.config_file + '.log' for p in procs)))
            with engine.connect() as c:
                done = c.execute(query, {'c': args.cycles}).scalar()
            if done < args.nodes:
                time.sleep(0.02)
        last = time.time()
        # CPU seconds the engines spent on the stream, summed.
        cpu = sum(_cpu_seconds(p.pid) - float(p.poll_line('CPU0'))
                  for p in procs if p.poll_line('CPU0'))
        firsts = [float(v) for v in (p.poll_line('FIRST') for p in procs)
                  if v]
        rss = [_rss_mb(p.pid) for p in procs]
        with engine.connect() as c:
            decisions = dict(c.execute(sa.text(
                'SELECT rule, COUNT(*) FROM decisions GROUP BY rule')).all())
        stored = _stored_counts(engine)
        # Let the engines print their last counts (every 0.2 s).
        time.sleep(0.5)
        counts = []
        for p in procs:
            p.poll_line('never printed')
            counts.append(tuple(int(x) for x in
                                p.latest.get('COUNT', '0 0 0').split()))
    finally:
        for proc in procs:
            proc.stop()
        common.drop_database(admin, engine, name)
        if partitions:
            _delete_ingest_queues(conf, topic, partitions)
    return {'rate': total / max(last - min(firsts), 1e-6), 'pub': pub,
            'rss': rss, 'decisions': decisions, 'cpu': cpu,
            'stored': stored, 'counts': counts}


def _stored_counts(engine):
    """Nodes stored and their VMs (what the stream must leave)."""
    import sqlalchemy as sa
    with engine.connect() as c:
        return (c.execute(sa.text('SELECT COUNT(*) FROM nodes')).scalar(),
                c.execute(sa.text('SELECT COUNT(*) FROM vms')).scalar())


def _delete_ingest_queues(conf, topic, partitions):
    from vmguard.engine import ingest
    conf.set_override('transport_url', common.RABBIT_URL)
    conf.set_override('topic', topic, group='engine')
    conf.set_override('ingest_partitions', partitions, group='engine')
    ingest.delete_queues(conf)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vmguard.bench ingest')
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--vms', type=int, default=40)
    parser.add_argument('--items', type=int, default=30)
    parser.add_argument('--cycles', type=int, default=3)
    parser.add_argument('--no-two', action='store_true',
                        help='skip the two-engine run')
    parser.add_argument('--keep-logs', action='store_true',
                        help='keep the consumers\' configurations and logs')
    parser.add_argument('--ingest-partitions', type=int, default=64,
                        help='[engine] ingest_partitions of the engines '
                             '(0: snapshots cast to the shared topic and '
                             'forwarded, the path before RPC API 1.4)')
    parser.add_argument('--timeout', type=int, default=900,
                        help='seconds to wait for the engines to store '
                             'every node (then a clear error)')
    parser.add_argument('--serve', choices=('noop', 'engine', 'kombu'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--config-file', help=argparse.SUPPRESS)
    parser.add_argument('--expect', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.config_file, args.expect)

    from vmguard import conf as vmg_conf
    conf = vmg_conf.CONF
    conf([], project='vmguard', default_config_files=[])
    tmp = tempfile.mkdtemp(prefix='vmguard-bench-ingest-')
    try:
        _run(conf, args, tmp)
    except BenchError as exc:
        # The consumers' logs stay for the operator.
        print('ingest benchmark failed: %s' % exc, file=sys.stderr)
        return 1
    if args.keep_logs:
        print('consumer configurations and logs kept in %s' % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _by_rule(counts):
    """``12 (R9: 12)``: the decisions stored, by rule."""
    total = sum(counts.values())
    if not total:
        return '0'
    return '%d (%s)' % (total, ', '.join(
        '%s: %d' % item for item in sorted(counts.items())))


def _run(conf, args, tmp):
    total = args.nodes * args.cycles
    print('ingest: %d nodes x %d cycles = %d snapshots (%d VMs, %d '
          'hardware items each) over RabbitMQ'
          % (args.nodes, args.cycles, total, args.vms, args.items))
    raw, pub = run_noop(conf, args, total, tmp, mode='kombu')
    print('  publish (pre-serialised casts): %8.0f snapshots/s'
          % (total / pub))
    print('(0) raw kombu consumer:           %8.0f snapshots/s  '
          '(prefetch %d, ack every %d, JSON decoded: the broker-side '
          'ceiling)' % (raw, KOMBU_PREFETCH, KOMBU_ACK_EVERY))
    noop, _pub = run_noop(conf, args, total, tmp)
    print('(a) no-op oslo.messaging server:  %8.0f snapshots/s  '
          'ratio a/0 = %.2f' % (noop, noop / raw))
    path = ('ingest partitions: %d' % args.ingest_partitions
            if args.ingest_partitions else 'shared topic, forwarding')
    b = run_engines(conf, args, total, tmp, 1)
    one = b['rate']
    print('(b) vmguard-engine + MariaDB:     %8.0f snapshots/s  '
          'ratio b/a = %.2f, b/0 = %.2f (issue 18 target b/0 >= 0.5; %s)'
          % (one, one / noop, one / raw, path))
    print('    engine RSS after %d nodes: %.0f MiB; CPU %.3f ms per '
          'snapshot; stored %d nodes, %d VMs; decisions: %s'
          % (args.nodes, b['rss'][0], 1000 * b['cpu'] / total,
             b['stored'][0], b['stored'][1], _by_rule(b['decisions'])))
    if not args.no_two:
        c = run_engines(conf, args, total, tmp, 2)
        two = c['rate']
        print('(c) two engines (tooz/Redis):     %8.0f snapshots/s  '
              'x%.2f of one engine, ratio c/a = %.2f'
              % (two, two / one, two / noop))
        print('    CPU per snapshot, both engines summed: %.3f ms = '
              '%.2f x one engine\'s (issue 18 target <= 1.1); stored %d '
              'nodes, %d VMs' % (1000 * c['cpu'] / total,
                                 c['cpu'] / max(b['cpu'], 1e-9),
                                 c['stored'][0], c['stored'][1]))
        print('    RSS per engine: %s MiB; decisions: %s'
              % (', '.join('%.0f' % r for r in c['rss']),
                 _by_rule(c['decisions'])))
        print('    snapshots per engine (received / forwarded / judged): '
              '%s; judged in all %d of %d sent'
              % ('; '.join('%d / %d / %d' % n for n in c['counts']),
                 sum(n[2] for n in c['counts']), total))


if __name__ == '__main__':
    sys.exit(main())
