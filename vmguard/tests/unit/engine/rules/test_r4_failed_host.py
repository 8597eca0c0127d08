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

"""R4 failed host (engine/rules/r4_failed_host.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams


class TestFailedHost(base.TestCase):

    def test_once_per_incident_and_rearm_only_when_normal(self):
        j = streams.Judged()
        j.cycle(1)
        self.assertEqual([('a', 2, 'R4', 'migrate_all', 'b'),
                          ('a', 2, 'R4', 'disable_node', None)],
                         j.cycle(2, a={'health': 'critical'}))
        self.assertEqual([], j.cycle(3, a={'health': 'critical'}))
        # Degraded is not normal: the incident goes on.
        self.assertEqual([], j.cycle(4, a={'health': 'warning'}))
        self.assertEqual([], j.cycle(5, a={'health': 'critical'}))
        self.assertEqual([], j.cycle(6))
        self.assertEqual(['migrate_all', 'disable_node'],
                         [d[3] for d in j.cycle(7, a={'health':
                                                      'critical'})])
