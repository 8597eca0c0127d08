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

"""A guest Nova created panics; vmguard gets it running again via Nova.

The test Nova in its libvirt mode (tools/nova/libvirt_mode.py): compute
``lv-1`` on Nova's stock libvirt driver (QEMU TCG). ``python -m
vmguard.bench e2e_stock`` runs as an operator runs it, with one crash: a
server booted by Nova, whose domain has no panic device, gets an NMI; its
kernel panics; the agent's console log detector reports it; the engine
decides R1; Nova's libvirt driver hard-reboots the domain; the guest's
console shows it booted again. Checked from the outside: the domain XML
Nova wrote, the JSON the benchmark wrote, Nova's instance actions, the
domain's new run and its console log. Timings are not asserted.

The same with a hung guest (``e2e_stock --fault hang``): the server boots
the image with ``hw_qemu_guest_agent=yes``, the QEMU guest agent inside
the guest is stopped (SIGSTOP, sent through the agent's own guest-exec),
the agent's guest agent detector reports the domain hung after
``hang_cycles`` unanswered pings, R1, Nova hard-reboots, the guest and a
new guest agent answer again.
"""

import json
import os
import subprocess
import sys

import fixtures
import libvirt
import libvirt_qemu

from vmguard.compute import base as compute_base
from vmguard.compute import nova
from vmguard.tests.functional import base as func_base
from vmguard.tests.functional.nova import fixtures as nova_fixtures

TIMEOUT = 480


class StockGuestTestCase(func_base.FunctionalTestCase):
    """The test Nova in its libvirt mode and vmguard's e2e_stock run."""

    def setUp(self):
        super().setUp()
        self.require_rabbitmq()
        func_base.require_service('MariaDB', func_base.MYSQL_URL)
        try:
            self.env = nova_fixtures.real_nova(libvirt=True)
        except nova_fixtures.NovaUnavailable as exc:
            self.fail(str(exc))
        self.flags(group='nova', auth_type='none',
                   endpoint_override=self.env['endpoint'])
        self.nova = nova.NovaComputeDriver()
        self.conn = libvirt.open('qemu:///system')
        self.addCleanup(self.conn.close)

    def _delete(self, server_id):
        self.nova.connection.compute.request(
            '/servers/%s' % server_id, 'DELETE', microversion='2.95',
            raise_exc=False)

    def assert_rebooted_once(self, result, crash, server_id, dom):
        """One R1 decision, exactly the hard reboot vmguard asked for in
        Nova's own record, and a new run of the domain after the 202 in
        which the guest booted; the guest's console (bytes)."""
        self.assertEqual(('R1', 'reboot', server_id, 'reboot'),
                         (crash['rule'], crash['action'], crash['vm'],
                          crash['nova_action']))
        reboots = [a.request_id for a in
                   self.nova.list_instance_actions(server_id)
                   if a.action == compute_base.ACTION_REBOOT]
        self.assertEqual([crash['request_id']], reboots)
        self.assertEqual([['R1', 'reboot']], result['checks']['decisions'])
        self.assertLess(crash['t_accepted'], crash['t_running'])
        self.assertLess(crash['t_running'], crash['t_ready'])
        state, _reason = dom.state()
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, state)
        with open(result['console'], 'rb') as f:
            console = f.read()
        self.assertIn(b'VMGUARD-READY', console)
        return console

    def run_bench(self, *args):
        """One crash through ``python -m vmguard.bench e2e_stock``; its
        JSON result (the server is deleted at the test's end)."""
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'c.json')
        proc = subprocess.run(
            [sys.executable, '-m', 'vmguard.bench', 'e2e_stock',
             '--crashes', '1', '--warmup', '0', '--baseline', '0',
             '--keep-servers', '--json', out] + list(args),
            capture_output=True, timeout=TIMEOUT, check=False)
        stderr = proc.stderr.decode('utf-8', 'replace')
        self.assertTrue(os.path.exists(out),
                        'the benchmark wrote no result (exit %s):\n%s'
                        % (proc.returncode, stderr[-4000:]))
        with open(out) as f:
            result = json.load(f)
        self.addCleanup(self._delete, result['server'])
        self.assertEqual(0, proc.returncode, '%s\n%s' % (
            proc.stdout.decode('utf-8', 'replace'), stderr[-4000:]))
        return result


class TestStockGuestPanic(StockGuestTestCase):

    def test_panic_seen_on_console_and_nova_reboots_the_domain(self):
        result = self.run_bench()
        server_id = result['server']

        # The domain is Nova's: named by its template, no panic device.
        dom = self.conn.lookupByUUIDString(server_id)
        self.assertTrue(dom.name().startswith('vmguard-lv-'), dom.name())
        self.assertNotIn('<panic', dom.XMLDesc(0))

        [crash] = result['crashes']
        self.assertTrue(crash['ok'], crash)
        # libvirt never said crashed: the console was the only witness,
        # and the agent had the panic before the decision.
        self.assertIsNone(crash['t_libvirt'])
        self.assertEqual('console', crash['source'])
        self.assertLess(crash['t_nmi'], crash['t_agent'])
        self.assertLess(crash['t_agent'], crash['t_decision'])
        # The domain runs again (a new run after the 202) and the guest
        # booted in it: its console shows the boot after the panic.
        console = self.assert_rebooted_once(result, crash, server_id, dom)
        # Nova's log is truncated when the domain starts: the panic text
        # belonged to the previous run.
        self.assertNotIn(b'Kernel panic', console)
        server = self.nova.get_server(server_id)
        self.assertEqual(('ACTIVE', result['crash_host']),
                         (server.status, server.host))


class TestStockGuestAgentHang(StockGuestTestCase):
    """A guest Nova booted with the QEMU guest agent hangs (its agent is
    stopped inside the guest); the guest agent detector reports it hung,
    R1, Nova hard-reboots the domain, the guest and its agent come back.
    """

    HANG_CYCLES = 2

    def test_hung_guest_agent_is_rebooted_by_nova(self):
        result = self.run_bench('--fault', 'hang', '--hang-cycles',
                                str(self.HANG_CYCLES))
        server_id = result['server']
        self.assertEqual('hang', result['fault'])

        # Nova's domain, with the agent's channel it adds for an image
        # with hw_qemu_guest_agent=yes, and no panic device.
        dom = self.conn.lookupByUUIDString(server_id)
        self.assertTrue(dom.name().startswith('vmguard-lv-'), dom.name())
        xml = dom.XMLDesc(0)
        self.assertIn("name='org.qemu.guest_agent.0'", xml)
        self.assertNotIn('<panic', xml)

        [crash] = result['crashes']
        self.assertTrue(crash['ok'], crash)
        # Neither libvirt (the domain kept running) nor the console told:
        # the guest agent's silence did, after hang_cycles cycles of 1 s
        # (the first silent ping at the earliest right after the freeze).
        self.assertIsNone(crash['t_libvirt'])
        self.assertEqual('guest-agent', crash['source'])
        self.assertGreater(crash['t_agent'] - crash['t_nmi'],
                           self.HANG_CYCLES - 1)
        self.assertLess(crash['t_agent'], crash['t_decision'])
        [reason] = result['checks']['reasons']
        self.assertIn('hung', reason)
        # A new run of the domain after the 202, the guest booted in it
        # and its agent (a new process: the stopped one died with the
        # old run) answers.
        console = self.assert_rebooted_once(result, crash, server_id, dom)
        self.assertIn(b'VMGUARD-AGENT', console)
        answer = libvirt_qemu.qemuAgentCommand(
            dom, json.dumps({'execute': 'guest-ping'}), 5, 0)
        self.assertEqual({'return': {}}, json.loads(answer))
        server = self.nova.get_server(server_id)
        self.assertEqual(('ACTIVE', result['crash_host']),
                         (server.status, server.host))
