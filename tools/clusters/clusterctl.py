#!/usr/bin/env python3
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

"""Test clusters on 127.0.0.1: Galera + HAProxy, RabbitMQ, etcd.

Usage::

    clusterctl.py up     [galera|rabbit|etcd|all]   # idempotent; prints env
    clusterctl.py status [galera|rabbit|etcd|all]   # exit 0 when healthy
    clusterctl.py down   [galera|rabbit|etcd|all]   # stop, remove data
    clusterctl.py kill   MEMBER                     # SIGKILL one member
    clusterctl.py start  MEMBER                     # start it again
    clusterctl.py env                               # addresses, as JSON
    clusterctl.py queues                            # RabbitMQ queues, leaders

Members are ``galera1..3``, ``rabbit1..3`` and ``etcd``.

Everything lives under ``$VMGUARD_CLUSTERS_DIR`` (default
``/var/tmp/vmguard-clusters``) and listens on its own ports (see PORTS):
the machine's own MariaDB (3306), RabbitMQ (5672, ``rabbit@<host>``, epmd
4369) and Redis are never touched. RabbitMQ nodes are ``vmgq1..3@localhost``
with their own Erlang cookie and their own epmd (``ERL_EPMD_PORT``).
Processes are found only through the pid files this script writes, and
only those are signalled.
"""

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

BASE = os.environ.get('VMGUARD_CLUSTERS_DIR', '/var/tmp/vmguard-clusters')
HOST = '127.0.0.1'
PORTS = {
    'galera_sql': (13306, 13307, 13308),
    'galera_gcomm': (14567, 14568, 14569),
    'galera_ist': (14577, 14578, 14579),
    'galera_sst': (14444, 14445, 14446),
    'haproxy': 13300,
    'rabbit_amqp': (25701, 25702, 25703),
    'rabbit_dist': (25711, 25712, 25713),
    'epmd': 14369,
    'etcd_client': 12379,
    'etcd_peer': 12380,
}
DB_USER, DB_PASSWORD = 'vmguard', 'vmguard'
RABBIT_NODES = ('vmgq1@localhost', 'vmgq2@localhost', 'vmgq3@localhost')
COOKIE = 'VMGUARDTESTCLUSTERCOOKIE'
RABBIT_BIN = '/usr/lib/rabbitmq/bin'
CLUSTERS = ('galera', 'rabbit', 'etcd')
GALERA_OPTIONS = (
    # A dead member is suspected after 2 s and evicted after 4 s instead
    # of 5 s / 15 s: commits on the survivors stall ~2-4 s, not ~6-15 s.
    # Shorter (PT1S) made joins fail on a loaded 2-core machine.
    'evs.suspect_timeout=PT2S; evs.inactive_timeout=PT4S; '
    'evs.install_timeout=PT4S; evs.inactive_check_period=PT0.5S; '
    'evs.keepalive_period=PT0.5S; gcache.size=32M')


class ClusterError(Exception):
    pass


def _dir(*parts):
    return os.path.join(BASE, *parts)


def env():
    sql = PORTS['galera_sql']
    return {
        'galera_url': 'mysql+pymysql://%s:%s@%s:%s/' % (
            DB_USER, DB_PASSWORD, HOST, PORTS['haproxy']),
        'galera_members': ['mysql+pymysql://%s:%s@%s:%s/' % (
            DB_USER, DB_PASSWORD, HOST, p) for p in sql],
        'rabbit_url': 'rabbit://' + ','.join(
            'guest:guest@%s:%s' % (HOST, p)
            for p in PORTS['rabbit_amqp']) + '/',
        'rabbit_members': list(RABBIT_NODES),
        'etcd_url': 'etcd3+http://%s:%s' % (HOST, PORTS['etcd_client']),
        'etcd_endpoint': 'http://%s:%s' % (HOST, PORTS['etcd_client']),
        'dir': BASE,
    }


# --- processes ---------------------------------------------------------------

def _pidfile(member):
    return _dir('run', member + '.pid')


def _read_pid(member, strict=True):
    """Pid of a running member, or None.

    ``strict=False`` only while it starts: a child just forked still shows
    this script's command line until it has executed its program.
    """
    try:
        with open(_pidfile(member)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(ChildProcessError):
        # A child of this process that exited is a zombie until reaped.
        os.waitpid(pid, os.WNOHANG)
    if strict:
        return pid if _ours(pid) else None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def _ours(pid):
    """True when ``pid`` runs and is one of ours (not a reused pid).

    Every process this script starts names a path under BASE on its
    command line (config file, data directory), or, for the RabbitMQ
    start script, in its environment (its mnesia directory).
    """
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read().replace(b'\0', b' ').decode(errors='replace')
        if BASE in cmdline:
            return True
        with open('/proc/%d/environ' % pid, 'rb') as f:
            environ = f.read().split(b'\0')
    except OSError:
        return False
    return any(v.startswith(b'RABBITMQ_MNESIA_BASE=' + BASE.encode())
               for v in environ)


def _spawn(member, argv, extra_env=None, cwd=None):
    os.makedirs(_dir('run'), exist_ok=True)
    os.makedirs(_dir('log'), exist_ok=True)
    environ = dict(os.environ)
    environ.update(extra_env or {})
    with open(_dir('log', member + '.out'), 'ab') as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=environ,
                                cwd=cwd or BASE, start_new_session=True)
    with open(_pidfile(member), 'w') as f:
        f.write(str(proc.pid))
    return proc


def _signal(member, sig, wait=30.0):
    pid = _read_pid(member)
    if pid is None:
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            # Reap it when it is our child (same process as the test).
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
    else:
        if _ours(pid):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_pidfile(member))
    return True


def _wait(what, check, timeout, member=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if member and not _read_pid(member, strict=False):
            raise ClusterError('%s exited while starting; see %s'
                               % (member, _dir('log')))
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - reported on timeout
            last = exc
        time.sleep(0.3)
    raise ClusterError('%s not ready after %ss (last error: %s); logs in %s'
                       % (what, timeout, last, _dir('log')))


# --- Galera + HAProxy --------------------------------------------------------

def _galera_cnf(i):
    n = i + 1
    data = _dir('galera', 'n%d' % n)
    peers = ','.join('%s:%s' % (HOST, p) for p in PORTS['galera_gcomm'])
    return data, '\n'.join([
        '[mysqld]',
        # Not root: the rsync daemon of the state transfer would drop to
        # "nobody" and could not write the joiner's files.
        'user = mysql',
        'datadir = %s' % data,
        'socket = %s/mysqld.sock' % data,
        'pid-file = %s/mysqld.pid' % data,
        'log-error = %s' % _dir('galera', 'galera%d.err' % n),
        'bind-address = %s' % HOST,
        'port = %s' % PORTS['galera_sql'][i],
        'skip-name-resolve',
        'performance_schema = OFF',
        'innodb_buffer_pool_size = 48M',
        'innodb_log_file_size = 16M',
        'innodb_flush_log_at_trx_commit = 2',
        'max_connections = 300',
        'character-set-server = utf8mb4',
        'collation-server = utf8mb4_general_ci',
        'binlog_format = ROW',
        'default_storage_engine = InnoDB',
        'innodb_autoinc_lock_mode = 2',
        'wsrep_on = ON',
        'wsrep_provider = /usr/lib/galera/libgalera_smm.so',
        'wsrep_cluster_name = vmguard-test',
        'wsrep_cluster_address = gcomm://%s' % peers,
        'wsrep_node_name = galera%d' % n,
        'wsrep_node_address = %s:%s' % (HOST, PORTS['galera_gcomm'][i]),
        'wsrep_node_incoming_address = %s:%s' % (HOST,
                                                 PORTS['galera_sql'][i]),
        'wsrep_sst_method = rsync',
        'wsrep_sst_receive_address = %s:%s' % (HOST, PORTS['galera_sst'][i]),
        'wsrep_provider_options = "gmcast.listen_addr=tcp://%s:%s; '
        'ist.recv_addr=%s:%s; %s"' % (HOST, PORTS['galera_gcomm'][i], HOST,
                                      PORTS['galera_ist'][i], GALERA_OPTIONS),
        '',
    ])


def _sql(i, statement, timeout=10):
    data = _dir('galera', 'n%d' % (i + 1))
    res = subprocess.run(
        ['mariadb', '--no-defaults', '-uroot', '--socket=%s/mysqld.sock'
         % data, '-N', '-B', '-e', statement],
        capture_output=True, text=True, timeout=timeout)
    if res.returncode:
        raise ClusterError(res.stderr.strip())
    return res.stdout


def _galera_synced(i):
    out = _sql(i, "SHOW STATUS WHERE Variable_name IN "
                  "('wsrep_ready', 'wsrep_local_state_comment', "
                  "'wsrep_cluster_size')")
    status = dict(line.split('\t') for line in out.splitlines())
    return (status.get('wsrep_ready') == 'ON' and
            status.get('wsrep_local_state_comment') == 'Synced')


def _galera_start(i, bootstrap=False):
    member = 'galera%d' % (i + 1)
    if _read_pid(member):
        return
    data, cnf = _galera_cnf(i)
    if not os.path.isdir(os.path.join(data, 'mysql')):
        template = _dir('galera', 'template')
        if not os.path.isdir(os.path.join(template, 'mysql')):
            os.makedirs(template, exist_ok=True)
            res = subprocess.run(
                ['mariadb-install-db', '--no-defaults', '--user=mysql',
                 '--datadir=%s' % template, '--skip-test-db',
                 '--auth-root-authentication-method=socket'],
                capture_output=True, text=True)
            if res.returncode:
                raise ClusterError('mariadb-install-db: %s' % res.stderr)
        shutil.copytree(template, data, dirs_exist_ok=True)
    subprocess.run(['chown', '-R', 'mysql:mysql', _dir('galera')],
                   check=True)
    path = _dir('galera', member + '.cnf')
    with open(path, 'w') as f:
        f.write(cnf)
    argv = ['mariadbd', '--defaults-file=%s' % path]
    if bootstrap:
        argv.append('--wsrep-new-cluster')
    _spawn(member, argv)
    _wait(member, lambda: _galera_synced(i), 120, member)


def _haproxy_start():
    if _read_pid('haproxy'):
        return
    servers = []
    for i, port in enumerate(PORTS['galera_sql']):
        # One writer at a time (as Kolla does): the others are backups,
        # so that two engines never certify against each other through
        # the proxy; a dead writer's sessions are cut at once.
        servers.append('    server galera%d %s:%s check inter 500 rise 2 '
                       'fall 2 on-marked-down shutdown-sessions%s'
                       % (i + 1, HOST, port, '' if i == 0 else ' backup'))
    cfg = '\n'.join([
        'global',
        '    maxconn 2000',
        'defaults',
        '    mode tcp',
        '    timeout connect 2s',
        '    timeout client 1h',
        '    timeout server 1h',
        '    timeout check 1s',
        'listen galera',
        '    bind %s:%s' % (HOST, PORTS['haproxy']),
        '    option mysql-check user haproxy post-41',
    ] + servers + [''])
    path = _dir('galera', 'haproxy.cfg')
    with open(path, 'w') as f:
        f.write(cfg)
    # -db: stay in the foreground, so that the pid file is ours.
    _spawn('haproxy', ['haproxy', '-db', '-f', path])

    def answers():
        import pymysql
        conn = pymysql.connect(host=HOST, port=PORTS['haproxy'],
                               user=DB_USER, password=DB_PASSWORD,
                               connect_timeout=2)
        conn.close()
        return True
    _wait('haproxy', answers, 30, 'haproxy')


def galera_up():
    if not any(_read_pid('galera%d' % (i + 1)) for i in range(3)):
        # Nothing running: a fresh cluster (the data of an earlier one is
        # test data, never worth keeping).
        for i in range(3):
            shutil.rmtree(_dir('galera', 'n%d' % (i + 1)),
                          ignore_errors=True)
        _galera_start(0, bootstrap=True)
        _sql(0, "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s'; "
                "GRANT ALL ON *.* TO '%s'@'%s' WITH GRANT OPTION; "
                "CREATE USER IF NOT EXISTS 'haproxy'@'%s'"
                % (DB_USER, HOST, DB_PASSWORD, DB_USER, HOST, HOST))
    for i in range(3):
        _galera_start(i)
    _haproxy_start()


def galera_status():
    out = {}
    for i in range(3):
        member = 'galera%d' % (i + 1)
        try:
            out[member] = bool(_read_pid(member)) and _galera_synced(i)
        except (ClusterError, subprocess.SubprocessError, ValueError):
            out[member] = False
    out['haproxy'] = bool(_read_pid('haproxy'))
    return out


def galera_down():
    _signal('haproxy', signal.SIGTERM)
    for i in reversed(range(3)):
        _signal('galera%d' % (i + 1), signal.SIGTERM, wait=60)
    shutil.rmtree(_dir('galera'), ignore_errors=True)


# --- RabbitMQ ----------------------------------------------------------------

def _rabbit_env(i):
    n = i + 1
    data = _dir('rabbit', 'n%d' % n)
    home = _dir('rabbit', 'home')
    return data, {
        'HOME': home,
        'RABBITMQ_CONF_ENV_FILE': _dir('rabbit', 'rabbitmq-env.conf'),
        'RABBITMQ_NODENAME': RABBIT_NODES[i],
        'RABBITMQ_NODE_IP_ADDRESS': HOST,
        'RABBITMQ_NODE_PORT': str(PORTS['rabbit_amqp'][i]),
        'RABBITMQ_DIST_PORT': str(PORTS['rabbit_dist'][i]),
        'RABBITMQ_MNESIA_BASE': os.path.join(data, 'mnesia'),
        'RABBITMQ_LOG_BASE': _dir('log'),
        'RABBITMQ_CONFIG_FILE': os.path.join(data, 'rabbitmq.conf'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(data,
                                                      'advanced.config'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': _dir('rabbit', 'enabled_plugins'),
        'RABBITMQ_PID_FILE': os.path.join(data, 'beam.pid'),
        'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
            '-kernel inet_dist_use_interface {127,0,0,1}',
        'ERL_EPMD_PORT': str(PORTS['epmd']),
        'ERL_EPMD_ADDRESS': HOST,
    }


def _ctl(i, *args, timeout=60):
    _data, extra = _rabbit_env(i)
    environ = dict(os.environ)
    environ.update(extra)
    res = subprocess.run(
        [os.path.join(RABBIT_BIN, 'rabbitmqctl'), '-n', RABBIT_NODES[i]] +
        list(args), capture_output=True, text=True, env=environ,
        timeout=timeout)
    if res.returncode:
        raise ClusterError('rabbitmqctl %s: %s %s' % (
            ' '.join(args), res.stdout.strip(), res.stderr.strip()))
    return res.stdout


def _rabbit_prepare():
    home = _dir('rabbit', 'home')
    os.makedirs(home, exist_ok=True)
    cookie = os.path.join(home, '.erlang.cookie')
    if not os.path.exists(cookie):
        with open(cookie, 'w') as f:
            f.write(COOKIE)
        os.chmod(cookie, 0o400)
    with open(_dir('rabbit', 'rabbitmq-env.conf'), 'w') as f:
        f.write('# vmguard test cluster: settings come from the '
                'environment\n')
    with open(_dir('rabbit', 'enabled_plugins'), 'w') as f:
        f.write('[].\n')


def _rabbit_start(i):
    member = 'rabbit%d' % (i + 1)
    if _read_pid(member):
        return
    data, extra = _rabbit_env(i)
    os.makedirs(data, exist_ok=True)
    with open(extra['RABBITMQ_CONFIG_FILE'], 'w') as f:
        f.write('\n'.join([
            'listeners.tcp.default = %s:%s' % (HOST,
                                               PORTS['rabbit_amqp'][i]),
            'disk_free_limit.absolute = 50MB',
            'vm_memory_high_watermark.relative = 0.2',
            'cluster_partition_handling = pause_minority',
            '']))
    _spawn(member, [os.path.join(RABBIT_BIN, 'rabbitmq-server')],
           extra_env=extra)
    _ctl(i, 'wait', '--timeout', '90', extra['RABBITMQ_PID_FILE'],
         timeout=100)
    _ctl(i, 'await_startup', '--timeout', '90', timeout=100)


def _rabbit_members(i):
    out = json.loads(_ctl(i, 'cluster_status', '--formatter', 'json',
                          timeout=20))
    return set(out.get('running_nodes', ())), set(out.get('disk_nodes', ()))


def rabbit_up():
    fresh = not any(_read_pid('rabbit%d' % (i + 1)) for i in range(3))
    if fresh:
        shutil.rmtree(_dir('rabbit'), ignore_errors=True)
    _rabbit_prepare()
    for i in range(3):
        _rabbit_start(i)
    _running, disk = _rabbit_members(0)
    for i in (1, 2):
        if RABBIT_NODES[i] not in disk:
            _ctl(i, 'stop_app')
            _ctl(i, 'join_cluster', RABBIT_NODES[0])
            _ctl(i, 'start_app')
    _wait('rabbit cluster',
          lambda: _rabbit_members(0)[0] == set(RABBIT_NODES), 60)


def rabbit_status():
    out = {}
    running = set()
    with contextlib.suppress(Exception):
        for i in range(3):
            if _read_pid('rabbit%d' % (i + 1)):
                running = _rabbit_members(i)[0]
                break
    for i in range(3):
        out['rabbit%d' % (i + 1)] = (bool(_read_pid('rabbit%d' % (i + 1)))
                                     and RABBIT_NODES[i] in running)
    return out


def rabbit_queues():
    """{queue: {type, leader member}} read from any running node."""
    for i in range(3):
        if not _read_pid('rabbit%d' % (i + 1)):
            continue
        try:
            rows = json.loads(_ctl(i, 'list_queues', 'name', 'type',
                                   'leader', '--formatter', 'json',
                                   timeout=30))
        except (ClusterError, ValueError):
            continue
        out = {}
        for row in rows:
            leader = row.get('leader') or ''
            member = ('rabbit%d' % (RABBIT_NODES.index(leader) + 1)
                      if leader in RABBIT_NODES else leader)
            out[row['name']] = {'type': row.get('type'), 'leader': member}
        return out
    raise ClusterError('no RabbitMQ member answers')


def rabbit_down():
    for i in reversed(range(3)):
        member = 'rabbit%d' % (i + 1)
        if _read_pid(member):
            with contextlib.suppress(Exception):
                _ctl(i, 'stop', timeout=60)
            _signal(member, signal.SIGTERM)
        _kill_beam(i)
    # Our own epmd (ERL_EPMD_PORT), never the machine's one on 4369.
    environ = dict(os.environ, ERL_EPMD_PORT=str(PORTS['epmd']))
    subprocess.run(['epmd', '-kill'], env=environ, capture_output=True)
    shutil.rmtree(_dir('rabbit'), ignore_errors=True)


def _kill_beam(i):
    data, _extra = _rabbit_env(i)
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(data, 'beam.pid')) as f:
            pid = int(f.read().strip())
        if _ours(pid):
            os.kill(pid, signal.SIGKILL)


# --- etcd --------------------------------------------------------------------

def _etcd_healthy():
    url = 'http://%s:%s/health' % (HOST, PORTS['etcd_client'])
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.loads(resp.read()).get('health') == 'true'


def etcd_start():
    if _read_pid('etcd'):
        return
    data = _dir('etcd', 'data')
    os.makedirs(data, exist_ok=True)
    client = 'http://%s:%s' % (HOST, PORTS['etcd_client'])
    peer = 'http://%s:%s' % (HOST, PORTS['etcd_peer'])
    _spawn('etcd', [
        'etcd', '--name', 'vmguard-test', '--data-dir', data,
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', 'vmguard-test=%s' % peer,
        '--initial-cluster-state', 'new'])
    _wait('etcd', _etcd_healthy, 30, 'etcd')


def etcd_up():
    if not _read_pid('etcd'):
        shutil.rmtree(_dir('etcd'), ignore_errors=True)
    etcd_start()


def etcd_status():
    try:
        return {'etcd': bool(_read_pid('etcd')) and _etcd_healthy()}
    except OSError:
        return {'etcd': False}


def etcd_down():
    _signal('etcd', signal.SIGTERM)
    shutil.rmtree(_dir('etcd'), ignore_errors=True)


# --- members -----------------------------------------------------------------

def kill(member):
    """SIGKILL one member (a fault); False when it was not running."""
    if member.startswith('rabbit'):
        i = int(member[-1]) - 1
        pid = _read_pid(member)
        _kill_beam(i)
        if pid:
            _signal(member, signal.SIGKILL)
        return bool(pid)
    return _signal(member, signal.SIGKILL, wait=10)


def start(member):
    if member.startswith('galera'):
        _galera_start(int(member[-1]) - 1)
    elif member.startswith('rabbit'):
        _rabbit_start(int(member[-1]) - 1)
    elif member == 'etcd':
        etcd_start()
    elif member == 'haproxy':
        _haproxy_start()
    else:
        raise ClusterError('unknown member %s' % member)


UP = {'galera': galera_up, 'rabbit': rabbit_up, 'etcd': etcd_up}
DOWN = {'galera': galera_down, 'rabbit': rabbit_down, 'etcd': etcd_down}
STATUS = {'galera': galera_status, 'rabbit': rabbit_status,
          'etcd': etcd_status}


@contextlib.contextmanager
def _locked():
    os.makedirs(BASE, exist_ok=True)
    with open(os.path.join(BASE, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _names(arg):
    if arg in (None, 'all'):
        return CLUSTERS
    if arg not in CLUSTERS:
        raise ClusterError('unknown cluster %r (one of %s, all)'
                           % (arg, ', '.join(CLUSTERS)))
    return (arg,)


def main(argv):
    if not argv or argv[0] not in ('up', 'down', 'status', 'kill', 'start',
                                   'env', 'queues'):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, arg = argv[0], argv[1] if len(argv) > 1 else None
    try:
        if cmd == 'env':
            print(json.dumps(env(), indent=1))
            return 0
        if cmd == 'queues':
            print(json.dumps(rabbit_queues(), indent=1))
            return 0
        if cmd in ('kill', 'start'):
            if not arg:
                raise ClusterError('%s needs a member name' % cmd)
            with _locked():
                result = kill(arg) if cmd == 'kill' else start(arg)
            print(json.dumps({arg: result if cmd == 'kill' else 'started'}))
            return 0
        names = _names(arg)
        if cmd == 'status':
            status = {}
            for name in names:
                status.update(STATUS[name]())
            print(json.dumps(status, indent=1))
            return 0 if all(status.values()) else 1
        with _locked():
            for name in names:
                started = time.monotonic()
                (UP if cmd == 'up' else DOWN)[name]()
                print('%s %s in %.1f s' % (name, cmd,
                                           time.monotonic() - started),
                      file=sys.stderr)
        if cmd == 'up':
            print(json.dumps(env(), indent=1))
        return 0
    except ClusterError as exc:
        print('clusterctl: %s' % exc, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
