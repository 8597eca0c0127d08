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

"""``openstack vmguard vm|node state|node hardware`` through the real
``openstack`` command against a real vmguard-api (noauth) on MariaDB
with the sample rows, and the microversion negotiated with it."""

import json

from vmguard.tests.functional.cli import base as cli_base
from vmguard.tests.unit.api import data


class TestOSCCommands(cli_base.OSCTestCase):

    def setUp(self):
        super().setUp()
        self.sample = data.seed(self.context)

    def test_vm_list_and_show(self):
        vms = self.osc('vm', 'list', '-f', 'json')
        self.assertEqual(3, len(vms))
        crashed = self.osc('vm', 'list', '--node', 'cmp-01', '--state',
                           'crashed', '-f', 'json')
        self.assertEqual([(data.VM1, 'cmp-01', 'crashed', 'panicked')],
                         [(v['uuid'], v['node'], v['state'], v['reason'])
                          for v in crashed])
        one = self.osc('vm', 'show', data.VM3, '-f', 'json')
        self.assertEqual(('cmp-02', 4, 8192),
                         (one['node'], one['vcpus'], one['ram_mb']))
        long_rows = self.osc('vm', 'list', '--long', '--limit', '1', '-f',
                             'json')
        self.assertEqual(1, len(long_rows))
        self.assertIn('ram_mb', long_rows[0])

    def test_node_state_list(self):
        states = self.osc('node', 'state', 'list', 'cmp-01', '-f', 'json')
        self.assertEqual([('failed', 42, None), ('normal', 1, 41)],
                         [(s['state'], s['cycle_from'], s['cycle_to'])
                          for s in states])
        at = self.osc('node', 'state', 'list', 'cmp-01', '--cycle', '30',
                      '-f', 'json')
        self.assertEqual(['normal'], [s['state'] for s in at])
        self.assertEqual('dimm-A1',
                         states[0]['reason']['hardware'][0]['id'])

    def test_node_hardware_list_and_history(self):
        items = self.osc('node', 'hardware', 'list', 'cmp-01', '-f', 'json')
        by_id = {i['id']: i for i in items}
        self.assertEqual(('critical', 'oob', 'inband'), (
            by_id['dimm-A1']['health'], by_id['dimm-A1']['identity_path'],
            by_id['dimm-A1']['baseline_path']))
        history = self.osc('node', 'hardware', 'history', 'cmp-01',
                           '--item', 'dimm-A1', '-f', 'json')
        self.assertEqual([(42, 'critical', 'oob'), (40, 'ok', 'oob'),
                          (1, 'ok', 'inband')],
                         [(c['cycle'], c['health'], c['identity_path'])
                          for c in history])
        since = self.osc('node', 'hardware', 'history', 'cmp-01',
                         '--since-cycle', '41', '-f', 'json')
        self.assertEqual([42], [c['cycle'] for c in since])

    def test_microversion_negotiated_with_the_server(self):
        proc = self.osc('dry-run', 'show', '-f', 'json', debug=True)
        # Version discovery first, then the negotiated version (the
        # server's maximum, 1.3, which this client also speaks).
        self.assertIn('GET %s/' % self.url, proc.stderr)
        self.assertIn('OpenStack-API-Version: vmguard 1.3', proc.stderr)
        body = json.loads(proc.stdout)
        self.assertIn('effective', body)
