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

import os
import time
from unittest import mock

import fixtures

from vmguard.agent.collectors import guestfaults
from vmguard.tests import base as test_base

UUID = '6f1c5e2a-0000-4000-8000-000000000001'
PATTERNS = [r'Kernel panic - not syncing', r'Oops: .*\[#\d+\]']
PANIC = (b'[   12.3] Kernel panic - not syncing: NMI: Not continuing\n'
         b'[   12.3] ---[ end Kernel panic - not syncing: NMI ]---\n')
BOOT = b'[    0.0] Linux version 6.1.0\nVMGUARD-READY\n'


class TestConsoleLogWatcher(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.events = []
        self.watcher = guestfaults.ConsoleLogWatcher(
            os.path.join(self.dir, '{uuid}', 'console.log'), PATTERNS, 0.05,
            sink=lambda *a: self.events.append(a))
        os.mkdir(os.path.join(self.dir, UUID))
        self.path = self.watcher.path(UUID)

    def write(self, data, mode='ab'):
        with open(self.path, mode) as f:
            f.write(data)

    def test_template_needs_uuid(self):
        self.assertRaises(ValueError, guestfaults.ConsoleLogWatcher,
                          '/var/lib/nova/instances/console.log', PATTERNS,
                          0.1)

    def test_panic_fires_once_as_a_crash_event(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(BOOT)
        self.assertEqual([], self.watcher.poll())
        self.assertFalse(self.watcher.panicked(UUID, 7))
        self.write(PANIC)
        self.assertEqual([UUID], self.watcher.poll())
        self.assertEqual([(UUID, 'crashed', 'panicked', 'console')],
                         self.events)
        self.assertTrue(self.watcher.panicked(UUID, 7))
        self.write(b'more text after the panic\n')
        self.assertEqual([], self.watcher.poll())
        self.assertEqual(1, len(self.events))

    def test_oops_is_a_panic_signature(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(b'Oops: general protection fault, probably for '
                   b'non-canonical address: 0000 [#1] PREEMPT SMP NOPTI\n')
        self.assertEqual([UUID], self.watcher.poll())

    def test_text_that_is_not_a_panic(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(b'echo Kernel panic is a word here\nOops: typo\n')
        self.assertEqual([], self.watcher.poll())

    def test_new_run_ends_the_panic_and_old_text_never_refires(self):
        # A log in append mode: the old panic stays in the file.
        self.watcher.domain_seen(UUID, 7)
        self.write(BOOT + PANIC)
        self.watcher.poll()
        self.watcher.domain_seen(UUID, 8)  # Nova hard-rebooted it
        self.assertFalse(self.watcher.panicked(UUID, 8))
        self.write(BOOT)
        self.assertEqual([], self.watcher.poll())
        self.assertEqual(1, len(self.events))
        # A panic of the new run is a new crash.
        self.write(PANIC)
        self.assertEqual([UUID], self.watcher.poll())
        self.assertTrue(self.watcher.panicked(UUID, 8))
        self.assertFalse(self.watcher.panicked(UUID, 7))

    def test_truncated_log_is_read_from_its_start(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(BOOT + PANIC + b'x' * 200 + b'\n')
        self.watcher.poll()
        self.watcher.domain_seen(UUID, 8)
        # virtlogd / QEMU truncate the log when the domain starts again.
        self.write(BOOT, mode='wb')
        self.assertEqual([], self.watcher.poll())
        self.write(PANIC)
        self.assertEqual([UUID], self.watcher.poll())

    def test_rotated_log_is_a_new_file(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(BOOT * 10)
        self.watcher.poll()
        os.rename(self.path, self.path + '.0')
        self.write(PANIC, mode='wb')  # shorter or not: a new inode
        self.assertEqual([UUID], self.watcher.poll())

    def test_signature_split_across_two_reads(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(b'[ 1.0] Kernel pan')
        self.assertEqual([], self.watcher.poll())
        self.write(b'ic - not syncing: NMI\n')
        self.assertEqual([UUID], self.watcher.poll())

    def test_missing_and_unreadable_logs_do_not_fail(self):
        self.watcher.domain_seen(UUID, 7)
        self.assertEqual([], self.watcher.poll())  # not created yet
        os.mkdir(self.path)  # reading it raises IsADirectoryError
        with mock.patch.object(guestfaults.LOG, 'warning') as warn:
            self.assertEqual([], self.watcher.poll())
            self.assertEqual([], self.watcher.poll())
        self.assertEqual(1, warn.call_count)  # said once, not per poll

    def test_inactive_domain_does_not_fire(self):
        self.watcher.domain_seen(UUID, -1)
        self.write(PANIC)
        self.assertEqual([], self.watcher.poll())

    def test_forgotten_domains_are_not_read(self):
        self.watcher.domain_seen(UUID, 7)
        self.watcher.forget_others([])
        self.write(PANIC)
        self.assertEqual([], self.watcher.poll())
        self.assertFalse(self.watcher.panicked(UUID, 7))

    def test_sink_failure_is_contained(self):
        def boom(*_a):
            raise RuntimeError('broker away')
        self.watcher._sink = boom
        self.watcher.domain_seen(UUID, 7)
        self.write(PANIC)
        self.assertEqual([UUID], self.watcher.poll())
        self.assertTrue(self.watcher.panicked(UUID, 7))

    def test_flood_reads_only_the_latest_text(self):
        self.watcher.domain_seen(UUID, 7)
        self.write(PANIC + b'y' * (guestfaults.MAX_READ + 10) + b'\n')
        self.assertEqual([], self.watcher.poll())

    def test_thread_reports_without_a_cycle(self):
        self.watcher.domain_seen(UUID, 7)
        self.watcher.start(lambda *a: self.events.append(a))
        self.addCleanup(self.watcher.stop)
        self.write(PANIC)
        for _ in range(100):
            if self.events:
                break
            time.sleep(0.05)
        self.assertEqual([(UUID, 'crashed', 'panicked', 'console')],
                         self.events)


CHANNEL_XML = ("<domain><devices><channel type='unix'><target type='virtio' "
               "name='org.qemu.guest_agent.0'/></channel></devices></domain>")


class TestGuestAgentProber(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.answers = []
        self.prober = guestfaults.GuestAgentProber(self.ping, 3)

    def ping(self, _dom):
        if not self.answers.pop(0):
            raise RuntimeError('Guest agent is not responding')

    def check(self, answer, dom_id=7, running=True, xml=CHANNEL_XML):
        if answer is not None:
            self.answers.append(answer)
        return self.prober.check(UUID, dom_id, running, lambda: xml, None)

    def test_hung_after_hang_cycles_silent_cycles(self):
        self.assertFalse(self.check(True))
        self.assertFalse(self.check(False))
        self.assertFalse(self.check(False))
        self.assertTrue(self.check(False))
        self.assertTrue(self.prober.newly_hung(UUID))
        self.assertFalse(self.prober.newly_hung(UUID))
        self.assertTrue(self.check(False))
        # It answers again: no longer hung.
        self.assertFalse(self.check(True))

    def test_an_answer_resets_the_count(self):
        for answer in (True, False, False, True, False, False):
            self.assertFalse(self.check(answer))

    def test_agent_that_never_answered_is_not_judged(self):
        for _ in range(10):
            self.assertFalse(self.check(False))

    def test_boot_grace_judges_a_silent_agent(self):
        self.prober = guestfaults.GuestAgentProber(self.ping, 2,
                                                   boot_grace=0.01)
        self.assertFalse(self.check(False))  # the run starts: in grace
        time.sleep(0.02)
        self.assertFalse(self.check(False))
        self.assertTrue(self.check(False))

    def test_paused_guest_is_not_pinged_nor_hung(self):
        self.check(True)
        for _ in range(5):
            self.assertFalse(self.check(None, running=False))
        self.assertEqual([], self.answers)

    def test_domain_without_channel_is_not_pinged(self):
        for _ in range(5):
            self.assertFalse(self.check(None, xml='<domain/>'))

    def test_new_run_starts_over(self):
        self.check(True)
        for _ in range(3):
            self.check(False)
        self.assertFalse(self.check(False, dom_id=8))

    def test_channel_detection(self):
        self.assertTrue(guestfaults.has_agent_channel(CHANNEL_XML))
        self.assertTrue(guestfaults.has_agent_channel(
            '<target type="virtio" name="org.qemu.guest_agent.0"/>'))
        self.assertFalse(guestfaults.has_agent_channel(
            "<target type='virtio' name='org.qemu.spice.0'/>"))

    def test_libvirt_ping_sends_guest_ping(self):
        fake = mock.MagicMock()
        with mock.patch.dict('sys.modules', libvirt_qemu=fake):
            guestfaults.libvirt_ping(2)('dom')
        fake.qemuAgentCommand.assert_called_once_with(
            'dom', '{"execute": "guest-ping"}', 2, 0)
