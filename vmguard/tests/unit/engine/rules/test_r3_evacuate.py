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

"""R3 crashed VM, unhealthy host (engine/rules/r3_evacuate.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams

U = 'u-1'
RUN = (U, 'running', 'booted')
CRASH = (U, 'crashed', 'panicked')


class TestEvacuateCrashed(base.TestCase):

    def test_degraded_evacuates_to_most_free_ram(self):
        j = streams.Judged()
        j.cycle(1, a={'vms': [RUN]}, c={'ram': 300000})
        self.assertEqual([('a', 2, 'R3', 'evacuate', 'c')],
                         j.cycle(2, a={'vms': [CRASH], 'health': 'warning'},
                                 c={'ram': 300000}))

    def test_external_failed_evacuates(self):
        j = streams.Judged()
        j.cycle(1, a={'vms': [RUN]})
        self.assertEqual([('a', 2, 'R3', 'evacuate', 'b')],
                         j.cycle(2, a={'vms': [CRASH],
                                       'external': 'failed'}))

    def test_no_target_escalates(self):
        j = streams.Judged()
        j.cycle(1, a={'vms': [RUN]}, b={'health': 'warning'},
                c={'ram': 100})
        self.assertEqual([('a', 2, 'R3', 'escalate', U)],
                         j.cycle(2, a={'vms': [CRASH], 'health': 'critical'},
                                 b={'health': 'warning'},
                                 c={'ram': 100})[:1])
