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

import datetime

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmguard.common import exception
from vmguard.db.sqlalchemy import models

LOG = logging.getLogger(__name__)

_CONTEXT = enginefacade.transaction_context()
_CONTEXT.configure(sqlite_fk=True)

# Status machine of a recovery. "running" -> "running" is a take-over of a
# recovery whose engine died (owner changes, already issued Nova actions
# are kept and not issued again).
RECOVERY_TRANSITIONS = {
    'pending': frozenset(('running', 'skipped', 'cancelled')),
    'running': frozenset(('running', 'succeeded', 'failed', 'escalated')),
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


def get_engine():
    return _CONTEXT.writer.get_engine()


def dispose_engine():
    get_engine().dispose()


# --- nodes -----------------------------------------------------------------

def _node_by_name(session, name):
    return session.execute(
        sa.select(models.Node).where(models.Node.name == name)
    ).scalar_one_or_none()


@oslo_db_api.retry_on_deadlock
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


@_CONTEXT.reader
def node_get(context, name):
    node = _node_by_name(context.session, name)
    if node is None:
        raise exception.NodeNotFound(node=name)
    return node


@_CONTEXT.reader
def node_list(context, limit=None, marker=None):
    query = sa.select(models.Node).order_by(models.Node.name)
    if marker is not None:
        query = query.where(models.Node.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(context.session.execute(query).scalars())


@oslo_db_api.retry_on_deadlock
@_CONTEXT.writer
def node_update(context, name, values):
    node = _node_by_name(context.session, name)
    if node is None:
        raise exception.NodeNotFound(node=name)
    for key, value in values.items():
        setattr(node, key, value)
    return node


# --- decisions and recoveries ------------------------------------------------

@oslo_db_api.retry_on_deadlock
@_CONTEXT.writer
def decision_create(context, values):
    """Store a decision and its pending recovery, once per incident.

    :returns: (decision, created). ``created`` is False when a decision with
        the same incident key exists already (another engine made it); the
        existing one is returned and nothing is written.
    """
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    decision = models.Decision(**values)
    try:
        with context.session.begin_nested():
            context.session.add(decision)
            context.session.flush()
    except db_exc.DBDuplicateEntry:
        existing = context.session.execute(
            sa.select(models.Decision).where(
                models.Decision.incident_key == values['incident_key'])
        ).scalar_one()
        return existing, False
    recovery = models.Recovery(uuid=uuidutils.generate_uuid(),
                               decision_id=decision.id, status='pending',
                               attempts=0)
    context.session.add(recovery)
    context.session.flush()
    return decision, True


@_CONTEXT.reader
def decision_list(context, node=None, rule=None, action=None, since=None,
                  limit=None, marker=None, sort_dir='asc'):
    query = sa.select(models.Decision)
    if node is not None:
        query = query.where(models.Decision.node == node)
    if rule is not None:
        query = query.where(models.Decision.rule == rule)
    if action is not None:
        query = query.where(models.Decision.action == action)
    if since is not None:
        query = query.where(models.Decision.created_at >= since)
    order = models.Decision.id
    if sort_dir == 'desc':
        query = query.order_by(order.desc())
        if marker is not None:
            query = query.where(models.Decision.id < marker)
    else:
        query = query.order_by(order)
        if marker is not None:
            query = query.where(models.Decision.id > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(context.session.execute(query).scalars())


@_CONTEXT.reader
def recovery_get_by_decision(context, decision_id):
    return context.session.execute(
        sa.select(models.Recovery).where(
            models.Recovery.decision_id == decision_id)
    ).scalar_one()


@oslo_db_api.retry_on_deadlock
@_CONTEXT.writer
def recovery_transition(context, recovery_id, new_status, expected=None,
                        **values):
    """Move a recovery to ``new_status`` with compare-and-swap semantics.

    :param expected: status the caller believes the recovery has; the
        update only happens when it still has it (no lost updates between
        two engines).
    :raises: InvalidStateTransition, RecoveryNotFound
    """
    recovery = context.session.get(models.Recovery, recovery_id)
    if recovery is None:
        raise exception.RecoveryNotFound(recovery=recovery_id)
    current = recovery.status
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

@oslo_db_api.retry_on_deadlock
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
