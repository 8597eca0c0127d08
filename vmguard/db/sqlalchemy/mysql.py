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

"""MySQL/MariaDB: connections speak utf8mb4, as vmguard's tables do.

vmguard's tables are ``utf8mb4``, but oslo.db connects with
``charset=utf8`` (MySQL's three-byte UTF-8) unless the connection URL names
a charset, and MariaDB then refuses any character outside the Basic
Multilingual Plane (an emoji in a BMC's part name, say) with "Incorrect
string value" -- a snapshot the contract accepts would fail to store.
Every new connection switches to ``utf8mb4``; a ``charset`` given in
``[database] connection`` still wins for the client side.
"""

import sqlalchemy as sa


def use_utf8mb4(engine):
    """Make every connection of a MySQL ``engine`` use utf8mb4."""
    if engine.dialect.name != 'mysql':
        return

    @sa.event.listens_for(engine, 'connect')
    def _set_names(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute('SET NAMES utf8mb4 COLLATE utf8mb4_general_ci')
        finally:
            cursor.close()

    # oslo.db has already opened (and pooled) a connection to test the
    # server: drop it so that every connection goes through the listener.
    engine.dispose()


# Binary collations that compare strings byte for byte, most exact first.
# MariaDB's and MySQL's ``utf8mb4_bin`` are PAD SPACE: 'cmp-1' and
# 'cmp-1 ' would still be one key. The NO PAD ones see the trailing space.
BINARY_COLLATIONS = ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'utf8mb4_bin')


def binary_collation(connection):
    """The binary utf8mb4 collation of the server, NO PAD if it has one."""
    available = {row[0] for row in connection.execute(sa.text(
        'SELECT collation_name FROM information_schema.collations '
        'WHERE collation_name IN :names').bindparams(
            sa.bindparam('names', expanding=True)),
        {'names': list(BINARY_COLLATIONS)})}
    for name in BINARY_COLLATIONS:
        if name in available:
            return name
    raise RuntimeError('the server has none of the collations %s that '
                       'vmguard needs' % ', '.join(BINARY_COLLATIONS))


def table_options(connection):
    """Keyword arguments for ``op.create_table`` of any later migration.

    A table created with only ``mysql_charset='utf8mb4'`` gets the
    charset's default collation (case- and trailing-space-insensitive),
    whatever the database's default is.
    """
    options = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}
    if connection.dialect.name == 'mysql':
        options['mysql_collate'] = binary_collation(connection)
    return options
