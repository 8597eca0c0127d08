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

"""SQLite transactions open with BEGIN IMMEDIATE (db.sqlalchemy.sqlite)."""

import os
import threading
import time

import fixtures
from oslo_db.sqlalchemy import engines
import sqlalchemy as sa

from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.db.sqlalchemy import sqlite
from vmguard.tests import base


class TestSerializedSqlite(base.TestCase):

    def setUp(self):
        super().setUp()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'db.sqlite')
        self.engine = engines.create_engine('sqlite:///%s' % path)
        self.addCleanup(self.engine.dispose)
        with self.engine.begin() as conn:
            conn.exec_driver_sql('CREATE TABLE t (id INTEGER PRIMARY KEY, '
                                 'n INTEGER)')
            conn.exec_driver_sql('INSERT INTO t VALUES (1, 0)')

    def _statements(self):
        seen = []
        sa.event.listen(self.engine, 'before_cursor_execute',
                        lambda conn, cur, stmt, *a: seen.append(stmt))
        return seen

    def test_transactions_begin_immediate(self):
        sqlite.serialize_transactions(self.engine)
        seen = self._statements()
        with self.engine.begin() as conn:
            conn.exec_driver_sql('SELECT n FROM t')
        self.assertEqual(['BEGIN IMMEDIATE', 'SELECT n FROM t'], seen)

    def _read_then_write(self, threads=4):
        """Threads that each read a counter, then write it + 1, at once."""
        errors = []
        start = threading.Event()

        def work():
            start.wait(5)
            try:
                with self.engine.begin() as conn:
                    n = conn.exec_driver_sql(
                        'SELECT n FROM t WHERE id = 1').scalar()
                    time.sleep(0.2)  # the others read meanwhile
                    conn.exec_driver_sql('UPDATE t SET n = %d WHERE id = 1'
                                         % (n + 1))
            except Exception as exc:
                errors.append(exc)
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for w in workers:
            w.start()
        start.set()
        for w in workers:
            w.join(30)
        return errors

    def test_read_then_write_deadlocks_with_a_deferred_begin(self):
        # What the DB layer works around: oslo.db's deferred BEGIN.
        errors = self._read_then_write()
        self.assertTrue(errors)
        self.assertIn('database is locked', str(errors[0]))

    def test_read_then_write_waits_with_begin_immediate(self):
        sqlite.serialize_transactions(self.engine)
        self.assertEqual([], self._read_then_write(threads=4))
        with self.engine.begin() as conn:
            # No update lost either.
            self.assertEqual(4, conn.exec_driver_sql(
                'SELECT n FROM t').scalar())

    def test_the_db_api_engine_is_serialized(self):
        # The DB layer's own engine (the default SQLite connection) gets
        # the listener when the enginefacade creates it.
        self.assertIn(sqlite.serialize_transactions, sqla_api.ENGINE_HOOKS)
        self.assertIn(sqlite.serialize_transactions,
                      sqla_api._CONTEXT._factory._facade_cfg[
                          'on_engine_create'])
