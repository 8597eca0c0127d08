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

"""Bring a real Nova 34 up on this machine for vmguard's functional tests.

Stdlib only (run it with any Python 3). Nova and Placement come from the
virtualenv of ``install.sh``. What runs, all bound to 127.0.0.1:

* placement-api and nova-api under gunicorn (nova-api through
  ``nova_api_wsgi.py``: no authtoken, admin identity by default);
* a stand-in Glance/Neutron (``stub_services.py``);
* nova-conductor, nova-scheduler and N nova-compute (``cmp-1`` ...) with
  ``vmguard_nova_fake.StableFakeDriver``;
* their databases in the machine's MariaDB (``<prefix>_api``, ``<prefix>``,
  ``<prefix>_cell0``, ``<prefix>_placement``, dropped and created again
  on each fresh start) and a RabbitMQ vhost of their own, where Nova also
  sends its versioned notifications (exchange ``nova``, topic
  ``versioned_notifications``, every VM and task state change), its
  queues capped by a policy. A running Nova whose nova.conf differs from
  the one written here is started again.

Commands::

    novactl.py start            # idempotent; prints the environment (JSON)
    novactl.py stop
    novactl.py status
    novactl.py stop-service NAME / start-service NAME
                                # NAME: nova-api, compute-cmp-1, ...

Environment: VMGUARD_NOVA_VENV (/opt/vmguard-nova-venv), VMGUARD_NOVA_DIR
(/tmp/vmguard-nova), VMGUARD_NOVA_PORT_BASE (18770: nova-api +4,
placement +8, stubs +9), VMGUARD_NOVA_DB_PREFIX (vmguard_nova),
VMGUARD_NOVA_VHOST (vmguard_nova), VMGUARD_NOVA_COMPUTES (3).

``VMGUARD_NOVA_LIBVIRT=1``: the libvirt mode (``libvirt_mode.py``): one
more compute on Nova's stock libvirt driver, in a Nova of its own (other
defaults for the settings above).
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import libvirt_mode

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get('VMGUARD_NOVA_VENV', '/opt/vmguard-nova-venv')
RUN = libvirt_mode.default('VMGUARD_NOVA_DIR', '/tmp/vmguard-nova')
PORT_BASE = int(libvirt_mode.default('VMGUARD_NOVA_PORT_BASE', '18770'))
API_PORT = PORT_BASE + 4
PLACEMENT_PORT = PORT_BASE + 8
STUB_PORT = PORT_BASE + 9
DB_PREFIX = libvirt_mode.default('VMGUARD_NOVA_DB_PREFIX', 'vmguard_nova')
VHOST = libvirt_mode.default('VMGUARD_NOVA_VHOST', 'vmguard_nova')
COMPUTES = ['cmp-%d' % i for i in range(
    1, int(libvirt_mode.default('VMGUARD_NOVA_COMPUTES', '3')) + 1)]
#: Every nova-compute: the fake ones, and the libvirt one in that mode.
ALL_COMPUTES = COMPUTES + ([libvirt_mode.HOST] if libvirt_mode.ENABLED
                           else [])
DB_URL = 'mysql+pymysql://root@127.0.0.1/%s?charset=utf8'
API_URL = 'http://127.0.0.1:%d/v2.1' % API_PORT
MICROVERSION = '2.95'
FLAVOR = 'vmguard-tiny'
IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
START_TIMEOUT = 180

NOVA_CONF = """[DEFAULT]
transport_url = rabbit://guest:guest@127.0.0.1:5672/{vhost}
compute_driver = vmguard_nova_fake.StableFakeDriver
state_path = {run}/state/shared
my_ip = 127.0.0.1
host = vmguard-nova-control
debug = false
report_interval = 2
service_down_time = 10
graceful_shutdown_timeout = 5
resize_confirm_window = 0
instance_usage_audit = false
heal_instance_info_cache_interval = -1
[wsgi]
api_paste_config = {here}/api-paste.ini
[api]
auth_strategy = keystone
[api_database]
connection = {db_api}
[database]
connection = {db_cell1}
[placement]
auth_type = admin_token
endpoint = http://127.0.0.1:{placement_port}
token = admin
region_name = RegionOne
[glance]
endpoint_override = http://127.0.0.1:{stub_port}
num_retries = 0
[neutron]
auth_type = admin_token
endpoint = http://127.0.0.1:{stub_port}
token = admin
endpoint_override = http://127.0.0.1:{stub_port}
[scheduler]
discover_hosts_in_cells_interval = 2
workers = 1
[quota]
driver = nova.quota.NoopQuotaDriver
[conductor]
workers = 1
[oslo_concurrency]
lock_path = {run}/lock
[oslo_messaging_notifications]
# Versioned notifications on the vhost's exchange "nova", topic
# versioned_notifications: what vmguard's listener consumes.
driver = messagingv2
[notifications]
notification_format = versioned
notify_on_state_change = vm_and_task_state
versioned_notifications_topics = versioned_notifications
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
[vnc]
enabled = false
[os_vif_ovs]
[workarounds]
[keystone_authtoken]
"""

COMPUTE_CONF = """[DEFAULT]
host = {host}
state_path = {run}/state/{host}
instances_path = {run}/state/{host}/instances
"""

PLACEMENT_CONF = """[DEFAULT]
debug = false
[api]
auth_strategy = noauth2
[placement_database]
connection = {db_placement}
"""


def log(msg):
    sys.stderr.write('[nova] %s\n' % msg)
    sys.stderr.flush()


def _path(*parts):
    return os.path.join(RUN, *parts)


def _dbs():
    return {'db_api': DB_PREFIX + '_api', 'db_cell1': DB_PREFIX,
            'db_cell0': DB_PREFIX + '_cell0',
            'db_placement': DB_PREFIX + '_placement'}


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = HERE
    env['OS_NOVA_CONFIG_DIR'] = RUN
    # The first file is the paste configuration.
    env['OS_NOVA_CONFIG_FILES'] = os.path.join(HERE, 'api-paste.ini') + \
        ';nova.conf'
    env['OS_PLACEMENT_CONFIG_DIR'] = RUN
    env.pop('VIRTUAL_ENV', None)
    return env


def _run(*cmd):
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError('%s failed (%s): %s%s' % (
            ' '.join(cmd), res.returncode, res.stdout[-2000:],
            res.stderr[-4000:]))
    return res.stdout


def _bin(name):
    return os.path.join(VENV, 'bin', name)


# --- processes ---------------------------------------------------------------

def _services():
    nova_conf = _path('nova.conf')
    services = {
        'stubs': [sys.executable, os.path.join(HERE, 'stub_services.py'),
                  str(STUB_PORT)] + (
                      [_path('images.json')] if libvirt_mode.ENABLED
                      else []),
        'placement-api': [
            _bin('gunicorn'), '--bind', '127.0.0.1:%d' % PLACEMENT_PORT,
            '--workers', '1', '--threads', '4', '--worker-class', 'gthread',
            '--no-control-socket', 'placement.wsgi.api:application'],
        'nova-api': [
            _bin('gunicorn'), '--bind', '127.0.0.1:%d' % API_PORT,
            '--workers', '1', '--threads', '8', '--worker-class', 'gthread',
            '--timeout', '120', '--no-control-socket', '--chdir', HERE,
            '--pythonpath', HERE,
            'nova_api_wsgi:application'],
        'nova-conductor': [_bin('nova-conductor'), '--config-file',
                           nova_conf],
        'nova-scheduler': [_bin('nova-scheduler'), '--config-file',
                           nova_conf],
    }
    for host in ALL_COMPUTES:
        services['compute-' + host] = [
            _bin('nova-compute'), '--config-file', nova_conf,
            '--config-file', _path('compute-%s.conf' % host)]
    return services


def _start_time(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rsplit(')', 1)[1].split()
    if fields[0] in ('Z', 'X'):
        return None
    # Field 22, counted after the parenthesised command name.
    return fields[19]


def _pid(name):
    """The pid of a service we started and that still runs, or None."""
    try:
        with open(_path('pids', name + '.pid')) as f:
            pid, started = f.read().split()
            pid = int(pid)
    except (OSError, ValueError):
        return None
    # A recycled pid has another start time.
    if _start_time(pid) != started:
        return None
    return pid


def start_service(name):
    if _pid(name):
        return
    cmd = _services()[name]
    os.makedirs(_path('logs'), exist_ok=True)
    os.makedirs(_path('pids'), exist_ok=True)
    with open(_path('logs', name + '.log'), 'ab') as out:
        proc = subprocess.Popen(cmd, env=_env(), stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, cwd=RUN,
                                start_new_session=True)
    with open(_path('pids', name + '.pid'), 'w') as f:
        f.write('%d %s' % (proc.pid, _start_time(proc.pid)))


def stop_service(name, timeout=15):
    pid = _pid(name)
    if pid is None:
        return
    # Each service runs in its own session: its group is its workers.
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(name) is None:
            break
        time.sleep(0.1)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    # Reap it when it is our child; harmless otherwise.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.unlink(_path('pids', name + '.pid'))
    except OSError:
        pass


# --- HTTP --------------------------------------------------------------------

def api(method, path, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API_URL + path, data=data, method=method)
    req.add_header('OpenStack-API-Version', 'compute ' + MICROVERSION)
    req.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def _tail(name, lines=30):
    try:
        with open(_path('logs', name + '.log'), errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def _wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        dead = [n for n in _services() if _pid(n) is None]
        if dead:
            raise RuntimeError('%s exited while waiting for %s; end of its '
                               'log:\n%s' % (dead[0], what, _tail(dead[0])))
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError('%s not ready within %ss (last error: %s); logs in %s'
                       % (what, timeout, last, _path('logs')))


def _computes_up():
    services = api('GET', '/os-services?binary=nova-compute')['services']
    up = {s['host'] for s in services if s['state'] == 'up'}
    return set(ALL_COMPUTES) <= up


def _hypervisors_ready():
    hyps = api('GET', '/os-hypervisors/detail')['hypervisors']
    return {h['service']['host'] for h in hyps} >= set(ALL_COMPUTES)


# --- set-up ------------------------------------------------------------------

def _install_driver():
    """nova-compute imports its driver from the nova.virt package only:
    put vmguard_nova_fake.py there (in Nova's own virtualenv)."""
    import glob
    import shutil

    targets = glob.glob(os.path.join(VENV, 'lib', 'python3*',
                                     'site-packages', 'nova', 'virt'))
    if not targets:
        raise RuntimeError('nova.virt not found in %s' % VENV)
    shutil.copyfile(os.path.join(HERE, 'vmguard_nova_fake.py'),
                    os.path.join(targets[0], 'vmguard_nova_fake.py'))


def _config_values():
    values = {'run': RUN, 'here': HERE, 'vhost': VHOST,
              'placement_port': PLACEMENT_PORT, 'stub_port': STUB_PORT}
    values.update({k: DB_URL % v for k, v in _dbs().items()})
    return values


def _configs_current():
    """The running Nova's nova.conf is the one this script writes (a
    Nova started by an older copy, e.g. with notifications off, is
    started again)."""
    try:
        with open(_path('nova.conf')) as f:
            if f.read() != NOVA_CONF.format(**_config_values()):
                return False
        if libvirt_mode.ENABLED:
            with open(_path('compute-%s.conf' % libvirt_mode.HOST)) as f:
                if f.read() != _libvirt_config():
                    return False
            return libvirt_mode.catalogue_current(RUN)
        return True
    except OSError:
        return False


def _write_configs():
    values = _config_values()
    for sub in ('lock', 'state/shared'):
        os.makedirs(_path(sub), exist_ok=True)
    with open(_path('nova.conf'), 'w') as f:
        f.write(NOVA_CONF.format(**values))
    with open(_path('placement.conf'), 'w') as f:
        f.write(PLACEMENT_CONF.format(**values))
    for host in COMPUTES:
        os.makedirs(_path('state', host, 'instances'), exist_ok=True)
        with open(_path('compute-%s.conf' % host), 'w') as f:
            f.write(COMPUTE_CONF.format(host=host, run=RUN))
    if libvirt_mode.ENABLED:
        _write_libvirt_config()


def _libvirt_config():
    conf = _path('compute-%s.conf' % libvirt_mode.HOST)
    return libvirt_mode.compute_conf(RUN, VENV, [_path('nova.conf'), conf])


def _write_libvirt_config():
    os.makedirs(libvirt_mode.instances_path(RUN), exist_ok=True)
    with open(_path('compute-%s.conf' % libvirt_mode.HOST), 'w') as f:
        f.write(_libvirt_config())


def _create_databases():
    sql = ''.join('DROP DATABASE IF EXISTS `{0}`; CREATE DATABASE `{0}` '
                  'CHARACTER SET utf8mb4;'.format(name)
                  for name in _dbs().values())
    _run('mysql', '-uroot', '-h127.0.0.1', '-e', sql)


def _create_vhost():
    res = subprocess.run(['rabbitmqctl', '-q', 'list_vhosts'],
                         capture_output=True, text=True)
    if VHOST in res.stdout.split():
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', VHOST],
                       capture_output=True)
    _run('rabbitmqctl', '-q', 'add_vhost', VHOST)
    _run('rabbitmqctl', '-q', 'set_permissions', '-p', VHOST, 'guest',
         '.*', '.*', '.*')
    # Nova's notifications queue up whether or not a test consumes them:
    # cap every queue of the vhost so that they never fill the broker.
    _run('rabbitmqctl', '-q', 'set_policy', '-p', VHOST, '--apply-to',
         'queues', 'vmguard-nova-cap', '.*',
         json.dumps({'max-length': 5000, 'message-ttl': 600000}))


def _sync_databases():
    nova_conf = _path('nova.conf')
    manage = [_bin('nova-manage'), '--config-file', nova_conf]
    _run(_bin('placement-manage'), '--config-file',
         _path('placement.conf'), 'db', 'sync')
    _run(*manage, 'api_db', 'sync')
    _run(*manage, 'cell_v2', 'map_cell0', '--database_connection',
         DB_URL % _dbs()['db_cell0'])
    _run(*manage, 'cell_v2', 'create_cell', '--name', 'cell1')
    _run(*manage, 'db', 'sync')


def _ensure_flavor():
    try:
        api('GET', '/flavors/%s' % FLAVOR)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
        api('POST', '/flavors', {'flavor': {
            'name': FLAVOR, 'id': FLAVOR, 'vcpus': 1, 'ram': 128,
            'disk': 1}})
    if libvirt_mode.ENABLED:
        try:
            api('GET', '/flavors/%s' % libvirt_mode.FLAVOR)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            api('POST', '/flavors', libvirt_mode.flavor_body())


def environment():
    env = {'endpoint': API_URL, 'microversion': MICROVERSION,
           'transport_url': 'rabbit://guest:guest@127.0.0.1:5672/%s'
                            % VHOST,
           'notifications': {'exchange': 'nova',
                             'topic': 'versioned_notifications'},
           'hosts': COMPUTES, 'flavor': FLAVOR, 'image': IMAGE,
           'run_dir': RUN, 'venv': VENV, 'novactl': os.path.abspath(
               __file__)}
    if libvirt_mode.ENABLED:
        env['libvirt'] = libvirt_mode.environment(RUN)
    return env


def healthy():
    names = list(_services())
    if not all(_pid(n) for n in names):
        return False
    try:
        return _computes_up()
    except (OSError, urllib.error.URLError, ValueError):
        return False


def start():
    if healthy() and _configs_current():
        log('already running (%s)' % RUN)
        return environment()
    if not os.path.exists(_bin('nova-compute')):
        raise RuntimeError('Nova is not installed in %s: run '
                           'tools/nova/install.sh first' % VENV)
    stop()
    t0 = time.monotonic()
    os.makedirs(_path('logs'), exist_ok=True)
    for name in os.listdir(_path('logs')):
        os.unlink(_path('logs', name))
    _install_driver()
    if libvirt_mode.ENABLED:
        libvirt_mode.check_requirements(VENV)
        libvirt_mode.prepare_images(RUN)
    _write_configs()
    _create_databases()
    _create_vhost()
    _sync_databases()
    log('databases ready after %.1fs' % (time.monotonic() - t0))
    for name in ('stubs', 'placement-api', 'nova-conductor',
                 'nova-scheduler', 'nova-api'):
        start_service(name)
    for host in ALL_COMPUTES:
        start_service('compute-' + host)
    _wait('nova-api', lambda: api('GET', '/flavors') is not None,
          START_TIMEOUT)
    _wait('nova-compute services', _computes_up, START_TIMEOUT)
    _run(_bin('nova-manage'), '--config-file', _path('nova.conf'),
         'cell_v2', 'discover_hosts')
    _wait('hypervisors', _hypervisors_ready, START_TIMEOUT)
    _ensure_flavor()
    log('Nova up with %d computes after %.1fs' % (len(ALL_COMPUTES),
                                                  time.monotonic() - t0))
    return environment()


def stop(timeout=10):
    """SIGTERM every service at once, SIGKILL what is left after timeout."""
    pids = {}
    for name in _services():
        pid = _pid(name)
        if pid is not None:
            pids[name] = pid
    groups = list(pids.values())
    for pid in groups:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        time.sleep(0.2)
        pids = {n: p for n, p in pids.items() if _pid(n) is not None}
    # Leaders gone or not: no worker of their groups may survive.
    for pid in groups:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    for name in _services():
        try:
            os.unlink(_path('pids', name + '.pid'))
        except OSError:
            pass
    if libvirt_mode.ENABLED:
        libvirt_mode.destroy_domains()


def main(argv):
    cmd = argv[1] if len(argv) > 1 else 'status'
    try:
        if cmd == 'start':
            import fcntl

            # Two test processes may ask at once: one starts, one reuses.
            os.makedirs(RUN, exist_ok=True)
            with open(os.path.join(RUN, '.start.lock'), 'w') as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                print(json.dumps(start()))
        elif cmd == 'stop':
            stop()
        elif cmd == 'status':
            print(json.dumps(dict(environment(), healthy=healthy())))
        elif cmd == 'stop-service':
            stop_service(argv[2])
        elif cmd == 'start-service':
            start_service(argv[2])
        else:
            log('unknown command %s' % cmd)
            return 2
    except RuntimeError as exc:
        log(str(exc))
        if cmd == 'start':
            stop()
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
