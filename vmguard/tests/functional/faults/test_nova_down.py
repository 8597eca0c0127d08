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

"""Nova's API is down while guests crash (real nova-api stopped).

What vmguard does (vmguard/engine/recovery/, ``[recovery] retries`` and
``retry_interval``): a recovery first reads its server from Nova (its
protection and Nova's own state, SPEC revision 2) unless what Nova last
said of it is young and says "act" (server views), then issues the
action.
A Nova call that gets no answer is retried with exponential backoff
(``retry_interval`` x 1, 2, 4, ... seconds, ``retries`` times); each action
is recorded before it is issued, so a retry never issues it twice. Within
that bound the recovery completes once the API is back. Beyond it the
recovery gives up *explicitly*: status ``failed`` with Nova's error, a
``vmguard.recovery.error`` notification carrying that error, and an ALERT
-- and it never fires the action later, when nobody expects it any more
(nor acts on a server whose protection it could not read).

Both tests run the real ``vmguard-engine`` process (as in
test_engine_kill) and stop/start the test Nova's ``nova-api`` with
tools/nova/novactl.py.
"""

import time

from vmguard.db import api as db_api
from vmguard.tests.functional.faults import daemons
from vmguard.tests.functional.faults import nova_engine
from vmguard.tests.functional.faults import table
from vmguard.tests.functional.nova import fixtures as nova_fixtures

# Seconds the API stays down in the first test: longer than the first
# four retry intervals (0.5 + 1 + 2 + 4 s), well within the six retries'
# total of 31.5 s.
OUTAGE = 9.0


class TestNovaApiDown(nova_engine.NovaEngineFaultTestCase):

    def _stop_api(self):
        res = nova_fixtures.novactl('stop-service', 'nova-api')
        self.assertEqual(0, res.returncode, res.stderr)
        self.addCleanup(self.wait_nova_api)
        self.addCleanup(nova_fixtures.novactl, 'start-service', 'nova-api')
        return time.monotonic()

    def _start_api(self):
        res = nova_fixtures.novactl('start-service', 'nova-api')
        self.assertEqual(0, res.returncode, res.stderr)
        self.wait_nova_api()
        return time.monotonic()

    def test_reboots_done_once_when_the_api_is_back(self):
        servers = {'cmp-1': [self._server('cmp-1') for _ in range(2)],
                   'cmp-3': [self._server('cmp-3')]}
        for host, ids in servers.items():
            self.place(host, ids)
        engine = self.start_engine(self.engine_config(
            retries=6, retry_interval=0.5, max_concurrent=4))
        self.start_publishing()
        daemons.wait_for(self._judged, 30, what='the engine to judge',
                         alive=(engine,))
        down_at = self._stop_api()
        for host, ids in servers.items():
            self.crash(host, ids)
        self.wait_decisions(3)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        up_at = self._start_api()
        # Retries of the server read that opens each recovery, then of
        # the reboot itself (whichever the outage hit).
        retried = (self.engine_log_count(r'Compute call get_server failed '
                                         r'.*; retry')
                   + self.engine_log_count(r'Recovery \S+: reboot of \S+ '
                                           r'failed .*; retry'))
        recs = self.wait_recoveries_final(3, timeout=120)
        self.assertEqual(['succeeded'] * 3, [r.status for r in recs],
                         [(r.status, r.error) for r in recs])
        all_ids = [s for ids in servers.values() for s in ids]
        for host, ids in servers.items():
            for server_id in ids:
                self._wait_server(server_id, 'ACTIVE', host)
        expected = [(s, 'reboot') for s in all_ids]
        made = [(s, a) for s in all_ids for a in self.nova_actions(s)]
        row = table.record(
            'Nova API down for a while', expected, made,
            'Nova actions; nova-api down %.1fs (first 4 retry intervals '
            '7.5s), %d retries logged, 3 reboots issued after it came back'
            % (up_at - down_at, retried))
        self.assertEqual((0, 0), (row.lost, row.doubled),
                         '%s: %s' % (row, sorted(made)))
        # Retried while it was down (more than a few intervals), then one
        # request each, accepted only once the API answered again.
        self.assertGreaterEqual(retried, 3 * 4)
        self.assertEqual({'done'}, {r.status for r in self.action_rows()})

    def _judged(self):
        """The engine stored a cycle of the publisher."""
        node = db_api.node_get(self.context, 'cmp-1')
        return (node.last_cycle or 0) >= self.FIRST_CYCLE

    def test_outage_beyond_the_retries_fails_explicitly(self):
        server_id = self._server('cmp-1')
        self.place('cmp-1', [server_id])
        collector = self.listen()
        # The server must be *read* here (the scenario is "its state
        # cannot be known"): without server_view_max_age = 0 the engine's
        # view refresher lists it at start-up and the reboot goes out on
        # that view -- also refused by the down API, failed and alerted,
        # which the other test of this class covers.
        engine = self.start_engine(self.engine_config(
            retries=2, retry_interval=0.5, server_view_max_age=0))
        self.start_publishing()
        daemons.wait_for(self._judged, 30, what='the engine to judge',
                         alive=(engine,))
        self._stop_api()
        self.crash('cmp-1', [server_id])
        [rec] = self.wait_recoveries_final(1, timeout=60)
        self._start_api()
        # Explicit: failed with Nova's error, notified, alerted.
        self.assertEqual('failed', rec.status)
        self.assertIn('Compute service unavailable', rec.error or '')
        errors = daemons.wait_for(
            lambda: collector.events['vmguard.recovery.error'], 30,
            what='the vmguard.recovery.error notification')
        data = errors[0]['vmguard_object.data']
        self.assertEqual(('failed', rec.error),
                         (data['status'], data['error']))
        self.assertEqual(1, self.engine_log_count(
            r'ALERT: recovery %s failed' % rec.uuid))
        # Nothing recorded as issued (the server could not even be read),
        # and never issued later, behind the operator's back: a few more
        # retry intervals with the API up, and Nova has no reboot.
        time.sleep(3)
        self.assertEqual([], self.action_rows())
        made = [(server_id, a) for a in self.nova_actions(server_id)]
        outcome = (server_id, 'failed, error notified, alerted')
        if (rec.status == 'failed' and errors and not made):
            made.append(outcome)
        row = table.record(
            'Nova API down beyond the retries', [outcome], made,
            'retries=2 x 0.5s: server unreadable, recovery failed '
            'explicitly (error notification + ALERT), reboot not issued '
            'after the API came back')
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual([], self.nova_actions(server_id))
