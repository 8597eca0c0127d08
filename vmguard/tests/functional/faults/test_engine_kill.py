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

"""vmguard-engine SIGKILLed while its recoveries run against a real Nova.

Builds on ``nova.test_recovery.TestEngineKilled`` (one ``migrate_all``
resumed by the bare recovery executor): here the real ``vmguard-engine``
daemon judges the agents' snapshots itself -- three guests crashed on a
healthy cmp-1 (R1: three hard reboots) and cmp-2's hardware failed (R4:
its two servers live-migrated, its compute service disabled) -- and is
SIGKILLed as soon as one Nova action is in flight (accepted by Nova, the
engine waiting for the server to reach its state). A second engine
process with the same host name resumes the unfinished recoveries when it
starts. Counted from Nova's side (each server's ``os-instance-actions``)
and from vmguard's recovery table: every expected Nova action exactly
once, every recovery ``succeeded``, no decision made twice.
"""

import collections

from vmguard.tests.functional.faults import daemons
from vmguard.tests.functional.faults import nova_engine
from vmguard.tests.functional.faults import table


class TestEngineKilledMidRecovery(nova_engine.NovaEngineFaultTestCase):

    def test_every_nova_action_once_after_sigkill(self):
        rebooted = [self._server('cmp-1') for _ in range(3)]
        moved = [self._server('cmp-2') for _ in range(2)]
        self.addCleanup(self._restore_host, 'cmp-2')
        self.place('cmp-1', rebooted)
        self.place('cmp-2', moved)
        config = self.engine_config(max_concurrent=3)
        first = self.start_engine(config)
        self.start_publishing()
        # cmp-2 fails a cycle before the guests of cmp-1 crash, so that
        # its live migrations and the reboots are in flight together.
        self.fail_host('cmp-2')
        daemons.wait_for(lambda: len(self.decisions()) >= 2, 60,
                         interval=0.02, what='the R4 decisions',
                         alive=(first,))
        self.crash('cmp-1', rebooted)

        def in_flight():
            if len(self.decisions()) < 5:
                return None
            accepted = {r.action for r in self.action_rows()
                        if r.status == 'accepted'}
            return {'reboot', 'live_migrate'} <= accepted
        daemons.wait_for(in_flight, 90, interval=0.01,
                         what='a reboot and a live migration in flight',
                         alive=(first,))
        first.kill()
        at_kill = collections.Counter(r.status for r in self.recoveries())
        rows_at_kill = collections.Counter(r.status
                                           for r in self.action_rows())
        unfinished = sum(n for s, n in at_kill.items()
                         if s not in nova_engine.FINAL)
        # The scenario: killed in the middle, not after the work was done.
        self.assertGreater(unfinished, 0, at_kill)

        self.start_engine(config)
        recs = self.wait_recoveries_final(5)
        self.assertEqual(['succeeded'] * 5, [r.status for r in recs],
                         [(r.status, r.error) for r in recs])
        for server_id in rebooted:
            self._wait_server(server_id, 'ACTIVE', 'cmp-1')
        for server_id in moved:
            server = self._wait_server(server_id, 'ACTIVE')
            self.assertNotEqual('cmp-2', server.host)
        svc = self._service('cmp-2')
        self.assertEqual('disabled', svc.status)

        expected = ([(s, 'reboot') for s in rebooted] +
                    [(s, 'live-migration') for s in moved] +
                    [('cmp-2', 'disable')])
        # Nova's record of the servers; the service disable leaves no
        # instance action: vmguard's record of it (Nova says disabled).
        made = [(s, a) for s in rebooted + moved
                for a in self.nova_actions(s)]
        made += [(r.server, r.action) for r in self.action_rows()
                 if r.server == 'cmp-2']
        row = table.record(
            'engine SIGKILLed mid-recovery', expected, made,
            'Nova actions; real vmguard-engine killed with %d of 5 '
            'recoveries unfinished (actions %s), resumed by a new one'
            % (unfinished, dict(sorted(rows_at_kill.items()))))
        self.assertEqual((0, 0), (row.lost, row.doubled),
                         '%s: %s' % (row, sorted(made)))
        # vmguard's own table agrees: one row per action, all done.
        nova_name = {'live_migrate': 'live-migration'}
        self.assertEqual(
            sorted(expected),
            sorted((r.server, nova_name.get(r.action, r.action))
                   for r in self.action_rows()))
        self.assertEqual({'done'},
                         {r.status for r in self.action_rows()
                          if r.server != 'cmp-2'})
        decisions = collections.Counter(
            (d.node, d.rule, d.action) for d in self.decisions())
        self.assertEqual(collections.Counter({
            ('cmp-1', 'R1', 'reboot'): 3,
            ('cmp-2', 'R4', 'migrate_all'): 1,
            ('cmp-2', 'R4', 'disable_node'): 1}), decisions)
