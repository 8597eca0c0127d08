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

"""The vmguard-api command and ``openstack vmguard`` through their real
entry points (console scripts, subprocesses) against a real MariaDB."""

import json
import os
import socket
import subprocess
import sys
import time

import fixtures
import requests

from vmguard.db import api as db_api
from vmguard.tests.functional import base
from vmguard.tests.unit.api import data

BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestServiceAndCLI(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.mariadb()
        self.sample = data.seed(self.context)
        tmp = self.useFixture(fixtures.TempDir()).path
        self.port = _free_port()
        conf = os.path.join(tmp, 'vmguard.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nlog_file = %s\n'
                    '[database]\nconnection = %s\n'
                    '[api]\nauth_strategy = noauth\nhost_ip = 127.0.0.1\n'
                    'port = %d\n' % (os.path.join(tmp, 'api.log'),
                                     self.db.url, self.port))
        self.log = os.path.join(tmp, 'api.log')
        self.proc = subprocess.Popen(
            [os.path.join(BIN, 'vmguard-api'), '--config-file', conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self._stop)
        self.url = 'http://127.0.0.1:%d' % self.port
        self._wait_ready()

    def _stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail('vmguard-api exited with %s: %s' % (
                    self.proc.returncode, self.proc.stderr.read()))
            try:
                requests.get(self.url + '/', timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.fail('vmguard-api did not answer on %s' % self.url)

    def osc(self, *args, roles=None, scope=None, env_scope=None,
            expect_ok=True):
        cmd = [os.path.join(BIN, 'openstack'), '--os-auth-type', 'none',
               '--os-endpoint', self.url]
        if roles:
            cmd += ['--os-vmguard-noauth-roles', roles]
        if scope:
            cmd += ['--os-vmguard-noauth-system-scope', scope]
        cmd += ['vmguard'] + list(args)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        if env_scope:
            env['OS_VMGUARD_NOAUTH_SYSTEM_SCOPE'] = env_scope
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, env=env)
        if expect_ok:
            self.assertEqual(0, proc.returncode,
                             '%s: %s' % (' '.join(args), proc.stderr))
            if '-f' in args and 'json' in args:
                return json.loads(proc.stdout)
        return proc

    def test_cli_against_the_api_service(self):
        nodes = self.osc('node', 'list', '-f', 'json')
        self.assertEqual(['cmp-01', 'cmp-02'], [n['name'] for n in nodes])
        self.assertEqual('failed', nodes[0]['host_state'])
        failed = self.osc('node', 'list', '--host-state', 'failed',
                          '--long', '-f', 'json')
        self.assertEqual([('cmp-01', 'R4: host failed (dimm-A1 critical)')],
                         [(n['name'], n['disabled_reason'])
                          for n in failed])

        node = self.osc('node', 'show', 'cmp-01', '-f', 'json')
        self.assertEqual(42, node['host_state_since_cycle'])
        self.assertEqual('dimm-A1',
                         node['host_state_reason']['hardware'][0]['id'])

        node = self.osc('node', 'set', 'cmp-02', '--maintenance',
                        '--dry-run', '-f', 'json')
        self.assertTrue(node['maintenance'])
        self.assertTrue(node['dry_run'])
        row = db_api.node_get(self.context, 'cmp-02')
        self.assertEqual((True, True), (row.maintenance, row.dry_run))
        self.osc('node', 'set', 'cmp-02', '--no-maintenance',
                 '--default-dry-run', '-f', 'json')
        row = db_api.node_get(self.context, 'cmp-02')
        self.assertEqual((False, None), (row.maintenance, row.dry_run))
        node = self.osc('node', 'set', 'cmp-01', '--enable', '-f', 'json')
        self.assertFalse(node['disabled'])
        self.assertFalse(db_api.node_get(self.context, 'cmp-01').disabled)

        decisions = self.osc('decision', 'list', '-f', 'json')
        self.assertEqual(['R3', 'R4', 'R4', 'R1'],
                         [d['rule'] for d in decisions])
        self.assertEqual('succeeded', decisions[0]['recovery_status'])
        one_page = self.osc('decision', 'list', '--rule', 'R4', '--limit',
                            '1', '-f', 'json')
        self.assertEqual(['migrate_all'], [d['action'] for d in one_page])
        decision = self.osc('decision', 'show', decisions[0]['uuid'], '-f',
                            'json')
        self.assertEqual({'host_state': 'failed', 'cycle': 42},
                         decision['evidence'])

        recoveries = self.osc('recovery', 'list', '--status', 'succeeded',
                              '-f', 'json')
        self.assertEqual([('R3', 'evacuate')],
                         [(r['rule'], r['action']) for r in recoveries])
        recovery = self.osc('recovery', 'show', recoveries[0]['uuid'],
                            '-f', 'json')
        self.assertEqual(['force_down', 'evacuate'],
                         [a['action'] for a in recovery['actions']])

        events = self.osc('event', 'list', '--node', 'cmp-01', '-f', 'json')
        self.assertEqual([(data.VM1, 'crashed')],
                         [(e['vm'], e['event']) for e in events])

        shown = self.osc('dry-run', 'set', '--on', '-f', 'json')
        self.assertEqual({'dry_run': True, 'config_dry_run': False,
                          'effective': True}, shown)
        self.assertTrue(db_api.setting_get(self.context, 'dry_run'))
        self.osc('dry-run', 'set', '--default', '-f', 'json')
        shown = self.osc('dry-run', 'show', '-f', 'json')
        self.assertEqual({'dry_run': None, 'config_dry_run': False,
                          'effective': False}, shown)

    def test_cli_reports_refusals(self):
        proc = self.osc('node', 'set', 'cmp-01', '--enable',
                        roles='reader', expect_ok=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('HTTP 403 Forbidden', proc.stderr)
        self.assertTrue(db_api.node_get(self.context, 'cmp-01').disabled)
        proc = self.osc('node', 'show', 'cmp-77', expect_ok=False)
        self.assertIn('HTTP 404 Not Found: Node cmp-77', proc.stderr)
        # The service logs every request with its request id.
        self.proc.terminate()
        self.proc.wait(10)
        with open(self.log) as f:
            log = f.read()
        self.assertIn('PUT /v1/nodes/cmp-01/enable', log)

    def test_reader_reads_with_the_noauth_system_scope(self):
        # Readers read only with system scope (the policy): the noauth
        # mode sends "OpenStack-System-Scope: all" unless told "none".
        nodes = self.osc('node', 'list', '-f', 'json', roles='reader')
        self.assertEqual(['cmp-01', 'cmp-02'], [n['name'] for n in nodes])
        node = self.osc('node', 'show', 'cmp-01', '-f', 'json',
                        roles='reader', scope='all')
        self.assertEqual('cmp-01', node['name'])
        for kwargs in ({'scope': 'none'}, {'env_scope': 'none'}):
            proc = self.osc('node', 'list', roles='reader',
                            expect_ok=False, **kwargs)
            self.assertNotEqual(0, proc.returncode, kwargs)
            self.assertIn('HTTP 403 Forbidden', proc.stderr)
        # An admin needs no scope; a scope does not make a reader write.
        self.osc('node', 'list', '-f', 'json', scope='none')
        proc = self.osc('node', 'set', 'cmp-01', '--enable',
                        roles='reader', scope='all', expect_ok=False)
        self.assertIn('HTTP 403 Forbidden', proc.stderr)
        self.assertTrue(db_api.node_get(self.context, 'cmp-01').disabled)
        proc = self.osc('node', 'list', scope='some', expect_ok=False)
        self.assertEqual(2, proc.returncode)
        self.assertIn('invalid choice', proc.stderr)


_WSGI_SCRIPT = '''
import json, sys, wsgiref.util
from vmguard.wsgi import api
environ = {'PATH_INFO': '/v1/nodes', 'REQUEST_METHOD': 'GET',
           'HTTP_X_USER_ID': 'u', 'HTTP_X_ROLES': 'reader',
           'HTTP_OPENSTACK_SYSTEM_SCOPE': 'all'}
wsgiref.util.setup_testing_defaults(environ)
out = {}
def start_response(status, headers, exc_info=None):
    out['status'] = status
body = b''.join(api.application(environ, start_response))
print(json.dumps({'status': out['status'], 'body': json.loads(body)}))
'''


class TestWSGIApplication(base.FunctionalTestCase):
    """vmguard.wsgi.api:application as a WSGI server would load it."""

    def test_application_reads_its_config_on_first_request(self):
        db = self.mariadb()
        data.seed(self.context)
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'vmguard.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = %s\n'
                    '[api]\nauth_strategy = noauth\n' % db.url)
        env = dict(os.environ, VMGUARD_CONFIG_FILES=conf)
        proc = subprocess.run([sys.executable, '-c', _WSGI_SCRIPT],
                              capture_output=True, text=True, timeout=120,
                              env=env)
        self.assertEqual(0, proc.returncode, proc.stderr)
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual('200 OK', answer['status'])
        self.assertEqual(['cmp-01', 'cmp-02'],
                         [n['name'] for n in answer['body']['nodes']])
