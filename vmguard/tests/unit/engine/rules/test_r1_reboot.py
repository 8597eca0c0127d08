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

"""R1 crashed VM, healthy host (engine/rules/r1_reboot.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams

U, V = 'u-1', 'u-2'
RUN = (U, 'running', 'booted')
CRASH = (U, 'crashed', 'panicked')
OTHER = (V, 'running', 'booted')


class TestRebootInPlace(base.TestCase):

    def test_reboot_that_vm_only_and_once(self):
        j = streams.Judged()
        j.cycle(1, a={'vms': [RUN, OTHER]})
        self.assertEqual([('a', 2, 'R1', 'reboot', U)],
                         j.cycle(2, a={'vms': [CRASH, OTHER]}))
        # Still crashed: decided already.
        self.assertEqual([], j.cycle(3, a={'vms': [CRASH, OTHER]}))
        self.assertEqual([3 - 1], j.pipeline.reboots[U])

    def test_host_state_of_the_same_cycle(self):
        j = streams.Judged()
        j.cycle(1, a={'vms': [RUN], 'health': 'warning'})
        self.assertEqual([('a', 2, 'R1', 'reboot', U)],
                         j.cycle(2, a={'vms': [CRASH]}))

    def test_not_when_rule_disabled(self):
        j = streams.Judged(rules=('R3', 'R4'))
        j.cycle(1, a={'vms': [RUN]})
        self.assertEqual([], j.cycle(2, a={'vms': [CRASH]}))
