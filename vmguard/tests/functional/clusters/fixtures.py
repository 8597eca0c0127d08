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

"""The test clusters (tools/clusters/clusterctl.py) for functional tests.

:func:`require` brings the named clusters up once per test process, or
reuses them when they are up already (started by ``clusterctl.py up`` or
by another process), and takes down at exit only what this process
started (``VMGUARD_CLUSTERS_KEEP=1`` keeps them). A cluster that cannot
start FAILS the test with clusterctl's output -- never a skip.

The clusters listen on their own ports (Galera 13306-13308 behind HAProxy
13300, RabbitMQ 25701-25703 with epmd 14369, etcd 12379); nothing here
touches the machine's MariaDB, RabbitMQ or Redis. Every test of this
directory runs in one stestr worker (group_regex), one after the other,
because some kill cluster members.
"""

import atexit
import json
import os
import subprocess
import sys
import threading

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                    '..', '..', '..', '..'))
CLUSTERCTL = os.path.join(REPO, 'tools', 'clusters', 'clusterctl.py')
START_TIMEOUT = 400

_LOCK = threading.Lock()
_UP = {}


class ClusterUnavailable(Exception):
    pass


def clusterctl(*args, timeout=120):
    return subprocess.run([sys.executable, CLUSTERCTL] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def _down(name):
    clusterctl('down', name, timeout=300)


def require(*names):
    """Bring ``names`` (galera, rabbit, etcd) up; return the addresses."""
    with _LOCK:
        for name in names:
            if name in _UP:
                continue
            already = clusterctl('status', name).returncode == 0
            res = clusterctl('up', name, timeout=START_TIMEOUT)
            if res.returncode != 0:
                raise ClusterUnavailable(
                    'The %s test cluster could not be started by %s up %s '
                    '(exit %s); it needs the Debian packages galera-4, '
                    'mariadb-server, haproxy, rabbitmq-server, etcd-server '
                    '(.ci/run installs them). Its output:\n%s'
                    % (name, CLUSTERCTL, name, res.returncode,
                       res.stderr[-6000:]))
            _UP[name] = json.loads(res.stdout)
            if not already and not os.environ.get('VMGUARD_CLUSTERS_KEEP'):
                atexit.register(_down, name)
        return dict(_UP[names[0]]) if names else {}


def kill(member):
    """SIGKILL one member (galera1..3, rabbit1..3, etcd, haproxy)."""
    res = clusterctl('kill', member)
    if res.returncode:
        raise ClusterUnavailable(res.stderr)


def start(member):
    res = clusterctl('start', member, timeout=START_TIMEOUT)
    if res.returncode:
        raise ClusterUnavailable(res.stderr)


def status():
    res = clusterctl('status', 'all')
    return json.loads(res.stdout)


def queues():
    """RabbitMQ test cluster queues: {name: {type, leader}}."""
    res = clusterctl('queues', timeout=60)
    if res.returncode:
        raise ClusterUnavailable(res.stderr)
    return json.loads(res.stdout)
