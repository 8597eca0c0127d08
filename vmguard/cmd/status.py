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

"""vmguard-status upgrade check (oslo.upgradecheck)."""

import sys

from alembic import script as alembic_script
from oslo_config import cfg
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from vmguard.db import migration

CONF = cfg.CONF


class Checks(upgradecheck.UpgradeCommands):
    """Checks an operator runs before (re)starting vmguard services."""

    def _check_schema(self):
        try:
            current = migration.version()
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'Cannot read the database schema version: %s' % exc)
        config = migration._config(None)
        head = alembic_script.ScriptDirectory.from_config(
            config).get_current_head()
        if current != head:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'Database schema is at %s, this release needs %s: run '
                '"vmguard-manage db sync".' % (current, head))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    _upgrade_checks = (
        ('Database schema', _check_schema),
        ('Policy File JSON to YAML Migration',
         (common_checks.check_policy_json, {'conf': CONF})),
    )


def main():
    return upgradecheck.main(CONF, project='vmguard',
                             upgrade_command=Checks())


if __name__ == '__main__':
    sys.exit(main())
