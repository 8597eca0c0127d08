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

"""``vmguard-manage replay`` reads bytes: from a file and from stdin alike.

Through the real command (``vmguard.cmd.manage``, a child process): a line
that is not UTF-8 is ``line N: rejected: not UTF-8`` and the lines after
it are judged; a UTF-8 byte order mark at the start is accepted; stdin
gives exactly what the file gives (output, errors, exit status).
"""

import os
import re
import subprocess
import sys

import fixtures

from vmguard.tests import base

_SCENARIO = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                         'scenarios', 'crash_decided_once_and_rearmed.jsonl')


# oslo.log's lines (the decisions are logged too) go to stderr as well.
_LOG_LINE = re.compile(rb'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ [A-Z]+ ')


def _reports(err):
    """stderr without the log lines: what replay itself reports."""
    return b''.join(line for line in err.splitlines(keepends=True)
                    if not _LOG_LINE.match(line))


def _lines():
    with open(_SCENARIO, 'rb') as f:
        return [line.rstrip(b'\n') for line in f
                if line.strip() and not line.startswith(b'#')]


class TestReplayInput(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _replay(self, lines):
        """(status, stdout, stderr) through a file, asserted equal to the
        same bytes through stdin."""
        data = b''.join(line + b'\n' for line in lines)
        path = os.path.join(self.tmp, 'trace.jsonl')
        with open(path, 'wb') as f:
            f.write(data)
        results = []
        for trace, stdin in ((path, None), ('-', data)):
            proc = subprocess.run(
                [sys.executable, '-m', 'vmguard.cmd.manage', 'replay',
                 trace], input=stdin, capture_output=True, timeout=120,
                check=False)
            results.append((proc.returncode, proc.stdout,
                            _reports(proc.stderr)))
        self.assertEqual(results[0], results[1])
        return results[0]

    def test_clean_trace_has_decisions(self):
        status, out, err = self._replay(_lines())
        self.assertEqual((0, b''), (status, err))
        self.assertEqual(2, len(out.splitlines()), out)

    def test_line_not_utf8_is_rejected_and_the_rest_judged(self):
        clean = _lines()
        _status, expected, _err = self._replay(clean)
        bad = [b'\xff\xfe{"type": "vm_event"}',
               b'{"type": "vm_event", "node": "cmp-\xe9", "cycle": 2}',
               b'{"type": "snapshot", "node": "\xed\xa0\x80"}']
        lines = clean[:1] + bad + clean[1:]
        status, out, err = self._replay(lines)
        self.assertEqual(3, status)
        self.assertEqual(expected, out)
        self.assertEqual(b'line 2: rejected: not UTF-8 (byte 1)\n'
                         b'line 3: rejected: not UTF-8 (byte 35)\n'
                         b'line 4: rejected: not UTF-8 (byte 31)\n'
                         b'3 line(s) rejected\n', err)

    def test_byte_order_mark_is_accepted(self):
        clean = _lines()
        _status, expected, _err = self._replay(clean)
        status, out, err = self._replay([b'\xef\xbb\xbf' + clean[0]]
                                        + clean[1:])
        self.assertEqual((0, expected, b''), (status, out, err))

    def test_byte_order_mark_elsewhere_is_not_json(self):
        clean = _lines()
        status, _out, err = self._replay(
            clean[:1] + [b'\xef\xbb\xbf' + clean[1]] + clean[2:])
        self.assertEqual(3, status)
        self.assertIn(b'line 2: rejected: not valid JSON', err)
