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

"""Defaults an operator relies on without setting them."""

from oslo_config import cfg
import testtools

from vmguard.conf import engine as engine_conf
from vmguard.conf import recovery as recovery_conf


class TestDefaults(testtools.TestCase):

    def _conf(self):
        conf = cfg.ConfigOpts()
        recovery_conf.register_opts(conf)
        engine_conf.register_opts(conf)
        conf([], default_config_files=[])
        return conf

    def test_production_engine_acts_on_nova(self):
        # With no [recovery] compute_driver, recoveries go to Nova; the
        # fake back end is chosen explicitly (demo, tests).
        self.assertEqual('nova', self._conf().recovery.compute_driver)

    def test_no_engine_workers_option(self):
        # It did nothing: the engine is one process of threads; several
        # engines scale out through [coordination].
        self.assertNotIn('workers', self._conf().engine)
