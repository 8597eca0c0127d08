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

"""Moving servers off a node: targets, capacity, per-target slots.

Mixed into :class:`vmguard.engine.recovery.RecoveryExecutor`, which
provides ``driver``, ``_call``, ``_issue``, ``_finish``, ``_wait``,
``_target_selector``, ``_lock``, ``_slots``, ``_target_slots``,
``_enable_locks`` and ``_reserved``.

A move to a reserved host of the failed node's failover segment first
enables that host's nova-compute service (reserved hosts are kept
disabled in Nova; :mod:`vmguard.engine.segments`), recorded as the
recovery action ``enable`` of the host with the reason, and marks the
host activated in the database.
"""

import json
import threading

from oslo_log import log as logging

from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.compute import base
from vmguard import conf
from vmguard.db import api as db_api
from vmguard.engine import segments
from vmguard.engine import targets

LOG = logging.getLogger(__name__)
CONF = conf.CONF

# How a server is moved, per mode: (key of the recovery action, Nova's name
# of it in the instance action list).
MOVES = {
    'evacuate': ('evacuate', base.ACTION_EVACUATE),
    'live': ('live_migrate', base.ACTION_LIVE_MIGRATE),
    'cold': ('migrate', base.ACTION_MIGRATE),
}


class ActionFailed(exception.VmguardException):
    msg_fmt = '%(reason)s'


def detail(row):
    try:
        return json.loads(row.detail) if row.detail else {}
    except ValueError:
        return {'text': row.detail}


class MoveFlow:
    """Moves servers to targets, one slot per target."""

    # --- moving servers ------------------------------------------------------

    def _target_slot(self, target):
        with self._lock:
            slot = self._target_slots.get(target)
            if slot is None:
                slot = threading.BoundedSemaphore(
                    CONF.recovery.max_per_target)
                self._target_slots[target] = slot
            return slot

    def _default_targets(self, decision, server, exclude):
        # The one target rule of the pipeline, over the database.
        with self._lock:
            reserved = {k: tuple(v) for k, v in self._reserved.items()}
        context = vmg_context.get_admin_context()
        return targets.recovery_targets(
            context, self._selector,
            decision.node, server.vcpus, server.ram_mb, exclude, reserved,
            first=decision.target, segments=self._segment_map(context))

    @staticmethod
    def _segment_map(context):
        """The failover segments as stored now."""
        return segments.SegmentMap(db_api.segment_map(context))

    def _enable_lock(self, target):
        with self._lock:
            lock = self._enable_locks.get(target)
            if lock is None:
                lock = self._enable_locks[target] = threading.Lock()
            return lock

    def _use_reserved_host(self, run, target):
        """``target`` is a reserved host of the failed node's segment:
        enable its nova-compute service (kept disabled until now) before
        the first server is moved to it, and record why.

        Returns None, or why the host cannot be used."""
        source = run.decision.node
        segment = self._segment_map(run.context).describe(source)
        name = segment[0] if segment else '?'
        reason = ('vmguard: reserved host of segment %s put to use by '
                  'recovery %s (%s of %s, rule %s)' % (
                      name, run.recovery.uuid, run.decision.action,
                      source, run.decision.rule))[:255]
        with self._enable_lock(target):
            try:
                service = self._call(self.driver.get_service, target)
                if service.status != 'enabled':
                    self._issue(run, target, 'enable', None, target,
                                lambda rid: self.driver.enable_service(
                                    target, rid),
                                detail={'reason': reason})
                    LOG.info('Recovery %s: reserved host %s enabled in '
                             'Nova: %s', run.recovery.uuid, target, reason)
                else:
                    reason = ('%s; it was enabled in Nova already'
                              % reason)[:255]
            except base.ComputeError as exc:
                LOG.warning('Recovery %s: reserved host %s cannot be '
                            'enabled: %s', run.recovery.uuid, target, exc)
                return 'reserved host not enabled: %s' % exc
            db_api.segment_host_activate(run.context, target, reason)
        return None

    def _reserve(self, target, server, sign=1):
        with self._lock:
            used = self._reserved[target]
            used[0] += sign * server.vcpus
            used[1] += sign * server.ram_mb

    def _move(self, run, server, mode, want_running):
        """Move one server off ``run.decision.node``: try the targets in
        order; return (True, target) or (False, why)."""
        source = run.decision.node
        base_key, nova_action = MOVES[mode]
        # An earlier attempt of this recovery (before a crash) may already
        # have issued a move: finish what the records say first.
        for key, row in self._recorded_moves(run, server.id, base_key):
            if row.status == 'done':
                return True, row.target
            if row.status == 'accepted':
                ok, _why = self._complete_move(run, server.id, row, mode,
                                               want_running)
                if ok:
                    return True, row.target
            elif row.status == 'issuing':
                ok, _why = self._move_to(run, server, mode, key, nova_action,
                                         row.target, want_running)
                if ok:
                    return True, row.target
        tried = {source}
        tried.update(row.target for _k, row in
                     self._recorded_moves(run, server.id, base_key))
        attempt = len(tried)
        reasons = []
        for target in self._target_selector(run.decision, server, tried):
            if target in tried:
                continue
            tried.add(target)
            key = base_key if attempt == 1 else '%s:%d' % (base_key, attempt)
            attempt += 1
            ok, why = self._move_to(run, server, mode, key, nova_action,
                                    target, want_running)
            if ok:
                return True, target
            reasons.append('%s: %s' % (target, why))
            if isinstance(why, _SourceUp):
                break
        if not reasons:
            reasons.append('no eligible target')
        return False, '; '.join(str(r) for r in reasons)

    def _recorded_moves(self, run, server_id, base_key):
        rows = db_api.recovery_action_list(run.context, run.recovery.id)
        return [(r.action, r) for r in rows
                if r.server == server_id and
                (r.action == base_key or r.action.startswith(base_key + ':'))]

    def _move_to(self, run, server, mode, key, nova_action, target,
                 want_running):
        calls = {
            'evacuate': lambda rid: self.driver.evacuate_server(
                server.id, target, rid),
            'live': lambda rid: self.driver.live_migrate_server(
                server.id, target, rid),
            'cold': lambda rid: self.driver.migrate_server(
                server.id, target, rid),
        }
        if self._segment_map(run.context).reserved_of(run.decision.node,
                                                      target):
            why = self._use_reserved_host(run, target)
            if why:
                return False, why
        slot = self._target_slot(target)
        with slot, self._slots:
            self._reserve(target, server)
            try:
                row = self._issue(run, server.id, key, nova_action, target,
                                  calls[mode],
                                  detail={'status_before': server.status,
                                          'source': run.decision.node})
            except base.ComputeRejected as exc:
                self._reserve(target, server, sign=-1)
                if 'still in use' in str(exc):
                    return False, _SourceUp(str(exc))
                return False, str(exc)
            if row.status in ('rejected', 'failed'):
                self._reserve(target, server, sign=-1)
                return False, detail(row).get('error', row.status)
            ok, why = self._complete_move(run, server.id, row, mode,
                                          want_running)
            if not ok:
                self._reserve(target, server, sign=-1)
            return ok, why

    def _complete_move(self, run, server_id, row, mode, want_running):
        """Wait for an accepted move to end; confirm/start as needed."""
        if row.status == 'done':
            return True, None
        target = row.target
        def ended(server):
            if server.status == base.ERROR:
                return True
            if server.task_state is not None or server.status == 'MIGRATING':
                return False
            if server.host == target:
                return True
            # Still on the source with no task: failed, or not started yet
            # (Nova's conductor and scheduler work asynchronously): the
            # migration record tells.
            return self._move_failed(server_id, target)

        try:
            server = self._wait(server_id, ended)
        except ActionFailed as exc:
            self._finish(run, row, 'failed', error=str(exc))
            return False, str(exc)
        if server.host != target or server.status == base.ERROR:
            why = 'server %s ended %s on %s' % (server_id, server.status,
                                                server.host)
            self._finish(run, row, 'failed', error=why)
            return False, why
        if server.status == base.VERIFY_RESIZE:
            self._issue(run, server_id, 'confirm:%s' % target,
                        base.ACTION_CONFIRM, target,
                        lambda rid: self.driver.confirm_migration(
                            server_id, rid))
            server = self._wait(server_id, lambda s: s.task_state is None
                                and s.status != base.VERIFY_RESIZE)
        before = detail(row).get('status_before')
        if server.status == base.SHUTOFF and (
                want_running or before == base.ACTIVE):
            try:
                self._issue(run, server_id, 'start:%s' % target,
                            base.ACTION_START, target,
                            lambda rid: self.driver.start_server(server_id,
                                                                 rid))
            except base.ComputeRejected as exc:
                # 409: already started (e.g. by a previous attempt).
                if exc.code != 409:
                    raise
            server = self._wait(server_id, lambda s: s.task_state is None
                                and s.status in (base.ACTIVE, base.ERROR))
        if server.status == base.ERROR:
            why = 'server %s is in ERROR on %s' % (server_id, target)
            self._finish(run, row, 'failed', error=why)
            return False, why
        self._finish(run, row, 'done', active_after=run.elapsed(),
                     final_status=server.status)
        LOG.info('Recovery %s: server %s is %s on %s, %.3fs after the '
                 'decision', run.recovery.uuid, server_id, server.status,
                 target, run.elapsed())
        return True, None

    def _move_failed(self, server_id, target):
        migrations = [m for m in self._call(self.driver.list_migrations,
                                            server_id)
                      if m.get('dest_compute') in (target, None)]
        if not migrations:
            return False
        latest = max(migrations, key=lambda m: m.get('id') or 0)
        return latest.get('status') in base.MIGRATION_FAILED

    def _recorded_mode(self, run, server_id):
        for row in db_api.recovery_action_list(run.context, run.recovery.id):
            if row.server != server_id:
                continue
            for mode, (key, _nova) in MOVES.items():
                if row.action == key or row.action.startswith(key + ':'):
                    return mode
        return None


class _SourceUp(str):
    """Nova refuses to evacuate: the source compute service is up."""
