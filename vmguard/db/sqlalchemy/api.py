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

"""SQLAlchemy implementation of the database API (SQLAlchemy 2.0 style)."""

import collections
import datetime

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmguard.common import exception
from vmguard.db.sqlalchemy import galera
from vmguard.db.sqlalchemy import models
from vmguard.db.sqlalchemy import mysql
from vmguard.db.sqlalchemy import sqlite

LOG = logging.getLogger(__name__)

_CONTEXT = enginefacade.transaction_context()
_CONTEXT.configure(sqlite_fk=True)
# Applied to every engine the DB API creates (and by prepare_engine to
# engines made elsewhere, e.g. by test fixtures).
ENGINE_HOOKS = (sqlite.serialize_transactions, mysql.use_utf8mb4,
                galera.use_wsrep_sync_wait)
for _hook in ENGINE_HOOKS:
    _CONTEXT.append_on_engine_create(_hook)


# Retries of writes (oslo.db's wrap_db_retry: 5 retries, 1 s doubling up
# to 10 s). Every write is retried on DBDeadlock -- on Galera that is also
# a certification failure (two nodes committing the same row). Writes whose
# repetition after a commit whose answer was lost leaves the same rows and
# returns the same answer are also retried on a lost connection (a Galera
# member or HAProxy fail-over). Writes that answer "created" or "changed"
# (decisions, Nova actions, crash events, recovery transitions) are not:
# a repeat would report a commit of this engine as someone else's; their
# callers handle DBConnectionError themselves (engine.persistence).
retry_on_deadlock = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_deadlock=True)
retry_idempotent = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_deadlock=True, retry_on_disconnect=True)
# Reads of the recovery path and of the engine's periodic task (a
# recovery must not be abandoned because HAProxy failed over between two
# of its steps). Also on DBDeadlock: with ``wsrep_sync_wait`` a read that
# waits too long for its node to catch up fails with "lock wait timeout"
# (1205), which oslo.db reports as a deadlock; a read repeated changes
# nothing. Only on functions never called inside another transaction.
retry_read = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_disconnect=True, retry_on_deadlock=True)


def prepare_engine(engine):
    """Give an engine created outside the DB API the same behaviour."""
    for hook in ENGINE_HOOKS:
        hook(engine)
    return engine

# Status machine of a recovery. "running" -> "running" is a take-over of a
# recovery whose engine died (owner changes, already issued Nova actions
# are kept and not issued again).
RECOVERY_TRANSITIONS = {
    'pending': frozenset(('running', 'skipped', 'cancelled')),
    # running -> skipped: the server, read from Nova once the recovery
    # runs, must be left alone (not protected, Nova busy, stopped).
    'running': frozenset(('running', 'succeeded', 'failed', 'escalated',
                          'skipped')),
    'failed': frozenset(('pending',)),
    'succeeded': frozenset(),
    'skipped': frozenset(),
    'escalated': frozenset(),
    'cancelled': frozenset(),
}
RECOVERY_FINAL = frozenset(('succeeded', 'skipped', 'escalated',
                            'cancelled'))


def _now():
    return timeutils.utcnow().replace(tzinfo=None)


def _paginate(query, column, marker, limit, sort_dir):
    if sort_dir == 'desc':
        query = query.order_by(column.desc())
        if marker is not None:
            query = query.where(column < marker)
    else:
        query = query.order_by(column)
        if marker is not None:
            query = query.where(column > marker)
    if limit is not None:
        query = query.limit(limit)
    return query


def _decision_filters(query, node=None, rule=None, action=None, vm=None):
    """Filters on the decisions table shared by the list queries."""
    if node is not None:
        query = query.where(models.Decision.node == node)
    if rule is not None:
        query = query.where(models.Decision.rule == rule)
    if action is not None:
        query = query.where(models.Decision.action == action)
    if vm is not None:
        query = query.where(models.Decision.vm == vm)
    return query


def get_engine():
    return _CONTEXT.writer.get_engine()


def dispose_engine():
    get_engine().dispose()


# --- nodes -----------------------------------------------------------------

def _node_by_name(session, name):
    return session.execute(
        sa.select(models.Node).where(models.Node.name == name)
    ).scalar_one_or_none()


@retry_idempotent
@_CONTEXT.writer
def node_get_or_create(context, name):
    node = _node_by_name(context.session, name)
    if node is None:
        node = models.Node(name=name, host_state='unknown', disabled=False,
                           maintenance=False)
        context.session.add(node)
        try:
            context.session.flush()
        except db_exc.DBDuplicateEntry:
            # Another engine created it concurrently.
            context.session.rollback()
            node = _node_by_name(context.session, name)
    return node


@retry_read
@_CONTEXT.reader
def node_get(context, name):
    node = _node_by_name(context.session, name)
    if node is None:
        raise exception.NodeNotFound(node=name)
    return node


@retry_read
@_CONTEXT.reader
def node_list(context, limit=None, marker=None):
    query = _paginate(sa.select(models.Node), models.Node.name, marker,
                      limit, 'asc')
    return list(context.session.execute(query).scalars())


@retry_idempotent
@_CONTEXT.writer
def node_update(context, name, values):
    node = _node_by_name(context.session, name)
    if node is None:
        raise exception.NodeNotFound(node=name)
    for key, value in values.items():
        setattr(node, key, value)
    return node


def _add_once(context, row, column, value):
    """Insert ``row`` unless a row with ``column == value`` (a unique key)
    exists: (the row stored, created). The existing row is returned and
    nothing is written when another writer was first."""
    try:
        with context.session.begin_nested():
            context.session.add(row)
            context.session.flush()
    except db_exc.DBDuplicateEntry:
        existing = context.session.execute(
            sa.select(type(row)).where(column == value)).scalar_one()
        return existing, False
    return row, True


# --- decisions and recoveries ------------------------------------------------

@retry_on_deadlock
@_CONTEXT.writer
def decision_create(context, values):
    """Store a decision and its pending recovery, once per incident.

    :returns: (decision, created). ``created`` is False when a decision with
        the same incident key exists already (another engine made it); the
        existing one is returned and nothing is written.
    """
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    decision, created = _add_once(context, models.Decision(**values),
                                 models.Decision.incident_key,
                                 values['incident_key'])
    if not created:
        return decision, False
    recovery = models.Recovery(uuid=uuidutils.generate_uuid(),
                               decision_id=decision.id, status='pending',
                               attempts=0)
    context.session.add(recovery)
    context.session.flush()
    return decision, True


@_CONTEXT.reader
def decision_list(context, node=None, rule=None, action=None, since=None,
                  limit=None, marker=None, sort_dir='asc'):
    query = _decision_filters(sa.select(models.Decision), node, rule,
                              action)
    if since is not None:
        query = query.where(models.Decision.created_at >= since)
    query = _paginate(query, models.Decision.id, marker, limit, sort_dir)
    return list(context.session.execute(query).scalars())


# Rules whose decisions open an incident R10's storm guard counts.
STORM_RULES = ('R4', 'R5', 'R6', 'R8', 'R9', 'R10')


@retry_read
@_CONTEXT.reader
def decision_storm_openings(context, since):
    """``(cycle, node)`` of the incidents opened (stored) since ``since``.

    By any engine: R10's storm guard is the cloud's when engines share
    the nodes. One pair per node and cycle.
    """
    query = (sa.select(models.Decision.cycle, models.Decision.node)
             .where(models.Decision.created_at >= since,
                    models.Decision.rule.in_(STORM_RULES))
             .distinct())
    return [(r[0], r[1]) for r in context.session.execute(query)]


@retry_read
@_CONTEXT.reader
def recovery_get_by_decision(context, decision_id):
    return context.session.execute(
        sa.select(models.Recovery).where(
            models.Recovery.decision_id == decision_id)
    ).scalar_one()


def recovery_transition(context, recovery_id, new_status, expected=None,
                        **values):
    """Move a recovery to ``new_status`` with compare-and-swap semantics.

    Retried on a lost connection: a repeat that finds the row exactly as
    this call's own update would have left it (the commit went through,
    its answer was lost) returns it instead of failing the swap.

    :param expected: status the caller believes the recovery has; the
        update only happens when it still has it (no lost updates between
        two engines).
    :raises: InvalidStateTransition, RecoveryNotFound
    """
    return _recovery_transition(context, recovery_id, new_status, expected,
                                {}, values)


@retry_idempotent
@_CONTEXT.writer
def _recovery_transition(context, recovery_id, new_status, expected, seen,
                         values):
    recovery = context.session.get(models.Recovery, recovery_id)
    if recovery is None:
        raise exception.RecoveryNotFound(recovery=recovery_id)
    current = recovery.status
    if 'before' in seen and current == new_status:
        status, attempts, owner = seen['before']
        want_attempts = attempts + (1 if new_status == 'running' else 0)
        if (status != current and recovery.attempts == want_attempts and
                recovery.owner == values.get('owner', owner)):
            LOG.info('Recovery %s: transition to %s found committed after '
                     'a lost connection', recovery.uuid, new_status)
            return recovery
    seen['before'] = (current, recovery.attempts, recovery.owner)
    if expected is not None and current != expected:
        raise exception.InvalidStateTransition(
            recovery=recovery_id, current=current, target=new_status)
    if new_status not in RECOVERY_TRANSITIONS[current]:
        raise exception.InvalidStateTransition(
            recovery=recovery_id, current=current, target=new_status)
    stmt = (sa.update(models.Recovery)
            .where(models.Recovery.id == recovery_id)
            .where(models.Recovery.status == current)
            .values(status=new_status, updated_at=_now(), **values))
    if new_status == 'running':
        stmt = stmt.values(attempts=models.Recovery.attempts + 1,
                           started_at=recovery.started_at or _now())
    if new_status in RECOVERY_FINAL or new_status == 'failed':
        stmt = stmt.values(finished_at=_now())
    result = context.session.execute(stmt)
    if result.rowcount != 1:
        raise exception.InvalidStateTransition(
            recovery=recovery_id, current='(changed concurrently)',
            target=new_status)
    context.session.expire(recovery)
    return context.session.get(models.Recovery, recovery_id)


# --- retention ----------------------------------------------------------

@retry_idempotent
@_CONTEXT.writer
def purge(context, history_before, decisions_before):
    """Delete history older than the given datetimes.

    Open host-state periods, current item rows and unfinished recoveries
    are never deleted. Returns a dict of table -> deleted row count.
    """
    session = context.session
    counts = {}
    res = session.execute(
        sa.delete(models.HostStatePeriod)
        .where(models.HostStatePeriod.cycle_to.is_not(None))
        .where(models.HostStatePeriod.created_at < history_before))
    counts['host_state_periods'] = res.rowcount
    res = session.execute(
        sa.delete(models.HardwareChange)
        .where(models.HardwareChange.created_at < history_before))
    counts['hardware_changes'] = res.rowcount
    res = session.execute(
        sa.delete(models.VMEvent)
        .where(models.VMEvent.created_at < history_before))
    counts['vm_events'] = res.rowcount
    # Decisions whose recovery is finished (or that have none).
    unfinished = (sa.select(models.Recovery.decision_id)
                  .where(models.Recovery.status.not_in(
                      tuple(RECOVERY_FINAL) + ('failed',))))
    old = (sa.select(models.Decision.id)
           .where(models.Decision.created_at < decisions_before)
           .where(models.Decision.id.not_in(unfinished)))
    old_ids = [row[0] for row in session.execute(old)]
    deleted = 0
    for start in range(0, len(old_ids), 500):
        chunk = old_ids[start:start + 500]
        rec_ids = sa.select(models.Recovery.id).where(
            models.Recovery.decision_id.in_(chunk))
        session.execute(sa.delete(models.RecoveryAction).where(
            models.RecoveryAction.recovery_id.in_(rec_ids)))
        session.execute(sa.delete(models.Recovery).where(
            models.Recovery.decision_id.in_(chunk)))
        deleted += session.execute(sa.delete(models.Decision).where(
            models.Decision.id.in_(chunk))).rowcount
    counts['decisions'] = deleted
    return counts


def purge_by_age(context, history_days, decision_days, now=None):
    now = now or _now()
    return purge(context,
                 now - datetime.timedelta(days=history_days),
                 now - datetime.timedelta(days=decision_days))


# --- REST API: reads and operator switches (vmguard.api) ----------------
#
# Lists take ``limit``, ``marker`` (the integer primary key of the last row
# of the previous page, or a node name for nodes) and ``sort_dir``
# ('asc' or 'desc'); the API resolves public markers (UUIDs) to ids.

@_CONTEXT.reader
def node_list_filtered(context, host_state=None, disabled=None,
                       maintenance=None, limit=None, marker=None,
                       sort_dir='asc'):
    query = sa.select(models.Node)
    if host_state is not None:
        query = query.where(models.Node.host_state == host_state)
    if disabled is not None:
        query = query.where(models.Node.disabled == disabled)
    if maintenance is not None:
        query = query.where(models.Node.maintenance == maintenance)
    query = _paginate(query, models.Node.name, marker, limit, sort_dir)
    return list(context.session.execute(query).scalars())


def _node_rows(context, model, node_id, order_by):
    """Current-state rows (one per item) of one node, in a stable order."""
    return list(context.session.execute(
        sa.select(model).where(model.node_id == node_id)
        .order_by(order_by)).scalars())


@_CONTEXT.reader
def node_external_items(context, node_id):
    return _node_rows(context, models.ExternalItem, node_id,
                      models.ExternalItem.item_id)


@_CONTEXT.reader
def node_service_states(context, node_id):
    return _node_rows(context, models.ServiceState, node_id,
                      models.ServiceState.name)


@_CONTEXT.reader
def host_state_period_list(context, node_id, since_cycle=None, cycle=None,
                           limit=None, marker=None, sort_dir='desc'):
    """Host-state periods of a node; ``cycle``: the one covering it."""
    query = sa.select(models.HostStatePeriod).where(
        models.HostStatePeriod.node_id == node_id)
    if cycle is not None:
        query = query.where(models.HostStatePeriod.cycle_from <= cycle).where(
            sa.or_(models.HostStatePeriod.cycle_to.is_(None),
                   models.HostStatePeriod.cycle_to >= cycle))
    if since_cycle is not None:
        # Periods that still covered a cycle >= since_cycle.
        query = query.where(sa.or_(
            models.HostStatePeriod.cycle_to.is_(None),
            models.HostStatePeriod.cycle_to >= since_cycle))
    query = _paginate(query, models.HostStatePeriod.id, marker, limit,
                      sort_dir)
    return list(context.session.execute(query).scalars())


@_CONTEXT.reader
def hardware_item_list(context, node_id):
    return _node_rows(context, models.HardwareItem, node_id,
                      models.HardwareItem.item_id)


@_CONTEXT.reader
def hardware_change_list(context, node_id, item_id=None, since_cycle=None,
                         limit=None, marker=None, sort_dir='desc'):
    query = sa.select(models.HardwareChange).where(
        models.HardwareChange.node_id == node_id)
    if item_id is not None:
        query = query.where(models.HardwareChange.item_id == item_id)
    if since_cycle is not None:
        query = query.where(models.HardwareChange.cycle >= since_cycle)
    query = _paginate(query, models.HardwareChange.id, marker, limit,
                      sort_dir)
    return list(context.session.execute(query).scalars())


@_CONTEXT.reader
def vm_list(context, node=None, state=None, limit=None, marker=None,
            sort_dir='asc'):
    """VMs as last seen, as (vm, node name) tuples, ordered by UUID."""
    query = (sa.select(models.VM, models.Node.name)
             .outerjoin(models.Node, models.VM.node_id == models.Node.id))
    if node is not None:
        query = query.where(models.Node.name == node)
    if state is not None:
        query = query.where(models.VM.state == state)
    query = _paginate(query, models.VM.uuid, marker, limit, sort_dir)
    return [tuple(row) for row in context.session.execute(query)]


@_CONTEXT.reader
def vm_get(context, uuid):
    """A VM as (vm, node name); raises NotFound."""
    row = context.session.execute(
        sa.select(models.VM, models.Node.name)
        .outerjoin(models.Node, models.VM.node_id == models.Node.id)
        .where(models.VM.uuid == uuid)).first()
    if row is None:
        raise exception.NotFound('VM %s could not be found.' % uuid)
    return tuple(row)


@_CONTEXT.reader
def vm_event_list(context, node=None, uuid=None, event=None, since=None,
                  limit=None, marker=None, sort_dir='asc'):
    query = sa.select(models.VMEvent)
    if node is not None:
        query = query.where(models.VMEvent.node == node)
    if uuid is not None:
        query = query.where(models.VMEvent.uuid == uuid)
    if event is not None:
        query = query.where(models.VMEvent.event == event)
    if since is not None:
        query = query.where(models.VMEvent.created_at >= since)
    query = _paginate(query, models.VMEvent.id, marker, limit, sort_dir)
    return list(context.session.execute(query).scalars())


@_CONTEXT.reader
def decision_get_by_uuid(context, uuid):
    decision = context.session.execute(
        sa.select(models.Decision).where(models.Decision.uuid == uuid)
    ).scalar_one_or_none()
    if decision is None:
        raise exception.DecisionNotFound(decision=uuid)
    return decision


@_CONTEXT.reader
def decision_list_filtered(context, node=None, rule=None, action=None,
                           vm=None, since=None, limit=None, marker=None,
                           sort_dir='asc'):
    """Decisions with their recovery, as (decision, recovery) tuples."""
    query = (sa.select(models.Decision, models.Recovery)
             .outerjoin(models.Recovery,
                        models.Recovery.decision_id == models.Decision.id))
    query = _decision_filters(query, node, rule, action, vm)
    if since is not None:
        query = query.where(models.Decision.created_at >= since)
    query = _paginate(query, models.Decision.id, marker, limit, sort_dir)
    return [tuple(row) for row in context.session.execute(query)]


@_CONTEXT.reader
def recovery_list_filtered(context, node=None, status=None, rule=None,
                           action=None, since=None, limit=None, marker=None,
                           sort_dir='asc'):
    """Recoveries with their decision, as (recovery, decision) tuples."""
    query = (sa.select(models.Recovery, models.Decision)
             .join(models.Decision,
                   models.Recovery.decision_id == models.Decision.id))
    query = _decision_filters(query, node, rule, action)
    if status is not None:
        query = query.where(models.Recovery.status == status)
    if since is not None:
        query = query.where(models.Recovery.created_at >= since)
    query = _paginate(query, models.Recovery.id, marker, limit, sort_dir)
    return [tuple(row) for row in context.session.execute(query)]


@_CONTEXT.reader
def recovery_get_by_uuid(context, uuid):
    """A recovery as (recovery, decision); raises RecoveryNotFound."""
    row = context.session.execute(
        sa.select(models.Recovery, models.Decision)
        .join(models.Decision,
              models.Recovery.decision_id == models.Decision.id)
        .where(models.Recovery.uuid == uuid)).first()
    if row is None:
        raise exception.RecoveryNotFound(recovery=uuid)
    return tuple(row)


@retry_read
@_CONTEXT.reader
def recovery_action_list(context, recovery_id):
    return list(context.session.execute(
        sa.select(models.RecoveryAction)
        .where(models.RecoveryAction.recovery_id == recovery_id)
        .order_by(models.RecoveryAction.id)).scalars())


@retry_idempotent
@_CONTEXT.writer
def node_enable(context, name):
    """Undo vmguard's disable of a node (operator action)."""
    node = _node_by_name(context.session, name)
    if node is None:
        raise exception.NodeNotFound(node=name)
    node.disabled = False
    node.disabled_reason = None
    node.disabled_at = None
    context.session.flush()
    return node


@retry_read
@_CONTEXT.reader
def setting_get(context, name, default=None):
    """Value of a global setting, or ``default`` when it is not set."""
    row = context.session.get(models.Setting, name)
    return default if row is None else row.value


@retry_idempotent
@_CONTEXT.writer
def setting_set(context, name, value):
    """Set a global setting; ``None`` removes it (the option applies)."""
    row = context.session.get(models.Setting, name)
    if value is None:
        if row is not None:
            context.session.delete(row)
        return None
    if row is None:
        context.session.add(models.Setting(name=name, value=value))
    else:
        row.value = value
    context.session.flush()
    return value


def effective_dry_run(context, node=None, default=False):
    """Is dry-run on for ``node`` (a Node row) or globally?

    Order: the node's own switch, then the global setting of the API, then
    ``default`` (the caller passes ``[recovery] dry_run``).
    """
    if node is not None and node.dry_run is not None:
        return bool(node.dry_run)
    value = setting_get(context, 'dry_run')
    if value is not None:
        return bool(value)
    return bool(default)


# --- recovery execution (vmguard.engine.recovery) -------------------------

@retry_read
@_CONTEXT.reader
def decision_get(context, decision_id):
    decision = context.session.get(models.Decision, decision_id)
    if decision is None:
        raise exception.DecisionNotFound(decision=decision_id)
    return decision


@retry_read
@_CONTEXT.reader
def recovery_list_unfinished(context):
    """Recoveries still to run or running, as (recovery, decision), oldest
    first."""
    query = (sa.select(models.Recovery, models.Decision)
             .join(models.Decision,
                   models.Recovery.decision_id == models.Decision.id)
             .where(models.Recovery.status.in_(('pending', 'running')))
             .order_by(models.Recovery.id))
    return [tuple(row) for row in context.session.execute(query)]


@retry_read
@_CONTEXT.reader
def recovery_action_get(context, recovery_id, server, action):
    return context.session.execute(
        sa.select(models.RecoveryAction)
        .where(models.RecoveryAction.recovery_id == recovery_id)
        .where(models.RecoveryAction.server == server)
        .where(models.RecoveryAction.action == action)
    ).scalar_one_or_none()


def recovery_action_create(context, recovery_id, server, action,
                           target=None, detail=None):
    """Record a Nova action before it is issued, once per key.

    Retried on a lost connection: the row a repeat finds is this call's
    own (only the engine running the recovery records its actions).

    :returns: (action, created). ``created`` is False when the action was
        already recorded (by an engine that died, or concurrently); the
        existing row is returned and nothing is written.
    """
    return _recovery_action_create(context, recovery_id, server, action,
                                   target, detail, {})


@retry_idempotent
@_CONTEXT.writer
def _recovery_action_create(context, recovery_id, server, action, target,
                            detail, seen):
    repeat = seen.setdefault('attempts', 0) > 0
    seen['attempts'] += 1
    row = models.RecoveryAction(recovery_id=recovery_id, server=server,
                                action=action, target=target,
                                status='issuing', detail=detail)
    try:
        with context.session.begin_nested():
            context.session.add(row)
            context.session.flush()
    except db_exc.DBDuplicateEntry:
        existing = context.session.execute(
            sa.select(models.RecoveryAction)
            .where(models.RecoveryAction.recovery_id == recovery_id)
            .where(models.RecoveryAction.server == server)
            .where(models.RecoveryAction.action == action)
        ).scalar_one()
        if repeat and existing.status == 'issuing':
            # Our own insert, committed before the connection was lost.
            return existing, True
        return existing, False
    return row, True


@retry_idempotent
@_CONTEXT.writer
def recovery_action_update(context, action_id, **values):
    row = context.session.get(models.RecoveryAction, action_id)
    if row is None:
        raise exception.NotFound('Recovery action %s could not be found.'
                                 % action_id)
    for key, value in values.items():
        setattr(row, key, value)
    context.session.flush()
    return row


# --- engine: derived state of snapshots (vmguard.engine.persistence) --------
#
# The engine writes what changed, not every cycle: one guarded UPDATE of
# the node row per snapshot, plus rows for host-state periods, hardware,
# external items, services and VMs only when they changed. Several nodes'
# changes may be written in one transaction (``engine_state_save``).

def _upsert(session, model, keys, values):
    """UPDATE the row matching ``keys``, INSERT it when there is none."""
    stmt = sa.update(model)
    for name, value in keys.items():
        stmt = stmt.where(getattr(model, name) == value)
    if session.execute(stmt.values(**values)).rowcount:
        return
    try:
        with session.begin_nested():
            session.execute(sa.insert(model).values(**keys, **values))
    except db_exc.DBDuplicateEntry:
        # Inserted concurrently (another engine, a take-over): update it.
        session.execute(stmt.values(**values))


def _bulk_insert(session, model, rows, keys):
    """INSERT rows the engine believes new in one statement; when one of
    them exists after all (a take-over, a VM that moved), upsert each."""
    if not rows:
        return
    try:
        with session.begin_nested():
            session.execute(sa.insert(model), rows)
    except db_exc.DBDuplicateEntry:
        for row in rows:
            row = dict(row)
            key = {k: row.pop(k) for k in keys}
            row.pop('created_at', None)
            _upsert(session, model, key, row)


# Tables whose new rows are inserted in bulk: delta key, model, unique key.
_BULK = (
    ('hardware_new', models.HardwareItem, ('node_id', 'item_id')),
    ('external_new', models.ExternalItem, ('node_id', 'item_id')),
    ('services_new', models.ServiceState, ('node_id', 'name')),
    ('vms_new', models.VM, ('uuid',)),
)


def _ensure_node_id(session, delta):
    """First snapshot of a node this engine has never stored: its row."""
    if delta.get('node_id') is not None:
        return
    delta['node_id'] = _node_in_session(session, delta['name']).id


def _node_in_session(session, name):
    """The node row of ``name``, created in ``session`` if there is none
    (in a savepoint: another engine may create it at the same moment)."""
    node = _node_by_name(session, name)
    if node is None:
        node = models.Node(name=name, host_state='unknown',
                           disabled=False, maintenance=False)
        try:
            with session.begin_nested():
                session.add(node)
                session.flush()
        except db_exc.DBDuplicateEntry:
            node = _node_by_name(session, name)
    return node


def _guarded_node_update(keys):
    """UPDATE of one node row unless a cycle as new is stored already
    (parameters ``_id``, ``_cycle`` and the values ``keys``)."""
    table = models.Node.__table__
    return (table.update()
            .where(table.c.id == sa.bindparam('_id'))
            .where(sa.or_(table.c.last_cycle.is_(None),
                          table.c.last_cycle < sa.bindparam('_cycle')))
            .values({k: sa.bindparam(k) for k in keys}))


def _update_nodes(session, deltas):
    """The guarded UPDATE of each delta's node row, as one executemany per
    set of columns. Returns the deltas written, in order; the others are
    older than (or as old as) what is stored: another engine stored that
    node further already, and they are not written (never backwards)."""
    now = _now()
    # A node twice in the batch (two cycles) goes into a later round, so
    # that in each round a node is written once.
    rounds = []
    seen = collections.Counter()
    for delta in deltas:
        n = seen[delta['node_id']]
        seen[delta['node_id']] += 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(delta)
    table = models.Node.__table__
    written = set()
    for batch in rounds:
        # The rows locked and read first: which deltas are new is known
        # before writing, exactly (the row-by-row rowcount, in one query).
        stored = dict(session.execute(
            sa.select(table.c.id, table.c.last_cycle)
            .where(table.c.id.in_(sorted({d['node_id'] for d in batch})))
            .with_for_update()).all())
        groups = collections.defaultdict(list)
        for delta in batch:
            last = stored.get(delta['node_id'])
            if last is not None and last >= delta['cycle']:
                continue
            values = dict(delta['node'], updated_at=now)
            groups[tuple(sorted(values))].append((delta, values))
        for keys, members in groups.items():
            session.execute(_guarded_node_update(keys), [
                dict(values, _id=d['node_id'], _cycle=d['cycle'])
                for d, values in members])
            written.update(id(d) for d, _values in members)
    return [d for d in deltas if id(d) in written]


def _save_node_delta(session, delta, bulk, now):
    """Queue the new rows of one stored node delta in ``bulk``."""
    node_id = delta['node_id']
    cycle = delta['cycle']
    period = delta.get('period')
    if period is not None:
        if period['close_at'] is not None:
            session.execute(
                sa.update(models.HostStatePeriod)
                .where(models.HostStatePeriod.node_id == node_id)
                .where(models.HostStatePeriod.cycle_to.is_(None))
                .values(cycle_to=period['close_at']))
            # A period opened by an earlier delta of this batch is not in
            # the table yet: close it here.
            opened = bulk['open_periods'].get(node_id)
            if opened is not None:
                opened['cycle_to'] = period['close_at']
        row = {'node_id': node_id, 'state': period['state'],
               'cycle_from': cycle, 'cycle_to': None,
               'reason': period['reason'], 'created_at': now}
        bulk['periods'].append(row)
        bulk['open_periods'][node_id] = row
    for key, model, _keys in _BULK:
        rows = delta.get(key)
        if rows:
            stamp = hasattr(model, 'created_at')
            for row in rows:
                row = dict(row, node_id=node_id)
                if stamp:
                    row['created_at'] = now
                bulk[key].append(row)
    for c in delta.get('hardware_changes', ()):
        bulk['changes'].append(dict(c, node_id=node_id, created_at=now))
    # Changed rows are written after the new rows of the whole batch: a
    # row may be new in an earlier delta of the same batch.
    bulk['later'].append((node_id, delta, now))


def _save_changed_rows(session, node_id, delta, now):
    for item in delta.get('hardware', ()):
        item = dict(item)
        item_id = item.pop('item_id')
        _upsert(session, models.HardwareItem,
                {'node_id': node_id, 'item_id': item_id}, item)
    for item in delta.get('external', ()):
        item = dict(item)
        item_id = item.pop('item_id')
        _upsert(session, models.ExternalItem,
                {'node_id': node_id, 'item_id': item_id}, item)
    for svc in delta.get('services', ()):
        svc = dict(svc)
        name = svc.pop('name')
        _upsert(session, models.ServiceState,
                {'node_id': node_id, 'name': name}, svc)
    for vm in delta.get('vms', ()):
        vm = dict(vm)
        uuid = vm.pop('uuid')
        vm['node_id'] = node_id
        vm['updated_at'] = now
        _upsert(session, models.VM, {'uuid': uuid}, vm)


@retry_on_deadlock
@_CONTEXT.writer
def engine_state_save(context, deltas, judge_states=(), decisions=()):
    """Store judged state and the decisions it caused in one transaction.

    The judge state of a node says which incidents it has decided; storing
    it together with those decisions means an engine that takes the node
    over after a crash neither repeats nor loses one. New rows of all the
    deltas are inserted with one statement per table.

    :param deltas: dicts built by ``vmguard.engine.persistence``: the
        node ``name``, ``node_id`` (None for a node not stored yet) and
        ``cycle``, the ``node`` row values, and optionally a new
        host-state ``period``, new rows (``hardware_new``,
        ``external_new``, ``services_new``, ``vms_new``), changed rows
        (``hardware``, ``external``, ``services``, ``vms``) and
        ``hardware_changes``.
    :param judge_states: (node name, judge state, cycle) to store on their
        own (decisions made by the clock, not by a snapshot).
    :param decisions: values for :func:`decision_create`.
    :returns: (node ids whose delta was stored, [(decision, created)]). A
        delta older than the node's stored cycle is skipped (never written
        backwards).
    """
    session = context.session
    bulk = {'periods': [], 'open_periods': {}, 'changes': [], 'later': []}
    for key, _model, _keys in _BULK:
        bulk[key] = []
    for delta in deltas:
        _ensure_node_id(session, delta)
    stored = []
    now = _now()
    for delta in _update_nodes(session, deltas):
        _save_node_delta(session, delta, bulk, now)
        stored.append(delta['node_id'])
    if bulk['periods']:
        session.execute(sa.insert(models.HostStatePeriod), bulk['periods'])
    if bulk['changes']:
        session.execute(sa.insert(models.HardwareChange), bulk['changes'])
    for key, model, keys in _BULK:
        _bulk_insert(session, model, bulk[key], keys)
    for node_id, delta, now in bulk['later']:
        _save_changed_rows(session, node_id, delta, now)
    for name, state, cycle in judge_states:
        session.execute(
            sa.update(models.Node).where(models.Node.name == name)
            .where(sa.or_(models.Node.judge_state_cycle.is_(None),
                          models.Node.judge_state_cycle <= cycle))
            .values(judge_state=state, judge_state_cycle=cycle))
    results = [decision_create(context, values) for values in decisions]
    return stored, results


@retry_idempotent
@_CONTEXT.writer
def engine_nodes_ensure(context, names):
    """Create the node rows that do not exist; return {name: id}.

    Names another engine creates at the same moment are left out of the
    answer (the caller falls back to :func:`node_get_or_create`).
    """
    session = context.session
    found = dict(session.execute(
        sa.select(models.Node.name, models.Node.id)
        .where(models.Node.name.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing:
        try:
            with session.begin_nested():
                session.execute(sa.insert(models.Node), [
                    {'name': n, 'host_state': 'unknown', 'disabled': False,
                     'maintenance': False, 'created_at': _now()}
                    for n in missing])
        except db_exc.DBDuplicateEntry:
            return found
        found.update(session.execute(
            sa.select(models.Node.name, models.Node.id)
            .where(models.Node.name.in_(missing))).all())
    return found


@_CONTEXT.reader
def engine_node_load_by_name(context, name):
    """:func:`engine_node_load` by node name; None for an unknown node."""
    node = _node_by_name(context.session, name)
    if node is None:
        return None
    return engine_node_load(context, node.id)


# Names per query of engine_node_load_by_names (bound parameters of IN).
LOAD_CHUNK = 500


@_CONTEXT.reader
def engine_node_load_by_names(context, names):
    """:func:`engine_node_load_by_name` of several nodes: {name: rows},
    unknown nodes left out. One query per table for every
    :data:`LOAD_CHUNK` names, whatever their number."""
    session = context.session
    names = list(dict.fromkeys(names))
    found = {}
    for start in range(0, len(names), LOAD_CHUNK):
        chunk = names[start:start + LOAD_CHUNK]
        nodes = list(session.execute(
            sa.select(models.Node).where(models.Node.name.in_(chunk))
        ).scalars())
        if not nodes:
            continue
        by_id = {}
        for node in nodes:
            by_id[node.id] = found[node.name] = {
                'node': node, 'period': None, 'hardware': [],
                'external': [], 'services': [], 'vms': []}
        ids = list(by_id)
        # The open period of the highest id, as engine_node_load.
        for period in session.execute(
                sa.select(models.HostStatePeriod)
                .where(models.HostStatePeriod.node_id.in_(ids))
                .where(models.HostStatePeriod.cycle_to.is_(None))
                .order_by(models.HostStatePeriod.id)).scalars():
            by_id[period.node_id]['period'] = period
        for key, model in (('hardware', models.HardwareItem),
                           ('external', models.ExternalItem),
                           ('services', models.ServiceState),
                           ('vms', models.VM)):
            for row in session.execute(
                    sa.select(model).where(model.node_id.in_(ids))
                    .order_by(model.id)).scalars():
                by_id[row.node_id][key].append(row)
    return found


@_CONTEXT.reader
def engine_node_load(context, node_id):
    """Current rows of one node: what the change detection starts from."""
    session = context.session
    period = session.execute(
        sa.select(models.HostStatePeriod)
        .where(models.HostStatePeriod.node_id == node_id)
        .where(models.HostStatePeriod.cycle_to.is_(None))
        .order_by(models.HostStatePeriod.id.desc()).limit(1)
    ).scalar_one_or_none()
    return {
        'node': session.get(models.Node, node_id),
        'period': period,
        'hardware': list(session.execute(
            sa.select(models.HardwareItem)
            .where(models.HardwareItem.node_id == node_id)).scalars()),
        'external': list(session.execute(
            sa.select(models.ExternalItem)
            .where(models.ExternalItem.node_id == node_id)).scalars()),
        'services': list(session.execute(
            sa.select(models.ServiceState)
            .where(models.ServiceState.node_id == node_id)).scalars()),
        'vms': list(session.execute(
            sa.select(models.VM)
            .where(models.VM.node_id == node_id)).scalars()),
    }


@retry_read
@_CONTEXT.reader
def engine_node_summaries(context):
    """Every node as a dict: what target selection and ownership need.

    Keys: ``name``, ``host_state``, ``disabled``, ``vcpus_free``,
    ``ram_mb_free``, ``last_cycle``, ``judge_state_cycle``,
    ``external_failed`` (an external item of the node is failed),
    ``maintenance``.
    """
    failed = (sa.select(models.ExternalItem.node_id)
              .where(models.ExternalItem.health == 'failed')
              .distinct().subquery())
    query = (sa.select(models.Node.name, models.Node.host_state,
                       models.Node.disabled, models.Node.vcpus_free,
                       models.Node.ram_mb_free, models.Node.last_cycle,
                       models.Node.judge_state_cycle,
                       failed.c.node_id.is_not(None).label('ext_failed'),
                       models.Node.maintenance)
             .outerjoin(failed, failed.c.node_id == models.Node.id)
             .order_by(models.Node.name))
    return [{'name': r[0], 'host_state': r[1], 'disabled': bool(r[2]),
             'vcpus_free': r[3], 'ram_mb_free': r[4], 'last_cycle': r[5],
             'judge_state_cycle': r[6], 'external_failed': bool(r[7]),
             'maintenance': bool(r[8])}
            for r in context.session.execute(query)]


@_CONTEXT.reader
def engine_judge_state_get(context, name):
    """(judge_state, judge_state_cycle) of a node, (None, None) if none."""
    row = context.session.execute(
        sa.select(models.Node.judge_state, models.Node.judge_state_cycle)
        .where(models.Node.name == name)).first()
    return (None, None) if row is None else (row[0], row[1])


@retry_idempotent
@_CONTEXT.writer
def engine_judge_state_save(context, name, state, cycle):
    """Store a node's judge state unless a newer one is stored already."""
    res = context.session.execute(
        sa.update(models.Node).where(models.Node.name == name)
        .where(sa.or_(models.Node.judge_state_cycle.is_(None),
                      models.Node.judge_state_cycle <= cycle))
        .values(judge_state=state, judge_state_cycle=cycle))
    return res.rowcount == 1


@_CONTEXT.reader
def engine_latest_cycle(context):
    """Highest cycle any node reported (R9 across engines)."""
    return context.session.execute(
        sa.select(sa.func.max(models.Node.last_cycle))).scalar()


@retry_on_deadlock
@_CONTEXT.writer
def node_mark_disabled(context, name, reason):
    """vmguard disabled a node (R4/R5/R6/R8/R9); only an operator undoes it.
    Returns False when it was disabled already."""
    res = context.session.execute(
        sa.update(models.Node).where(models.Node.name == name)
        .where(models.Node.disabled == sa.false())
        .values(disabled=True, disabled_reason=reason[:255],
                disabled_at=_now()))
    return res.rowcount == 1


@retry_on_deadlock
@_CONTEXT.writer
def vm_event_create(context, values):
    """Store a crash event once per (node, cycle, uuid, event, source).

    :returns: (event, created).
    """
    values = dict(values)
    values.setdefault('source', 'libvirt')
    row = models.VMEvent(**values)
    try:
        with context.session.begin_nested():
            context.session.add(row)
            context.session.flush()
    except db_exc.DBDuplicateEntry:
        existing = context.session.execute(
            sa.select(models.VMEvent)
            .where(models.VMEvent.node == values['node'])
            .where(models.VMEvent.cycle == values['cycle'])
            .where(models.VMEvent.uuid == values['uuid'])
            .where(models.VMEvent.event == values['event'])
            .where(models.VMEvent.source == values['source'])).scalar_one()
        return existing, False
    return row, True


@retry_idempotent
@_CONTEXT.writer
def vm_update_from_nova(context, uuid, host=None, values=None):
    """What Nova's notifications say of an instance: host, flavor size,
    task state. ``host`` is a node name (created when unknown)."""
    values = dict(values or {})
    session = context.session
    if host:
        values['node_id'] = _node_in_session(session, host).id
    values['updated_at'] = _now()
    stmt = sa.update(models.VM).where(models.VM.uuid == uuid).values(**values)
    if session.execute(stmt).rowcount:
        return
    values.setdefault('state', 'unknown')
    try:
        with session.begin_nested():
            session.execute(sa.insert(models.VM).values(
                uuid=uuid, created_at=_now(), **values))
    except db_exc.DBDuplicateEntry:
        session.execute(stmt)


@retry_idempotent
@_CONTEXT.writer
def vm_delete_by_uuid(context, uuid):
    """Nova deleted the instance: forget it."""
    context.session.execute(sa.delete(models.VM)
                            .where(models.VM.uuid == uuid))

# --- end of engine section ---------------------------------------------------
