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

"""Engines on the test clusters: configuration, a fault stream, casts.

Every engine here uses only the test clusters: Galera through HAProxy
(``wsrep_sync_wait = 1``), the 3-node RabbitMQ with quorum queues (all
three hosts in ``transport_url``) and etcd for tooz.
"""

import collections
import os
import signal
import subprocess
import sys
import time

from vmguard.tests.unit.engine import streams


def node_snapshot(i, name, cycle, crash_cycle=9):
    """Node ``i`` of a stream: every fifth has a fault (see expected)."""
    uuid = streams.vm_uuid(name)
    kind = i % 5
    if kind == 0:
        return streams.snapshot(name, cycle, vms=[(uuid,) + streams.RUNNING],
                                health='critical' if cycle >= 3 else 'ok')
    if kind == 1:
        return streams.snapshot(name, cycle, vms=[(uuid,) + streams.RUNNING],
                                external='failed' if cycle >= 5 else 'ok')
    if kind == 2:
        state = (streams.CRASHED if cycle >= crash_cycle
                 else streams.RUNNING)
        return streams.snapshot(name, cycle, vms=[(uuid,) + state])
    return streams.snapshot(name, cycle, vms=[(uuid,) + streams.RUNNING],
                            ram=400000)


def expected(nodes):
    out = collections.Counter()
    for i, name in enumerate(nodes):
        kind = i % 5
        if kind == 0:
            out[(name, 'R4', 'migrate_all')] += 1
            out[(name, 'R4', 'disable_node')] += 1
        elif kind == 1:
            out[(name, 'R6', 'migrate_all')] += 1
            out[(name, 'R6', 'disable_node')] += 1
        elif kind == 2:
            out[(name, 'R1', 'reboot')] += 1
    return out


def config_lines(env, db_url, host, log_file, topic, group,
                 membership_timeout=4):
    return [
        '[DEFAULT]',
        'transport_url = %s' % env['rabbit_url'],
        'host = %s' % host,
        'log_file = %s' % log_file,
        'debug = false',
        '[oslo_messaging_rabbit]',
        'rabbit_quorum_queue = true',
        'heartbeat_timeout_threshold = 10',
        '[database]',
        'connection = %s' % db_url,
        'wsrep_sync_wait = 1',
        '[coordination]',
        'backend_url = %s' % env['etcd_url'],
        'group = %s' % group,
        'membership_timeout = %s' % membership_timeout,
        '[engine]',
        'topic = %s' % topic,
        'periodic_interval = 1',
        'silent_cycles = 8',
        '[notifications]',
        'nova_listener = false',
        'emit = false',
        '[recovery]',
        'dry_run = true',
        '',
    ]


class EngineProcess:
    """A ``vmguard-engine`` process with its own config and log file."""

    def __init__(self, tmp, host, lines):
        self.host = host
        self.log_path = os.path.join(tmp, host + '.log')
        self.config = os.path.join(tmp, host + '.conf')
        with open(self.config, 'w') as f:
            f.write('\n'.join(lines))
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'vmguard.cmd.engine', '--config-file',
             self.config], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def reap(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(predicate, timeout=30.0, interval=0.2, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s'
                         % (timeout, what))
