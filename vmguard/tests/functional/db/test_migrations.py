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

"""Migrations on the real MariaDB and on SQLite agree with the models."""

import os
import subprocess
import sys
import tempfile

from oslo_db.sqlalchemy import test_migrations
import sqlalchemy as sa

from vmguard.db import api as db_api
from vmguard.db import migration
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.db.sqlalchemy import models
from vmguard.db.sqlalchemy import mysql
from vmguard.tests.functional import base


class _ModelsMigrationsSync(test_migrations.ModelsMigrationsSync):

    def get_metadata(self):
        return models.Base.metadata

    def get_engine(self):
        return self.engine

    def db_sync(self, engine):
        migration.upgrade('head', engine=engine)

    def include_object(self, object_, name, type_, reflected, compare_to):
        if type_ == 'table' and name == 'alembic_version':
            return False
        return True


class TestMigrationsMariaDB(_ModelsMigrationsSync,
                            base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.mariadb(migrate=False, as_default=False)
        self.engine = self.db.engine

    def test_upgrade_creates_every_table(self):
        migration.upgrade('head', engine=self.engine)
        tables = set(sa.inspect(self.engine).get_table_names())
        self.assertTrue(set(models.Base.metadata.tables) <= tables,
                        tables)
        self.assertEqual('0005',
                         migration.version(engine=self.engine))
        # InnoDB everywhere: decisions rely on transactional unique keys.
        with self.engine.connect() as conn:
            engines_used = {row[0] for row in conn.execute(sa.text(
                'SELECT engine FROM information_schema.tables '
                'WHERE table_schema = :s'), {'s': self.db.name})}
        self.assertEqual({'InnoDB'}, engines_used)

    def test_upgrade_is_idempotent(self):
        migration.upgrade('head', engine=self.engine)
        migration.upgrade('head', engine=self.engine)
        self.assertEqual('0005',
                         migration.version(engine=self.engine))


class TestMigrationsSQLite(_ModelsMigrationsSync, base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.engine = sa.create_engine(
            'sqlite:///%s' % os.path.join(self.tmp, 'm.sqlite'))
        self.addCleanup(self.engine.dispose)


class TestDbSyncCommand(base.FunctionalTestCase):
    """``vmguard-manage --config-file F db sync`` as an operator runs it."""

    def _sync(self, connection):
        tmp = tempfile.mkdtemp()
        conf = os.path.join(tmp, 'vmguard.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % tmp)
            if connection:
                f.write('[database]\nconnection = %s\n' % connection)
        proc = subprocess.run(
            [sys.executable, '-m', 'vmguard.cmd.manage', '--config-file',
             conf, 'db', 'sync'], capture_output=True, text=True,
            timeout=120, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('revision 0005', proc.stdout)
        return tmp

    def test_db_sync_sqlite_default(self):
        tmp = self._sync(None)
        engine = sa.create_engine(
            'sqlite:///%s' % os.path.join(tmp, 'vmguard.sqlite'))
        self.addCleanup(engine.dispose)
        self.assertIn('decisions', sa.inspect(engine).get_table_names())

    def test_db_sync_mariadb(self):
        db = self.mariadb(migrate=False, as_default=False)
        self._sync(db.url)
        self.assertIn('recoveries',
                      sa.inspect(db.engine).get_table_names())


class TestUnicodeMariaDB(base.FunctionalTestCase):
    """Characters beyond the BMP round-trip through the DB API on MariaDB
    (oslo.db connects with three-byte utf8 unless told otherwise)."""

    def test_four_byte_characters_are_stored(self):
        self.mariadb()
        name = 'cmp-\U0001f4be-\U00020bb7'
        db_api.node_get_or_create(self.context, name)
        self.assertEqual(name, db_api.node_get(self.context, name).name)
        with sqla_api.get_engine().connect() as conn:
            self.assertEqual('utf8mb4', conn.exec_driver_sql(
                "SHOW VARIABLES LIKE 'character_set_client'").one()[1])


class TestBinaryCollationMariaDB(base.FunctionalTestCase):
    """Names compare byte for byte on MariaDB (migration 0003).

    With the default utf8mb4 collation ``CMP-1`` and ``cmp-1 `` were the
    node ``cmp-1``; the binary NO PAD collation makes them three.
    """

    NAMES = ('cmp-1', 'CMP-1', 'cmp-1 ')

    def _varchar_collations(self, db):
        with db.engine.connect() as conn:
            return {(row[0], row[1]): row[2] for row in conn.execute(
                sa.text('SELECT table_name, column_name, collation_name '
                        'FROM information_schema.columns '
                        'WHERE table_schema = :s AND data_type = :t '
                        "AND table_name != 'alembic_version'"),
                {'s': db.name, 't': 'varchar'})}

    def test_existing_rows_survive_and_names_become_distinct(self):
        db = self.mariadb(migrate=False, as_default=False)
        migration.upgrade('0002', engine=db.engine)
        with db.engine.begin() as conn:
            conn.execute(sa.insert(models.Node), [{
                'name': 'cmp-1', 'host_state': 'healthy', 'disabled': False,
                'maintenance': False, 'created_at': models._utcnow()}])
        self.assertIn('_ci', set(self._varchar_collations(db).values()).pop())

        migration.upgrade('head', engine=db.engine)

        collations = self._varchar_collations(db)
        self.assertIn(('nodes', 'name'), collations)
        self.assertIn(('vm_events', 'node'), collations)
        self.assertEqual({'utf8mb4_nopad_bin'}, set(collations.values()))
        db.use_as_default(self.conf)
        ids = {name: db_api.node_get_or_create(self.context, name).id
               for name in self.NAMES}
        self.assertEqual(3, len(set(ids.values())), ids)
        for name in self.NAMES:
            node = db_api.node_get(self.context, name)
            self.assertEqual((ids[name], name), (node.id, node.name))
        # The row of 0002 kept its state.
        self.assertEqual('healthy',
                         db_api.node_get(self.context, 'cmp-1').host_state)

    def test_item_ids_and_events_are_distinct_too(self):
        db = self.mariadb()
        node = db_api.node_get_or_create(self.context, 'cmp-1')
        with db.engine.begin() as conn:
            conn.execute(sa.insert(models.HardwareItem), [
                {'node_id': node.id, 'item_id': item_id, 'kind': 'disk',
                 'health': 'ok', 'first_cycle': 1, 'changed_cycle': 1}
                for item_id in ('disk:sda', 'DISK:SDA', 'disk:sda ')])
        self.assertEqual(3, len(db_api.hardware_item_list(self.context,
                                                          node.id)))
        created = [db_api.vm_event_create(self.context, {
            'node': name, 'cycle': 1, 'event': 'crashed',
            'uuid': '2b1c0000-0000-4000-8000-000000000001',
            'source': 'libvirt'})[1] for name in self.NAMES]
        self.assertEqual([True] * 3, created)
        self.assertEqual(['cmp-1 '], [e.node for e in db_api.vm_event_list(
            self.context, node='cmp-1 ')])

    def test_tables_of_later_migrations_are_binary(self):
        db = self.mariadb(migrate=True, as_default=False)
        with db.engine.begin() as conn:
            options = mysql.table_options(conn)
            sa.Table('later', sa.MetaData(),
                     sa.Column('name', sa.String(32), unique=True),
                     **options).create(conn)
            conn.execute(sa.text('INSERT INTO later (name) VALUES '
                                 "('cmp-1'), ('CMP-1'), ('cmp-1 ')"))
        self.assertEqual('utf8mb4_nopad_bin', options['mysql_collate'])
