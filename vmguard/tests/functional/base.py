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

"""Fixtures of the functional tests: the real services of the machine.

RabbitMQ, MariaDB and Redis are used for real. A missing service is an
error that says what is missing and how to start it -- never a skip.
Addresses can be overridden with VMGUARD_TEST_RABBIT_URL,
VMGUARD_TEST_MYSQL_URL and VMGUARD_TEST_REDIS_URL.
"""

import os
import socket
import urllib.parse

import fixtures
from oslo_db.sqlalchemy import engines
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.tests import base

RABBIT_URL = os.environ.get('VMGUARD_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')
MYSQL_URL = os.environ.get('VMGUARD_TEST_MYSQL_URL',
                           'mysql+pymysql://root@127.0.0.1:3306/')
REDIS_URL = os.environ.get('VMGUARD_TEST_REDIS_URL',
                           'redis://127.0.0.1:6379')

_HOW_TO_START = {
    'RabbitMQ': 'rabbitmq-server -detached',
    'MariaDB': 'start-stop-daemon --start --oknodo --background '
               '--exec /usr/sbin/mariadbd',
    'Redis': 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 '
             '--save "" --appendonly no',
}


class ServiceMissing(Exception):
    pass


def require_service(name, url):
    """Fail (not skip) with a clear message when the service is down."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.hostname or '127.0.0.1'
    port = parsed.port
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as exc:
        raise ServiceMissing(
            '%s is required by this functional test but is not reachable '
            'at %s:%s (%s). Start it with: %s (.ci/run does this).'
            % (name, host, port, exc, _HOW_TO_START.get(name, '?'))
        ) from exc


class MariaDBDatabase(fixtures.Fixture):
    """A fresh, uniquely named database on the real MariaDB server.

    ``server`` is another server's URL (the Galera test cluster's HAProxy).
    """

    def __init__(self, migrate=True, server=None):
        super().__init__()
        self.migrate = migrate
        self.server = server or MYSQL_URL

    def _setUp(self):
        require_service('MariaDB', self.server)
        self.name = 'vmguard_ft_%s' % uuidutils.generate_uuid(
            dashed=False)[:12]
        # pool_pre_ping: the fault suite restarts the server; the drop at
        # clean-up must not use a connection that died with it.
        admin = sa.create_engine(self.server, pool_pre_ping=True)
        with admin.begin() as conn:
            conn.execute(sa.text('CREATE DATABASE %s CHARACTER SET utf8mb4'
                                 % self.name))
        self.addCleanup(self._drop, admin)
        self.url = self.server.rstrip('/') + '/' + self.name
        self.engine = sqla_api.prepare_engine(
            engines.create_engine(self.url))
        self.addCleanup(self.engine.dispose)
        if self.migrate:
            from vmguard.db import migration
            migration.upgrade('head', engine=self.engine)

    def _drop(self, admin):
        with admin.begin() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % self.name))
        admin.dispose()

    def use_as_default(self, conf):
        """Point vmguard's DB API at this database."""
        conf.set_override('connection', self.url, group='database')
        self.addCleanup(conf.clear_override, 'connection', group='database')
        restore = sqla_api._CONTEXT.patch_engine(self.engine)
        self.addCleanup(restore)


class FunctionalTestCase(base.TestCase):
    """Base of tests that cross a real boundary."""

    def require_rabbitmq(self):
        require_service('RabbitMQ', RABBIT_URL)
        return RABBIT_URL

    def require_redis(self):
        require_service('Redis', REDIS_URL)
        return REDIS_URL

    def mariadb(self, migrate=True, as_default=True):
        db = self.useFixture(MariaDBDatabase(migrate=migrate))
        if as_default and migrate:
            db.use_as_default(base.CONF)
        return db
