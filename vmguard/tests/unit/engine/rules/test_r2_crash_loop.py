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

"""R2 crash loop (engine/rules/r2_crash_loop.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams

U = 'u-1'
RUN = (U, 'running', 'booted')
CRASH = (U, 'crashed', 'panicked')


class TestCrashLoop(base.TestCase):

    def test_budget_is_per_vm_on_any_node(self):
        # Revision 2: rebooted on a, crashes on b: the count goes along.
        j = streams.Judged(max_reboots=2)
        out = []
        for c, (on_a, on_b) in enumerate(
                [(RUN, None), (CRASH, None), (RUN, None), (CRASH, None),
                 (None, RUN), (None, CRASH)], 1):
            out += j.cycle(c, a={'vms': [on_a] if on_a else []},
                           b={'vms': [on_b] if on_b else []})
        self.assertEqual([('a', 2, 'R1', 'reboot', U),
                          ('a', 4, 'R1', 'reboot', U),
                          ('b', 6, 'R2', 'escalate', U)], out)

    def test_reboots_out_of_the_window_do_not_count(self):
        j = streams.Judged(max_reboots=1, reboot_window=3)
        out = []
        for c in range(1, 8):
            out += j.cycle(c, a={'vms': [CRASH if c in (2, 6) else RUN]})
        self.assertEqual([('a', 2, 'R1', 'reboot', U),
                          ('a', 6, 'R1', 'reboot', U)], out)

    def test_budget_survives_export_and_import(self):
        j = streams.Judged(max_reboots=1)
        j.cycle(1, a={'vms': [RUN]})
        j.cycle(2, a={'vms': [CRASH]})
        j.cycle(3, a={'vms': [RUN]})
        blob = j.pipeline.export_node_state('a')
        self.assertEqual({U: [2]}, blob['reboots'])
        other = streams.Judged(max_reboots=1)
        other.pipeline.import_node_state('a', blob)
        self.assertEqual([('a', 4, 'R2', 'escalate', U)],
                         other.feed(streams.snapshot('a', 4,
                                                     vms=[CRASH])))
