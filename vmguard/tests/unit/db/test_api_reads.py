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

"""DB API functions of the REST API (reads, operator switches)."""

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.tests import base
from vmguard.tests.unit.api import data


class TestApiReads(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.sample = data.seed(self.context)

    def test_settings_and_effective_dry_run(self):
        node = db_api.node_get(self.context, 'cmp-01')
        self.assertIsNone(db_api.setting_get(self.context, 'dry_run'))
        self.assertFalse(db_api.effective_dry_run(self.context, node))
        self.assertTrue(db_api.effective_dry_run(self.context, node,
                                                 default=True))
        db_api.setting_set(self.context, 'dry_run', True)
        self.assertTrue(db_api.effective_dry_run(self.context, node))
        db_api.node_update(self.context, 'cmp-01', {'dry_run': False})
        node = db_api.node_get(self.context, 'cmp-01')
        self.assertFalse(db_api.effective_dry_run(self.context, node))
        db_api.setting_set(self.context, 'dry_run', None)
        self.assertIsNone(db_api.setting_get(self.context, 'dry_run'))
        self.assertEqual('x', db_api.setting_get(self.context, 'dry_run',
                                                 default='x'))

    def test_node_enable(self):
        node = db_api.node_enable(self.context, 'cmp-01')
        self.assertEqual((False, None, None), (
            node.disabled, node.disabled_reason, node.disabled_at))
        self.assertRaises(exception.NodeNotFound,
                          db_api.node_enable, self.context, 'nope')

    def test_paginated_lists(self):
        rows = db_api.decision_list_filtered(self.context, limit=2)
        self.assertEqual(2, len(rows))
        rest = db_api.decision_list_filtered(self.context,
                                             marker=rows[-1][0].id)
        self.assertEqual(2, len(rest))
        self.assertEqual(['R1', 'R4'], [
            d.rule for d, _r in db_api.decision_list_filtered(
                self.context, sort_dir='desc', limit=2)])
        recs = db_api.recovery_list_filtered(self.context,
                                             status='succeeded')
        self.assertEqual(['evacuate'], [d.action for _r, d in recs])
        self.assertEqual(2, len(db_api.recovery_action_list(
            self.context, recs[0][0].id)))
        vms = db_api.vm_list(self.context, node='cmp-01')
        self.assertEqual([(data.VM1, 'cmp-01'), (data.VM2, 'cmp-01')],
                         [(vm.uuid, node) for vm, node in vms])
