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

from oslo_upgradecheck import upgradecheck
import sqlalchemy as sa

from vmguard.cmd import status
from vmguard.tests import base


class TestUpgradeChecks(base.DbTestCase):

    def test_schema_at_head(self):
        result = status.Checks()._check_schema()
        self.assertEqual(upgradecheck.Code.SUCCESS, result.code)

    def test_schema_behind_is_a_failure_that_says_what_to_do(self):
        with self.db.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE alembic_version SET version_num = '0000'"))
        result = status.Checks()._check_schema()
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn('vmguard-manage db sync', result.details)
