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

"""vmguard-manage db commands, run as an operator runs them."""

import datetime
import json
import os
import subprocess
import sys
import tempfile

import sqlalchemy as sa

from vmguard.db.sqlalchemy import models
from vmguard.tests import base


class TestManageDb(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.conf_file = os.path.join(self.tmp, 'vmguard.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % self.tmp)

    def _manage(self, *args):
        return subprocess.run(
            [sys.executable, '-m', 'vmguard.cmd.manage', '--config-file',
             self.conf_file] + list(args),
            capture_output=True, text=True, timeout=120, check=False)

    def test_sync_version_and_purge(self):
        proc = self._manage('db', 'sync')
        self.assertEqual(0, proc.returncode, proc.stderr)
        proc = self._manage('db', 'version')
        self.assertEqual('0005', proc.stdout.strip())

        engine = sa.create_engine('sqlite:///%s/vmguard.sqlite' % self.tmp)
        self.addCleanup(engine.dispose)
        old = datetime.datetime.now() - datetime.timedelta(days=30)
        with engine.begin() as conn:
            conn.execute(sa.insert(models.VMEvent), [
                {'node': 'n', 'cycle': 1, 'uuid': 'u', 'event': 'crashed',
                 'source': 'libvirt', 'created_at': old},
                {'node': 'n', 'cycle': 2, 'uuid': 'u', 'event': 'crashed',
                 'source': 'libvirt',
                 'created_at': datetime.datetime.now()},
            ])
        proc = self._manage('db', 'purge', '--history-days', '7')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual(1, json.loads(proc.stdout)['vm_events'])
        with engine.connect() as conn:
            left = conn.execute(sa.select(models.VMEvent.cycle)).scalars()
            self.assertEqual([2], list(left))

    def test_unknown_command_is_a_usage_error(self):
        proc = self._manage('db', 'explode')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('invalid choice', proc.stderr)
