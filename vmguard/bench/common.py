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

"""What the benchmarks share: service addresses, a scratch MariaDB
database, stopping a subprocess.

Addresses: VMGUARD_TEST_RABBIT_URL and VMGUARD_TEST_MYSQL_URL, or the
local defaults (those of the functional tests).
"""

import os
import subprocess
import uuid

RABBIT_URL = os.environ.get('VMGUARD_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')
MYSQL_URL = os.environ.get('VMGUARD_TEST_MYSQL_URL',
                           'mysql+pymysql://root@127.0.0.1:3306/')


def kombu_url(url):
    """An oslo.messaging ``rabbit://`` URL as kombu's py-amqp transport
    takes it (``amqp://``); other URLs unchanged."""
    if url.startswith('rabbit://'):
        return 'amqp://' + url[len('rabbit://'):]
    return url


def create_database():
    """A new MariaDB database of a unique name, migrated to head.

    Returns ``(admin, engine, name, url)``: an engine on the server, one
    on the database, its name and its URL; :func:`drop_database` takes
    the first three.
    """
    import sqlalchemy as sa

    from vmguard.db import migration
    name = 'vmguard_bench_%s' % uuid.uuid4().hex[:10]
    admin = sa.create_engine(MYSQL_URL)
    with admin.begin() as conn:
        conn.execute(sa.text('CREATE DATABASE %s CHARACTER SET utf8mb4'
                             % name))
    url = MYSQL_URL.rstrip('/') + '/' + name
    engine = sa.create_engine(url)
    migration.upgrade('head', engine=engine)
    return admin, engine, name, url


def drop_database(admin, engine, name):
    """Drop a database of :func:`create_database`; dispose its engines."""
    import sqlalchemy as sa
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % name))
    admin.dispose()


def stop_process(proc, timeout=30):
    """SIGTERM a subprocess; SIGKILL it after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
