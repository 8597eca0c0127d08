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

"""vmguard-allinone: engine, three agents and the API in one command.

Everything runs on embedded defaults in a temporary state directory:

* SQLite, its schema created by the migrations (what ``vmguard-manage db
  sync`` runs);
* RabbitMQ at 127.0.0.1:5672 when it answers (on an exchange, topics and
  queues of this run only, deleted when it ends), else oslo.messaging's
  in-process ``fake://`` transport;
* three simulated compute nodes, each with a real agent
  (:class:`vmguard.agent.manager.AgentManager`) running the real
  collectors: ``libvirt`` on libvirt's ``test:///`` driver with a node XML
  of its own, ``inband`` on a sysfs-shaped tree of its own and ``redfish``
  on a BMC of its own (``sushy-static`` serving a copy of the project's
  Redfish mockup, :mod:`vmguard.allinone.redfish`, on a free port;
  without it, or with ``--no-bmc``, the nodes run without BMC, which the
  output says);
* the engine: the real engine service
  (:class:`vmguard.engine.service.EngineService`: RPC endpoint, judgment
  pipeline, persistence, recovery) with the recovery executor on the
  ``fake`` compute back end, which records what it would ask of Nova and
  whose actions the simulated nodes follow (a rebooted VM runs again, a
  moved one runs on its target). Should the service not start, the demo
  says so and runs the same parts without it: the judgment pipeline on
  the snapshots received over RPC, decisions stored once through
  ``vmguard.db.api.decision_create``, recoveries through
  :class:`vmguard.engine.recovery.RecoveryExecutor`;
* with ``--serve``, the REST API (noauth) on ``[api] host_ip``/``port``,
  up until Ctrl-C.

It then injects faults in phases, waits (showing progress) for the
decisions each must cause, and prints what vmguard saw, decided and did.
The exit status is 0 when every expected decision came, 1 otherwise.
"""

import collections
import logging as std_logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging import opts as msg_opts

from vmguard.agent import manager as agent_manager
from vmguard.allinone import engine as demo_engine
from vmguard.allinone import nodes as sim
from vmguard.allinone import report
from vmguard.common import config as vmg_config
from vmguard.common import context as vmg_context
from vmguard.common import rpc
import vmguard.conf
from vmguard.db import api as db_api
from vmguard.db import migration
from vmguard import objects

CONF = vmguard.conf.CONF
LOG = logging.getLogger(__name__)

cli_opts = [
    cfg.BoolOpt('serve', default=False,
                help='Keep the engine, agents and REST API running after '
                     'the demo, until Ctrl-C.'),
    cfg.IntOpt('phase-timeout', default=60, min=5, max=3600,
               help='Seconds each fault phase may take before the demo '
                    'fails.'),
    cfg.StrOpt('demo-transport-url',
               help='oslo.messaging transport URL for the demo. Default: '
                    'RabbitMQ at 127.0.0.1:5672 (guest/guest) when it '
                    'answers, else the in-process fake:// transport.'),
    cfg.BoolOpt('no-bmc', default=False,
                help='Run without the Redfish BMCs (as when sushy-tools '
                     'is not installed): phase 2 fails a temperature '
                     'sensor of the sysfs tree instead of a power supply, '
                     'phase 3 (needs the BMC) is left out.'),
    cfg.BoolOpt('keep-state', default=False,
                help='Keep the temporary state directory (database, logs, '
                     'node XMLs, BMC mockups) and print its path.'),
]

RABBIT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'
NODES = ('cmp-a', 'cmp-b', 'cmp-c')
# Recovery statuses after which the executor is done with a decision.
FINISHED = ('succeeded', 'skipped', 'escalated', 'cancelled', 'failed')

class DemoError(Exception):
    """The demo cannot go on (a component did not start, a bound)."""


def _out(text=''):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def _rabbit_reachable():
    try:
        with socket.create_connection(('127.0.0.1', 5672), timeout=1):
            return True
    except OSError:
        return False


# -- the engine side ----------------------------------------------------------

# -- the demo -----------------------------------------------------------------

Phase = collections.namedtuple('Phase', 'title node inject expected')


class Demo:

    def __init__(self, state_dir, transport_url):
        self.dir = state_dir
        self.transport_url = transport_url
        self.nodes = [sim.SimNode(n, i, state_dir)
                      for i, n in enumerate(NODES)]
        self.by_name = {n.name: n for n in self.nodes}
        self.driver = sim.SimulatedCompute(self._on_compute)
        self.context = vmg_context.get_admin_context()
        self.transport = None
        self.engine_kind = None
        self.engine = None
        self.notes = []
        self.results = []

    # set-up ------------------------------------------------------------------

    def setup(self, no_bmc=False):
        # An exchange, topics and queues of this run only, deleted with
        # their consumers: nothing of the demo stays on the broker.
        messaging.set_transport_defaults(
            'vmguard-allinone-%s' % uuid.uuid4().hex[:8])
        for group, opts in msg_opts.list_opts():
            if group == 'oslo_messaging_rabbit':
                CONF.register_opts(opts, group=group)
        CONF.set_override('amqp_auto_delete', True,
                          group='oslo_messaging_rabbit')
        self.transport = messaging.get_rpc_transport(
            CONF, url=self.transport_url)
        # The engine service builds its notifier from [DEFAULT]
        # transport_url (registered by oslo.messaging just now).
        CONF.set_override('transport_url', self.transport_url)
        collectors = ['libvirt', 'inband', 'redfish']
        for node in self.nodes:
            node.add_domain('%s-web' % node.name)
            node.add_domain('%s-db' % node.name, vcpus=4, ram_mb=4096)
            node.write_xml()
            node.write_sysfs()
            node.prepare_mockup()
            self.driver.add_host(node.name)
            for dom_uuid, dom in node.domains.items():
                self.driver.add_server(dom_uuid, node.name,
                                       vcpus=dom['vcpus'],
                                       ram_mb=dom['ram_mb'])
        if no_bmc:
            problems = ['--no-bmc given']
        else:
            problems = [n.start_bmc(self.dir) for n in self.nodes]
            problems = [p for p in problems if p] or [
                p for p in (n.wait_bmc() for n in self.nodes) if p]
        if problems:
            collectors.remove('redfish')
            for node in self.nodes:
                node.stop_bmc()
            self.notes.append(
                'Redfish BMCs NOT used (%s): phase 2 fails a temperature '
                'sensor instead of a power supply; phase 3 (a disk only '
                'the BMC sees) is left out' % problems[0])
        self.collectors = collectors
        try:
            self.engine = demo_engine.ServiceEngine(CONF, self.transport,
                                                    self.driver)
            self.engine.start()
            self.engine_kind = ('vmguard-engine service (RPC endpoint, '
                                'pipeline, persistence, recovery executor)')
        except Exception as exc:
            LOG.exception('The engine service cannot run here')
            try:
                self.engine.stop()
            except Exception:
                LOG.debug('Stopping the engine service', exc_info=True)
            self.notes.append('the engine service did not start (%s: %s); '
                              'running the judgment pipeline, decisions '
                              'in the database and the recovery executor '
                              'without it' % (type(exc).__name__, exc))
            self.engine = demo_engine.DemoEngine(CONF, self.transport,
                                                 self.driver)
            self.engine.start()
            self.engine_kind = ('judgment pipeline + decisions in the '
                                'database + recovery executor')
        for node in self.nodes:
            node.agent = agent_manager.AgentManager(
                node.agent_conf(collectors), transport=self.transport)
            node.agent.start()

    def teardown(self):
        # The engine first: agents stopping one by one would look like
        # silent nodes (R9) to an engine still running.
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        for node in self.nodes:
            if node.agent is not None:
                try:
                    node.agent.stop()
                except Exception:
                    LOG.exception('Stopping the agent of %s failed',
                                  node.name)
        for node in self.nodes:
            node.stop_bmc()
        if self.transport is not None:
            self.transport.cleanup()
        rpc.cleanup()

    # what the fake back end did, applied to the simulated hypervisors -------

    def _on_compute(self, kind, server_id):
        """The fake back end acted: make the simulated nodes agree."""
        server = self.driver.servers.get(server_id)
        if server is None:
            return
        for node in self.nodes:
            dom = node.domains.get(server_id)
            if dom is None:
                continue
            if kind == 'reboot':
                dom['state'] = sim.RUNNING
                node.apply_domains()
            elif server.host != node.name and server.host in self.by_name:
                del node.domains[server_id]
                dom['state'] = sim.RUNNING
                target = self.by_name[server.host]
                target.domains[server_id] = dom
                node.apply_domains()
                target.apply_domains()
            return

    def find(self, rule, action, node):
        for row in db_api.decision_list(self.context, node=node, rule=rule,
                                        action=action):
            return row
        return None

    def recovery_status(self, row):
        return db_api.recovery_get_by_decision(self.context, row.id).status

    # waiting -----------------------------------------------------------------

    def _wait(self, what, done, timeout):
        """Poll done() until it returns something true; show progress
        (a live counter on a terminal, a dot a second otherwise)."""
        tty = sys.stdout.isatty()
        start = time.monotonic()
        last = 0
        if not tty:
            sys.stdout.write('    %-48s ' % what)
        while True:
            result = done()
            elapsed = time.monotonic() - start
            if result:
                if tty:
                    sys.stdout.write('\r\033[K')
                    sys.stdout.write('    %-48s ' % what)
                sys.stdout.write('done in %.1fs\n' % elapsed)
                sys.stdout.flush()
                return result
            if elapsed > timeout:
                sys.stdout.write('gave up after %ss\n' % timeout)
                sys.stdout.flush()
                raise DemoError('expected %s did not come within %ss'
                                % (what, timeout))
            if int(elapsed) > last:
                last = int(elapsed)
                if tty:
                    cycle = int(time.time() // CONF.engine.cycle_interval)
                    sys.stdout.write('\r\033[K    %-48s %ds (cycle %d)'
                                     % (what, last, cycle))
                else:
                    sys.stdout.write('.')
                sys.stdout.flush()
            time.sleep(0.05)

    def _mid_cycle(self):
        """Sleep to the middle of a cycle: a change lands between two
        collections, so one cycle sees all of it."""
        interval = CONF.engine.cycle_interval
        now = time.time()
        target = (int(now // interval) + 1) * interval - interval / 2.0
        if target - now < 0.05:
            target += interval
        time.sleep(target - now)

    def _baseline(self, timeout):
        """Every node reported a normal host state, twice."""
        def ready():
            return all(self.engine.ready(n.name) >= 2 for n in self.nodes)
        self._wait('all 3 nodes reporting, host state normal', ready,
                   timeout)

    # phases ------------------------------------------------------------------

    def phases(self):
        a, b, c = self.nodes
        a_vm = next(iter(a.domains))
        b_vm = next(iter(b.domains))

        def panic():
            a.domains[a_vm]['state'] = sim.CRASHED
            a.apply_domains()

        def psu_and_crash():
            def fail_psu(doc):
                doc['PowerSupplies'][0]['Status']['Health'] = 'Critical'
            b.update_bmc('Chassis/1U/Power', fail_psu)
            b.domains[b_vm]['state'] = sim.CRASHED
            b.apply_domains()

        def overheat_and_crash():
            b.set_temperature(99000)
            b.domains[b_vm]['state'] = sim.CRASHED
            b.apply_domains()

        def lose_disk():
            c.remove_disk('sdb')

        phases = [Phase('1. guest panic on a healthy node', a, panic,
                        [('R1', 'reboot')])]
        host_failure = [('R3', 'evacuate'), ('R4', 'migrate_all'),
                        ('R4', 'disable_node')]
        if 'redfish' in self.collectors:
            phases += [
                Phase('2. PSU failure (Redfish) + guest crash', b,
                      psu_and_crash, host_failure),
                Phase('3. disk seen only by the BMC for %d cycles'
                      % CONF.engine.identity_cycles, c, lose_disk,
                      [('R5', 'migrate_all'), ('R5', 'disable_node')]),
            ]
        else:
            phases.append(Phase('2. CPU over critical temperature (sysfs) '
                                '+ guest crash', b, overheat_and_crash,
                                host_failure))
        return phases

    def run(self, timeout):
        self._baseline(timeout)
        failed = None
        for phase in self.phases():
            _out('  phase %s on %s' % (phase.title, phase.node.name))
            self._mid_cycle()
            phase.inject()
            rows = []
            try:
                for rule, action in phase.expected:
                    rows.append(self._wait(
                        'decision %s %s on %s' % (rule, action,
                                                  phase.node.name),
                        lambda r=rule, a=action, n=phase.node.name:
                        self.find(r, a, n), timeout))
                for row in rows:
                    self._wait('recovery of %s %s' % (row.rule, row.action),
                               lambda r=row: self.recovery_status(r)
                               in FINISHED, timeout)
            except DemoError as exc:
                failed = '%s: %s' % (phase.title, exc)
                self.results.append((phase, rows))
                break
            self.results.append((phase, rows))
        return failed

    # report ------------------------------------------------------------------

def _configure(state_dir):
    overrides = (
        (None, 'state_path', state_dir),
        ('database', 'connection',
         'sqlite:///%s' % os.path.join(state_dir, 'vmguard.sqlite')),
        ('engine', 'cycle_interval', 1),
        ('engine', 'periodic_interval', 1),
        ('engine', 'topic', 'vmguard-allinone-engine-%s'
         % uuid.uuid4().hex[:8]),
        ('agent', 'topic', 'vmguard-allinone-agent-%s'
         % uuid.uuid4().hex[:8]),
        ('recovery', 'compute_driver', 'fake'),
        ('recovery', 'poll_interval', 0.1),
        # One recovery at a time, in decision order: a readable demo.
        ('recovery', 'max_concurrent', 1),
        ('notifications', 'nova_listener', False),
        ('recovery', 'action_timeout', 30),
        ('api', 'auth_strategy', 'noauth'),
    )
    for group, name, value in overrides:
        CONF.set_override(name, value, group=group)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    if 'serve' not in CONF:
        CONF.register_cli_opts(cli_opts)
    if 'log_file' not in CONF:
        logging.register_options(CONF)
    state_dir = tempfile.mkdtemp(prefix='vmguard-allinone-')
    CONF.set_default('log_file', os.path.join(state_dir, 'vmguard.log'))
    vmg_config.prepare_service(argv)
    # stdout is the demo's report: Python warnings go to the log file.
    std_logging.captureWarnings(True)
    _configure(state_dir)
    objects.register_all()

    url = CONF.demo_transport_url
    if url:
        how = 'as given (%s)' % url.split('@')[-1]
    elif _rabbit_reachable():
        url = RABBIT_URL
        how = 'RabbitMQ at 127.0.0.1:5672'
    else:
        url = 'fake://'
        how = ('oslo.messaging in-process fake:// (RabbitMQ at '
               '127.0.0.1:5672 not reachable)')
    _out('vmguard all-in-one demo')
    _out('  state dir : %s (SQLite; log in vmguard.log)' % state_dir)
    _out('  messaging : %s' % how)
    _out('  cycle     : %ss; R5 after %d cycles off the in-band path'
         % (CONF.engine.cycle_interval, CONF.engine.identity_cycles))

    demo = Demo(state_dir, url)
    api_server = None
    status = 1
    try:
        migration.upgrade()
        _out('  database  : schema at revision %s' % migration.version())
        demo.setup(no_bmc=CONF.no_bmc)
        _out('  compute   : fake back end (records what it would ask Nova)')
        _out('  nodes     : %s, collectors %s' % (
            ', '.join(n.name for n in demo.nodes),
            ', '.join(demo.collectors)))
        _out('  engine    : %s' % demo.engine_kind)
        for note in demo.notes:
            _out('  NOTE      : %s' % note)
        if CONF.serve:
            api_server = _start_api()
        _out()
        failed = demo.run(CONF.phase_timeout)
        _out()
        report.render(demo.results, demo.nodes, demo.driver, _out)
        _out()
        if failed:
            _out('FAILED: %s' % failed)
            _out('See %s' % CONF.log_file)
        else:
            _out('OK: every expected decision was made and its recovery '
                 'run.')
            status = 0
        if api_server is not None:
            _serve(api_server)
    except DemoError as exc:
        _out()
        _out('FAILED: %s' % exc)
    except KeyboardInterrupt:
        _out()
        _out('Interrupted.')
        status = 130
    finally:
        if api_server is not None:
            api_server.server_close()
        demo.teardown()
        if CONF.keep_state or status != 0:
            _out('State kept in %s' % state_dir)
        else:
            shutil.rmtree(state_dir, ignore_errors=True)
    return status


def _start_api():
    from vmguard.api import deploy
    from vmguard.cmd import api as api_cmd
    application = deploy.deploy(CONF)
    server = api_cmd.make_server(CONF.api.host_ip, CONF.api.port,
                                 application)
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, kwargs={
        'poll_interval': 0.5}, name='vmguard-api', daemon=True).start()
    _out('  api       : http://%s:%s (noauth), e.g. curl -H "X-User-Id: '
         'demo" -H "X-Project-Id: demo" -H "X-Roles: admin" '
         'http://%s:%s/v1/decisions' % (host, port, host, port))
    _out('  dashboard : http://%s:%s/dashboard (sign in under "development '
         'only" with any user and the role reader)' % (host, port))
    return server


def _serve(server):
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _out('Serving the API at http://%s:%s and the status page at '
         'http://%s:%s/dashboard until Ctrl-C ...'
         % (server.server_address[:2] * 2))
    while not stop.wait(0.5):
        pass
    server.shutdown()


if __name__ == '__main__':
    sys.exit(main())
