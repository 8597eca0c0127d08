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

"""Galera: reads that must see the engine's own writes.

Galera replicates synchronously but applies asynchronously: a node that
HAProxy fails over to may not yet have applied a transaction the engine
committed on the node that died. With ``[database] wsrep_sync_wait = 1``
every new MySQL connection sets the session variable, and each read waits
for the node to catch up first (a causality check, a few ms).
"""

import sqlalchemy as sa

from vmguard import conf as vmg_conf


def use_wsrep_sync_wait(engine):
    """Set ``wsrep_sync_wait`` on every connection of a MySQL ``engine``."""
    if engine.dialect.name != 'mysql':
        return

    @sa.event.listens_for(engine, 'connect')
    def _sync_wait(dbapi_connection, _record):
        # Read at connect time, never at import time.
        value = vmg_conf.CONF.database.wsrep_sync_wait
        if value is None:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute('SET SESSION wsrep_sync_wait = %d' % int(value))
        finally:
            cursor.close()

    engine.dispose()
