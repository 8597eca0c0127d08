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

import json

from vmguard.compute import base
from vmguard.compute import fake
from vmguard.compute import fencing
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.tests import base as test_base


class StaticFencer(fencing.Fencer):
    """A BMC seam for unit tests: nodes it knows power off at once (the
    order of its calls is appended to ``log`` when given)."""

    name = 'static'

    def __init__(self, nodes=(), confirm=True, log=None):
        super().__init__(sleep=lambda s: None)
        self.nodes = set(nodes)
        self.confirm = confirm
        self.powered_off = []
        self.log = log if log is not None else []

    def configured(self, node):
        return node in self.nodes

    def power_off(self, node):
        self.powered_off.append(node)
        self.log.append(('power_off', node))

    def power_state(self, node):
        if node in self.powered_off and self.confirm:
            return fencing.POWER_OFF
        return fencing.POWER_ON

    def wait_off(self, node, timeout):
        self.log.append(('wait_off', node))
        return self.confirm


class RecoveryTestCase(test_base.DbTestCase):

    def setUp(self):
        super().setUp()
        # One database connection is shared by all threads of an in-memory
        # SQLite database: run one Nova action at a time here (parallel
        # recoveries are exercised against MariaDB in the functional tests).
        self.flags(group='recovery', retry_interval=0.0, poll_interval=0.05,
                   max_concurrent=1, compute_down_timeout=0)
        self.driver = fake.FakeComputeDriver()
        for host in ('cmp-1', 'cmp-2', 'cmp-3'):
            self.driver.add_host(host)
            self._node(host, ram_mb_free=8192, vcpus_free=8, last_cycle=10)
        self.fencer = StaticFencer()
        self.alerts = []
        self.executor = self._executor()
        self._n = 0

    def _executor(self, owner='engine-1'):
        ex = recovery.RecoveryExecutor(driver=self.driver, owner=owner,
                                       fencer=self.fencer,
                                       sleep=lambda s: None)
        ex.add_alert_hook(lambda d, r, m: self.alerts.append((d.uuid, m)))
        self.addCleanup(ex.stop)
        return ex

    def _node(self, name, **values):
        db_api.node_get_or_create(self.context, name)
        values.setdefault('host_state', 'normal')
        db_api.node_update(self.context, name, values)

    def _decision(self, action, node='cmp-1', vm=None, target=None,
                  rule='R1', reason='test'):
        self._n += 1
        decision, created = db_api.decision_create(self.context, {
            'incident_key': 'test-%s-%s' % (self.id(), self._n),
            'node': node, 'cycle': 10, 'action': action, 'vm': vm,
            'target': target, 'rule': rule, 'reason': reason})
        self.assertTrue(created)
        return decision

    def _recovery(self, decision):
        return db_api.recovery_get_by_decision(self.context, decision.id)

    def _actions(self, decision):
        rec = self._recovery(decision)
        return {(a.server, a.action): a
                for a in db_api.recovery_action_list(self.context, rec.id)}


class TestReboot(RecoveryTestCase):

    def test_hard_reboot_recorded_and_succeeds(self):
        self.flags(group='recovery', recover_error_state=True)
        self.driver.add_server('vm-1', 'cmp-1', status=base.ERROR)
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(1, len(self.driver.calls_of('reboot_server')))
        self.assertEqual(base.ACTIVE, self.driver.servers['vm-1'].status)
        row = self._actions(decision)[('vm-1', 'reboot')]
        self.assertEqual('done', row.status)
        self.assertTrue(row.request_id.startswith('req-'))
        rec = self._recovery(decision)
        self.assertEqual('engine-1', rec.owner)
        self.assertIsNotNone(rec.finished_at)

    def test_executing_a_finished_recovery_does_nothing(self):
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        self.executor.execute(decision)
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(1, len(self.driver.calls_of('reboot_server')))

    def test_retry_on_unavailable_then_success(self):
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.fail_next(
            'reboot_server',
            base.ComputeUnavailable(reason='503', maybe_sent=False),
            base.ComputeUnavailable(reason='refused', maybe_sent=False))
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(3, len(self.driver.calls_of('reboot_server')))

    def test_timeout_that_reached_nova_is_not_repeated(self):
        self.driver.add_server('vm-1', 'cmp-1')
        real = self.driver.reboot_server

        def reboot_then_time_out(server_id, request_id, hard=True):
            real(server_id, request_id, hard=hard)
            raise base.ComputeUnavailable(reason='read timeout',
                                          maybe_sent=True)

        self.driver.reboot_server = reboot_then_time_out
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(1, len(self.driver.calls_of('reboot_server')))

    def test_lost_answer_checked_in_nova_before_issuing_again(self):
        self.driver.add_server('vm-1', 'cmp-1')
        # The request may have reached Nova (it did not); Nova is then
        # unreachable for the check too; the next check says it never got
        # there: issued again, once.
        self.driver.fail_next('reboot_server', base.ComputeUnavailable(
            reason='read timeout', maybe_sent=True))
        self.driver.fail_next('list_instance_actions',
                              base.ComputeUnavailable(reason='refused',
                                                      maybe_sent=False))
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(2, len(self.driver.calls_of('reboot_server')))
        self.assertEqual(2, len(self.driver.calls_of(
            'list_instance_actions')))
        self.assertEqual(1, len(self.driver.actions['vm-1']))

    def test_retries_exhausted_fail_and_leave_action_issuing(self):
        self.flags(group='recovery', retries=1)
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.fail_next(
            'reboot_server',
            *[base.ComputeUnavailable(reason='down', maybe_sent=False)] * 2)
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('failed', self.executor.execute(decision))
        rec = self._recovery(decision)
        self.assertIn('down', rec.error)
        self.assertEqual('issuing',
                         self._actions(decision)[('vm-1', 'reboot')].status)
        # Given up: not silently -- the operator is alerted.
        self.assertEqual([(decision.uuid, rec.error)], self.alerts)

    def test_rejected_reboot_fails_with_nova_message(self):
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.fail_next('reboot_server', base.ComputeRejected(
            code=409, reason="Cannot 'reboot' instance while it is in "
            "task_state rebuilding"))
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('failed', self.executor.execute(decision))
        self.assertIn('task_state rebuilding',
                      self._recovery(decision).error)
        self.assertEqual('rejected',
                         self._actions(decision)[('vm-1', 'reboot')].status)


class TestDryRun(RecoveryTestCase):

    def test_global_dry_run_skips(self):
        self.flags(group='recovery', dry_run=True)
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('skipped', self.executor.execute(decision))
        self.assertEqual([], self.driver.calls)
        self.assertIn('dry-run', self._recovery(decision).error)

    def test_node_dry_run_skips_only_that_node(self):
        self._node('cmp-1', dry_run=True)
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.add_server('vm-2', 'cmp-2')
        d1 = self._decision('reboot', vm='vm-1')
        d2 = self._decision('reboot', node='cmp-2', vm='vm-2')
        self.assertEqual('skipped', self.executor.execute(d1))
        self.assertEqual('succeeded', self.executor.execute(d2))
        self.assertEqual([('reboot_server', 'vm-2')],
                         [c[:2] for c in
                          self.driver.calls_of('reboot_server')])

    def test_node_switch_overrides_global(self):
        self.flags(group='recovery', dry_run=True)
        self._node('cmp-1', dry_run=False)
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))


class TestEvacuate(RecoveryTestCase):

    def test_source_down_evacuates_to_target_and_starts(self):
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('evacuate', vm='vm-1', target='cmp-3',
                                  rule='R3')
        self.assertEqual('succeeded', self.executor.execute(decision))
        server = self.driver.servers['vm-1']
        self.assertEqual(('cmp-3', base.ACTIVE), (server.host, server.status))
        names = [c[0] for c in self.driver.calls
                 if not c[0].startswith(('get_', 'list_'))]
        self.assertEqual(['evacuate_server', 'start_server'], names)
        actions = self._actions(decision)
        self.assertEqual('done', actions[('vm-1', 'evacuate')].status)
        self.assertEqual('cmp-3', actions[('vm-1', 'evacuate')].target)

    def test_source_up_cold_migrates_and_confirms(self):
        self.driver.add_server('vm-1', 'cmp-1', status=base.SHUTOFF)
        decision = self._decision('evacuate', vm='vm-1', target='cmp-2',
                                  rule='R3')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual([], self.driver.calls_of('evacuate_server'))
        self.assertEqual(1, len(self.driver.calls_of('migrate_server')))
        self.assertEqual(1, len(self.driver.calls_of('confirm_migration')))
        # Nova had stopped it: moved, never started by vmguard.
        self.assertEqual(base.SHUTOFF, self.driver.servers['vm-1'].status)
        self.assertEqual([], self.driver.calls_of('start_server'))
        self.assertEqual('cmp-2', self.driver.servers['vm-1'].host)

    def test_rejected_target_falls_back_to_next_eligible(self):
        self.driver.services['cmp-1'].state = 'down'
        self.driver.services['cmp-2'].status = 'disabled'
        self._node('cmp-3', ram_mb_free=1024)
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('evacuate', vm='vm-1', target='cmp-2',
                                  rule='R3')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual('cmp-3', self.driver.servers['vm-1'].host)
        actions = self._actions(decision)
        self.assertEqual('rejected', actions[('vm-1', 'evacuate')].status)
        self.assertEqual('done', actions[('vm-1', 'evacuate:2')].status)

    def test_failed_on_target_tries_next(self):
        self.driver.services['cmp-1'].state = 'down'
        self.driver.broken_targets.add('cmp-2')
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('evacuate', vm='vm-1', target='cmp-2',
                                  rule='R3')
        real_evacuate = self.driver.evacuate_server

        def evacuate(server_id, target, rid):
            # Nova resets an instance in ERROR to be evacuated again.
            self.driver.servers[server_id].status = base.ACTIVE
            self.driver.servers[server_id].host = 'cmp-1'
            return real_evacuate(server_id, target, rid)

        self.driver.evacuate_server = evacuate
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual('cmp-3', self.driver.servers['vm-1'].host)
        self.assertEqual('failed',
                         self._actions(decision)[('vm-1', 'evacuate')].status)

    def test_no_eligible_target_escalates_with_alert(self):
        self.driver.services['cmp-1'].state = 'down'
        for host in ('cmp-2', 'cmp-3'):
            self._node(host, host_state='failed')
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('evacuate', vm='vm-1', rule='R3')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertEqual([], self.driver.calls_of('evacuate_server'))
        self.assertEqual(decision.uuid, self.alerts[0][0])
        self.assertIn('no eligible target', self.alerts[0][1])
        self.assertEqual('escalated', self._recovery(decision).status)


class TestMigrateAll(RecoveryTestCase):

    def test_live_for_running_cold_for_stopped(self):
        self.driver.add_server('vm-a', 'cmp-1', status=base.ACTIVE)
        self.driver.add_server('vm-b', 'cmp-1', status=base.SHUTOFF)
        self.driver.add_server('vm-c', 'cmp-2')
        decision = self._decision('migrate_all', target='cmp-2', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(['vm-a'], [c[1] for c in self.driver.calls_of(
            'live_migrate_server')])
        self.assertEqual(['vm-b'], [c[1] for c in self.driver.calls_of(
            'migrate_server')])
        self.assertEqual(base.SHUTOFF, self.driver.servers['vm-b'].status)
        self.assertEqual(base.ACTIVE, self.driver.servers['vm-a'].status)
        self.assertEqual([], self.driver.list_servers('cmp-1'))
        self.assertEqual([], self.driver.calls_of('vm-c'))

    def test_capacity_accounted_as_servers_are_placed(self):
        self._node('cmp-2', ram_mb_free=6000)
        self._node('cmp-3', ram_mb_free=5000)
        for name in ('vm-a', 'vm-b'):
            self.driver.add_server(name, 'cmp-1', ram_mb=4000)
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        hosts = sorted(s.host for s in self.driver.servers.values())
        self.assertEqual(['cmp-2', 'cmp-3'], hosts)

    def test_r9_fences_before_evacuating(self):
        self.fencer.nodes.add('cmp-1')
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-a', 'cmp-1')
        self.driver.add_server('vm-b', 'cmp-1', status=base.SHUTOFF)
        # Nova and the BMC calls in one sequence.
        real_force_down = self.driver.force_down_service

        def force_down(host, request_id, forced_down=True):
            self.fencer.log.append(('force_down', host))
            return real_force_down(host, request_id, forced_down)

        self.driver.force_down_service = force_down
        decision = self._decision('migrate_all', target='cmp-2', rule='R9')
        self.assertEqual('succeeded', self.executor.execute(decision))
        names = [c[0] for c in self.driver.calls
                 if not c[0].startswith(('get_', 'list_'))]
        self.assertEqual('force_down_service', names[0])
        self.assertEqual([('power_off', 'cmp-1'), ('wait_off', 'cmp-1'),
                          ('force_down', 'cmp-1')], self.fencer.log)
        self.assertEqual(['cmp-1'], self.fencer.powered_off)
        rows = db_api.recovery_action_list(self.context,
                                           self._recovery(decision).id)
        self.assertEqual(['check_compute', 'power_off', 'power_off_confirm',
                          'force_down'], [r.action for r in rows][:4])
        self.assertEqual(['done', 'done', 'done', 'accepted'],
                         [r.status for r in rows[:4]])
        confirm = json.loads(rows[2].detail)
        self.assertEqual(('static', 'off'),
                         (confirm['fencer'], confirm['power_state']))
        self.assertEqual('down', json.loads(rows[0].detail)['nova_state'])
        self.assertEqual(2, names.count('evacuate_server'))
        # Running before -> started again; stopped stays stopped (2.95).
        self.assertEqual(base.ACTIVE, self.driver.servers['vm-a'].status)
        self.assertEqual(base.SHUTOFF, self.driver.servers['vm-b'].status)

    def test_r9_unconfirmed_power_off_escalates_without_evacuating(self):
        self.fencer.nodes.add('cmp-1')
        self.fencer.confirm = False
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertEqual([], self.driver.calls_of('evacuate_server'))
        self.assertIn('did not confirm', self._recovery(decision).error)
        self.assertEqual([], self.driver.calls_of('force_down_service'))

    def test_r9_compute_alive_escalates_and_touches_nothing(self):
        self.fencer.nodes.add('cmp-1')
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertIn('agent silent, compute alive',
                      self._recovery(decision).error)
        self.assertEqual([], self.fencer.log)
        self.assertEqual(['get_service'], sorted({c[0] for c in
                                                  self.driver.calls}))
        [row] = db_api.recovery_action_list(self.context,
                                            self._recovery(decision).id)
        self.assertEqual(('check_compute', 'failed', 'up'),
                         (row.action, row.status,
                          json.loads(row.detail)['nova_state']))
        self.assertEqual(1, len(self.alerts))

    def test_r9_waits_for_nova_to_see_the_compute_down(self):
        self.flags(group='recovery', compute_down_timeout=30)
        self.fencer.nodes.add('cmp-1')
        service = self.driver.services['cmp-1']
        looks = []
        real_get = self.driver.get_service

        def get_service(host):
            looks.append(host)
            if len(looks) == 3:
                service.state = 'down'   # Nova's heartbeat timed out
            return real_get(host)

        self.driver.get_service = get_service
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(['cmp-1'], self.fencer.powered_off)

    def test_r9_no_bmc_refused_without_fence_without_bmc(self):
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertIn('fence_without_bmc', self._recovery(decision).error)
        self.assertEqual([], self.driver.calls_of('force_down_service'))
        self.assertEqual([], self.driver.calls_of('evacuate_server'))
        self.assertEqual('cmp-1', self.driver.servers['vm-a'].host)
        rows = db_api.recovery_action_list(self.context,
                                           self._recovery(decision).id)
        self.assertEqual([('check_compute', 'done'), ('power_off',
                                                      'rejected')],
                         [(r.action, r.status) for r in rows])
        self.assertEqual('none', json.loads(rows[1].detail)['fencer'])

    def test_r9_no_bmc_with_fence_without_bmc(self):
        self.flags(group='recovery', fence_without_bmc=True)
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(1, len(self.driver.calls_of('force_down_service')))
        self.assertNotEqual('cmp-1', self.driver.servers['vm-a'].host)

    def test_r9_resumed_does_not_power_off_twice(self):
        self.fencer.nodes.add('cmp-1')
        self.driver.services['cmp-1'].state = 'down'
        decision = self._decision('migrate_all', rule='R9')
        self.driver.fail_next('force_down_service', base.ComputeRejected(
            code=400, reason='boom'))
        self.assertEqual('failed', self.executor.execute(decision))
        rec = self._recovery(decision)
        db_api.recovery_transition(self.context, rec.id, 'pending',
                                   expected='failed')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(['cmp-1'], self.fencer.powered_off)

    def test_mass_failure_guard_alerts_instead_of_fencing(self):
        self._node('cmp-1', last_cycle=5)
        self._node('cmp-2', last_cycle=5)
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertEqual([], self.driver.calls_of('force_down_service'))
        self.assertIn('mass failure', self.alerts[0][1])

    def test_unmovable_server_escalates_others_moved(self):
        self.flags(group='recovery', recover_error_state=True)
        self.driver.add_server('vm-a', 'cmp-1')
        self.driver.add_server('vm-e', 'cmp-1', status=base.ERROR)
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertNotEqual('cmp-1', self.driver.servers['vm-a'].host)
        self.assertIn('vm-e', self._recovery(decision).error)


class TestResume(RecoveryTestCase):

    def _crash_after_issue(self, decision, server, key, target, call):
        """State an engine leaves when killed right after issuing."""
        rec = self._recovery(decision)
        db_api.recovery_transition(self.context, rec.id, 'running',
                                   expected='pending', owner='engine-1')
        db_api.recovery_action_create(self.context, rec.id, server, key,
                                      target=target,
                                      detail='{"status_before": "ACTIVE"}')
        call()

    def test_issued_evacuation_is_not_issued_again(self):
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-a', 'cmp-1')
        self.driver.add_server('vm-b', 'cmp-1')
        decision = self._decision('migrate_all', target='cmp-2', rule='R4')
        self._crash_after_issue(
            decision, 'vm-a', 'evacuate', 'cmp-2',
            lambda: self.driver.evacuate_server('vm-a', 'cmp-2', 'req-x'))
        self.assertEqual(['succeeded'],
                         self._executor().resume_unfinished(wait=True))
        evacuations = [c[1] for c in self.driver.calls_of('evacuate_server')]
        self.assertEqual(['vm-a', 'vm-b'], sorted(evacuations))
        # vm-a was left SHUTOFF on its target by the dead engine: the
        # resumed recovery found it through its record and started it.
        self.assertEqual(('cmp-2', base.ACTIVE),
                         (self.driver.servers['vm-a'].host,
                          self.driver.servers['vm-a'].status))
        rec = self._recovery(decision)
        self.assertEqual(2, rec.attempts)

    def test_move_in_progress_at_crash_is_awaited_not_reissued(self):
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', target='cmp-2', rule='R4')
        rec = self._recovery(decision)
        db_api.recovery_transition(self.context, rec.id, 'running',
                                   expected='pending', owner='engine-1')
        row, _ = db_api.recovery_action_create(
            self.context, rec.id, 'vm-a', 'live_migrate', target='cmp-2',
            detail='{"status_before": "ACTIVE"}')
        db_api.recovery_action_update(self.context, row.id,
                                      status='accepted')
        # Nova is still migrating it when the engine comes back.
        server = self.driver.servers['vm-a']
        server.status, server.task_state = 'MIGRATING', 'migrating'
        real_get = self.driver.get_server

        def get_server(server_id):
            result = real_get(server_id)
            if len(self.driver.calls_of('get_server')) > 3:
                result.host, result.status = 'cmp-2', base.ACTIVE
                result.task_state = None
            return result

        self.driver.get_server = get_server
        self.assertEqual(['succeeded'],
                         self._executor().resume_unfinished(wait=True))
        self.assertEqual([], self.driver.calls_of('live_migrate_server'))
        self.assertEqual('cmp-2', self.driver.servers['vm-a'].host)

    def test_recorded_but_never_sent_is_issued_once(self):
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        self._crash_after_issue(decision, 'vm-1', 'reboot', None,
                                lambda: None)
        self.assertEqual(['succeeded'],
                         self._executor().resume_unfinished(wait=True))
        self.assertEqual(1, len(self.driver.calls_of('reboot_server')))

    def test_pending_recoveries_resumed_others_owners_left(self):
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.add_server('vm-2', 'cmp-1')
        mine = self._decision('reboot', vm='vm-1')
        theirs = self._decision('reboot', vm='vm-2')
        db_api.recovery_transition(self.context, self._recovery(theirs).id,
                                   'running', owner='engine-2')
        self.assertEqual(['succeeded'],
                         self._executor().resume_unfinished(wait=True))
        self.assertEqual('succeeded', self._recovery(mine).status)
        self.assertEqual('running', self._recovery(theirs).status)

    def test_second_engine_does_not_run_a_recovery_again(self):
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        other = self._executor('engine-2')
        self.assertEqual('succeeded', other.execute(decision))
        self.assertEqual(1, len(self.driver.calls_of('reboot_server')))

    def test_running_recovery_of_another_engine_is_left_alone(self):
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        db_api.recovery_transition(self.context,
                                   self._recovery(decision).id, 'running',
                                   owner='engine-2')
        self.assertIsNone(self.executor.execute(decision))
        self.assertEqual([], self.driver.calls_of('reboot_server'))
        self.assertEqual('succeeded',
                         self.executor.execute(decision, take_over=True))
        self.assertEqual('engine-1', self._recovery(decision).owner)


class TestNodeActions(RecoveryTestCase):

    def test_disable_node_with_reason_naming_rule(self):
        decision = self._decision('disable_node', rule='R4',
                                  reason='host state failed')
        self.assertEqual('succeeded', self.executor.execute(decision))
        svc = self.driver.services['cmp-1']
        self.assertEqual('disabled', svc.status)
        self.assertEqual('vmguard R4: host state failed',
                         svc.disabled_reason)
        node = db_api.node_get(self.context, 'cmp-1')
        self.assertTrue(node.disabled)
        self.assertEqual('vmguard R4: host state failed',
                         node.disabled_reason)

    def test_escalate_alerts_and_is_visible(self):
        decision = self._decision('escalate', vm='vm-1', rule='R2',
                                  reason='crash loop')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertEqual([(decision.uuid, 'crash loop')], self.alerts)
        rec = self._recovery(decision)
        self.assertEqual(('escalated', 'crash loop'), (rec.status, rec.error))

    def test_restart_service_is_left_to_its_handler(self):
        decision = self._decision('restart_service', rule='R7')
        self.assertEqual('skipped', self.executor.execute(decision))
        other = self._decision('restart_service', rule='R7')
        seen = []
        self.executor.register_handler(
            'restart_service',
            lambda ctx, rec, dec: seen.append(dec.uuid) or ('succeeded',
                                                            None))
        self.assertEqual('succeeded', self.executor.execute(other))
        self.assertEqual([other.uuid], seen)

    def test_submit_runs_in_pool(self):
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded',
                         self.executor.submit(decision).result(timeout=10))


class TestGuards(RecoveryTestCase):
    """Maintenance, per-VM protection and Nova's state of the server."""

    def _nova_calls(self):
        return [c for c in self.driver.calls
                if not c[0].startswith(('get_', 'list_'))]

    def _skipped(self, decision):
        self.assertEqual('skipped', self.executor.execute(decision))
        self.assertEqual([], self._nova_calls())
        return self._recovery(decision).error

    def test_maintenance_skips_every_recovery_of_the_node(self):
        self._node('cmp-1', maintenance=True)
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.services['cmp-1'].state = 'down'
        self.fencer.nodes.add('cmp-1')
        for action, vm, rule in (('reboot', 'vm-1', 'R1'),
                                 ('evacuate', 'vm-1', 'R3'),
                                 ('migrate_all', None, 'R9'),
                                 ('disable_node', None, 'R8')):
            decision = self._decision(action, vm=vm, rule=rule)
            self.assertEqual('maintenance', self._skipped(decision))
        self.assertEqual([], self.fencer.log)
        self.assertEqual([], self.driver.calls)

    def test_node_in_maintenance_is_never_a_target(self):
        self._node('cmp-2', maintenance=True, ram_mb_free=60000)
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision('evacuate', vm='vm-1', target='cmp-2',
                                  rule='R3')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual('cmp-3', self.driver.servers['vm-1'].host)

    def test_server_metadata_protect_false_is_skipped(self):
        self.driver.add_server('vm-1', 'cmp-1',
                               metadata={'vmguard:protect': 'false'})
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('not protected', self._skipped(decision))

    def test_flavor_protect_false_is_skipped(self):
        self.driver.add_server('vm-1', 'cmp-1', flavor_extra_specs={
            'vmguard:protect': 'False'})
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('not protected', self._skipped(decision))

    def test_protect_by_default_false_needs_an_opt_in(self):
        self.flags(group='recovery', protect_by_default=False)
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.add_server('vm-2', 'cmp-1', flavor_extra_specs={
            'vmguard:protect': 'true'})
        self.assertEqual('not protected', self._skipped(
            self._decision('reboot', vm='vm-1')))
        self.assertEqual('succeeded', self.executor.execute(
            self._decision('reboot', vm='vm-2')))
        # Metadata false wins over a flavor that opts in.
        self.driver.add_server('vm-3', 'cmp-1', metadata={
            'vmguard:protect': 'no'}, flavor_extra_specs={
            'vmguard:protect': 'true'})
        self.driver.calls.clear()
        self.assertEqual('not protected', self._skipped(
            self._decision('reboot', vm='vm-3')))

    def test_nova_busy_stopped_and_error_are_skipped(self):
        self.driver.add_server('vm-1', 'cmp-1', task_state='rebooting')
        self.driver.add_server('vm-2', 'cmp-1', status=base.SHUTOFF)
        self.driver.add_server('vm-3', 'cmp-1', status=base.ERROR)
        self.assertIn('task_state rebooting', self._skipped(
            self._decision('reboot', vm='vm-1')))
        self.assertIn('stopped', self._skipped(
            self._decision('reboot', vm='vm-2')))
        self.assertIn('error state', self._skipped(
            self._decision('reboot', vm='vm-3')))

    def test_server_unreadable_fails_and_issues_nothing(self):
        # Nova's API does not answer the read that opens the recovery,
        # through every retry: failed and alerted, never acted on blindly.
        self.flags(group='recovery', retries=2)
        self.driver.add_server('vm-1', 'cmp-1')
        down = base.ComputeUnavailable(reason='nova-api down',
                                       maybe_sent=False)
        self.driver.fail_next('get_server', down, down, down)
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('failed', self.executor.execute(decision))
        self.assertEqual(3, len(self.driver.calls_of('get_server')))
        self.assertEqual([], self._nova_calls())
        self.assertIn('nova-api down', self._recovery(decision).error)
        self.assertEqual([decision.uuid], [a[0] for a in self.alerts])

    def test_server_readable_after_a_retry_is_recovered(self):
        self.flags(group='recovery', retries=2)
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.fail_next('get_server', base.ComputeUnavailable(
            reason='nova-api down', maybe_sent=False))
        decision = self._decision('reboot', vm='vm-1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(['reboot_server'],
                         [c[0] for c in self._nova_calls()])

    def test_migrate_all_moves_protected_servers_only(self):
        self.driver.add_server('vm-a', 'cmp-1')
        self.driver.add_server('vm-b', 'cmp-1',
                               metadata={'vmguard:protect': 'false'})
        self.driver.add_server('vm-e', 'cmp-1', status=base.ERROR)
        decision = self._decision('migrate_all', rule='R4')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertNotEqual('cmp-1', self.driver.servers['vm-a'].host)
        self.assertEqual('cmp-1', self.driver.servers['vm-b'].host)
        self.assertEqual('cmp-1', self.driver.servers['vm-e'].host)
        error = self._recovery(decision).error
        self.assertIn('vm-b: not protected', error)
        self.assertIn('vm-e: server in error state', error)

    def test_r9_fences_even_when_no_server_is_protected(self):
        self.fencer.nodes.add('cmp-1')
        self.driver.services['cmp-1'].state = 'down'
        self.driver.add_server('vm-a', 'cmp-1',
                               metadata={'vmguard:protect': 'false'})
        decision = self._decision('migrate_all', rule='R9')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual(['cmp-1'], self.fencer.powered_off)
        self.assertEqual([], self.driver.calls_of('evacuate_server'))
        self.assertEqual('cmp-1', self.driver.servers['vm-a'].host)


class TestStormGuard(RecoveryTestCase):
    """R10 (SPEC Revision 2): the storm guard's escalate line drains and
    disables nothing; it alerts."""

    def test_r10_escalation_touches_nothing(self):
        for node in ('cmp-1', 'cmp-2'):
            self.driver.add_server('vm-%s' % node, node)
        decision = self._decision('escalate', node='cmp-1', rule='R10',
                                  reason='storm guard: 4 nodes opened '
                                  'incidents within 3 cycles')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertEqual([], self.driver.calls)
        self.assertEqual([], db_api.recovery_action_list(
            self.context, self._recovery(decision).id))
        self.assertFalse(db_api.node_get(self.context, 'cmp-1').disabled)
        self.assertEqual('enabled', self.driver.services['cmp-1'].status)
        self.assertEqual([(decision.uuid, decision.reason)], self.alerts)


class TestManualNodeRecovery(RecoveryTestCase):
    """Rule ``manual`` (POST /v1/nodes/{name}/recover): fenced like R9,
    on the operator's word instead of Nova's heartbeat."""

    def test_fenced_and_evacuated_while_nova_says_up(self):
        self.fencer.nodes.add('cmp-1')
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='manual',
                                  reason='PSU alarm')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.assertEqual([('power_off', 'cmp-1'), ('wait_off', 'cmp-1')],
                         self.fencer.log)
        rows = db_api.recovery_action_list(self.context,
                                           self._recovery(decision).id)
        self.assertEqual(['check_compute', 'power_off', 'power_off_confirm',
                          'force_down', 'evacuate'],
                         [r.action for r in rows][:5])
        check = json.loads(rows[0].detail)
        self.assertEqual(('up', "dead on the operator's word"),
                         (check['nova_state'], check['verdict']))
        self.assertEqual('cmp-2', self.driver.servers['vm-a'].host)

    def test_unconfirmed_power_off_escalates_without_evacuating(self):
        self.fencer.nodes.add('cmp-1')
        self.fencer.confirm = False
        self.driver.add_server('vm-a', 'cmp-1')
        decision = self._decision('migrate_all', rule='manual')
        self.assertEqual('escalated', self.executor.execute(decision))
        self.assertIn('did not confirm', self._recovery(decision).error)
        self.assertEqual([], self.driver.calls_of('evacuate_server'))
        self.assertEqual([], self.driver.calls_of('force_down_service'))

    def test_maintenance_skips_it(self):
        self.fencer.nodes.add('cmp-1')
        self._node('cmp-1', maintenance=True)
        decision = self._decision('migrate_all', rule='manual')
        self.assertEqual('skipped', self.executor.execute(decision))
        self.assertEqual([], self.fencer.log)
