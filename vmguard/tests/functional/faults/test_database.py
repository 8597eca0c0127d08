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

"""MariaDB stops and starts under the engine while snapshots arrive.

The machine's MariaDB server is shut down (``mariadb-admin shutdown``)
while the engine judges snapshots whose faults begin during the outage,
and started again with ``start-stop-daemon`` after a few seconds. Every
expected decision must be stored exactly once, every node's state must
reach its last cycle, and the crash event cast during the outage must be
stored. The server is started again in a cleanup whatever happens: every
other test needs it.
"""

import collections
import os
import socket
import subprocess
import time

from vmguard.db import api as db_api
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.engine.test_engine import wait_for
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams

HOST, PORT = '127.0.0.1', 3306
MARIADBD = '/usr/sbin/mariadbd'
PID_FILE = '/run/mysqld/mysqld.pid'


def _port_open():
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


def _pid():
    try:
        with open(PID_FILE) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


PIDFILE = '/run/vmguard-test-mariadbd.pid'


def stop_mariadb(timeout=60):
    """Shut the server down; return when its process is gone."""
    pid = _pid()
    result = subprocess.run(['mariadb-admin', '-uroot', 'shutdown'],
                            capture_output=True, timeout=timeout)
    if result.returncode and pid is not None and _alive(pid):
        os.kill(pid, 15)
    wait_for(lambda: not _port_open() and (pid is None or not _alive(pid)),
             timeout, interval=0.1, what='MariaDB to stop')


def start_mariadb(timeout=120):
    """Start the server unless it runs; return when it accepts queries."""
    if not _port_open():
        # A pidfile of its own: "--exec" alone matches any mariadbd on
        # the machine (a test Galera cluster, say) and then starts none.
        subprocess.run(['start-stop-daemon', '--start', '--oknodo',
                        '--background', '--pidfile', PIDFILE,
                        '--make-pidfile', '--exec', MARIADBD],
                       check=True, capture_output=True, timeout=timeout)

    def ready():
        return _port_open() and subprocess.run(
            ['mariadb-admin', '-uroot', 'ping'], capture_output=True,
            timeout=10).returncode == 0
    wait_for(ready, timeout, interval=0.2, what='MariaDB to start')


NODES = ('dbr-ok-1', 'dbr-ok-2', 'dbr-hw', 'dbr-vm', 'dbr-svc', 'dbr-ev',
         'dbr-ext')
# Cycles 1-3 stored before the outage; 4-12 cast while the server is
# down; 13-20 after it is back.
LAST = 20
DOWN_FROM, UP_FROM = 4, 13
EVENT_CYCLE = 9


def _snapshot(node, cycle):
    uuid = streams.vm_uuid(node)
    running = [(uuid,) + streams.RUNNING]
    if node == 'dbr-hw':
        # Failed DIMM from cycle 6 (database down): R4.
        return streams.snapshot(node, cycle, vms=running,
                                health='critical' if cycle >= 6 else 'ok')
    if node == 'dbr-vm':
        # A guest crashed from cycle 8 (database down): R1.
        return streams.snapshot(node, cycle, vms=[(uuid,) + (
            streams.CRASHED if cycle >= 8 else streams.RUNNING)])
    if node == 'dbr-svc':
        # libvirtd stopped in cycle 10 only (database down): R7.
        return streams.snapshot(node, cycle, vms=running,
                                service='stopped' if cycle == 10
                                else 'running')
    if node == 'dbr-ev':
        # A crash event between cycles 8 and 9, then the crashed guest
        # in the snapshots (database down): R1, seen by the event.
        return streams.snapshot(node, cycle, vms=[(uuid,) + (
            streams.CRASHED if cycle >= EVENT_CYCLE else streams.RUNNING)])
    if node == 'dbr-ext':
        # Its NFS fails from cycle 16 (database back): R6.
        return streams.snapshot(node, cycle, vms=running,
                                external='failed' if cycle >= 16 else 'ok')
    return streams.snapshot(node, cycle, vms=running, ram=400000)


EXPECTED = collections.Counter({
    ('dbr-hw', 'R4', 'migrate_all'): 1,
    ('dbr-hw', 'R4', 'disable_node'): 1,
    ('dbr-vm', 'R1', 'reboot'): 1,
    ('dbr-svc', 'R7', 'restart_service'): 1,
    ('dbr-ev', 'R1', 'reboot'): 1,
    ('dbr-ext', 'R6', 'migrate_all'): 1,
    ('dbr-ext', 'R6', 'disable_node'): 1,
})


class TestDatabaseRestart(EngineFunctionalTestCase):
    """MariaDB restarted while the engine judges: nothing lost or doubled."""


    def _cycle(self, cycle):
        for node in NODES:
            if node == 'dbr-ev' and cycle == EVENT_CYCLE:
                self.agents.report_vm_event(
                    self.ctx, snapshot_obj.VMEvent(
                        node=node, cycle=cycle, uuid=streams.vm_uuid(node),
                        event='crashed', reason='panicked',
                        source='libvirt'))
            self.cast(_snapshot(node, cycle))

    def _stored_up_to(self, cycle):
        return all(n.last_cycle == cycle
                   for n in db_api.node_list(self.context)
                   if n.name in NODES) and \
            len(db_api.node_list(self.context)) == len(NODES)

    def test_decisions_made_once_across_a_database_restart(self):
        for cycle in range(1, DOWN_FROM):
            self._cycle(cycle)
        wait_for(lambda: self._stored_up_to(DOWN_FROM - 1), 60,
                 what='cycles before the outage stored')
        # Whatever happens from here, the server is started again.
        self.addCleanup(start_mariadb)
        started = time.monotonic()
        stop_mariadb()
        stopped = time.monotonic()
        for cycle in range(DOWN_FROM, UP_FROM):
            self._cycle(cycle)
            time.sleep(0.3)
        # Long enough for the writer and the decision store to fail a
        # few times each.
        time.sleep(max(0.0, 8 - (time.monotonic() - stopped)))
        start_mariadb()
        outage = time.monotonic() - stopped
        for cycle in range(UP_FROM, LAST + 1):
            self._cycle(cycle)
            time.sleep(0.1)
        wait_for(lambda: self._stored_up_to(LAST), 120,
                 what='every node stored up to cycle %d' % LAST)
        made = self.wait_decisions(EXPECTED, 60)
        events = db_api.vm_event_list(self.context,
                                      uuid=streams.vm_uuid('dbr-ev'))
        row = table.record(
            'MariaDB restarted (engine side)', EXPECTED.elements(),
            made.elements(),
            'server down %.1fs (shutdown to accepting queries); %d '
            'snapshots, cycles %d-%d cast while down; crash event stored '
            '%d time(s); %.0fs in all'
            % (outage, len(NODES) * LAST, DOWN_FROM, UP_FROM - 1,
               len(events), time.monotonic() - started))
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(EXPECTED, made)
        self.assertEqual([('libvirt', 'crashed', EVENT_CYCLE)],
                         [(e.source, e.event, e.cycle) for e in events])
        hw = db_api.node_get(self.context, 'dbr-hw')
        self.assertTrue(hw.disabled)
        r1 = [d for d in self.decisions() if d.node == 'dbr-ev'][0]
        self.assertEqual('event', r1.evidence['seen_by'])
