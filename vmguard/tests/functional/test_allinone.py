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

"""The all-in-one demo (the README's main job), run as an operator runs it.

Each test starts the real ``vmguard-allinone`` command in a subprocess:
three agents with the libvirt (test driver), in-band (sysfs tree) and
Redfish (sushy-static) collectors, the judgment pipeline, SQLite, the
recovery executor on the fake compute back end.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import fixtures

from vmguard.tests.functional import base as func_base

# Per run: start-up, a baseline and three phases of 1 s cycles.
TIMEOUT = 150


def _command():
    exe = os.path.join(os.path.dirname(sys.executable), 'vmguard-allinone')
    if os.path.exists(exe):
        return [exe]
    return [sys.executable, '-m', 'vmguard.cmd.allinone']


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class TestAllInOne(func_base.FunctionalTestCase):

    def _run(self, *args):
        proc = subprocess.run(_command() + list(args), capture_output=True,
                              timeout=TIMEOUT, check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        return proc.returncode, out, proc.stderr.decode('utf-8', 'replace')

    def _decided(self, out):
        """(phase, rule, action) of every row of the result table."""
        found = set()
        for line in out.splitlines():
            m = re.match(r'^(\d)\s+\|\s+cmp-\w\s+\|\s+\d+\s+\|.*?\|\s+'
                         r'(R\d) (\w+)', line)
            if m:
                found.add(m.groups())
        return found

    def _assert_all_phases(self, out):
        self.assertEqual(
            {('1', 'R1', 'reboot'), ('2', 'R3', 'evacuate'),
             ('2', 'R4', 'migrate_all'), ('2', 'R4', 'disable_node'),
             ('3', 'R5', 'migrate_all'), ('3', 'R5', 'disable_node')},
            self._decided(out), out)
        self.assertIn('OK: every expected decision was made', out)
        self.assertNotIn('FAILED', out)
        # What the fake compute back end was asked to do.
        self.assertIn('reboot_server(cmp-a-web)', out)
        self.assertIn('disable_service(cmp-b, vmguard R4', out)
        self.assertIn('disable_service(cmp-c, vmguard R5', out)

    def test_demo_on_rabbitmq(self):
        self.require_rabbitmq()
        rc, out, err = self._run()
        self.assertEqual(0, rc, out + err)
        self.assertIn('messaging : RabbitMQ at 127.0.0.1:5672', out)
        self.assertIn('collectors libvirt, inband, redfish', out)
        # The real engine service, not the stand-in used when it fails.
        self.assertIn('engine    : vmguard-engine service', out)
        self.assertNotIn('NOTE', out)
        self._assert_all_phases(out)

    def test_demo_on_fake_transport_without_bmc(self):
        rc, out, err = self._run('--demo-transport-url', 'fake://',
                                 '--no-bmc')
        self.assertEqual(0, rc, out + err)
        self.assertIn('messaging : as given (fake://)', out)
        self.assertIn('collectors libvirt, inband\n', out)
        self.assertIn('Redfish BMCs NOT used (--no-bmc given)', out)
        self.assertEqual(
            {('1', 'R1', 'reboot'), ('2', 'R3', 'evacuate'),
             ('2', 'R4', 'migrate_all'), ('2', 'R4', 'disable_node')},
            self._decided(out), out)
        self.assertIn('temp:coretemp/Package', out)
        self.assertIn('OK: every expected decision was made', out)

    def test_missing_decision_fails_with_a_clear_message(self):
        self.require_rabbitmq()
        conf = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'demo.conf')
        with open(conf, 'w') as f:
            # R5 cannot come within the phase timeout.
            f.write('[engine]\nidentity_cycles = 30\n')
        rc, out, err = self._run('--config-file', conf, '--phase-timeout',
                                 '5')
        self.assertEqual(1, rc, out + err)
        self.assertIn('FAILED: 3. disk seen only by the BMC for 30 cycles: '
                      'expected decision R5 migrate_all on cmp-c did not '
                      'come within 5s', out)
        self.assertIn(('2', 'R4', 'disable_node'), self._decided(out))
        kept = re.search(r'State kept in (\S+)', out).group(1)
        self.addCleanup(shutil.rmtree, kept, True)
        self.assertTrue(os.path.exists(os.path.join(kept, 'vmguard.log')))

    def test_serve_keeps_the_api_up_until_interrupted(self):
        self.require_rabbitmq()
        port = _free_port()
        conf = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'demo.conf')
        with open(conf, 'w') as f:
            f.write('[api]\nport = %d\n' % port)
        proc = subprocess.Popen(
            _command() + ['--config-file', conf, '--serve'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, proc)
        lines = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode('utf-8', 'replace')
            if not line:
                break
            lines.append(line)
            if line.startswith('Serving the API'):
                break
        out = ''.join(lines)
        self.assertIn('Serving the API at http://127.0.0.1:%d' % port, out)
        self._assert_all_phases(out)
        req = urllib.request.Request(
            'http://127.0.0.1:%d/v1/decisions' % port,
            headers={'X-User-Id': 'demo', 'X-Project-Id': 'demo',
                     'X-Roles': 'admin'})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.loads(resp.read())
        rules = sorted(d['rule'] for d in body['decisions'])
        self.assertEqual(['R1', 'R3', 'R4', 'R4', 'R5', 'R5'], rules)
        # The status page's address is printed, and it is served.
        page = 'http://127.0.0.1:%d/dashboard' % port
        self.assertIn('dashboard : %s' % page, out)
        with urllib.request.urlopen(page, timeout=10) as resp:
            self.assertIn(b'vmguard status', resp.read())
        proc.send_signal(signal.SIGINT)
        self.assertEqual(0, proc.wait(30))

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
