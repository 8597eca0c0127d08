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


"""R9 fencing through a Redfish BMC: sushy-tools' emulator (fake systems,
which apply power actions 1-11 s after they are asked, like real BMCs)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import fixtures

from vmguard.compute import base as compute_base
from vmguard.compute import fake
from vmguard.compute import fencing
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.tests.functional import base

SYSTEM = '27946b59-9e44-4fa7-8e91-f3527a1ef094'


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class SushyEmulator(fixtures.Fixture):
    """sushy-emulator with one fake system, powered on."""

    def _setUp(self):
        self.dir = tempfile.mkdtemp(prefix='vmguard-bmc-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        config = os.path.join(self.dir, 'emulator.conf')
        with open(config, 'w') as f:
            f.write('SUSHY_EMULATOR_STATE_DIR = %r\n'
                    'SUSHY_EMULATOR_FAKE_DRIVER = True\n'
                    'SUSHY_EMULATOR_FAKE_SYSTEMS = [{"uuid": %r, '
                    '"name": "cmp-bmc", "power_state": "On", '
                    '"external_notifier": False, "nics": []}]\n'
                    % (os.path.join(self.dir, 'state'), SYSTEM))
        exe = os.path.join(os.path.dirname(sys.executable), 'sushy-emulator')
        if not os.path.exists(exe):
            exe = shutil.which('sushy-emulator')
        self.port = _free_port()
        self.log = open(os.path.join(self.dir, 'emulator.log'), 'wb')
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen(
            [exe, '--config', config, '--fake', '-i', '127.0.0.1',
             '-p', str(self.port)], stdout=self.log, stderr=self.log)
        self.addCleanup(self._stop)
        self.url = 'http://127.0.0.1:%d/redfish/v1/Systems/%s' % (
            self.port, SYSTEM)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    with open(os.path.join(self.dir, 'emulator.log')) as f:
                        log = f.read()[-3000:]
                    raise AssertionError('sushy-emulator did not start: %s'
                                         % log) from None
                time.sleep(0.2)

    def _stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class TestRedfishFencing(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.bmc = self.useFixture(SushyEmulator())
        self.fencer = fencing.RedfishFencer(systems={'cmp-1': self.bmc.url},
                                            username='', password='',
                                            verify=False)

    def test_power_off_confirmed_by_the_bmc(self):
        self.assertTrue(self.fencer.configured('cmp-1'))
        self.assertFalse(self.fencer.configured('cmp-2'))
        self.assertFalse(self.fencer.wait_off('cmp-1', 0.5))
        self.fencer.power_off('cmp-1')
        self.assertTrue(self.fencer.wait_off('cmp-1', 30))
        # Idempotent once off.
        self.fencer.power_off('cmp-1')

    def test_r9_fences_through_bmc_before_evacuating(self):
        self.mariadb()
        self.flags(group='recovery', poll_interval=0.05, fence_timeout=30)
        driver = fake.FakeComputeDriver()
        for host in ('cmp-1', 'cmp-2', 'cmp-3'):
            driver.add_host(host)
            db_api.node_get_or_create(self.context, host)
            db_api.node_update(self.context, host, {
                'host_state': 'normal', 'last_cycle': 10,
                'ram_mb_free': 4096, 'vcpus_free': 4})
        driver.services['cmp-1'].state = 'down'
        driver.add_server('vm-1', 'cmp-1')
        powered_off_at = []
        real_evacuate = driver.evacuate_server

        def evacuate(server_id, target, request_id):
            # What the BMC says when the first evacuation is issued.
            if not powered_off_at:
                powered_off_at.append(self.fencer.wait_off('cmp-1', 0))
            return real_evacuate(server_id, target, request_id)

        driver.evacuate_server = evacuate
        executor = recovery.RecoveryExecutor(driver=driver,
                                             fencer=self.fencer,
                                             sleep=time.sleep)
        self.addCleanup(executor.stop)
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': self.id(), 'node': 'cmp-1', 'cycle': 13,
            'action': 'migrate_all', 'target': 'cmp-2', 'rule': 'R9',
            'reason': 'node silent'})
        self.assertEqual('succeeded', executor.execute(decision))
        self.assertEqual([True], powered_off_at)
        self.assertEqual(('cmp-2', compute_base.ACTIVE),
                         (driver.servers['vm-1'].host,
                          driver.servers['vm-1'].status))
        rec = db_api.recovery_get_by_decision(self.context, decision.id)
        actions = [a.action for a in
                   db_api.recovery_action_list(self.context, rec.id)]
        self.assertEqual(['force_down', 'power_off', 'evacuate'],
                         actions[:3])
