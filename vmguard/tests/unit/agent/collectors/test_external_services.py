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

import fixtures

from vmguard.agent.collectors import external
from vmguard.agent.collectors import services
from vmguard.tests import base as test_base


class TestExternalHelpers(test_base.TestCase):

    def test_split_address(self):
        self.assertEqual(('10.0.0.1', 22), external.split_address(
            '10.0.0.1:22'))
        self.assertEqual(('gw', None), external.split_address('gw'))
        self.assertEqual(('fe80::1', 53), external.split_address(
            '[fe80::1]:53'))
        self.assertEqual(('fe80::1', None), external.split_address(
            'fe80::1'))

    def test_heartbeat_writes_and_reads_back(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        external.heartbeat(tmp, 'cmp-01')
        self.assertTrue(os.path.exists(
            os.path.join(tmp, '.vmguard-heartbeat-cmp-01')))
        self.assertRaises(OSError, external.heartbeat, tmp + '/no',
                          'cmp-01')

    def test_missing_uplink_is_failed(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        self.flags(sysfs_root=tmp, uplinks=['bond0'], group='agent')
        result = external.ExternalCollector(self.conf).collect()
        self.assertEqual([('bond0', 'uplink', 'failed')],
                         [(e.id, e.kind, e.health) for e in result.external])

    def test_unavailable_fails_every_configured_item(self):
        self.flags(storage_paths=['/nfs'], uplinks=['eth0'],
                   probe_addresses=['gw:22'], group='agent')
        result = external.ExternalCollector(self.conf).unavailable('timeout')
        self.assertFalse(result.complete)
        self.assertEqual({'failed'}, {e.health for e in result.external})
        self.assertEqual(3, len(result.external))


class TestServices(test_base.TestCase):

    def test_process_names_from_a_proc_tree(self):
        proc = self.useFixture(fixtures.TempDir()).path
        for pid, comm, argv in (
                ('10', 'python3', b'/usr/bin/python3\0/usr/bin/nova-compute'
                                  b'\0--config-file\0x'),
                ('11', 'ovs-vswitchd', b'ovs-vswitchd\0unix:x'),
                ('self', 'ignored', b'ignored')):
            os.makedirs(os.path.join(proc, pid))
            with open(os.path.join(proc, pid, 'comm'), 'w') as f:
                f.write(comm + '\n')
            with open(os.path.join(proc, pid, 'cmdline'), 'wb') as f:
                f.write(argv)
        os.makedirs(os.path.join(proc, '12'))  # exited while we looked
        names = services.running_process_names(proc)
        self.assertIn('nova-compute', names)
        self.assertIn('ovs-vswitchd', names)
        self.assertNotIn('ignored', names)
        self.assertNotIn('--config-file', names)
