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

"""python -m vmguard.bench e2e_stock: the e2e benchmark's variant C.

Guest panic on a guest **Nova created** -> guest running again, through
Nova's real libvirt driver:

* the test Nova in its libvirt mode (``VMGUARD_NOVA_LIBVIRT=1``, see
  tools/nova/libvirt_mode.py): compute ``lv-1`` runs Nova's stock
  ``LibvirtDriver`` (QEMU TCG) next to fake computes; its server is a
  real QEMU guest Nova defined (no panic device: libvirt keeps saying
  ``running`` after the guest's kernel panics);
* the benchmark injects an NMI (``virDomainInjectNMI``); the guest
  kernel panics and writes ``Kernel panic - not syncing`` to its serial
  console, which Nova logs to ``<instances>/<uuid>/console.log``;
* the agent of ``lv-1`` (in this process; collector ``libvirt`` on
  qemu:///system with ``[agent] console_log_detection``) sees the panic
  in the log and casts ``crashed/panicked`` to the engine;
* ``vmguard-engine`` (a process, MariaDB, the ``nova`` back end) decides
  R1 and asks Nova for a hard reboot; Nova's libvirt driver destroys and
  starts the domain again; the guest boots and prints ``VMGUARD-READY``.

Segments per crash: NMI -> agent has the panic (console detection) ->
decision stored (engine notification) -> Nova 202 accepted (engine's
record) -> domain running again (libvirt STARTED event on a connection
of this process) -> guest ready (``VMGUARD-READY`` after the panic in the
console log) and Nova ACTIVE with no task.

Baseline, same run, before vmguard runs: the same guest panicked the same
way and the same hard reboot asked of nova-api directly at the moment of
the panic (no detection, no decision): NMI -> domain running, NMI ->
guest ready. vmguard's share is what it adds before the request.

``--fault hang``: the same path for a hung guest instead of a panic: the
server boots the image with ``hw_qemu_guest_agent=yes`` (Nova adds the
agent's virtio-serial channel; the guest runs qemu-ga on it), the agent
runs with ``[agent] guest_agent_detection``, and the fault is the guest
agent stopped inside the guest (``guest-exec`` of ``killall -STOP
qemu-ga``: the guest's kernel runs on, its agent answers nothing): after
``--hang-cycles`` silent cycles the agent reports ``crashed/hung``, R1,
Nova hard-reboots, the guest boots and its agent answers again.

One guest at a time (256 MB, TCG). Needs RabbitMQ, MariaDB,
libvirtd/QEMU and ``tools/nova/install.sh --libvirt``.
"""

import argparse
import json
import os
import shutil
import sys
import threading
import time
import traceback

from vmguard.bench import e2e
from vmguard.bench import nova as bench_nova

#: [recovery] poll_interval of the engine (the option's default).
CONF_POLL_INTERVAL = 1.0
#: What the guest agent is told to run to stop itself (busybox).
FREEZE_AGENT = {'execute': 'guest-exec', 'arguments': {
    'path': '/bin/killall', 'arg': ['-STOP', 'qemu-ga']}}
#: Words of the report per fault: the injection, what the agent has.
FAULTS = {'panic': ('NMI', 'agent has the panic (console)'),
          'hang': ('freeze', 'agent reports hung (guest agent)')}


class StockGuest:
    """A Nova server of the libvirt compute: its domain and console."""

    def __init__(self, bench, server_id, fault='panic'):
        self.bench = bench
        self.fault = fault
        self.uuid = server_id
        self.name = 'nova-%s' % server_id[:8]
        self.console = bench.lv['console_log'].replace('{uuid}', server_id)
        self.ready_at = None
        self._watcher = None
        self.boots = 1

    def _text(self):
        try:
            with open(self.console, 'rb') as f:
                return f.read()
        except OSError:
            return b''

    def booted(self):
        """True when the console shows a boot finished after the last
        panic (Nova's log is truncated when the domain starts again; if
        it were not, the order of the two texts still tells); for a hang,
        the guest agent answers too."""
        text = self._text()
        if text.rfind(b'VMGUARD-READY') <= text.rfind(b'Kernel panic'):
            return False
        return self.fault != 'hang' or self.agent_answers()

    def _domain(self):
        return self.bench.connection().lookupByUUIDString(self.uuid)

    def agent_answers(self, timeout=1):
        """The guest agent answers a ping within ``timeout`` s."""
        import libvirt
        import libvirt_qemu
        try:
            libvirt_qemu.qemuAgentCommand(
                self._domain(), json.dumps({'execute': 'guest-ping'}),
                timeout, 0)
        except libvirt.libvirtError:
            return False
        return True

    def domain_id(self):
        import libvirt
        try:
            return self._domain().ID()
        except libvirt.libvirtError:
            return -1

    def ready(self):
        if self.ready_at is None and self._watcher is None and self.booted():
            self.ready_at = time.time()
        return self.ready_at is not None

    def panic(self):
        """Inject the fault (an NMI, or the guest agent stopped); a
        thread stamps the next boot's end at once (the benchmark may be
        waiting on the engine meanwhile)."""
        self.ready_at = None
        if self.fault == 'hang':
            import libvirt_qemu
            run = self.domain_id()
            self._watcher = threading.Thread(
                target=self._watch_agent_reboot, args=(run,), daemon=True)
            libvirt_qemu.qemuAgentCommand(
                self._domain(), json.dumps(FREEZE_AGENT), 5, 0)
        else:
            self._watcher = threading.Thread(target=self._watch_reboot,
                                             daemon=True)
            self._domain().injectNMI(0)
        self._watcher.start()

    def _watch_agent_reboot(self, run):
        # The stopped agent cannot tell a boot: a new run of the domain
        # (another domain ID), then its boot and its agent answering.
        deadline = time.monotonic() + 300
        while self.domain_id() in (run, -1) and time.monotonic() < deadline:
            time.sleep(0.01)
        while not self.booted() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.booted():
            self.ready_at = time.time()
            self.boots += 1
        self._watcher = None

    def _watch_reboot(self):
        deadline = time.monotonic() + 300
        while self.booted() and time.monotonic() < deadline:
            time.sleep(0.005)  # until the panic is on the console
        while not self.booted() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.booted():
            self.ready_at = time.time()
            self.boots += 1
        self._watcher = None

    def panicked(self):
        return b'Kernel panic' in self._text()

    def stop(self):
        pass  # Nova owns the domain: deleting the server removes it


def _delete_queues(url, names, exchange=None):
    """Delete the queues (and exchange) a run left on the broker; the
    names that could not be deleted (e.g. never declared)."""
    import kombu

    left = []
    with kombu.Connection(e2e.common.kombu_url(url)) as connection:
        for kind, name in ([('queue', n) for n in names] +
                           ([('exchange', exchange)] if exchange else [])):
            channel = connection.channel()
            try:
                if kind == 'queue':
                    channel.queue_delete(queue=name)
                else:
                    channel.exchange_delete(exchange=name)
            except Exception as exc:
                left.append('%s %s (%s)' % (kind, name, exc))
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return left


class StockBench(e2e.Bench):

    def __init__(self, args):
        super().__init__(args)
        # The engine looks at the server while Nova reboots it as an
        # operator's engine does ([recovery] poll_interval's default):
        # nothing measured here depends on it (libvirt's event and the
        # console stamp the reboot), and a GET every 0.1 s kept nova-api
        # busy on the cores Nova's hard reboot needs.
        self.recovery_poll_interval = CONF_POLL_INTERVAL
        # Nothing is stamped at the recovery's end either (it follows the
        # engine's look at the server): the benchmark's own queries for
        # it need not run 50 times a second beside Nova's reboot.
        self.end_wait_interval = 0.5
        self.auto_delete = False
        if args.server_view_max_age is not None:
            self.recovery_extra = ('server_view_max_age = %d'
                                   % args.server_view_max_age)

    def reboots_on_view(self):
        """How many recoveries the engine started on its view of the
        server, without reading it first (its log says)."""
        try:
            with open(os.path.join(self.state, 'engine.log')) as f:
                return sum(1 for line in f
                           if 'used without a new read' in line)
        except OSError:
            return 0

    def setup_stock(self):
        """Nova (libvirt mode), libvirtd, the configuration, the nodes,
        the database; the engine and agents come later
        (:meth:`start_vmguard`) so that the baseline runs without
        them."""
        self.progress('starting (or reusing) the test Nova in its '
                      'libvirt mode ...')
        try:
            self.env = bench_nova.real_nova(libvirt=True)
        except bench_nova.NovaUnavailable as exc:
            raise RuntimeError(str(exc)) from exc
        self.lv = self.env['libvirt']
        self.nova = e2e.Nova(self.env)
        self.crash_host = self.lv['host']
        self.hosts = [self.crash_host] + list(self.env['hosts'])
        self.progress('Nova at %s (libvirt compute %s, fake computes %s)'
                      % (self.env['endpoint'], self.crash_host,
                         ', '.join(self.env['hosts'])))
        self._setup_qemu()
        self.started_event = self.qemu.libvirt.VIR_DOMAIN_EVENT_STARTED
        self._setup_config()
        from vmguard.allinone import nodes as sim
        for i, host in enumerate(self.hosts):
            node = sim.SimNode(host, i, self.state)
            node.write_xml()
            node.write_sysfs()
            self.nodes.append(node)
        admin, engine, name, url = e2e.common.create_database()
        self.db = engine
        self.db_url = url
        self.cleanups.append((e2e.common.drop_database,
                              (admin, engine, name)))
        # The engine hears Nova's versioned notifications as an operator's
        # does ([notifications] nova_listener): what they say of the
        # server spares the read before its reboot.
        # Nova's exchange is durable, so nothing of the run may be
        # declared auto-delete (one setting for both transports): its
        # queues are deleted at the end instead.
        notes = self.env['notifications']
        pool = 'vmguard-bench-%s' % os.getpid()
        self.nova_listener = (
            'nova_listener = true\nnova_transport_url = %s\n'
            'nova_exchange = %s\nnova_topic = %s\npool = %s'
            % (self.env['transport_url'], notes['exchange'],
               notes['topic'], pool))
        # get_nova_listener's queue: "<pool>.<host>" on Nova's vhost.
        self.cleanups.append((_delete_queues, (
            self.env['transport_url'], ['%s.vmguard-bench-e2e' % pool])))
        self._transports()
        # Run after the services stopped (cleanups run last first).
        self.cleanups.append((self._delete_run_queues, ()))
        self.services = []
        self.cleanups.append((self._stop_services, ()))

    def _delete_run_queues(self):
        conf = self.conf
        names = [conf.engine.topic,
                 '%s.vmguard-bench-e2e' % conf.engine.topic,
                 conf.agent.topic, '%s.info' % self.notification_topic,
                 '%s.error' % self.notification_topic]
        names += ['%s.%s' % (conf.agent.topic, n) for n in self.hosts]
        left = _delete_queues(e2e.common.RABBIT_URL, names,
                              exchange=self.exchange)
        if left:
            self.progress('could not delete from RabbitMQ: %s'
                          % ', '.join(left))

    def start_vmguard(self):
        self._start_listener()
        self._start_engine(self.db_url)
        self._start_agents()
        try:
            self._wait_nodes('normal')
        except RuntimeError as exc:
            raise RuntimeError('%s; the engine judged: %s'
                               % (exc, self._nodes())) from exc

    def _start_agents(self):
        from vmguard.agent import manager as agent_manager

        for node in self.nodes:
            if node is self.nodes[0]:
                # In-band hardware (a sysfs tree of the simulated node):
                # without hardware readings a node is 'unknown', not
                # healthy, and R1 does not apply.
                conf = node.agent_conf(['libvirt', 'inband'])
                for name, value in (
                        ('libvirt_uri', self.lv['libvirt_uri']),
                        ('console_log_detection', True),
                        ('console_log_path', self.lv['console_log'])):
                    conf.set_override(name, value, group='agent')
                if self.args.fault == 'hang':
                    for name, value in (
                            ('guest_agent_detection', True),
                            ('guest_agent_timeout', 1),
                            ('hang_cycles', self.args.hang_cycles)):
                        conf.set_override(name, value, group='agent')
            else:
                conf = node.agent_conf(['libvirt', 'inband'])
            agent = agent_manager.AgentManager(
                conf, transport=self.rpc_transport)
            if node is self.nodes[0]:
                self.timeline.wrap_agent(agent)
            agent.start()
            node.agent = agent
            self.services.append((agent.stop, ()))

    # servers -------------------------------------------------------------

    def make_stock_guest(self):
        image = self.lv['image']
        if self.args.fault == 'hang':
            image = self.lv.get('agent_image')
            if not image:
                raise RuntimeError(
                    'the test Nova serves no guest with the QEMU guest '
                    'agent: install qemu-ga (Debian qemu-guest-agent) and '
                    'start the test Nova again')
        body = self.nova.call('POST', '/servers', {'server': {
            'name': 'vmguard-bench-stock', 'imageRef': image,
            'flavorRef': self.lv['flavor'], 'networks': 'none',
            'availability_zone': self.lv['availability_zone']}})
        server_id = body['server']['id']
        if not self.args.keep_servers:
            self.cleanups.append((self.nova.delete, (server_id,)))
        self.nova.wait_active(server_id, self.crash_host,
                              timeout=self.args.timeout * 3)
        guest = StockGuest(self, server_id, self.args.fault)
        e2e.bench_qemu.wait_for(guest.ready, self.args.timeout * 3,
                                interval=0.1, what='the guest to boot')
        self.progress('server %s ACTIVE on %s, guest booted (%s)'
                      % (server_id, self.crash_host, guest.console))
        return guest

    def connection(self):
        """The event-stamping libvirt connection, opened again (with its
        callback) if libvirtd was restarted meanwhile (other test runs on
        this machine restart it)."""
        qemu = self.qemu
        try:
            if qemu.conn.isAlive():
                return qemu.conn
        except qemu.libvirt.libvirtError:
            pass
        self.progress('libvirt connection lost: opening it again')
        conn = qemu.libvirt.open(qemu.URI)
        conn.domainEventRegisterAny(
            None, qemu.libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, qemu._on_event,
            None)
        qemu.conn = conn
        return conn

    def started_after(self, vm_uuid, since):
        for when, dom_uuid, event, _detail in list(self.qemu.events):
            when += self.monotonic_offset
            if (dom_uuid == vm_uuid and event == self.started_event
                    and when >= since):
                return when
        return None

    def _follow_restart(self, guest, sample, t_nmi):
        """Stamp the domain's start after the panic, the guest's boot
        and Nova ACTIVE with no task."""
        timeout = self.args.timeout
        sample['t_running'] = e2e.bench_qemu.wait_for(
            lambda: self.started_after(guest.uuid, t_nmi), timeout,
            interval=0.01, what='the domain to start again')
        e2e.bench_qemu.wait_for(guest.ready, timeout, interval=0.02,
                                what='the guest to boot again')
        sample['t_ready'] = guest.ready_at
        server = self.nova.wait_active(guest.uuid, self.crash_host,
                                       timeout=timeout)
        sample['t_active'] = time.time()
        sample['nova_status'] = server['status']

    # the rounds ----------------------------------------------------------

    def _settle_console(self, guest):
        # Between crashes, a random share of a cycle, so crashes fall
        # anywhere in a cycle.
        e2e.bench_qemu.wait_for(guest.ready, self.args.timeout,
                                interval=0.05, what='the guest to boot')
        time.sleep(self.rng.uniform(0, self.args.cycle_interval))

    def run_baseline_direct(self, guest):
        samples = []
        for i in range(self.args.baseline):
            self._settle_console(guest)
            self.connection()
            sample = {'server': guest.uuid, 'ok': False}
            t_nmi = time.time()
            try:
                guest.panic()
                sample['t_nmi'] = t_nmi
                self.nova.call('POST', '/servers/%s/action' % guest.uuid,
                               {'reboot': {'type': 'HARD'}})
                sample['t_accepted'] = time.time()
                self._follow_restart(guest, sample, t_nmi)
            except Exception as exc:
                sample['error'] = str(exc)
            else:
                sample['ok'] = True
            samples.append(sample)
            self.progress('baseline %d/%d: NMI -> running %s ms' % (
                i + 1, self.args.baseline, _ms(sample, 't_running')))
        return samples

    def run_crashes(self, guest):
        total = self.args.warmup + self.args.crashes
        samples = []
        for i in range(total):
            try:
                self.settle(guest)
                sample = self.crash(guest, 'reboot', self.args.timeout)
            except Exception as exc:
                sample = {'server': guest.uuid, 'ok': False,
                          'error': '%s: %s' % (type(exc).__name__, exc)}
                e2e.bench_qemu.wait_for(guest.ready, self.args.timeout,
                                        what='the guest to boot')
            sample['warmup'] = i < self.args.warmup
            if sample['ok']:
                try:
                    self._follow_restart(guest, sample, sample['t_nmi'])
                except Exception as exc:
                    sample['ok'] = False
                    sample['error'] = str(exc)
            sample['source'] = self._event_source(guest, sample)
            samples.append(sample)
            self.progress('C: crash %d/%d%s: %s' % (
                i + 1, total, ' (warm-up)' if sample['warmup'] else '',
                'NMI -> running %s ms, ready %s ms' % (
                    _ms(sample, 't_running'), _ms(sample, 't_ready'))
                if sample['ok'] else 'FAILED: %s' % sample.get('error')))
        return samples

    def _event_source(self, guest, sample):
        # The agent stamps are taken by wrap_agent; the panic can only
        # have come from the console (the domain has no panic device),
        # the hang from the guest agent.
        if not sample.get('t_agent'):
            return None
        return 'guest-agent' if guest.fault == 'hang' else 'console'

    def nova_reboots(self, server_id):
        return [a for a in self.nova.actions(server_id)
                if a['action'] == 'reboot']


def _ms(sample, key):
    if sample.get(key) is None:
        return '-'
    return '%.0f' % ((sample[key] - sample['t_nmi']) * 1000)


def segments(samples, baseline, fault='panic'):
    def ms(later, earlier, rows=samples):
        return [(s[later] - s[earlier]) * 1000 for s in rows
                if s.get(later) is not None and s.get(earlier) is not None]
    what, detected = FAULTS[fault]
    rows = [
        ('%s -> %s' % (what, detected), ms('t_agent', 't_nmi')),
        ('agent -> engine decision stored', ms('t_decision', 't_agent')),
        ('decision -> Nova 202 accepted', ms('t_accepted', 't_decision')),
        ('vmguard share: %s -> Nova 202' % what, ms('t_accepted', 't_nmi')),
        ('Nova 202 -> domain running', ms('t_running', 't_accepted')),
        ('TOTAL %s -> domain running' % what, ms('t_running', 't_nmi')),
        ('domain running -> guest ready', ms('t_ready', 't_running')),
        ('TOTAL %s -> guest ready' % what, ms('t_ready', 't_nmi')),
        ('TOTAL %s -> Nova ACTIVE, no task' % what, ms('t_active', 't_nmi')),
        ('baseline: %s -> direct 202' % what, ms('t_accepted', 't_nmi',
                                                 baseline)),
        ('baseline: %s -> domain running' % what, ms('t_running', 't_nmi',
                                                     baseline)),
        ('baseline: %s -> guest ready' % what, ms('t_ready', 't_nmi',
                                                  baseline)),
    ]
    return rows


def report(out, bench, crashes, baseline, checks):
    args = bench.args
    ok = [s for s in crashes if s['ok'] and not s['warmup']]
    okb = [s for s in baseline if s['ok']]
    what = FAULTS[args.fault][0]
    if args.fault == 'hang':
        out('e2e variant C, hung guest: the QEMU guest agent stopped inside '
            'a guest Nova created (hw_qemu_guest_agent=yes) -> %d silent '
            'pings -> vmguard agent -> engine -> Nova hard reboot -> domain '
            'running -> guest ready, its agent answering'
            % args.hang_cycles)
    else:
        out('e2e variant C: guest panic (NMI) on a guest Nova created '
            '(stock libvirt driver, no panic device) -> console log -> '
            'vmguard agent -> engine -> Nova hard reboot -> domain running '
            '-> guest ready')
    out('  nova     : %s, libvirt compute %s (QEMU TCG, 256 MB guest), '
        'fake computes %s' % (bench.env['endpoint'], bench.crash_host,
                              ', '.join(bench.env['hosts'])))
    out('  engine   : vmguard-engine process, MariaDB, nova back end; cycle '
        '%ss' % args.cycle_interval)
    out('  times    : wall clock; nearest-rank percentiles (below 100 '
        'samples p99 = max)')
    out()
    out('C. %d crashes (+%d warm-up, not counted); baseline: %d hard '
        'reboots requested directly at the %s' % (
            len(ok), args.warmup, len(okb), what))
    rows = [(name, e2e.summary(values))
            for name, values in segments(ok, okb, args.fault)]
    e2e._table(out, rows)
    stats = dict(rows)
    total = stats['TOTAL %s -> domain running' % what]
    share = stats['vmguard share: %s -> Nova 202' % what]
    direct = stats['baseline: %s -> domain running' % what]
    if args.fault == 'hang':
        # Detection waits hang_cycles cycles by design: no target.
        pass
    elif total:
        out('  target NMI -> domain running p99 < 3000 ms: %s (p99 %.0f ms)'
            % ('MET' if total['p99'] < 3000 else 'NOT MET', total['p99']))
    if share and args.fault == 'panic':
        out('  target vmguard share p99 <= 300 ms: %s (p99 %.0f ms)'
            % ('MET' if share['p99'] <= 300 else 'NOT MET', share['p99']))
    if total and direct:
        out('  p50 %s -> running via vmguard / directly = %.2f (+%.0f ms)'
            % (what, total['p50'] / direct['p50'],
               total['p50'] - direct['p50']))
    for s in crashes + baseline:
        if not s['ok']:
            out('  FAILED: %s' % s.get('error'))
    good = (checks['decisions'] == [['R1', 'reboot']] * len(crashes)
            and checks['nova_reboots'] == len(crashes) + len(baseline))
    out('  %s: %d crashes -> %d R1 decisions; %d hard reboots in Nova\'s '
        'instance actions (%d by vmguard + %d baseline): %s' % (
            checks['server'], len(crashes), len(checks['decisions']),
            checks['nova_reboots'], len(crashes), len(baseline),
            'match' if good else 'MISMATCH'))
    out('  reboots requested on what Nova last said of the server (no GET '
        'first): %d of %d' % (checks.get('on_view', 0), len(crashes)))
    return good, rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vmguard.bench '
                                          'e2e_stock')
    parser.add_argument('--fault', choices=sorted(FAULTS), default='panic',
                        help='panic: an NMI panics the guest (the console '
                             'log detector); hang: the guest agent is '
                             'stopped inside the guest (the guest agent '
                             'detector)')
    parser.add_argument('--hang-cycles', type=int, default=2,
                        help='[agent] hang_cycles with --fault hang')
    parser.add_argument('--crashes', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--baseline', type=int, default=10,
                        help='panics followed by a hard reboot requested '
                             'directly (before vmguard starts)')
    parser.add_argument('--cycle-interval', type=int, default=1)
    parser.add_argument('--timeout', type=float, default=60)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--server-view-max-age', type=int, default=None,
                        help="the engine's [recovery] server_view_max_age "
                             '(default: the option\'s default; 0: read the '
                             'server from Nova before every reboot)')
    parser.add_argument('--json', help='write every sample here')
    parser.add_argument('--keep-servers', action='store_true')
    parser.add_argument('--keep-state', action='store_true')
    args = parser.parse_args(argv)
    if args.crashes < 1:
        parser.error('--crashes must be at least 1')

    bench = StockBench(args)
    status = 1
    try:
        bench.setup_stock()
        guest = bench.make_stock_guest()
        baseline = bench.run_baseline_direct(guest)
        bench.start_vmguard()
        crashes = bench.run_crashes(guest)
        checks = {'server': guest.uuid,
                  'decisions': [list(r[:2]) for r in
                                bench._decisions_of(guest.uuid)],
                  'reasons': [r[0] for r in bench._query(
                      'SELECT d.reason FROM decisions d WHERE d.vm = :vm '
                      'ORDER BY d.id', vm=guest.uuid)],
                  'nova_reboots': len(bench.nova_reboots(guest.uuid)),
                  'on_view': bench.reboots_on_view()}
        good, rows = report(print, bench, crashes, baseline, checks)
        failures = [s for s in crashes + baseline if not s['ok']]
        status = 0 if good and not failures else 1
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'server': guest.uuid, 'console': guest.console,
                           'fault': args.fault,
                           'crash_host': bench.crash_host,
                           'crashes': crashes, 'baseline': baseline,
                           'stats': dict(rows), 'checks': checks,
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
