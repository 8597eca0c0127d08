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

"""An API that cannot work says why: 503 or a refusal to start, not 500s.

* On the real MariaDB, a schema one migration behind (``db sync`` not run
  after an upgrade): every call but version discovery is a 503 in the
  OpenStack error format naming ``vmguard-manage db sync``; after the
  sync, the same server answers.
* ``vmguard-api`` (the real command) with ``auth_strategy = keystone`` and
  no ``[keystone_authtoken]`` auth plugin exits at once, saying what to
  configure (it answered 500 to every authenticated call).
"""

import os
import subprocess
import sys
import tempfile
import time

from vmguard.db import migration
from vmguard.tests.functional.api import base


class TestSchemaNotSynced(base.APITestCase):

    seed = False

    def configure(self):
        # The database of the fixture, taken back to revision 0003: the
        # tables of the later revisions dropped, so that the upgrade
        # below really creates them again.
        with self.db.engine.begin() as conn:
            for table in ('notifications', 'segment_hosts', 'segments'):
                conn.exec_driver_sql('DROP TABLE IF EXISTS %s' % table)
            conn.exec_driver_sql("UPDATE alembic_version SET "
                                 "version_num = '0003'")

    def test_503_until_db_sync(self):
        self.assertEqual(200, self.get('/').status_code)
        resp = self.get('/v1/nodes')
        self.assertError(resp, 503, 'vmguard.service_unavailable',
                         ['revision 0003', migration.head(),
                          'vmguard-manage db sync'])
        self.assertEqual('30', resp.headers['Retry-After'])
        migration.upgrade('head', engine=self.db.engine)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            resp = self.get('/v1/nodes')
            if resp.status_code != 503:
                break
            time.sleep(0.5)
        self.assertEqual(200, resp.status_code, resp.text)


class TestKeystoneUnconfigured(base.base.FunctionalTestCase):

    def test_vmguard_api_refuses_to_start(self):
        tmp = tempfile.mkdtemp()
        conf = os.path.join(tmp, 'vmguard.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n'
                    '[api]\nauth_strategy = keystone\nport = 0\n' % tmp)
        proc = subprocess.run(
            [sys.executable, '-m', 'vmguard.cmd.api', '--config-file',
             conf], capture_output=True, text=True, timeout=60,
            check=False)
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('vmguard-api cannot start: [api] auth_strategy is '
                      'keystone, but [keystone_authtoken] has no auth_type',
                      proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
