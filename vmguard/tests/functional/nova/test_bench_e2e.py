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


"""The end-to-end benchmark, run as an operator runs it, with a tiny n.

``python -m vmguard.bench e2e`` in a subprocess: real QEMU guests under
libvirtd panic (NMI), the agent, RabbitMQ, ``vmguard-engine`` and MariaDB
judge, and the real Nova of tools/nova (started here, or reused) is asked
to act. Three crashes over two guests, then one crash on a node whose BMC
reports a degraded PSU. What is checked is behaviour, read back from Nova
itself: each crash is exactly one hard reboot of the crashed guest's
server, and the evacuated server is ACTIVE on another host. The timings
the benchmark prints are not asserted.

It lives with the Nova tests so that stestr runs it in the same worker,
one after the other: they share the test Nova, and some of them disable
or force down its compute services.
"""

import collections
import json
import os
import subprocess
import sys

import fixtures

from vmguard.compute import base as compute_base
from vmguard.compute import nova
from vmguard.tests.functional import base as func_base
from vmguard.tests.functional.nova import fixtures as nova_fixtures

# Seconds the benchmark may take (it needs about one minute).
TIMEOUT = 300


class TestBenchE2E(func_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.require_rabbitmq()
        func_base.require_service('MariaDB', func_base.MYSQL_URL)
        try:
            self.env = nova_fixtures.real_nova()
        except nova_fixtures.NovaUnavailable as exc:
            self.fail(str(exc))
        self.flags(group='nova', auth_type='none',
                   endpoint_override=self.env['endpoint'])
        self.nova = nova.NovaComputeDriver()

    def _delete(self, server_id):
        self.nova.connection.compute.request(
            '/servers/%s' % server_id, 'DELETE', microversion='2.95',
            raise_exc=False)

    def _run_bench(self):
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'e2e.json')
        proc = subprocess.run(
            [sys.executable, '-m', 'vmguard.bench', 'e2e', '--crashes', '3',
             '--warmup', '0', '--vms', '2', '--evacuations', '1',
             '--baseline', '1',
             '--keep-servers', '--json', out],
            capture_output=True, timeout=TIMEOUT, check=False)
        stderr = proc.stderr.decode('utf-8', 'replace')
        self.assertTrue(os.path.exists(out),
                        'the benchmark wrote no result (exit %s):\n%s'
                        % (proc.returncode, stderr[-4000:]))
        with open(out) as f:
            result = json.load(f)
        for server_id in [s['server'] for s in
                          result['reboot']['samples']
                          + result['evacuate']['samples']] + [
                              result['baseline_server']]:
            self.addCleanup(self._delete, server_id)
        self.assertEqual(0, proc.returncode, '%s\n%s' % (
            proc.stdout.decode('utf-8', 'replace'), stderr[-4000:]))
        return result

    def test_each_crash_one_hard_reboot_and_evacuation_active(self):
        result = self._run_bench()
        source = result['crash_host']

        # Three crashes, over the two guests in turn, each one decided R1
        # for the guest that crashed (its domain UUID is the server's).
        reboots = result['reboot']['samples']
        self.assertEqual(3, len(reboots))
        for s in reboots:
            self.assertEqual((True, 'R1', 'reboot', s['server'], 'reboot'),
                             (s['ok'], s['rule'], s['action'], s['vm'],
                              s['nova_action']), s)
        accepted = collections.defaultdict(list)
        for s in reboots:
            accepted[s['server']].append(s['request_id'])
        self.assertEqual([2, 1], sorted(
            (len(v) for v in accepted.values()), reverse=True))

        # Nova's own record: one hard reboot per crash of that server,
        # the very requests vmguard had accepted, and nothing more.
        for server_id, request_ids in accepted.items():
            nova_reboots = [
                a.request_id for a in
                self.nova.list_instance_actions(server_id)
                if a.action == compute_base.ACTION_REBOOT]
            self.assertEqual(sorted(request_ids), sorted(nova_reboots),
                             server_id)
            server = self.nova.get_server(server_id)
            self.assertEqual(('ACTIVE', source),
                             (server.status, server.host))

        # The degraded node: the crashed guest's server was moved (R3) and
        # is ACTIVE on the target vmguard chose, not on its old host.
        [evac] = result['evacuate']['samples']
        self.assertEqual((True, 'R3', 'evacuate', evac['server']),
                         (evac['ok'], evac['rule'], evac['action'],
                          evac['vm']), evac)
        server = self.nova.get_server(evac['server'])
        self.assertEqual('ACTIVE', server.status)
        self.assertNotEqual(source, server.host)
        self.assertEqual(evac['target'], server.host)
        actions = [a.action for a in
                   self.nova.list_instance_actions(evac['server'])]
        self.assertEqual(1, actions.count(compute_base.ACTION_MIGRATE)
                         + actions.count(compute_base.ACTION_EVACUATE),
                         actions)
        self.assertNotIn(compute_base.ACTION_REBOOT, actions)
