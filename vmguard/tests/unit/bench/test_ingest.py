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

"""The ingest benchmark's waits on its consumers are bounded."""

import subprocess
import sys
import time
from unittest import mock

from vmguard.bench import ingest
from vmguard.tests import base


class TestConsumerWaits(base.TestCase):

    def consumer(self, code):
        real = subprocess.Popen

        def popen(_args, **kw):
            return real([sys.executable, '-c', code], **kw)
        with mock.patch.object(ingest.subprocess, 'Popen', popen):
            consumer = ingest._Consumer('engine', '/tmp/x.conf', 1)
        self.addCleanup(consumer.stop)
        return consumer

    def test_silent_consumer_times_out_with_a_clear_error(self):
        # An engine that never receives a snapshot never prints FIRST:
        # the wait ends at its deadline instead of blocking in readline.
        c = self.consumer('import time; print("READY", flush=True); '
                          'time.sleep(60)')
        self.assertEqual('', c.wait_line('READY', 30))
        started = time.monotonic()
        exc = self.assertRaises(ingest.BenchError, c.wait_line, 'FIRST',
                                0.5)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn('printed nothing for 0.5s before printing FIRST',
                      str(exc))
        self.assertIsNone(c.poll_line('FIRST'))

    def test_consumer_that_exits_is_reported(self):
        c = self.consumer('print("READY")')
        exc = self.assertRaises(ingest.BenchError, c.wait_line, 'FIRST',
                                30)
        self.assertIn('exited with rc 0 before printing FIRST', str(exc))

    def test_lines_are_kept_once_read(self):
        c = self.consumer('print("READY"); print("FIRST 12.5"); '
                          'print("LAST 13.5")')
        self.assertEqual('13.5', c.wait_line('LAST', 30))
        self.assertEqual('12.5', c.poll_line('FIRST'))
        self.assertEqual('12.5', c.wait_line('FIRST', 1))
