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

"""tools/subreaper.py, under which tools/qemu-test-env.sh runs libvirtd.

A process the command leaves behind (as libvirtd leaves the QEMU
processes it daemonizes) becomes the subreaper's child, is reaped as soon
as it exits, and the subreaper ends with the command's status when no
child is left.
"""

import os
import subprocess
import sys
import time

import testtools

SUBREAPER = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                         'tools', 'subreaper.py')


def _status(pid):
    """(state, parent pid) of a process, or None once it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            fields = dict(line.split(':', 1) for line in f)
    except (OSError, ValueError):
        return None
    return fields['State'].split()[0], int(fields['PPid'])


class TestSubreaper(testtools.TestCase):

    def test_orphan_is_adopted_and_reaped_at_once(self):
        proc = subprocess.Popen(
            [sys.executable, SUBREAPER, 'sh', '-c',
             'sleep 1 & echo $!; exit 3'],
            stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.stdout.close)
        orphan = int(proc.stdout.readline())
        # The shell exits at once: its background child is the
        # subreaper's now, not PID 1's.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status = _status(orphan)
            if status is None or status[1] == proc.pid:
                break
            time.sleep(0.01)
        state, parent = _status(orphan)
        self.assertEqual(proc.pid, parent)
        self.assertNotEqual('Z', state)
        # It exits after a second; its zombie is gone at once.
        zombie_at = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = _status(orphan)
            if status is None:
                break
            if status[0] == 'Z' and zombie_at is None:
                zombie_at = time.monotonic()
            time.sleep(0.005)
        self.assertIsNone(_status(orphan))
        if zombie_at is not None:
            self.assertLess(time.monotonic() - zombie_at, 0.5)
        # No child left: it ends with the command's status.
        self.assertEqual(3, proc.wait(timeout=10))

    def test_without_a_command_it_says_how_to_use_it(self):
        res = subprocess.run([sys.executable, SUBREAPER],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(2, res.returncode)
        self.assertIn('subreaper.py COMMAND', res.stderr)
