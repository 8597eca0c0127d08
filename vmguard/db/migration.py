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

"""Schema migrations (alembic), run by ``vmguard-manage db sync``."""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from vmguard.db.sqlalchemy import api as db_api

_INI = os.path.join(os.path.dirname(__file__), 'sqlalchemy', 'alembic.ini')


def _config(connection):
    config = alembic_config.Config(_INI)
    config.set_main_option(
        'script_location',
        os.path.join(os.path.dirname(__file__), 'sqlalchemy', 'alembic'))
    config.attributes['connection'] = connection
    return config


def upgrade(revision='head', engine=None):
    """Upgrade the schema of ``engine`` (default: [database] connection)."""
    engine = engine or db_api.get_engine()
    with engine.begin() as connection:
        alembic_command.upgrade(_config(connection), revision)


def version(engine=None):
    engine = engine or db_api.get_engine()
    with engine.connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection).get_current_revision()


def head():
    """The revision this release's schema is at (the newest migration)."""
    return alembic_script.ScriptDirectory.from_config(
        _config(None)).get_current_head()
