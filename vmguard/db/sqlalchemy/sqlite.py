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

"""SQLite, the default database: transactions that wait instead of failing.

oslo.db begins SQLite transactions with a deferred ``BEGIN``: two threads
that both read and then write in one transaction (the engine's batch
writer and a recovery's status change, say) deadlock, and SQLite answers
one of them at once with "database is locked" instead of waiting. Taking
the write lock at the start (``BEGIN IMMEDIATE``) makes the others wait
(pysqlite's busy timeout, 5 s) for the few milliseconds a transaction
lasts. SQLite serialises writers anyway; MariaDB is untouched.
"""

import sqlalchemy as sa


def serialize_transactions(engine):
    """Open every SQLite transaction of ``engine`` with BEGIN IMMEDIATE."""
    if engine.dialect.name != 'sqlite':
        return
    # Replace oslo.db's listener that emits the deferred BEGIN; its
    # commit/rollback listener still clears the marker set here.
    for fn in list(engine.dispatch.begin):
        if getattr(fn, '__name__', '') == '_sqlite_emit_begin':
            sa.event.remove(engine, 'begin', fn)

    @sa.event.listens_for(engine, 'begin')
    def _begin_immediate(conn):
        if 'in_transaction' not in conn.info:
            conn.exec_driver_sql('BEGIN IMMEDIATE')
            conn.info['in_transaction'] = True
