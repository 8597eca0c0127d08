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

import os
import subprocess
import sys
import tempfile

from vmguard.conf import opts
from vmguard.tests import base


class TestOpts(base.TestCase):

    def test_spec_thresholds_and_defaults(self):
        engine = self.conf.engine
        self.assertEqual(
            (10, 3, 30, 3, 3, 3, 3),
            (engine.cycle_interval, engine.max_reboots,
             engine.reboot_window, engine.identity_cycles,
             engine.external_cycles, engine.service_cycles,
             engine.silent_cycles))
        self.assertGreater(engine.pairing_timeout, 0)

    def test_every_option_has_help(self):
        for group, options in opts.list_opts():
            for opt in options:
                self.assertTrue(opt.help, '%s.%s has no help' % (
                    getattr(group, 'name', group), opt.name))

    def test_bounds_are_enforced(self):
        self.assertRaises(ValueError, self.flags, group='engine',
                          max_reboots=0)

    def test_default_database_is_sqlite_under_state_path(self):
        self.flags(state_path='/srv/vmg')
        self.assertEqual('sqlite:////srv/vmg/vmguard.sqlite',
                         self.conf.database.connection)

    def test_sample_config_generator(self):
        out = os.path.join(tempfile.mkdtemp(), 'vmguard.conf.sample')
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
        proc = subprocess.run(
            [sys.executable, '-m', 'oslo_config.generator',
             '--config-file', os.path.join(
                 root, 'etc', 'vmguard', 'vmguard-config-generator.conf'),
             '--output-file', out],
            capture_output=True, text=True, check=False, cwd=root,
            timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        with open(out) as f:
            sample = f.read()
        self.assertIn('[engine]', sample)
        for name in ('cycle_interval', 'max_reboots', 'reboot_window',
                     'identity_cycles', 'external_cycles',
                     'service_cycles', 'silent_cycles', 'pairing_timeout'):
            self.assertIn('#%s = ' % name, sample)
        self.assertIn('#connection = sqlite:///$state_path/vmguard.sqlite',
                      sample)
