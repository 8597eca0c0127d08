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

"""The test clusters themselves: replication, quorum queues, tooz on etcd."""

import importlib.util
import json
import os

from oslo_db.sqlalchemy import engines
import sqlalchemy as sa
import tooz.coordination

from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.tests.functional import base
from vmguard.tests.functional.clusters import fixtures as clusters


class TestClusters(base.FunctionalTestCase):

    def test_galera_replicates_through_haproxy(self):
        env = clusters.require('galera')
        db = self.useFixture(base.MariaDBDatabase(
            migrate=False, server=env['galera_url']))
        with db.engine.begin() as conn:
            conn.execute(sa.text('CREATE TABLE t (id INT PRIMARY KEY)'))
            conn.execute(sa.text('INSERT INTO t VALUES (7)'))
        sizes = set()
        for member in env['galera_members']:
            engine = sa.create_engine(member.rstrip('/') + '/' + db.name)
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text('SET SESSION wsrep_sync_wait = 1'))
                    self.assertEqual(7, conn.execute(
                        sa.text('SELECT id FROM t')).scalar_one())
                    sizes.add(conn.execute(sa.text(
                        "SHOW STATUS LIKE 'wsrep_cluster_size'")).one()[1])
            finally:
                engine.dispose()
        self.assertEqual({'3'}, sizes)

    def test_wsrep_sync_wait_option_reaches_every_connection(self):
        env = clusters.require('galera')
        self.flags(group='database', wsrep_sync_wait=1)
        engine = sqla_api.prepare_engine(
            engines.create_engine(env['galera_url']))
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            self.assertEqual(1, conn.execute(sa.text(
                'SELECT @@session.wsrep_sync_wait')).scalar_one())
        self.flags(group='database', wsrep_sync_wait=None)
        engine.dispose()
        with engine.connect() as conn:
            self.assertEqual(0, conn.execute(sa.text(
                'SELECT @@session.wsrep_sync_wait')).scalar_one())

    def test_rabbit_three_nodes_one_cluster(self):
        env = clusters.require('rabbit')
        self.assertEqual(3, env['rabbit_url'].count('@127.0.0.1:'))
        status = clusters.status()
        self.assertTrue(all(status['rabbit%d' % n] for n in (1, 2, 3)),
                        status)

    def test_etcd_with_tooz(self):
        env = clusters.require('etcd')
        coord = tooz.coordination.get_coordinator(env['etcd_url'],
                                                  b'setup-probe')
        coord.start(start_heart=True)
        self.addCleanup(coord.stop)
        group = ('vmguard-setup-%s' % os.getpid()).encode()
        try:
            coord.create_group(group).get()
        except tooz.coordination.GroupAlreadyExist:
            pass
        coord.join_group(group).get()
        self.assertIn(b'setup-probe', coord.get_members(group).get())
        coord.leave_group(group).get()

    def test_own_ports_only(self):
        # The machine's services keep their ports: nothing of the
        # clusters listens on 3306, 5672, 4369, 6379 or 25672.
        env = json.loads(clusters.clusterctl('env').stdout)
        spec = importlib.util.spec_from_file_location('clusterctl',
                                                      clusters.CLUSTERCTL)
        ctl = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ctl)
        used = set()
        for value in ctl.PORTS.values():
            used.update(value if isinstance(value, tuple) else [value])
        self.assertFalse(used & {3306, 5672, 4369, 6379, 25672, 15672},
                         used)
        self.assertNotIn('rabbit@', ' '.join(env['rabbit_members']))
