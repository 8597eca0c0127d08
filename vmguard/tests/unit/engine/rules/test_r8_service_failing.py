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

"""R8 service keeps failing (engine/rules/r8_service_failing.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams


class TestServiceFailing(base.TestCase):

    def test_disable_and_escalate_once_then_rearm_when_running(self):
        j = streams.Judged()
        out = []
        for c in range(1, 7):
            out += j.cycle(c, a={'service': 'failed'})
        self.assertEqual([('a', 3, 'R8', 'disable_node', 'libvirtd'),
                          ('a', 3, 'R8', 'escalate', 'libvirtd')],
                         [d for d in out if d[2] == 'R8'])
        self.assertEqual(2, len([d for d in out if d[2] == 'R7']))
        # Running on a degraded host: not normal, incident goes on.
        j.cycle(7, a={'health': 'warning'})
        out = []
        for c in range(8, 11):
            out += j.cycle(c, a={'service': 'failed'})
        self.assertEqual([], out)
        j.cycle(11)   # running, normal: ended
        out = []
        for c in range(12, 15):
            out += j.cycle(c, a={'service': 'failed'})
        self.assertEqual(['restart_service', 'restart_service',
                          'disable_node', 'escalate'], [d[3] for d in out])
