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

"""python -m vmguard.bench e2e: guest panic -> Nova request accepted.

Everything on the path is real:

* a QEMU guest (software-emulated: tools/qemu-test-env.sh's kernel and
  busybox initramfs, ``unknown_nmi_panic=1``, a pvpanic device;
  :mod:`vmguard.bench.qemu`) under the machine's libvirtd panics when the
  benchmark injects an NMI (``virDomainInjectNMI``); libvirt raises
  VIR_DOMAIN_EVENT_CRASHED;
* the agent of its node (:class:`vmguard.agent.manager.AgentManager`,
  in this process; collectors ``libvirt`` on qemu:///system, ``inband``
  on a sysfs tree and ``redfish`` on a sushy-static BMC, both prepared
  by :mod:`vmguard.allinone.nodes`; the BMC serves the mockup of
  :mod:`vmguard.allinone.redfish`) casts the crash event to the engine
  over RabbitMQ;
* ``vmguard-engine`` (a process of its own, MariaDB, the ``nova``
  compute back end) judges it and issues the recovery;
* a real Nova 34 (tools/nova, started or reused through
  :func:`vmguard.bench.nova.real_nova`, as the functional tests do; its
  compute driver is a fake one) answers 202.

Each guest's libvirt domain UUID is the UUID of a Nova server created
first on the node the agent reports as (the Nova compute host ``cmp-1``);
the other computes run agents on libvirt's test driver so that the engine
knows them as healthy targets.

A. Guest panic on a healthy node -> R1 -> hard reboot accepted by
   nova-api, over ``--crashes`` crashes (after ``--warmup`` crashes not
   counted: the engine's first Nova call also builds its openstacksdk
   connection). Nova's fake driver does not touch libvirt: after each
   accepted reboot the benchmark restarts the guest itself.
B. A PSU of the node reported ``Warning`` by its BMC (host ``degraded``)
   and a guest panic -> R3 evacuate (the node's compute service is up, so
   vmguard cold-migrates and confirms) -> move accepted, and the server
   ACTIVE on the target host, over ``--evacuations`` rounds (one new
   server and guest each).

Times are wall-clock on this one machine: the NMI is stamped by the
benchmark, the agent's sight of the event by a wrapper around its event
sink, the decision by the timestamp of the engine's
``vmguard.decision.create`` notification (sent once the decision is
stored, before its recovery starts), the acceptance by the engine's
record of the action (``accepted_at``: right after Nova's 202) and
ACTIVE on the target by the engine's record of the finished move (it
polls Nova every 0.1 s). Percentiles are nearest-rank: with 20 samples
p99 is the maximum.

Needs RabbitMQ, MariaDB, libvirtd/QEMU (tools/qemu-test-env.sh, run here)
and the Nova of tools/nova/install.sh. Nova's place follows
VMGUARD_NOVA_DIR, VMGUARD_NOVA_PORT_BASE, VMGUARD_NOVA_DB_PREFIX and
VMGUARD_NOVA_VHOST (see tools/nova/novactl.py); a Nova this benchmark
started is stopped when it ends.
"""

import argparse
import collections
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid

from vmguard.bench import common
from vmguard.bench import nova as bench_nova
from vmguard.bench import qemu as bench_qemu

# The Redfish resource whose first PSU the evacuation variant degrades.
PSU = 'Chassis/1U/Power'
MOVES = ('migrate', 'evacuate', 'live_migrate')
NOVA_VERSION = '2.95'


def _progress(start, text):
    sys.stderr.write('[%6.1fs] %s\n' % (time.monotonic() - start, text))
    sys.stderr.flush()


def _utc(stamp):
    """Seconds since the epoch of a naive UTC ISO time."""
    when = datetime.datetime.fromisoformat(stamp)
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def summary(values):
    if not values:
        return None
    return {'n': len(values), 'min': min(values),
            'p50': percentile(values, 50), 'p99': percentile(values, 99),
            'max': max(values), 'mean': sum(values) / len(values)}


# --- Nova ----------------------------------------------------------------

class Nova:
    """The few Compute API calls the benchmark itself makes."""

    def __init__(self, env):
        self.env = env
        self.endpoint = env['endpoint']

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data,
                                     method=method)
        req.add_header('OpenStack-API-Version', 'compute ' + NOVA_VERSION)
        req.add_header('Content-Type', 'application/json')
        # No Keystone here; Nova passes the token on to the stand-in
        # Glance, which wants one.
        req.add_header('X-Auth-Token', 'vmguard-bench')
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def create(self, name, host):
        body = self.call('POST', '/servers', {'server': {
            'name': name, 'imageRef': self.env['image'],
            'flavorRef': self.env['flavor'], 'networks': 'none',
            'availability_zone': 'nova:%s' % host}})
        return body['server']['id']

    def server(self, server_id):
        return self.call('GET', '/servers/%s' % server_id)['server']

    def wait_active(self, server_id, host, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            s = self.server(server_id)
            if (s['status'] == 'ACTIVE' and not s['OS-EXT-STS:task_state']
                    and s['OS-EXT-SRV-ATTR:host'] == host):
                return s
            if s['status'] == 'ERROR' or time.monotonic() > deadline:
                raise RuntimeError('Nova server %s is %s on %s, expected '
                                   'ACTIVE on %s' % (
                                       server_id, s['status'],
                                       s['OS-EXT-SRV-ATTR:host'], host))
            time.sleep(0.2)

    def actions(self, server_id):
        return self.call('GET', '/servers/%s/os-instance-actions'
                         % server_id)['instanceActions']

    def delete(self, server_id):
        try:
            self.call('DELETE', '/servers/%s' % server_id)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise


# --- what the benchmark sees -----------------------------------------------

class Timeline:
    """Wall-clock stamps of the agent's crash events and of decisions."""

    def __init__(self):
        self.agent = collections.defaultdict(list)
        self.decisions = collections.defaultdict(list)

    def first(self, table, key, since):
        for entry in list(table.get(key, ())):
            stamp = entry[0] if isinstance(entry, tuple) else entry
            if stamp >= since:
                return entry
        return None

    def wrap_agent(self, agent):
        """Stamp the crash events the agent's collectors hand it."""
        sink = agent.report_event

        def report_event(vm_uuid, event, reason, source):
            self.agent[vm_uuid].append(time.time())
            return sink(vm_uuid, event, reason, source)

        agent.report_event = report_event

    # notification endpoint (vmguard.decision.create)
    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        if event_type != 'vmguard.decision.create':
            return
        data = payload.get('vmguard_object.data', payload)
        stamp = _utc(str(metadata['timestamp']))
        if data.get('vm'):
            self.decisions[data['vm']].append((stamp, data))


# --- guests ----------------------------------------------------------------

class Guest:
    """A QEMU guest whose domain UUID is a Nova server's UUID."""

    def __init__(self, qemu, server_id):
        self.qemu = qemu
        self.uuid = server_id
        self.name = 'vmguard-bench-%s' % server_id[:8]
        self.boots = 0
        self.console = None
        self.ready_at = None

    def start(self):
        self.stop()
        self.boots += 1
        self.ready_at = None
        self.console = os.path.join(self.qemu.dir, '%s-%d.log'
                                    % (self.name, self.boots))
        xml = self.qemu.guest_xml(self.name, self.uuid, self.console)
        self.qemu.conn.createXML(xml, 0)

    def ready(self):
        if self.ready_at is None and bench_qemu.console_ready(self.console):
            self.ready_at = time.time()
        return self.ready_at is not None

    def panic(self):
        self.qemu.conn.lookupByUUIDString(self.uuid).injectNMI(0)

    def stop(self):
        import libvirt
        try:
            self.qemu.conn.lookupByUUIDString(self.uuid).destroy()
        except libvirt.libvirtError:
            pass


# --- the benchmark ---------------------------------------------------------

ENGINE_CONF = """[DEFAULT]
transport_url = {rabbit}
control_exchange = {exchange}
host = vmguard-bench-e2e
use_stderr = false
log_file = {state}/engine.log
[oslo_messaging_rabbit]
amqp_auto_delete = {auto_delete}
[oslo_messaging_notifications]
driver = messagingv2
topics = {notifications}
[database]
connection = {db}
[engine]
topic = {engine_topic}
cycle_interval = {cycle}
periodic_interval = 1
# Crash loops (R2) are not what is measured: the same guests crash again
# and again, each crash must be a reboot.
max_reboots = 1000
reboot_window = 1
# The agents run in the benchmark's process, beside QEMU and Nova: a
# snapshot late by a few cycles must not make a node look silent (R9
# would fence it).
silent_cycles = 60
[agent]
topic = {agent_topic}
[notifications]
emit = true
{nova_listener}
[recovery]
compute_driver = nova
poll_interval = {poll}
retry_interval = 0.5
action_timeout = 120
{recovery_extra}
[nova]
auth_type = none
endpoint_override = {nova}
[retention]
purge_interval = 0
"""


class Bench:

    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.rng = random.Random(args.seed)
        self.timeline = Timeline()
        self.state = tempfile.mkdtemp(prefix='vmguard-bench-e2e-')
        self.cleanups = []
        self.nodes = []
        self.db = None
        self.engine_proc = None
        self.baseline_server = None
        #: [recovery] poll_interval of the engine: variant B stamps the
        #: end of a move when the engine sees it, so it looks often.
        self.recovery_poll_interval = 0.1
        # [notifications] lines of the engine about Nova's notifications
        # (off: variants A and B measure without them).
        self.nova_listener = 'nova_listener = false'
        #: amqp_auto_delete of the run's exchange and queues (deleted with
        #: their consumers).
        self.auto_delete = True
        #: More [recovery] lines of the engine.
        self.recovery_extra = ''
        #: Seconds between two looks (SQL) at a recovery's end.
        self.end_wait_interval = 0.02

    def progress(self, text):
        _progress(self.t0, text)

    def cleanup(self):
        while self.cleanups:
            fn, args = self.cleanups.pop()
            try:
                fn(*args)
            except Exception as exc:  # keep cleaning up
                self.progress('cleanup %s failed: %s'
                              % (getattr(fn, '__name__', fn), exc))

    # set-up ------------------------------------------------------------------

    def setup(self):
        self.progress('starting (or reusing) the test Nova ...')
        try:
            self.env = bench_nova.real_nova()
        except bench_nova.NovaUnavailable as exc:
            raise RuntimeError(str(exc)) from exc
        self.nova = Nova(self.env)
        self.hosts = list(self.env['hosts'])
        self.crash_host = self.hosts[0]
        self.progress('Nova at %s (computes %s)' % (
            self.env['endpoint'], ', '.join(self.hosts)))
        self._setup_qemu()
        self._setup_config()
        self._setup_nodes()
        admin, engine, name, url = common.create_database()
        self.db = engine
        self.cleanups.append((common.drop_database, (admin, engine, name)))
        self._transports()
        # Stopped together: each RPC server or listener takes seconds.
        self.services = []
        self.cleanups.append((self._stop_services, ()))
        self._start_listener()
        self._start_engine(url)
        self._start_agents()
        self._wait_nodes('normal')

    def _transports(self):
        import oslo_messaging as messaging

        self.rpc_transport = messaging.get_rpc_transport(
            self.conf, url=common.RABBIT_URL)
        self.cleanups.append((self.rpc_transport.cleanup, ()))
        self.notification_transport = messaging.get_notification_transport(
            self.conf, url=common.RABBIT_URL)
        self.cleanups.append((self.notification_transport.cleanup, ()))

    def _stop_services(self):
        self.progress('stopping the agents, the engine and the listener')
        threads = [threading.Thread(target=fn, args=args)
                   for fn, args in self.services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    def _setup_qemu(self):
        import libvirt

        self.progress('preparing QEMU/libvirtd (tools/qemu-test-env.sh)')
        qemu = bench_qemu.QemuGuests()
        self.cleanups.append((qemu.stop, ()))
        qemu.start()
        self.qemu = qemu
        self.crashed_event = libvirt.VIR_DOMAIN_EVENT_CRASHED
        # Its connection stamps libvirt's lifecycle events with the
        # monotonic clock.
        self.monotonic_offset = time.time() - time.monotonic()

    def libvirt_crash(self, vm_uuid, since):
        for when, dom_uuid, event, _detail in list(self.qemu.events):
            when += self.monotonic_offset
            if (dom_uuid == vm_uuid and event == self.crashed_event
                    and when >= since):
                return when
        return None

    def _setup_config(self):
        import oslo_messaging as messaging
        from oslo_log import log as logging
        from oslo_messaging import opts as msg_opts

        from vmguard import conf as vmg_conf
        from vmguard import objects

        conf = vmg_conf.CONF
        if 'log_file' not in conf:
            logging.register_options(conf)
        for group, opts in msg_opts.list_opts():
            if group == 'oslo_messaging_rabbit':
                conf.register_opts(opts, group=group)
        conf([], project='vmguard', default_config_files=[])
        run = uuid.uuid4().hex[:8]
        # An exchange, topics and queues of this run only, deleted with
        # their consumers.
        self.exchange = 'vmguard-bench-e2e-%s' % run
        messaging.set_transport_defaults(self.exchange)
        for group, name, value in (
                ('oslo_messaging_rabbit', 'amqp_auto_delete',
                 self.auto_delete),
                (None, 'log_file', os.path.join(self.state, 'bench.log')),
                (None, 'use_stderr', False),
                ('engine', 'cycle_interval', self.args.cycle_interval),
                ('engine', 'topic', 'vmguard-bench-e2e-engine-%s' % run),
                ('agent', 'topic', 'vmguard-bench-e2e-agent-%s' % run),
                ('agent', 'libvirt_reconnect_interval', 0.5)):
            conf.set_override(name, value, group=group)
        logging.setup(conf, 'vmguard')
        objects.register_all()
        self.conf = conf
        self.notification_topic = 'vmguard-bench-e2e-notify-%s' % run

    def _setup_nodes(self):
        from vmguard.allinone import nodes as sim

        for i, host in enumerate(self.hosts):
            node = sim.SimNode(host, i, self.state)
            node.write_xml()
            node.write_sysfs()
            self.nodes.append(node)
        crash_node = self.nodes[0]
        crash_node.prepare_mockup()
        problem = crash_node.start_bmc(self.state) or crash_node.wait_bmc()
        self.cleanups.append((crash_node.stop_bmc, ()))
        if problem:
            raise RuntimeError('the Redfish BMC of %s did not start: %s'
                               % (crash_node.name, problem))

    def _start_listener(self):
        import oslo_messaging as messaging
        listener = messaging.get_notification_listener(
            self.notification_transport,
            [messaging.Target(topic=self.notification_topic)],
            [self.timeline], executor='threading')
        listener.start()
        self.services.append((self._stop_server, (listener,)))

    @staticmethod
    def _stop_server(server):
        server.stop()
        server.wait()

    def _start_engine(self, db_url):
        path = os.path.join(self.state, 'engine.conf')
        with open(path, 'w') as f:
            f.write(ENGINE_CONF.format(
                rabbit=common.RABBIT_URL, exchange=self.exchange,
                state=self.state, notifications=self.notification_topic,
                db=db_url, engine_topic=self.conf.engine.topic,
                agent_topic=self.conf.agent.topic,
                cycle=self.args.cycle_interval,
                poll=self.recovery_poll_interval,
                nova=self.env['endpoint'],
                nova_listener=self.nova_listener,
                auto_delete=str(self.auto_delete).lower(),
                recovery_extra=self.recovery_extra))
        self.progress('starting vmguard-engine (%s)' % path)
        self.engine_log = open(os.path.join(self.state, 'engine.out'), 'wb')
        self.cleanups.append((self.engine_log.close, ()))
        self.engine_proc = subprocess.Popen(
            [sys.executable, '-m', 'vmguard.cmd.engine', '--config-file',
             path], stdout=self.engine_log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.services.append((common.stop_process, (self.engine_proc,)))

    def _start_agents(self):
        from vmguard.agent import manager as agent_manager

        for node in self.nodes:
            if node is self.nodes[0]:
                conf = node.agent_conf(['libvirt', 'inband', 'redfish'])
                conf.set_override('libvirt_uri', self.qemu.URI,
                                  group='agent')
            else:
                conf = node.agent_conf(['libvirt', 'inband'])
            agent = agent_manager.AgentManager(
                conf, transport=self.rpc_transport)
            if node is self.nodes[0]:
                self.timeline.wrap_agent(agent)
            agent.start()
            node.agent = agent
            self.services.append((agent.stop, ()))

    # database views of the engine --------------------------------------------

    def _query(self, sql, **params):
        import sqlalchemy as sa
        with self.db.connect() as conn:
            return conn.execute(sa.text(sql), params).fetchall()

    def _nodes(self):
        return {r[0]: (r[1], r[2]) for r in self._query(
            'SELECT name, host_state, last_cycle FROM nodes')}

    def _engine_alive(self):
        if self.engine_proc.poll() is None:
            return
        tail = ''
        for name in ('engine.out', 'engine.log'):
            try:
                with open(os.path.join(self.state, name),
                          errors='replace') as f:
                    tail += ''.join(f.readlines()[-20:])
            except OSError:
                pass
        raise RuntimeError('vmguard-engine exited (%s); end of its output '
                           'and log:\n%s' % (self.engine_proc.returncode,
                                             tail))

    def _wait(self, what, check, timeout, interval=0.02):
        deadline = time.monotonic() + timeout
        while True:
            self._engine_alive()
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise RuntimeError('timed out after %ss waiting for %s'
                                   % (timeout, what))
            time.sleep(interval)

    def _wait_nodes(self, state, hosts=None, timeout=90):
        hosts = hosts or self.hosts

        def done():
            nodes = self._nodes()
            return all(nodes.get(h, (None,))[0] == state for h in hosts)
        self.progress('waiting for the engine to judge %s %s'
                      % (', '.join(hosts), state))
        self._wait('%s %s' % (', '.join(hosts), state), done, timeout)

    def _judged_cycle(self):
        return self._nodes().get(self.crash_host, (None, None))[1] or 0

    def _actions(self, decision_uuid):
        return self._query(
            'SELECT a.action, a.status, a.request_id, a.target, a.detail, '
            'r.status FROM decisions d JOIN recoveries r ON '
            'r.decision_id = d.id LEFT JOIN recovery_actions a ON '
            'a.recovery_id = r.id WHERE d.uuid = :u', u=decision_uuid)

    def _decisions_of(self, vm):
        return self._query(
            'SELECT d.rule, d.action, d.uuid FROM decisions d WHERE '
            'd.vm = :vm ORDER BY d.id', vm=vm)

    # servers and guests ------------------------------------------------------

    def make_servers(self, count, label):
        ids = [self.nova.create('vmguard-bench-e2e-%s-%d' % (label, i),
                                self.crash_host) for i in range(count)]
        for server_id in ids:
            if not self.args.keep_servers:
                self.cleanups.append((self.nova.delete, (server_id,)))
        for server_id in ids:
            self.nova.wait_active(server_id, self.crash_host)
        return ids

    def make_guests(self, count, label):
        guests = []
        for server_id in self.make_servers(count, label):
            guest = Guest(self.qemu, server_id)
            self.cleanups.append((guest.stop, ()))
            guest.start()
            guests.append(guest)
        return guests

    def settle(self, guest, others=(), timeout=120):
        """The guest booted (and the ``others`` too: no guest boots while
        a crash is measured), and the engine judged a snapshot of the
        node collected after the boot (a crash is then new to it); then
        a random share of a cycle, so crashes fall anywhere in a cycle."""
        for g in [guest] + list(others):
            self._wait('guest %s to boot' % g.name, g.ready, timeout)
        interval = self.args.cycle_interval
        cycle = int(guest.ready_at // interval) + 1
        self._wait('the engine to judge cycle %d' % cycle,
                   lambda: self._judged_cycle() >= cycle, timeout)
        time.sleep(self.rng.uniform(0, interval))

    # one crash ---------------------------------------------------------------

    def crash(self, guest, expect, timeout):
        """Panic the guest; follow it to the accepted Nova request (and,
        for a move, to the server ACTIVE on its target)."""
        sample = {'server': guest.uuid, 'boot': guest.boots, 'ok': False}
        t_nmi = time.time()
        guest.panic()
        sample['t_nmi'] = t_nmi

        def decided():
            return self.timeline.first(self.timeline.decisions, guest.uuid,
                                       t_nmi - 0.001)
        try:
            t_dec, data = self._wait('a decision on %s' % guest.uuid,
                                     decided, timeout)
        except RuntimeError as exc:
            sample['error'] = str(exc)
            return sample
        sample.update(decision=data['uuid'], rule=data['rule'],
                      action=data['action'], vm=data['vm'],
                      target=data.get('target'), t_decision=t_dec)
        sample['t_agent'] = self.timeline.first(self.timeline.agent,
                                                guest.uuid, t_nmi)
        sample['t_libvirt'] = self.libvirt_crash(guest.uuid, t_nmi)
        if (data['rule'], data['action']) != (
                ('R1', 'reboot') if expect == 'reboot'
                else ('R3', 'evacuate')):
            sample['error'] = 'expected %s, the engine decided %s %s' % (
                expect, data['rule'], data['action'])
            return sample
        want = ('done',) if expect == 'evacuate' else ('accepted', 'done')
        final = ('succeeded', 'failed', 'escalated', 'skipped', 'cancelled')

        def accepted():
            rows = self._actions(data['uuid'])
            for action, status, rid, target, detail, _rec in rows:
                base = (action or '').split(':')[0]
                if expect == 'reboot' and base != 'reboot':
                    continue
                if expect == 'evacuate' and base not in MOVES:
                    continue
                if status in want:
                    return action, status, rid, target, json.loads(detail)
            if rows and rows[0][5] in final:
                return ('failed', rows[0][5], None, None, {})
            return None
        try:
            action, status, rid, target, detail = self._wait(
                'Nova to accept the %s of %s' % (expect, guest.uuid),
                accepted, timeout)
        except RuntimeError as exc:
            sample['error'] = str(exc)
            return sample
        sample.update(nova_action=action, request_id=rid,
                      action_status=status)
        if 'accepted_at' not in detail:
            sample['error'] = 'recovery ended %s without an accepted ' \
                              'Nova request' % status
            return sample
        sample['t_accepted'] = _utc(detail['accepted_at'])
        if expect == 'evacuate':
            sample['target'] = target
            sample['t_active'] = _utc(detail['finished_at'])
            server = self.nova.server(guest.uuid)
            sample['nova_status'] = server['status']
            sample['nova_host'] = server['OS-EXT-SRV-ATTR:host']
        if expect == 'evacuate' and (
                sample['nova_status'] != 'ACTIVE'
                or sample['nova_host'] in (None, self.crash_host)
                or sample['nova_host'] != target):
            sample['error'] = 'server %s is %s on %s after the move to %s' \
                % (guest.uuid, sample['nova_status'], sample['nova_host'],
                   target)
            return sample
        # The recovery's end (the engine waits for the server).
        self._wait('the recovery of %s to end' % data['uuid'],
                   lambda: (self._actions(data['uuid']) or [[None] * 6])[0][5]
                   in final, timeout, interval=self.end_wait_interval)
        sample['ok'] = True
        return sample

    # the two variants --------------------------------------------------------

    def run_reboots(self):
        args = self.args
        total = args.warmup + args.crashes
        self.progress('A: creating %d Nova servers on %s and their QEMU '
                      'guests' % (args.vms, self.crash_host))
        guests = self.make_guests(args.vms, 'reboot')
        samples = []
        for i in range(total):
            guest = guests[i % len(guests)]
            self.settle(guest, guests)
            sample = self.crash(guest, 'reboot', args.timeout)
            sample['warmup'] = i < args.warmup
            samples.append(sample)
            if sample['ok']:
                self.progress('A: crash %d/%d%s of %s: NMI -> reboot '
                              'accepted %.0f ms' % (
                                  i + 1, total,
                                  ' (warm-up)' if sample['warmup'] else '',
                                  guest.uuid[:8],
                                  (sample['t_accepted'] - sample['t_nmi'])
                                  * 1000))
            else:
                self.progress('A: crash %d/%d of %s FAILED: %s' % (
                    i + 1, total, guest.uuid[:8], sample.get('error')))
            if i + len(guests) < total:
                guest.start()  # Nova's fake driver leaves libvirt alone
        for guest in guests:
            guest.stop()
        return samples

    def run_baseline(self):
        """Nova's own share: the same hard reboot asked of nova-api
        directly, by this process, on a server of its own."""
        [server_id] = self.make_servers(1, 'baseline')
        self.baseline_server = server_id
        times = []
        for _ in range(self.args.baseline):
            t0 = time.time()
            self.nova.call('POST', '/servers/%s/action' % server_id,
                           {'reboot': {'type': 'HARD'}})
            times.append((time.time() - t0) * 1000)
            self.nova.wait_active(server_id, self.crash_host)
        self.progress('baseline: %d hard reboots asked of nova-api '
                      'directly' % len(times))
        return times

    def run_evacuations(self):
        args = self.args
        node = self.nodes[0]
        self.progress('B: PSU 0 of %s reported Warning by its BMC'
                      % node.name)

        def degrade(doc, health='Warning'):
            doc['PowerSupplies'][0]['Status']['Health'] = health
        node.update_bmc(PSU, degrade)
        self.cleanups.append((node.update_bmc,
                              (PSU, lambda d: degrade(d, 'OK'))))
        self._wait_nodes('degraded', [node.name])
        samples = []
        for i in range(args.evacuations):
            [guest] = self.make_guests(1, 'evacuate-%d' % i)
            self.settle(guest)
            sample = self.crash(guest, 'evacuate', args.timeout)
            samples.append(sample)
            guest.stop()
            if sample['ok']:
                self.progress('B: round %d/%d, %s: NMI -> %s accepted %.0f '
                              'ms, ACTIVE on %s %.0f ms' % (
                                  i + 1, args.evacuations, guest.uuid[:8],
                                  sample['nova_action'],
                                  (sample['t_accepted'] - sample['t_nmi'])
                                  * 1000, sample['nova_host'],
                                  (sample['t_active'] - sample['t_nmi'])
                                  * 1000))
            else:
                self.progress('B: round %d/%d of %s FAILED: %s' % (
                    i + 1, args.evacuations, guest.uuid[:8],
                    sample.get('error')))
        node.update_bmc(PSU, lambda d: degrade(d, 'OK'))
        return samples

    # what Nova and the engine recorded ---------------------------------------

    def checks(self, reboots, evacuations):
        """Per server: the decisions stored, and Nova's own instance
        actions, against the crashes the benchmark caused."""
        out = {}
        crashes = collections.Counter(s['server'] for s in reboots)
        for server_id in crashes:
            nova = [a for a in self.nova.actions(server_id)
                    if a['action'] == 'reboot']
            out[server_id] = {
                'crashes': crashes[server_id],
                'decisions': [(r[0], r[1]) for r in
                              self._decisions_of(server_id)],
                'nova_reboots': sorted(a['request_id'] for a in nova),
                'accepted': sorted(s['request_id'] for s in reboots
                                   if s['server'] == server_id
                                   and s.get('request_id'))}
        for sample in evacuations:
            server_id = sample['server']
            server = self.nova.server(server_id)
            out[server_id] = {
                'crashes': 1,
                'decisions': [(r[0], r[1]) for r in
                              self._decisions_of(server_id)],
                'nova_actions': [a['action'] for a in
                                 self.nova.actions(server_id)],
                'status': server['status'],
                'host': server['OS-EXT-SRV-ATTR:host']}
        return out


# --- report ----------------------------------------------------------------

def _segments(samples, evacuate=False):
    def ms(later, earlier):
        return [(s[later] - s[earlier]) * 1000 for s in samples
                if s.get(later) is not None and s.get(earlier) is not None]
    rows = [
        ('NMI -> libvirt CRASHED (other connection)',
         ms('t_libvirt', 't_nmi')),
        ('NMI -> agent has the event', ms('t_agent', 't_nmi')),
        ('agent -> engine decision stored', ms('t_decision', 't_agent')),
        ('decision -> Nova 202 accepted', ms('t_accepted', 't_decision')),
    ]
    if evacuate:
        rows += [('accepted -> ACTIVE on target', ms('t_active',
                                                     't_accepted')),
                 ('TOTAL NMI -> move accepted', ms('t_accepted', 't_nmi')),
                 ('TOTAL NMI -> ACTIVE on target', ms('t_active', 't_nmi'))]
    else:
        rows.append(('TOTAL NMI -> hard reboot accepted',
                     ms('t_accepted', 't_nmi')))
    return [(name, summary(values)) for name, values in rows]


def _table(out, rows):
    out('  %-42s %4s %8s %8s %8s %8s %8s' % (
        'segment (ms)', 'n', 'min', 'p50', 'p99', 'max', 'mean'))
    for name, st in rows:
        if st is None:
            out('  %-42s    0' % name)
            continue
        out('  %-42s %4d %8.0f %8.0f %8.0f %8.0f %8.0f' % (
            name, st['n'], st['min'], st['p50'], st['p99'], st['max'],
            st['mean']))


def report(out, bench, reboots, baseline, evacuations, checks):
    args = bench.args
    out('e2e: QEMU guest panic (NMI) -> vmguard agent -> RabbitMQ -> '
        'vmguard-engine -> Nova 34 request accepted')
    out('  nova     : %s, computes %s (fake compute driver)'
        % (bench.env['endpoint'], ', '.join(bench.hosts)))
    out('  guests   : QEMU (TCG) on %s under qemu:///system; domain UUID = '
        'Nova server UUID' % bench.crash_host)
    out('  engine   : vmguard-engine process, MariaDB, nova back end; cycle '
        '%ss, max_reboots 1000, reboot_window 1' % args.cycle_interval)
    out('  agents   : %s: libvirt (qemu:///system) + inband + redfish '
        '(sushy-static); others: libvirt test driver + inband'
        % bench.crash_host)
    out('  note     : Nova\'s fake driver does not touch libvirt: the '
        'benchmark restarts each guest itself after its reboot was '
        'accepted (A), and destroys a moved guest on %s (B; nothing runs '
        'it on the target)' % bench.crash_host)
    out('  times    : wall clock; NMI and agent stamped here, decision = '
        'engine notification, accepted = engine after the 202; '
        'nearest-rank percentiles (below 100 samples p99 = max)')
    out()
    ok = [s for s in reboots if s['ok'] and not s['warmup']]
    warm = [s for s in reboots if s['ok'] and s['warmup']]
    failed = [s for s in reboots if not s['ok']]
    out('A. guest panic on a healthy node -> R1 hard reboot accepted: %d '
        'crashes over %d guests (+%d warm-up, not counted%s)' % (
            len(ok), args.vms, args.warmup,
            ': %.0f ms' % ((warm[0]['t_accepted'] - warm[0]['t_nmi']) * 1000)
            if warm else ''))
    rows = _segments(ok)
    total = rows[-1][1]
    direct = summary(baseline)
    if direct:
        rows.append(('baseline: same request sent directly', direct))
    _table(out, rows)
    if total:
        out('  target p99 < 1000 ms: %s (p99 %.0f ms)' % (
            'MET' if total['p99'] < 1000 else 'NOT MET', total['p99']))
    if total and direct:
        out('  p50 NMI -> accepted / p50 direct request = %.1f (vmguard '
            'adds %.0f ms at p50 to Nova\'s own answer)' % (
                total['p50'] / direct['p50'], total['p50'] - direct['p50']))
    for s in failed:
        out('  FAILED crash of %s: %s' % (s['server'], s.get('error')))
    if args.evacuations:
        out()
        eok = [s for s in evacuations if s['ok']]
        out('B. PSU Warning via Redfish (host degraded) + guest panic -> '
            'R3 evacuate (compute up: cold migrate + confirm) accepted, '
            'server ACTIVE on target: %d rounds' % len(eok))
        _table(out, _segments(eok, evacuate=True))
        targets = collections.Counter(s['nova_host'] for s in eok)
        out('  targets: %s' % ', '.join('%s x%d' % kv for kv in
                                        sorted(targets.items())))
        for s in evacuations:
            if not s['ok']:
                out('  FAILED round of %s: %s' % (s['server'],
                                                  s.get('error')))
    out()
    bad = []
    for server_id, c in sorted(checks.items()):
        if 'nova_reboots' in c:
            good = (c['decisions'] == [('R1', 'reboot')] * c['crashes']
                    and c['nova_reboots'] == c['accepted']
                    and len(c['accepted']) == c['crashes'])
            out('  %s: %d crashes, %d R1 decisions, %d hard reboots in '
                'Nova\'s instance actions (%s)' % (
                    server_id, c['crashes'], len(c['decisions']),
                    len(c['nova_reboots']),
                    'match' if good else 'MISMATCH'))
        else:
            good = (c['decisions'] == [('R3', 'evacuate')]
                    and c['status'] == 'ACTIVE'
                    and c['host'] != bench.crash_host)
            out('  %s: 1 crash, decisions %s, Nova: %s on %s, actions %s '
                '(%s)' % (server_id, c['decisions'], c['status'], c['host'],
                          ','.join(c['nova_actions']),
                          'ok' if good else 'MISMATCH'))
        if not good:
            bad.append(server_id)
    return bad


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vmguard.bench e2e')
    parser.add_argument('--crashes', type=int, default=20,
                        help='measured crashes of variant A')
    parser.add_argument('--warmup', type=int, default=1,
                        help='crashes before those, not counted')
    parser.add_argument('--vms', type=int, default=2,
                        help='guests (Nova servers) crashed in turn in A')
    parser.add_argument('--baseline', type=int, default=20,
                        help='hard reboots asked of nova-api directly, '
                             'for comparison (0: none)')
    parser.add_argument('--evacuations', type=int, default=5,
                        help='rounds of variant B (0: skip it)')
    parser.add_argument('--cycle-interval', type=int, default=1)
    parser.add_argument('--timeout', type=float, default=60,
                        help='seconds one crash may take to its outcome')
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--json', help='write every sample here')
    parser.add_argument('--keep-servers', action='store_true',
                        help='leave the Nova servers (for checks)')
    parser.add_argument('--keep-state', action='store_true',
                        help='keep the state directory (logs, configs)')
    args = parser.parse_args(argv)
    if args.crashes < 1 or args.vms < 1:
        parser.error('--crashes and --vms must be at least 1')

    bench = Bench(args)
    status = 1
    try:
        bench.setup()
        reboots = bench.run_reboots()
        baseline = bench.run_baseline() if args.baseline else []
        evacuations = (bench.run_evacuations() if args.evacuations
                       else [])
        checks = bench.checks(reboots, evacuations)
        bad = report(print, bench, reboots, baseline, evacuations, checks)
        failures = [s for s in reboots + evacuations if not s['ok']]
        status = 1 if failures or bad else 0
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'crash_host': bench.crash_host,
                           'baseline_ms': baseline,
                           'baseline_server': bench.baseline_server,
                           'reboot': {'samples': reboots,
                                      'stats': dict(_segments(
                                          [s for s in reboots if s['ok']
                                           and not s['warmup']]))},
                           'evacuate': {'samples': evacuations,
                                        'stats': dict(_segments(
                                            [s for s in evacuations
                                             if s['ok']], True))},
                           'checks': checks, 'state_dir': bench.state,
                           'ok': status == 0}, f, indent=1)
    except Exception as exc:
        if not isinstance(exc, (RuntimeError, AssertionError)):
            traceback.print_exc()
        bench.progress('FAILED: %s' % exc)
        args.keep_state = True
    finally:
        bench.cleanup()
        if args.keep_state:
            bench.progress('state kept in %s' % bench.state)
        else:
            shutil.rmtree(bench.state, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
