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

"""Base classes of vmguard's tests.

``TestCase``: oslotest base (timeout from OS_TEST_TIMEOUT, captured
output/logging), a fresh config fixture, SQLAlchemy warnings as errors.
``DbTestCase``: plus an in-memory SQLite database whose schema is built
once per process from the migrations and copied into each test.
"""

import warnings

import fixtures
from oslo_config import fixture as config_fixture
from oslo_db.sqlalchemy import engines
from oslo_log import log as logging
from oslotest import base
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from vmguard.common import context as vmg_context
import vmguard.conf
from vmguard.db.sqlalchemy import api as sqla_api

CONF = vmguard.conf.CONF

_SCHEMA_SQL = None


class WarningsFixture(fixtures.Fixture):
    """SQLAlchemy warnings are errors in vmguard's tests."""

    def _setUp(self):
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        self.addCleanup(self._catcher.__exit__)
        warnings.simplefilter('error', sa_exc.SAWarning)
        warnings.filterwarnings('error', category=sa_exc.SADeprecationWarning)


class TestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(WarningsFixture())
        self.conf_fixture = self.useFixture(config_fixture.Config(CONF))
        self.conf = self.conf_fixture.conf
        if 'log_file' not in CONF:
            logging.register_options(CONF)
        self.context = vmg_context.get_admin_context()
        # [recovery] compute_driver defaults to "nova": tests that want
        # Nova say so (and pass their driver); the others never reach one.
        self.flags(group='recovery', compute_driver='fake')

    def flags(self, group=None, **kw):
        """Override config options for this test."""
        for name, value in kw.items():
            self.conf_fixture.config(**{name: value, 'group': group})


def _schema_sql():
    """Build the schema once with the real migrations; return it as SQL."""
    global _SCHEMA_SQL
    if _SCHEMA_SQL is None:
        from vmguard.db import migration
        engine = sa.create_engine('sqlite://')
        migration.upgrade('head', engine=engine)
        with engine.connect() as conn:
            _SCHEMA_SQL = '\n'.join(
                conn.connection.dbapi_connection.iterdump())
        engine.dispose()
    return _SCHEMA_SQL


class Database(fixtures.Fixture):
    """A private in-memory SQLite database for one test."""

    def _setUp(self):
        sql = _schema_sql()
        # oslo.db gives an in-memory SQLite engine a static pool: every
        # session of the test sees the same database.
        self.engine = engines.create_engine('sqlite://', sqlite_fk=True)
        with self.engine.connect() as conn:
            conn.connection.dbapi_connection.executescript(sql)
        self.addCleanup(self.engine.dispose)
        # The global transaction factory starts once from [database]; make
        # that a harmless in-memory database before patching its engine.
        CONF.set_override('connection', 'sqlite://', group='database')
        self.addCleanup(CONF.clear_override, 'connection', group='database')
        restore = sqla_api._CONTEXT.patch_engine(self.engine)
        self.addCleanup(restore)


class DbTestCase(TestCase):

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(Database())
