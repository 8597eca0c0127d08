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

"""The one target rule (engine/targets.py), in memory and over the DB."""

from vmguard.db import api as db_api
from vmguard.engine import persistence
from vmguard.engine import targets
from vmguard.objects import records
from vmguard.tests import base


class TestEligible(base.TestCase):

    def _info(self, **kw):
        values = dict(host_state='normal', vcpus_free=8, ram_mb_free=8000)
        values.update(kw)
        return targets.NodeInfo('t', **values)

    def test_each_condition_excludes(self):
        self.assertTrue(targets.eligible(self._info(), 'src', 2, 2048))
        for kw in ({'host_state': 'degraded'}, {'host_state': 'unknown'},
                   {'external_failed': True}, {'disabled': True},
                   {'maintenance': True}, {'silent': True},
                   {'vcpus_free': 1}, {'ram_mb_free': 1000},
                   {'vcpus_free': None}):
            self.assertFalse(targets.eligible(self._info(**kw), 'src', 2,
                                              2048), kw)
        self.assertFalse(targets.eligible(self._info(), 't', 2, 2048))

    def test_silent_node_is_no_target_until_it_reports(self):
        d = targets.MemoryDirectory()
        d.update('a', 'normal', False, 8, 9000)
        d.update('b', 'normal', False, 8, 4000)
        sel = targets.MostFreeRamSelector()
        d.set_silent('a', True)
        self.assertEqual(['b'], sel.select(d, 'src', 1, 1))
        d.set_silent('a', False)
        self.assertEqual(['a', 'b'], sel.select(d, 'src', 1, 1))


class TestDatabaseDirectory(base.DbTestCase):

    def _node(self, name, **values):
        db_api.node_get_or_create(self.context, name)
        values.setdefault('host_state', 'normal')
        values.setdefault('vcpus_free', 8)
        values.setdefault('ram_mb_free', 8000)
        db_api.node_update(self.context, name, values)

    def test_recovery_targets_use_the_one_rule(self):
        self._node('src')
        self._node('best', ram_mb_free=9000)
        self._node('maint', ram_mb_free=20000, maintenance=True)
        self._node('silent', ram_mb_free=30000)
        db_api.engine_judge_state_save(
            self.context, 'silent', {'incidents': {'R9': 4}}, 4)
        self._node('off', ram_mb_free=40000, disabled=True)
        self._node('sick', ram_mb_free=50000, host_state='failed')
        self._node('small', ram_mb_free=1000)
        self._node('ext', ram_mb_free=60000)
        # A failed external item, stored as the engine stores it.
        persister = persistence.Persister(self.context)
        persister.add_snapshot(records.parse_record({
            'type': 'snapshot', 'node': 'ext', 'cycle': 1, 'hardware': [],
            'external': [{'id': 'nfs', 'kind': 'storage',
                          'health': 'failed'}],
            'services': [], 'vms': [],
            'capacity': {'vcpus_free': 8, 'ram_mb_free': 60000}}),
            _Assessment())
        persister.flush()
        self._node('ext', host_state='normal')
        sel = targets.MostFreeRamSelector()
        self.assertEqual(['best'], targets.recovery_targets(
            self.context, sel, 'src', 2, 2048))
        # Capacity placed but not yet reported counts; excluded names and
        # the decision's first choice.
        self._node('second', ram_mb_free=8500)
        self.assertEqual(['second', 'best'], targets.recovery_targets(
            self.context, sel, 'src', 2, 2048, reserved={'best': (0, 1000)}))
        self.assertEqual(['best'], targets.recovery_targets(
            self.context, sel, 'src', 2, 2048, exclude=['second']))
        self.assertEqual(['second', 'best'], targets.recovery_targets(
            self.context, sel, 'src', 2, 2048, first='second'))
        # A first choice no longer eligible does not lead.
        self.assertEqual(['best', 'second'], targets.recovery_targets(
            self.context, sel, 'src', 2, 2048, first='maint'))


class _Assessment:
    host_state = 'normal'
    not_ok = []
    external_failed = ['nfs']
