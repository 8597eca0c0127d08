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

"""Binary collation for every string column on MySQL/MariaDB.

vmguard treats ``cmp-1``, ``CMP-1`` and ``cmp-1 `` as three nodes (SPEC.md,
"One validator"); the default utf8mb4 collation compares them as one, so
the second collided with the first on the unique keys. Every VARCHAR
column of the existing tables is converted to the server's binary NO PAD
collation (``utf8mb4_nopad_bin`` on MariaDB, ``utf8mb4_0900_bin`` on
MySQL 8) and it becomes each table's default. Later migrations create
their tables with :func:`vmguard.db.sqlalchemy.mysql.table_options`.

Converting to a finer collation cannot make two stored keys equal, so the
conversion never fails on existing data. Other databases compare byte for
byte already (SQLite's BINARY, PostgreSQL's deterministic collations):
nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

from vmguard.db.sqlalchemy import mysql

revision = '0003'
down_revision = '0002'

TABLES = ('nodes', 'host_state_periods', 'hardware_items',
          'hardware_changes', 'external_items', 'service_states', 'vms',
          'vm_events', 'decisions', 'recoveries', 'recovery_actions',
          'settings')


def _modify(column, collation):
    null = 'NULL' if column['nullable'] else 'NOT NULL'
    return ('MODIFY `%s` VARCHAR(%d) CHARACTER SET utf8mb4 COLLATE %s %s'
            % (column['name'], column['type'].length, collation, null))


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'mysql':
        return
    collation = mysql.binary_collation(bind)
    inspector = sa.inspect(bind)
    for table in TABLES:
        clauses = ['DEFAULT CHARACTER SET utf8mb4 COLLATE %s' % collation]
        clauses.extend(
            _modify(column, collation)
            for column in inspector.get_columns(table)
            if isinstance(column['type'], sa.VARCHAR))
        # One statement per table: one rebuild, unique keys included.
        op.execute('ALTER TABLE `%s` %s' % (table, ', '.join(clauses)))
