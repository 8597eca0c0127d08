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


from vmguard.compute import base
from vmguard.compute import fake
from vmguard.tests import base as test_base


class TestFakeComputeDriver(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = fake.FakeComputeDriver()
        self.driver.add_host('cmp-1')
        self.driver.add_host('cmp-2')
        self.driver.add_server('vm-1', 'cmp-1')

    def test_loaded_by_name(self):
        self.assertIsInstance(base.load_driver('fake'),
                              fake.FakeComputeDriver)

    def test_records_calls_and_actions(self):
        self.driver.reboot_server('vm-1', 'req-1')
        self.assertEqual([('reboot_server', 'vm-1', 'req-1')],
                         self.driver.calls)
        [action] = self.driver.list_instance_actions('vm-1')
        self.assertEqual(('reboot', 'req-1'),
                         (action.action, action.request_id))

    def test_evacuate_refused_while_source_up(self):
        exc = self.assertRaises(base.ComputeRejected,
                                self.driver.evacuate_server, 'vm-1',
                                'cmp-2', 'req-1')
        self.assertIn('still in use', str(exc))
        self.driver.force_down_service('cmp-1', 'req-2')
        self.driver.evacuate_server('vm-1', 'cmp-2', 'req-3')
        server = self.driver.servers['vm-1']
        self.assertEqual(('cmp-2', base.SHUTOFF),
                         (server.host, server.status))
        [migration] = self.driver.list_migrations('vm-1')
        self.assertEqual('evacuation', migration['migration_type'])

    def test_cold_migration_keeps_power_state(self):
        self.driver.servers['vm-1'].status = base.SHUTOFF
        self.driver.migrate_server('vm-1', 'cmp-2', 'req-1')
        self.assertEqual(base.VERIFY_RESIZE,
                         self.driver.servers['vm-1'].status)
        self.driver.confirm_migration('vm-1', 'req-2')
        self.assertEqual(base.SHUTOFF, self.driver.servers['vm-1'].status)

    def test_disabled_target_refused(self):
        self.driver.disable_service('cmp-2', 'maintenance', 'req-1')
        exc = self.assertRaises(base.ComputeRejected,
                                self.driver.live_migrate_server, 'vm-1',
                                'cmp-2', 'req-2')
        self.assertEqual(400, exc.code)

    def test_injected_failure(self):
        self.driver.fail_next('get_server',
                              base.ComputeUnavailable(reason='x'))
        self.assertRaises(base.ComputeUnavailable, self.driver.get_server,
                          'vm-1')
        self.assertEqual('vm-1', self.driver.get_server('vm-1').id)
