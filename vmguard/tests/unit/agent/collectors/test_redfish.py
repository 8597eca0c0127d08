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

"""The Redfish Status table (doc/source/redfish.rst), row by row."""

from vmguard.agent.collectors import redfish
from vmguard.tests import base as test_base


class TestMapStatus(test_base.TestCase):

    def check(self, status, expected, was_enabled=False):
        self.assertEqual(expected,
                         redfish.map_status(status, was_enabled)[0],
                         status)

    def test_table(self):
        rows = [
            (None, 'ok'),
            ({}, 'ok'),
            ({'State': 'Enabled'}, 'ok'),
            ({'State': 'Enabled', 'Health': 'OK'}, 'ok'),
            ({'State': 'Enabled', 'Health': 'Warning'}, 'warning'),
            ({'State': 'Enabled', 'Health': 'Critical'}, 'critical'),
            ({'State': 'Enabled', 'Health': 'OK',
              'HealthRollup': 'Critical'}, 'critical'),
            ({'State': 'Enabled', 'Health': 'Warning',
              'HealthRollup': 'OK'}, 'warning'),
            ({'Health': 'Bogus'}, 'ok'),
            ({'State': 'Absent', 'Health': 'Critical'}, None),
            ({'State': 'UnavailableOffline'}, 'warning'),
            ({'State': 'UnavailableOffline', 'Health': 'OK'}, 'warning'),
            ({'State': 'UnavailableOffline', 'Health': 'Critical'},
             'critical'),
            ({'State': 'Disabled'}, 'ok'),
            ({'State': 'Disabled', 'Health': 'Warning'}, 'warning'),
            ({'State': 'StandbyOffline', 'Health': 'OK'}, 'ok'),
            ({'State': 'StandbySpare'}, 'ok'),
            ({'State': 'InTest'}, 'ok'),
            ({'State': 'Quiesced', 'Health': 'Critical'}, 'critical'),
            ({'State': 'SomethingNew', 'Health': 'Warning'}, 'warning'),
            ('not a dict', 'ok'),
        ]
        for status, expected in rows:
            self.check(status, expected)

    def test_disabled_while_watched_is_a_warning(self):
        self.check({'State': 'Disabled'}, 'warning', was_enabled=True)
        self.check({'State': 'Disabled', 'Health': 'OK'}, 'ok',
                   was_enabled=True)
