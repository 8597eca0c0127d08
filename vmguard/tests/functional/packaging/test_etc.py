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

"""The systemd units and the logrotate file under etc/.

Each unit is checked by ``systemd-analyze verify`` (with ExecStart
pointing at this environment's console script, which must exist) and
read for what the daemons rely on: SIGTERM to stop, SIGHUP to reload, a
stop timeout above the launcher's graceful_shutdown_timeout default. The
logrotate file really rotates a log with ``logrotate -f``.
"""

import configparser
import os
import shutil
import subprocess
import sys
import tempfile

from oslo_config import cfg
from oslo_service import opts as service_opts
import testtools

from vmguard.tests.functional.packaging import test_wheel

ETC = os.path.join(test_wheel.TOP, 'etc')
DAEMONS = ('agent', 'engine', 'api')


def _unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(os.path.join(ETC, 'systemd', 'vmguard-%s.service' % name))
    return parser


class TestSystemdUnits(testtools.TestCase):

    def test_one_unit_per_daemon(self):
        self.assertEqual(sorted('vmguard-%s.service' % d for d in DAEMONS),
                         sorted(os.listdir(os.path.join(ETC, 'systemd'))))

    def test_units_say_what_the_launcher_expects(self):
        conf = cfg.ConfigOpts()
        service_opts.register_service_opts(conf)
        conf([], default_config_files=[])
        for name in DAEMONS:
            svc = _unit(name)['Service']
            self.assertEqual('/usr/bin/vmguard-%s' % name,
                             svc['ExecStart'].split()[0])
            self.assertIn('--config-file /etc/vmguard/vmguard.conf',
                          svc['ExecStart'])
            self.assertEqual('/bin/kill -HUP $MAINPID', svc['ExecReload'])
            self.assertEqual('SIGTERM', svc['KillSignal'])
            self.assertGreater(int(svc['TimeoutStopSec']),
                               conf.graceful_shutdown_timeout)
            self.assertEqual('multi-user.target',
                             _unit(name)['Install']['WantedBy'])

    def test_systemd_analyze_verify(self):
        analyze = shutil.which('systemd-analyze')
        if analyze is None:
            self.skipTest('systemd-analyze not installed; the units are '
                          'parsed by test_units_say_what_the_launcher_'
                          'expects')
        bindir = os.path.dirname(sys.executable)
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for name in DAEMONS:
            script = os.path.join(bindir, 'vmguard-%s' % name)
            self.assertTrue(os.access(script, os.X_OK), script)
            with open(os.path.join(ETC, 'systemd',
                                   'vmguard-%s.service' % name)) as f:
                text = f.read().replace('/usr/bin/vmguard-%s' % name, script)
            path = os.path.join(tmp, 'vmguard-%s.service' % name)
            with open(path, 'w') as f:
                f.write(text)
            proc = subprocess.run([analyze, 'verify', path],
                                  capture_output=True, text=True,
                                  timeout=60, check=False)
            # Warnings about the host (no systemd running) are not about
            # the unit; lines naming the unit are.
            about_unit = [line for line in proc.stderr.splitlines()
                          if 'vmguard-%s' % name in line]
            self.assertEqual([], about_unit)
            self.assertEqual(0, proc.returncode, proc.stderr)


class TestLogrotate(testtools.TestCase):

    def test_rotates_the_daemon_logs(self):
        logrotate = shutil.which('logrotate') or '/usr/sbin/logrotate'
        self.assertTrue(os.path.exists(logrotate),
                        'logrotate is not installed (tools/ci-setup.sh '
                        'installs it)')
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        logs = os.path.join(tmp, 'log')
        os.mkdir(logs)
        with open(os.path.join(ETC, 'logrotate.d', 'vmguard')) as f:
            text = f.read()
        self.assertIn('/var/log/vmguard/*.log', text)
        conf = os.path.join(tmp, 'vmguard')
        with open(conf, 'w') as f:
            f.write(text.replace('/var/log/vmguard', logs))
        log = os.path.join(logs, 'vmguard-engine.log')
        with open(log, 'w') as f:
            f.write('a line\n')
        proc = subprocess.run(
            [logrotate, '-f', '-s', os.path.join(tmp, 'state'), conf],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('vmguard-engine.log.1', os.listdir(logs))
        # copytruncate: the file the daemon holds stays, emptied.
        self.assertEqual(0, os.path.getsize(log))
