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

"""A real vmguard-api (noauth) on MariaDB and the real ``openstack``
command pointed at it, for the CLI plugin's functional tests."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import requests

from vmguard.tests.functional import base

BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class OSCTestCase(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.mariadb()
        tmp = tempfile.mkdtemp(prefix='vmguard-osc-')
        self.addCleanup(subprocess.run, ['rm', '-rf', tmp], check=False)
        port = _free_port()
        self.url = 'http://127.0.0.1:%d' % port
        conf = os.path.join(tmp, 'vmguard.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nlog_file = %s\n[database]\nconnection = %s\n'
                    '[api]\nauth_strategy = noauth\nhost_ip = 127.0.0.1\n'
                    'port = %d\n' % (os.path.join(tmp, 'api.log'),
                                     self.db.url, port))
        proc = subprocess.Popen(
            [os.path.join(BIN, 'vmguard-api'), '--config-file', conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop():
            proc.terminate()
            proc.wait(30)
        self.addCleanup(stop)
        # Generous: the parallel phase of the suite loads two cores.
        deadline = time.monotonic() + 90
        while True:
            try:
                requests.get(self.url + '/', timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    try:
                        with open(os.path.join(tmp, 'api.log')) as f:
                            log = f.read()[-2000:]
                    except OSError:
                        log = '(no log)'
                    self.fail('vmguard-api did not start (rc %s): %s'
                              % (proc.poll(), log))
                time.sleep(0.1)

    def run_osc(self, *args, debug=False):
        """``openstack [--debug] vmguard ARGS`` (no OS_* of the caller's
        environment); the finished process."""
        cmd = [os.path.join(BIN, 'openstack'), '--os-auth-type', 'none',
               '--os-endpoint', self.url]
        if debug:
            cmd.append('--debug')
        cmd += ['vmguard'] + list(args)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, env=env, check=False)

    def osc(self, *args, debug=False):
        """The same, which must succeed; its JSON output (the process
        itself with ``debug``)."""
        proc = self.run_osc(*args, debug=debug)
        self.assertEqual(0, proc.returncode,
                         '%s: %s' % (' '.join(args), proc.stderr[-2000:]))
        if debug:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None
