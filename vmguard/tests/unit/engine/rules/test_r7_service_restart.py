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

"""R7 service fault (engine/rules/r7_service_restart.py)."""

from vmguard.tests import base
from vmguard.tests.unit.engine import streams


class TestServiceRestart(base.TestCase):

    def test_restart_while_below_threshold(self):
        j = streams.Judged()
        out = []
        for c in range(1, 4):
            out += j.cycle(c, a={'service': 'stopped' if c > 1
                                 else 'running'})
        self.assertEqual([('a', 2, 'R7', 'restart_service', 'libvirtd'),
                          ('a', 3, 'R7', 'restart_service', 'libvirtd')],
                         out)

    def test_not_while_host_unhealthy(self):
        j = streams.Judged()
        j.cycle(1)
        self.assertEqual([], j.cycle(2, a={'service': 'failed',
                                           'health': 'warning'}))
