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

"""The recovery executor: stored decisions become Nova actions.

Each decision has one recovery row (created with it, ``pending``). The
executor moves it through the status machine of the database API
(compare-and-swap, so two engines never run one recovery) and runs the
decision's action through a compute back end.

Crash safety: every Nova action is recorded in ``recovery_actions`` (unique
per recovery, server and action) *before* it is issued, with status
``issuing``; once Nova accepted it the row becomes ``accepted``, and
``done`` when the server reached its expected state. An engine that is
killed and started again calls :meth:`RecoveryExecutor.resume_unfinished`:
a recorded action is never issued again; one that was recorded but may or
may not have reached Nova (``issuing``) is looked up in Nova's instance
action list of the server first.
"""

import collections
import json
import threading
import time

import futurist
from oslo_log import log as logging
from oslo_utils import timeutils

from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.common import metrics
from vmguard.compute import base
from vmguard.compute import fencing
from vmguard import conf
from vmguard.db import api as db_api
from vmguard.engine.recovery import alerts
from vmguard.engine.recovery import fence
from vmguard.engine.recovery import guards
from vmguard.engine.recovery import moves
from vmguard.engine.recovery import priority
from vmguard.engine.recovery import restart  # noqa: F401  (handler)
from vmguard.engine.recovery import views as views_mod
from vmguard.engine import targets

LOG = logging.getLogger(__name__)
CONF = conf.CONF

# Re-exported: how servers are moved, the error of a failed action.
MOVES = moves.MOVES
ActionFailed = moves.ActionFailed
_detail = moves.detail
_SourceUp = moves._SourceUp

# Decisions about one server, re-read from Nova before they run.
SERVER_ACTIONS = frozenset(('reboot', 'evacuate'))
# Rule of the decisions an operator asked for (POST .../recover).
MANUAL_RULE = 'manual'
# migrate_all decisions executed as fence, then evacuate: R9's silent
# node (and another monitor's host_down) and an operator's node recovery.
FENCED_RULES = frozenset(('R9', MANUAL_RULE))
# Slack between vmguard's and Nova's clocks when looking for an action.
CLOCK_SLACK = 2.0


class _Run:
    """One execution of one recovery (the state a handler needs)."""

    def __init__(self, context, recovery, decision):
        self.context = context
        self.recovery = recovery
        self.decision = decision
        created = decision.created_at or timeutils.utcnow()
        self.t0 = created.replace(tzinfo=None)

    def elapsed(self):
        now = timeutils.utcnow().replace(tzinfo=None)
        return round((now - self.t0).total_seconds(), 3)


def _now_iso():
    return timeutils.utcnow().replace(tzinfo=None).isoformat()


class RecoveryExecutor(fence.FencingFlow, moves.MoveFlow):
    """Runs recoveries with a bounded pool of threads.

    :param driver: compute back end (default: ``[recovery]
        compute_driver``).
    :param owner: name written as the recovery owner (default ``host``).
    :param fencer: a :class:`vmguard.compute.fencing.FencerSet`, or one
        fencer (then nodes it does not know get the ``none`` fencer);
        default: ``[recovery] fencers``.
    :param target_selector: callable(decision, server, exclude) -> ordered
        list of node names; default: the pipeline's target rule over the
        database (``engine/targets.py``), the decision's target first.
    """

    def __init__(self, driver=None, owner=None, fencer=None,
                 target_selector=None, sleep=time.sleep, alerter=None,
                 views=None):
        self.driver = driver if driver is not None else base.load_driver()
        self.owner = owner or CONF.host
        self.fencers = fencing.as_fencer_set(fencer)
        self._target_selector = target_selector or self._default_targets
        self._selector = targets.load_selector(
            CONF.engine.target_selector)
        self._sleep = sleep
        self._alert_hooks = []
        self.alerter = alerter or alerts.AlertSender()
        # What Nova last said of each server (its notifications, our
        # reads): a crash's reboot need not wait for a GET.
        self.views = views if views is not None else views_mod.ServerViews()
        self._handlers = {
            'reboot': self._do_reboot,
            'evacuate': self._do_evacuate,
            'migrate_all': self._do_migrate_all,
            'disable_node': self._do_disable_node,
            'escalate': self._do_escalate,
        }
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(
            CONF.recovery.max_concurrent)
        self._target_slots = {}
        self._enable_locks = {}
        # target -> [vcpus, ram_mb] placed by this engine and not yet seen
        # in the target's reported capacity.
        self._reserved = collections.defaultdict(lambda: [0, 0])
        self._pool = None

    # --- set-up --------------------------------------------------------------

    def add_alert_hook(self, hook):
        """hook(decision, recovery, message) is called for every recovery
        that ends ``escalated`` or ``failed``."""
        self._alert_hooks.append(hook)

    def register_handler(self, action, handler):
        """handler(context, recovery, decision) -> (status, message); e.g.
        ``restart_service``, which the agent executes."""
        self._handlers[action] = (
            lambda run: handler(run.context, run.recovery, run.decision))

    def start(self):
        if self._pool is None:
            self._pool = futurist.ThreadPoolExecutor(
                max_workers=CONF.recovery.max_concurrent)

    def stop(self, wait=True):
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
        self.alerter.stop(wait=wait)

    def submit(self, decision):
        """Run the recovery of a stored decision in the pool; a future."""
        self.start()
        return self._pool.submit(self.execute, decision)

    def resume_unfinished(self, wait=False):
        """Engine start-up: run every pending recovery and every running
        one this engine owned when it stopped (its Nova actions already
        issued are not issued again). Returns the futures, or the final
        statuses when ``wait``."""
        context = vmg_context.get_admin_context()
        futures = []
        for recovery, decision in db_api.recovery_list_unfinished(context):
            if (recovery.status == 'running'
                    and recovery.owner not in (None, self.owner)):
                LOG.debug('Recovery %s is run by %s, not resumed here',
                          recovery.uuid, recovery.owner)
                continue
            LOG.info('Resuming recovery %s (%s, status %s) of decision %s',
                     recovery.uuid, decision.action, recovery.status,
                     decision.uuid)
            futures.append(self.submit(decision))
        if wait:
            return [f.result() for f in futures]
        return futures

    # --- one recovery --------------------------------------------------------

    def execute(self, decision, take_over=False):
        """Run the recovery of ``decision`` (a stored decision row) to its
        end; returns its final status, or None when another engine has
        it.

        :param take_over: also resume a recovery that another engine was
            running (the caller knows that engine is dead).
        """
        context = vmg_context.get_admin_context()
        recovery = db_api.recovery_get_by_decision(context, decision.id)
        status = recovery.status
        if status not in ('pending', 'running'):
            return status
        if (status == 'running' and not take_over
                and recovery.owner not in (None, self.owner)):
            LOG.info('Recovery %s is run by %s', recovery.uuid,
                     recovery.owner)
            return None
        handler = self._handlers.get(decision.action)
        if status == 'pending':
            skip = None
            node = self._node(context, decision.node)
            if handler is None:
                skip = ('%s is not executed through the compute back end'
                        % decision.action)
            elif guards.in_maintenance(node):
                skip = guards.SKIP_MAINTENANCE
            elif db_api.effective_dry_run(context, node,
                                          default=CONF.recovery.dry_run):
                skip = 'dry-run: no action taken'
            if skip:
                try:
                    db_api.recovery_transition(context, recovery.id,
                                               'skipped', expected='pending',
                                               error=skip)
                except exception.InvalidStateTransition:
                    return None
                LOG.info('Recovery %s (%s %s of %s by %s) skipped: %s',
                         recovery.uuid, decision.action, decision.vm or '',
                         decision.node, decision.rule, skip)
                return 'skipped'
        try:
            recovery = db_api.recovery_transition(
                context, recovery.id, 'running', expected=status,
                owner=self.owner)
        except exception.InvalidStateTransition:
            LOG.info('Recovery %s is taken by another engine', recovery.uuid)
            return None
        run = _Run(context, recovery, decision)
        LOG.info('Recovery %s: %s (rule %s) on %s%s, attempt %s',
                 recovery.uuid, decision.action, decision.rule,
                 decision.node,
                 ' for %s' % decision.vm if decision.vm else '',
                 recovery.attempts)
        try:
            # A fresh start reads the server from Nova first (protection,
            # Nova's own state). A take-over does not: the server may be
            # busy with the action this recovery already issued.
            skip = self._server_skip(decision) if status == 'pending' else None
            if skip:
                final, message = 'skipped', skip
            else:
                final, message = handler(run)
        except base.ComputeError as exc:
            final, message = 'failed', str(exc)
        except ActionFailed as exc:
            final, message = 'failed', str(exc)
        except Exception as exc:
            LOG.exception('Recovery %s failed unexpectedly', recovery.uuid)
            final, message = 'failed', 'unexpected error: %s' % exc
        if final in ('escalated', 'failed'):
            # Nothing more is tried automatically: an operator must know
            # (e.g. Nova's API still down after the retries).
            self._alert(decision, recovery, final, message)
        log = LOG.info if final == 'succeeded' else LOG.warning
        log('Recovery %s (%s on %s) %s after %.3fs%s', recovery.uuid,
            decision.action, decision.node, final, run.elapsed(),
            ': %s' % message if message else '')
        db_api.recovery_transition(context, recovery.id, final,
                                   expected='running',
                                   error=(message or None))
        return final

    @staticmethod
    def _node(context, node_name):
        try:
            return db_api.node_get(context, node_name)
        except exception.NodeNotFound:
            return None

    def _server_skip(self, decision):
        """Why the decision's server must be left alone, or None.

        What Nova last said of it (:mod:`vmguard.engine.recovery.views`)
        is enough when it is younger than ``[recovery]
        server_view_max_age`` and says "act"; otherwise the server is
        re-read from Nova, retried like any Compute call (``[recovery]
        retries``); when Nova still cannot tell, the ComputeError ends the
        recovery as failed (and alerted): vmguard never acts on a server
        whose protection and state it could not read.
        """
        if not decision.vm or decision.action not in SERVER_ACTIONS:
            return None
        starts = decision.action == 'reboot'
        held = self.views.fresh(decision.vm,
                                CONF.recovery.server_view_max_age)
        if held is not None:
            view, age = held
            if guards.skip_reason(view, starts=starts) is None:
                LOG.info('Server %s: what Nova said of it %.1fs ago (%s, '
                         'no task, protected) used without a new read',
                         decision.vm, age, view.vm_state)
                return None
        server = self._read_server(decision.vm)
        return guards.skip_reason(server, starts=starts)

    def _read_server(self, server_id, retried=True):
        """GET the server (retried unless ``retried`` is false); what it
        says is kept as the server's view."""
        since = self.views.now()
        if retried:
            server = self._call(self.driver.get_server, server_id)
        else:
            server = self.driver.get_server(server_id)
        self.views.read(server, since)
        return server

    def _alert(self, decision, recovery, status, message):
        LOG.error('ALERT: recovery %s %s: %s on %s (rule %s, vm %s, '
                  'decision %s): %s', recovery.uuid, status,
                  decision.action, decision.node, decision.rule,
                  decision.vm, decision.uuid, message)
        self.alerter.send(decision, recovery, status, message)
        for hook in self._alert_hooks:
            try:
                hook(decision, recovery, message)
            except Exception:
                LOG.exception('Alert hook %s failed', hook)

    # --- Nova calls: retries and the record-before-issue rule ----------------

    def _call(self, fn, *args):
        """A read or idempotent call, retried on 5xx/timeouts."""
        retries = CONF.recovery.retries
        for attempt in range(retries + 1):
            try:
                return fn(*args)
            except base.ComputeUnavailable as exc:
                if attempt >= retries:
                    raise
                delay = CONF.recovery.retry_interval * (2 ** attempt)
                LOG.warning('Compute call %s failed (%s); retry %s/%s in '
                            '%.1fs', getattr(fn, '__name__', fn), exc,
                            attempt + 1, retries, delay)
                self._sleep(delay)

    def _nova_saw(self, server_id, nova_action, since, request_id=None):
        """Did Nova record ``nova_action`` for the server: with our request
        id, or (when Nova keeps its own ids) since ``since``?"""
        if nova_action is None:
            return False
        limit = since.replace(tzinfo=None).timestamp() - CLOCK_SLACK
        for action in self._call(self.driver.list_instance_actions,
                                 server_id):
            if action.action != nova_action:
                continue
            if request_id and action.request_id == request_id:
                return True
            if not action.start_time:
                continue
            started = timeutils.parse_isotime(action.start_time)
            started = timeutils.normalize_time(started)
            if started.timestamp() >= limit:
                return True
        return False

    def _issue(self, run, server, key, nova_action, target, fn,
               detail=None):
        """Record then issue one action; never issue a recorded one twice.

        :param server: server id (or node name for node actions).
        :param key: action key, unique within the recovery for ``server``.
        :param nova_action: Nova's instance action name, to find out after
            a crash whether an ``issuing`` action reached Nova; None for
            idempotent node actions (they are simply issued again).
        :param fn: fn(request_id) -> request id answered.
        :returns: the action row; its status says what happened.
        :raises: ComputeRejected (row ``rejected``), ComputeUnavailable
            after the retries (row stays ``issuing``).
        """
        context = run.context
        row, created = db_api.recovery_action_create(
            context, run.recovery.id, server, key, target=target,
            detail=json.dumps(detail or {}))
        if not created:
            if row.status != 'issuing':
                LOG.info('Recovery %s: %s of %s already %s, not issued '
                         'again', run.recovery.uuid, key, server, row.status)
                return row
            if self._nova_saw(server, nova_action, row.created_at,
                              row.request_id):
                LOG.info('Recovery %s: %s of %s reached Nova before the '
                         'engine stopped; not issued again',
                         run.recovery.uuid, key, server)
                return db_api.recovery_action_update(context, row.id,
                                                     status='accepted')
        request_id = base.new_request_id()
        row = db_api.recovery_action_update(context, row.id,
                                            request_id=request_id)
        retries = CONF.recovery.retries
        attempt = 0
        check_first = False
        while True:
            try:
                # After an answer-less failure of a request that may have
                # reached Nova, look before issuing it again.
                if check_first and self._nova_saw(
                        server, nova_action, row.created_at, request_id):
                    answered = request_id
                    break
                check_first = False
                answered = fn(request_id) or request_id
                break
            except base.ComputeRejected as exc:
                info = dict(_detail(row), error=str(exc), code=exc.code)
                db_api.recovery_action_update(context, row.id,
                                              status='rejected',
                                              detail=json.dumps(info))
                LOG.warning('Recovery %s: Nova rejected %s of %s%s: %s',
                            run.recovery.uuid, key, server,
                            ' to %s' % target if target else '', exc)
                raise
            except base.ComputeUnavailable as exc:
                if attempt >= retries:
                    raise
                delay = CONF.recovery.retry_interval * (2 ** attempt)
                attempt += 1
                LOG.warning('Recovery %s: %s of %s failed (%s); retry %s/%s '
                            'in %.1fs', run.recovery.uuid, key, server, exc,
                            attempt, retries, delay)
                self._sleep(delay)
                check_first = check_first or (exc.maybe_sent and
                                              nova_action is not None)
        info = dict(_detail(row), accepted_after=run.elapsed(),
                    accepted_at=_now_iso())
        metrics.nova_accepted(info['accepted_after'])
        LOG.info('Recovery %s: Nova accepted %s of %s%s (request %s) '
                 '%.3fs after the decision', run.recovery.uuid, key, server,
                 ' to %s' % target if target else '', answered,
                 info['accepted_after'])
        return db_api.recovery_action_update(
            context, row.id, status='accepted', request_id=answered[:64],
            detail=json.dumps(info))

    def _finish(self, run, row, status, **info):
        info = dict(_detail(row), finished_after=run.elapsed(),
                    finished_at=_now_iso(), **info)
        return db_api.recovery_action_update(run.context, row.id,
                                             status=status,
                                             detail=json.dumps(info))

    def _wait(self, server_id, done, timeout=None):
        """Poll the server until done(server) is true; return it.

        Outages of the Compute API while waiting are tolerated until the
        deadline. :raises: ActionFailed on timeout.
        """
        timeout = timeout or CONF.recovery.action_timeout
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = self._read_server(server_id, retried=False)
                if done(last):
                    return last
            except base.ComputeUnavailable as exc:
                LOG.warning('Waiting for server %s: %s', server_id, exc)
            if time.monotonic() >= deadline:
                raise ActionFailed(
                    reason='server %s did not reach the expected state '
                    'within %ss (last seen: %s)' % (
                        server_id, timeout,
                        last and '%s on %s, task %s' % (
                            last.status, last.host, last.task_state)))
            self._sleep(CONF.recovery.poll_interval)

    # --- reboot --------------------------------------------------------------

    def _do_reboot(self, run):
        vm = run.decision.vm
        row = self._issue(
            run, vm, 'reboot', base.ACTION_REBOOT, None,
            lambda rid: self.driver.reboot_server(vm, rid, hard=True))
        if row.status == 'done':
            return 'succeeded', None
        server = self._wait(vm, lambda s: s.task_state is None and
                            s.status in (base.ACTIVE, base.ERROR))
        if server.status != base.ACTIVE:
            self._finish(run, row, 'failed')
            return 'failed', 'server %s is %s after the hard reboot' % (
                vm, server.status)
        self._finish(run, row, 'done', active_after=run.elapsed())
        return 'succeeded', None

    def _do_evacuate(self, run):
        decision = run.decision
        server = self._call(self.driver.get_server, decision.vm)
        service = self._call(self.driver.get_service, decision.node)
        mode = 'evacuate' if service.is_down else 'cold'
        # A server stopped on purpose is moved and stays stopped.
        ok, why = self._move(run, server, mode,
                             want_running=server.vm_state != 'stopped')
        if ok:
            return 'succeeded', None
        return 'escalated', 'server %s could not be moved off %s (%s)' % (
            decision.vm, decision.node, why)

    # --- migrate_all, fencing ------------------------------------------------

    def _do_migrate_all(self, run):
        decision = run.decision
        node = decision.node
        if decision.rule in FENCED_RULES:
            if decision.rule == 'R9':
                guard = self._mass_failure(run)
                if guard:
                    return 'escalated', guard
            why = self._fence(run, node,
                              asserted=decision.rule == MANUAL_RULE)
            if why:
                return 'escalated', why
        service = self._call(self.driver.get_service, node)
        servers = {s.id: s for s in self._call(self.driver.list_servers,
                                                node)}
        # Servers an earlier attempt already moved (not on the node any
        # more) but did not finish (confirm, start).
        for row in db_api.recovery_action_list(run.context, run.recovery.id):
            if (row.server not in servers and row.server != node
                    and row.status in ('issuing', 'accepted')):
                try:
                    servers[row.server] = self._call(self.driver.get_server,
                                                     row.server)
                except base.ServerNotFound:
                    continue
        plan = []
        skipped = []
        for server in servers.values():
            # A move recorded by an earlier attempt is finished the same
            # way, whatever the server looks like now (e.g. MIGRATING).
            mode = self._recorded_mode(run, server.id)
            why = None if mode is not None else guards.skip_reason(server)
            if why:
                LOG.info('Recovery %s: server %s skipped: %s',
                         run.recovery.uuid, server.id, why)
                skipped.append('%s: %s' % (server.id, why))
                continue
            if mode is not None or server.host != node:
                pass
            elif service.is_down:
                mode = 'evacuate'
            elif server.status in (base.ACTIVE, base.PAUSED):
                mode = 'live'
            elif server.status == base.SHUTOFF:
                mode = 'cold'
            else:
                mode = None
            plan.append((server, mode))
        failures = []
        workers = min(max(len(plan), 1), CONF.recovery.max_concurrent)
        # Restart priority: one wave per vmguard:priority, highest first.
        with futurist.ThreadPoolExecutor(max_workers=workers) as pool:
            for prio, wave in priority.waves(plan, lambda p: p[0]):
                LOG.info('Recovery %s: moving %d server(s) of priority %s',
                         run.recovery.uuid, len(wave), prio)
                failures.extend(self._move_wave(run, pool, wave))
        note = ('; skipped %s' % '; '.join(skipped)) if skipped else ''
        if failures:
            return 'escalated', ('%d of %d servers of %s not moved: %s%s' % (
                len(failures), len(plan), node, '; '.join(failures), note))
        return 'succeeded', (('%d servers moved' % len(plan)
                              if plan else 'no servers moved') + note)

    def _move_wave(self, run, pool, wave):
        """Move the servers of one priority wave; their failures."""
        failures = []
        futures = []
        for server, mode in wave:
            if mode is None:
                failures.append('%s: cannot move a server in status %s'
                                % (server.id, server.status))
                continue
            futures.append((server, pool.submit(
                self._move, run, server, mode, want_running=False)))
        for server, future in futures:
            try:
                ok, why = future.result()
            except (base.ComputeError, ActionFailed) as exc:
                ok, why = False, str(exc)
            if not ok:
                failures.append('%s: %s' % (server.id, why))
        return failures

    # --- disable, escalate ---------------------------------------------------

    def _do_disable_node(self, run):
        decision = run.decision
        node = decision.node
        reason = ('vmguard %s: %s' % (decision.rule, decision.reason))[:255]
        self._issue(run, node, 'disable', None, None,
                    lambda rid: self.driver.disable_service(node, reason,
                                                            rid))
        db_api.node_get_or_create(run.context, node)
        db_api.node_update(run.context, node, {
            'disabled': True, 'disabled_reason': reason,
            'disabled_at': timeutils.utcnow().replace(tzinfo=None)})
        return 'succeeded', None

    def _do_escalate(self, run):
        return 'escalated', run.decision.reason
