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

"""The daemons under oslo.service's launcher, as systemd runs them.

Each daemon runs as a real process on a configuration file: SIGHUP
re-reads the file (mutable options take effect, the process keeps
running), SIGTERM stops it gracefully with status 0.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from vmguard.tests.functional import base as func_base


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class DaemonTestCase(func_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix='vmguard-daemon-')
        self.addCleanup(subprocess.run, ['rm', '-rf', self.dir], check=False)
        self.log = os.path.join(self.dir, 'daemon.log')
        self.conf_path = os.path.join(self.dir, 'vmguard.conf')

    def write_conf(self, text):
        with open(self.conf_path, 'w') as f:
            f.write('[DEFAULT]\nlog_file = %s\nuse_stderr = false\n%s'
                    % (self.log, text))

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def wait_log(self, needle, timeout=60, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text()[start:]:
                return
            if self.proc.poll() is not None:
                self.fail('daemon exited (%s) before %r:\n%s'
                          % (self.proc.returncode, needle,
                             self.log_text()[-3000:]))
            time.sleep(0.2)
        self.fail('%r not logged within %ss:\n%s'
                  % (needle, timeout, self.log_text()[-3000:]))

    def start(self, module):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', module, '--config-file', self.conf_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self._reap)

    def _reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.proc.wait(60), self.log_text()[-3000:])


class TestEngineDaemon(DaemonTestCase):

    def _conf(self, max_reboots, debug=False):
        self.write_conf(
            'debug = %s\ntransport_url = %s\nhost = daemon-%s\n'
            '[database]\nconnection = sqlite:///%s\n'
            '[engine]\ntopic = %s\nmax_reboots = %d\n'
            '[notifications]\nnova_listener = false\nemit = false\n'
            '[recovery]\ncompute_driver = fake\ndry_run = true\n'
            % (debug, self.url, self.suffix,
               os.path.join(self.dir, 'vmguard.sqlite'), self.topic,
               max_reboots))

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        self.suffix = uuid.uuid4().hex[:8]
        self.topic = 'vmguard-daemon-ft-%s' % self.suffix
        self._conf(3)
        subprocess.run([sys.executable, '-m', 'vmguard.cmd.manage',
                        '--config-file', self.conf_path, 'db', 'sync'],
                       check=True, capture_output=True, timeout=120)

    def test_sighup_applies_thresholds_and_sigterm_is_graceful(self):
        self.start('vmguard.cmd.engine')
        self.wait_log('started on topic %s' % self.topic)
        mark = len(self.log_text())
        self._conf(5, debug=True)
        self.proc.send_signal(signal.SIGHUP)
        self.wait_log("Thresholds now in force: {'max_reboots': 5}",
                      start=mark)
        self.assertIsNone(self.proc.poll())
        # debug (oslo.log, mutable) took effect too.
        self.wait_log('DEBUG vmguard.cmd.launcher', start=mark)
        self.terminate()
        text = self.log_text()
        self.assertIn('stopping gracefully', text)
        self.assertIn('vmguard-engine stopped', text)


class TestAPIDaemon(DaemonTestCase):

    def test_serves_survives_sighup_and_stops_on_sigterm(self):
        port = _free_port()
        self.write_conf('[api]\nhost_ip = 127.0.0.1\nport = %d\n'
                        'auth_strategy = noauth\n'
                        '[database]\nconnection = sqlite:///%s\n'
                        % (port, os.path.join(self.dir, 'vmguard.sqlite')))
        self.start('vmguard.cmd.api')
        self.wait_log('vmguard-api serving on')
        url = 'http://127.0.0.1:%d/' % port
        with urllib.request.urlopen(url, timeout=10) as resp:
            self.assertEqual(200, resp.status)
        self.proc.send_signal(signal.SIGHUP)
        self.wait_log('reading the configuration files again')
        with urllib.request.urlopen(url, timeout=10) as resp:
            self.assertEqual(200, resp.status)
        self.terminate()
        self.assertIn('vmguard-api stopped', self.log_text())
