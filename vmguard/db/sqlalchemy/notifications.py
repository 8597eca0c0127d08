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

"""Database API of the notifications of other monitors and of manual
recoveries (``vmguard.db.api`` delegates here)."""

from oslo_utils import uuidutils
import sqlalchemy as sa

from vmguard.common import exception
from vmguard.db.sqlalchemy import api as _api
from vmguard.db.sqlalchemy import models

_CONTEXT = _api._CONTEXT

# Statuses of a notification; ``new`` and ``processing`` are unfinished.
NOTIFICATION_STATUSES = ('new', 'processing', 'accepted', 'ignored',
                         'error')
# What makes two notifications with one client id the same notification.
NOTIFICATION_IDENTITY = ('type', 'node', 'vm', 'service')


@_api.retry_on_deadlock
@_CONTEXT.writer
def notification_create(context, values):
    """Store a notification once per client id.

    :returns: (notification, created). ``created`` is False when the
        client id is stored already; the stored row is returned and
        nothing is written.
    """
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    values.setdefault('status', 'new')
    return _api._add_once(context, models.Notification(**values),
                         models.Notification.client_id, values['client_id'])


def _get(session, column, value):
    row = session.execute(sa.select(models.Notification).where(
        column == value)).scalar_one_or_none()
    if row is None:
        raise exception.NotificationNotFound(notification=value)
    return row


@_api.retry_read
@_CONTEXT.reader
def notification_get(context, client_id):
    """A notification by the id its sender gave it."""
    return _get(context.session, models.Notification.client_id, client_id)


@_api.retry_read
@_CONTEXT.reader
def notification_get_by_uuid(context, uuid):
    return _get(context.session, models.Notification.uuid, uuid)


@_CONTEXT.reader
def notification_list(context, node=None, type=None, status=None,
                      since=None, limit=None, marker=None, sort_dir='desc'):
    """Notifications, newest first by default; ``marker`` a row id."""
    query = sa.select(models.Notification)
    if node is not None:
        query = query.where(models.Notification.node == node)
    if type is not None:
        query = query.where(models.Notification.type == type)
    if status is not None:
        query = query.where(models.Notification.status == status)
    if since is not None:
        query = query.where(models.Notification.created_at >= since)
    query = _api._paginate(query, models.Notification.id, marker, limit,
                           sort_dir)
    return list(context.session.execute(query).scalars())


@_api.retry_read
@_CONTEXT.reader
def notification_list_unfinished(context, before=None):
    """Notifications no engine finished: ``new`` ones (stored before
    ``before``) and ``processing`` ones, oldest first."""
    new = models.Notification.status == 'new'
    if before is not None:
        new = sa.and_(new, models.Notification.created_at < before)
    query = (sa.select(models.Notification)
             .where(sa.or_(new, models.Notification.status == 'processing'))
             .order_by(models.Notification.id))
    return list(context.session.execute(query).scalars())


@_api.retry_on_deadlock
@_CONTEXT.writer
def notification_claim(context, uuid, engine):
    """Compare-and-swap ``new`` -> ``processing`` for ``engine``; an
    engine may also take again what it was processing when it stopped.

    :returns: the row, or None when another engine has it or it is
        finished.
    """
    table = models.Notification
    mine = sa.and_(table.status == 'processing', table.engine == engine)
    result = context.session.execute(
        sa.update(table).where(table.uuid == uuid)
        .where(sa.or_(table.status == 'new', mine))
        .values(status='processing', engine=engine,
                updated_at=_api._now()))
    if result.rowcount != 1:
        return None
    return _get(context.session, table.uuid, uuid)


@_api.retry_idempotent
@_CONTEXT.writer
def notification_finish(context, uuid, status, message=None,
                        decisions=None, cycle=None):
    """The outcome of a notification an engine processed."""
    if status not in NOTIFICATION_STATUSES:
        raise ValueError('unknown notification status %r' % status)
    row = _get(context.session, models.Notification.uuid, uuid)
    row.status = status
    row.message = message
    if decisions is not None:
        row.decisions = list(decisions)
    if cycle is not None:
        row.cycle = cycle
    context.session.flush()
    return row


@_api.retry_read
@_CONTEXT.reader
def notification_decisions(context, row):
    """The decisions a notification made, with their recoveries, as
    (decision, recovery) tuples in the order they were made.

    A ``vm_crashed`` notification whose crash waited for its cycle's
    snapshot gets its decision later: it is the decision about that VM
    of that node and cycle.
    """
    query = (sa.select(models.Decision, models.Recovery)
             .outerjoin(models.Recovery,
                        models.Recovery.decision_id == models.Decision.id))
    if row.decisions:
        query = query.where(models.Decision.uuid.in_(list(row.decisions)))
    elif row.type == 'vm_crashed' and row.cycle is not None:
        query = (query.where(models.Decision.node == row.node)
                 .where(models.Decision.vm == row.vm)
                 .where(models.Decision.cycle == row.cycle))
    else:
        return []
    return [tuple(r) for r in context.session.execute(
        query.order_by(models.Decision.id))]


@_api.retry_read
@_CONTEXT.reader
def manual_recovery_unfinished(context, node, vm=None):
    """An unfinished recovery of a manual decision about ``node`` (and
    ``vm``), as (decision, recovery), or None."""
    query = (sa.select(models.Decision, models.Recovery)
             .join(models.Recovery,
                   models.Recovery.decision_id == models.Decision.id)
             .where(models.Decision.rule == 'manual')
             .where(models.Decision.node == node)
             .where(models.Recovery.status.in_(('pending', 'running'))))
    if vm is not None:
        query = query.where(models.Decision.vm == vm)
    else:
        query = query.where(models.Decision.vm.is_(None))
    row = context.session.execute(query.limit(1)).first()
    return tuple(row) if row else None


@_api.retry_read
@_CONTEXT.reader
def notification_decision_uuids(context, incident_keys):
    """Uuids of the stored decisions with these incident keys, in the
    order of the keys (missing ones left out)."""
    if not incident_keys:
        return []
    rows = context.session.execute(
        sa.select(models.Decision.incident_key, models.Decision.uuid)
        .where(models.Decision.incident_key.in_(list(incident_keys))))
    found = dict(tuple(r) for r in rows)
    return [found[k] for k in incident_keys if k in found]
