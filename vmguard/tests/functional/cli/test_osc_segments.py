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

"""``openstack vmguard segment ...`` through the real ``openstack``
command against a real vmguard-api (noauth) on MariaDB."""

from vmguard.db import api as db_api
from vmguard.tests.functional.cli import base as cli_base


class TestOSCSegments(cli_base.OSCTestCase):

    def test_segment_lifecycle(self):
        created = self.osc('segment', 'create', 'rack-a',
                           '--recovery-method', 'reserved_host',
                           '--description', 'rack A', '--host', 'cmp-1',
                           '--host', 'cmp-2', '--reserved-host', 'cmp-3',
                           '-f', 'json')
        self.assertEqual(('rack-a', 'reserved_host', ['cmp-1', 'cmp-2',
                                                      'cmp-3'], ['cmp-3']),
                         (created['name'], created['recovery_method'],
                          created['hosts'], created['reserved_hosts']))
        self.osc('segment', 'create', 'rack-b', '--recovery-method', 'auto',
                 '-f', 'json')
        listed = self.osc('segment', 'list', '-f', 'json')
        self.assertEqual(['rack-a', 'rack-b'], [s['name'] for s in listed])
        listed = self.osc('segment', 'list', '--recovery-method', 'auto',
                          '-f', 'json')
        self.assertEqual(['rack-b'], [s['name'] for s in listed])
        shown = self.osc('segment', 'set', created['uuid'],
                         '--recovery-method', 'rh_priority', '-f', 'json')
        self.assertEqual('rh_priority', shown['recovery_method'])
        host = self.osc('segment', 'host', 'add', 'rack-b', 'cmp-4',
                        '--reserved', '-f', 'json')
        self.assertEqual(('cmp-4', True), (host['name'], host['reserved']))
        host = self.osc('segment', 'host', 'set', 'rack-b', 'cmp-4',
                        '--no-reserved', '-f', 'json')
        self.assertFalse(host['reserved'])
        self.osc('segment', 'host', 'remove', 'rack-a', 'cmp-2')
        hosts = self.osc('segment', 'host', 'list', 'rack-a', '-f', 'json')
        self.assertEqual([('cmp-1', False), ('cmp-3', True)],
                         [(h['name'], h['reserved']) for h in hosts])
        self.assertEqual(
            [('rack-a', 'rh_priority', ['cmp-1', 'cmp-3']),
             ('rack-b', 'auto', ['cmp-4'])],
            [(s['name'], s['recovery_method'],
              [h['name'] for h in s['hosts']])
             for s in db_api.segment_map(self.context)])
        self.osc('segment', 'delete', 'rack-a', 'rack-b')
        self.assertEqual([], db_api.segment_map(self.context))

    def test_errors_are_clear(self):
        self.osc('segment', 'create', 'rack-a', '--recovery-method', 'auto',
                 '--host', 'cmp-1', '-f', 'json')
        proc = self.run_osc('segment', 'create', 'rack-b',
                            '--recovery-method', 'auto', '--host', 'cmp-1')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('HTTP 409', proc.stderr)
        self.assertIn('node cmp-1 is already in segment rack-a', proc.stderr)
        proc = self.run_osc('segment', 'show', 'nope')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('Segment nope could not be found', proc.stderr)
        proc = self.run_osc('segment', 'set', 'rack-a')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('Nothing to set', proc.stderr)
        proc = self.run_osc('segment', 'create', 'x', '--recovery-method',
                            'magic')
        self.assertEqual(2, proc.returncode)
        self.assertIn('invalid choice', proc.stderr)
        self.assertEqual(['rack-a'], [s['name'] for s in db_api.segment_map(
            self.context)])
