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

"""``openstack vmguard vm|node state|node hardware`` through the real
``openstack`` command against a real vmguard-api (noauth) on MariaDB
with the sample rows, and the microversion negotiated with it."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import requests

from vmguard.tests.functional import base
from vmguard.tests.unit.api import data

BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestOSCCommands(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.mariadb()
        self.sample = data.seed(self.context)
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
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url + '/', timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    self.fail('vmguard-api did not start')
                time.sleep(0.1)

    def osc(self, *args, debug=False):
        cmd = [os.path.join(BIN, 'openstack'), '--os-auth-type', 'none',
               '--os-endpoint', self.url]
        if debug:
            cmd.append('--debug')
        cmd += ['vmguard'] + list(args)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, env=env, check=False)
        self.assertEqual(0, proc.returncode,
                         '%s: %s' % (' '.join(args), proc.stderr[-2000:]))
        if debug:
            return proc
        return json.loads(proc.stdout)

    def test_vm_list_and_show(self):
        vms = self.osc('vm', 'list', '-f', 'json')
        self.assertEqual(3, len(vms))
        crashed = self.osc('vm', 'list', '--node', 'cmp-01', '--state',
                           'crashed', '-f', 'json')
        self.assertEqual([(data.VM1, 'cmp-01', 'crashed', 'panicked')],
                         [(v['uuid'], v['node'], v['state'], v['reason'])
                          for v in crashed])
        one = self.osc('vm', 'show', data.VM3, '-f', 'json')
        self.assertEqual(('cmp-02', 4, 8192),
                         (one['node'], one['vcpus'], one['ram_mb']))
        long_rows = self.osc('vm', 'list', '--long', '--limit', '1', '-f',
                             'json')
        self.assertEqual(1, len(long_rows))
        self.assertIn('ram_mb', long_rows[0])

    def test_node_state_list(self):
        states = self.osc('node', 'state', 'list', 'cmp-01', '-f', 'json')
        self.assertEqual([('failed', 42, None), ('normal', 1, 41)],
                         [(s['state'], s['cycle_from'], s['cycle_to'])
                          for s in states])
        at = self.osc('node', 'state', 'list', 'cmp-01', '--cycle', '30',
                      '-f', 'json')
        self.assertEqual(['normal'], [s['state'] for s in at])
        self.assertEqual('dimm-A1',
                         states[0]['reason']['hardware'][0]['id'])

    def test_node_hardware_list_and_history(self):
        items = self.osc('node', 'hardware', 'list', 'cmp-01', '-f', 'json')
        by_id = {i['id']: i for i in items}
        self.assertEqual(('critical', 'oob', 'inband'), (
            by_id['dimm-A1']['health'], by_id['dimm-A1']['identity_path'],
            by_id['dimm-A1']['baseline_path']))
        history = self.osc('node', 'hardware', 'history', 'cmp-01',
                           '--item', 'dimm-A1', '-f', 'json')
        self.assertEqual([(42, 'critical', 'oob'), (40, 'ok', 'oob'),
                          (1, 'ok', 'inband')],
                         [(c['cycle'], c['health'], c['identity_path'])
                          for c in history])
        since = self.osc('node', 'hardware', 'history', 'cmp-01',
                         '--since-cycle', '41', '-f', 'json')
        self.assertEqual([42], [c['cycle'] for c in since])

    def test_microversion_negotiated_with_the_server(self):
        proc = self.osc('dry-run', 'show', '-f', 'json', debug=True)
        # Version discovery first, then the negotiated version (the
        # server's maximum, 1.3, which this client also speaks).
        self.assertIn('GET %s/' % self.url, proc.stderr)
        self.assertIn('OpenStack-API-Version: vmguard 1.3', proc.stderr)
        body = json.loads(proc.stdout)
        self.assertIn('effective', body)
