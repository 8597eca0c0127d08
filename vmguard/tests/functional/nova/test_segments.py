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

"""Failover segments and restart priority against a real Nova 34.

* A node of a ``reserved_host`` segment fails: its servers land only on
  the segment's reserved host, which vmguard enabled in Nova first (the
  reserved host is disabled in Nova before: Nova's scheduler would refuse
  it as an evacuation target).
* Servers with a higher ``vmguard:priority`` are moved first: the order
  is read from Nova's instance actions (start time of each evacuation).
"""

import json

from oslo_utils import timeutils

from vmguard.db import api as db_api
from vmguard.tests.functional.nova import base as nova_base


class TestSegmentsAgainstNova(nova_base.NovaRecoveryTestCase):

    def _disable_in_nova(self, host, reason):
        svc = self._service(host)
        self._nova('PUT', '/os-services/%s' % svc.id,
                   {'status': 'disabled', 'disabled_reason': reason})
        self.addCleanup(self._restore_host, host)

    def _evacuation_started(self, server_id):
        [action] = [a for a in self.driver.list_instance_actions(server_id)
                    if a.action == 'evacuate']
        return timeutils.normalize_time(
            timeutils.parse_isotime(action.start_time))

    def test_reserved_host_segment_uses_only_its_reserved_host(self):
        db_api.segment_create(
            self.context, {'name': 'rack-a',
                           'recovery_method': 'reserved_host'},
            [{'name': 'cmp-1'}, {'name': 'cmp-2'},
             {'name': 'cmp-3', 'reserved': True}])
        # The spare is kept disabled in Nova; cmp-2 has the most free
        # RAM: the cloud-wide pool (and the decision) would pick it.
        self._disable_in_nova('cmp-3', 'reserved host of rack-a')
        db_api.node_update(self.context, 'cmp-2', {'ram_mb_free': 262144})
        servers = [self._server('cmp-1') for _ in range(2)]
        self._force_down('cmp-1')
        decision = self._decision('migrate_all', 'cmp-1', target='cmp-2',
                                  rule='R4', reason='host failed')
        self.assertEqual('succeeded', self.executor.execute(decision))

        for server_id in servers:
            self._wait_server(server_id, 'ACTIVE', 'cmp-3')
            self.assertEqual(1, self._actions(server_id).count('evacuate'))
        self.assertEqual('enabled', self._service('cmp-3').status)
        rows = self._rows(decision)
        enables = [r for r in rows if r.action == 'enable']
        moves = [r for r in rows if r.action.startswith('evacuate')]
        self.assertEqual([('cmp-3', 'accepted')],
                         [(r.server, r.status) for r in enables])
        self.assertEqual({'cmp-3'}, {r.target for r in moves})
        self.assertEqual(['done'] * 2, [r.status for r in moves])
        # Enabled first: recorded and accepted before any move was issued.
        enable = enables[0]
        self.assertTrue(all(enable.id < r.id for r in moves))
        accepted = json.loads(enable.detail)['accepted_at']
        moved = [json.loads(r.detail)['accepted_at'] for r in moves]
        self.assertTrue(all(accepted < at for at in moved),
                        (accepted, moved))
        self.assertIn('reserved host of segment rack-a',
                      json.loads(enable.detail)['reason'])
        [host] = [h for h in db_api.segment_host_list(self.context,
                                                      'rack-a')
                  if h.node == 'cmp-3']
        self.assertIsNotNone(host.activated_at)
        self.assertIn(self._recovery(decision).uuid, host.activated_reason)
        # Nothing went to the other hosts of the segment.
        self.assertEqual([], self.driver.list_servers('cmp-2'))
        self._record_timings(decision)

    def test_higher_priority_servers_are_moved_first(self):
        self.flags(group='recovery', max_concurrent=4)
        # Created lowest priority first: the creation order is not the
        # order of the moves.
        low = self._server('cmp-2')
        middle = self._server('cmp-2', metadata={'vmguard:priority': '5'})
        high = self._server('cmp-2', metadata={'vmguard:priority': '10'})
        self._force_down('cmp-2')
        decision = self._decision('migrate_all', 'cmp-2', target='cmp-3',
                                  rule='R4', reason='host failed')
        self.assertEqual('succeeded', self.executor.execute(decision))
        for server_id in (low, middle, high):
            server = self.driver.get_server(server_id)
            self.assertNotEqual('cmp-2', server.host)
        started = {s: self._evacuation_started(s)
                   for s in (low, middle, high)}
        order = sorted(started, key=started.get)
        self.assertEqual([high, middle, low], order, started)
        self.assertLess(started[high], started[middle])
        self.assertLess(started[middle], started[low])
        self._record_timings(decision)
