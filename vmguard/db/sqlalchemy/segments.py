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

"""Database API of failover segments and their hosts.

Reached through :mod:`vmguard.db.api` like the rest of the database API.
A node belongs to at most one segment (a unique key on the host's node
name): adding a node that another segment holds is a conflict.
"""

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmguard.common import exception
from vmguard.db.sqlalchemy import api
from vmguard.db.sqlalchemy import models

_CONTEXT = api._CONTEXT


def _segment_query(ident):
    query = sa.select(models.Segment)
    if uuidutils.is_uuid_like(ident):
        return query.where(sa.or_(models.Segment.uuid == ident,
                                  models.Segment.name == ident))
    return query.where(models.Segment.name == ident)


def _segment(session, ident):
    row = session.execute(_segment_query(ident)).scalars().first()
    if row is None:
        raise exception.SegmentNotFound(segment=ident)
    return row


def _hosts(session, segment_id):
    return list(session.execute(
        sa.select(models.SegmentHost)
        .where(models.SegmentHost.segment_id == segment_id)
        .order_by(models.SegmentHost.node)).scalars())


def _host_conflict(session, names):
    taken = session.execute(
        sa.select(models.SegmentHost.node, models.Segment.name)
        .join(models.Segment,
              models.Segment.id == models.SegmentHost.segment_id)
        .where(models.SegmentHost.node.in_(list(names)))).all()
    if taken:
        raise exception.SegmentConflict(reason='; '.join(
            'node %s is already in segment %s' % (node, segment)
            for node, segment in sorted(taken)))


@api.retry_on_deadlock
@_CONTEXT.writer
def segment_create(context, values, hosts=()):
    """Create a segment with its hosts: [{'name', 'reserved'}]."""
    session = context.session
    if session.execute(_segment_query(values['name'])).first() is not None:
        raise exception.SegmentConflict(
            reason='a segment named %s exists' % values['name'])
    names = [h['name'] for h in hosts]
    if len(set(names)) != len(names):
        raise exception.SegmentConflict(reason='a node is listed twice')
    _host_conflict(session, names)
    segment = models.Segment(uuid=uuidutils.generate_uuid(), **values)
    session.add(segment)
    try:
        session.flush()
        for host in hosts:
            session.add(models.SegmentHost(
                segment_id=segment.id, node=host['name'],
                reserved=bool(host.get('reserved', False))))
        session.flush()
    except db_exc.DBDuplicateEntry as exc:
        # Created concurrently by another request.
        raise exception.SegmentConflict(
            reason='segment or node taken concurrently (%s)'
            % ', '.join(exc.columns or ())) from exc
    return segment


@api.retry_read
@_CONTEXT.reader
def segment_get(context, ident):
    """A segment by name or uuid; raises SegmentNotFound."""
    return _segment(context.session, ident)


@api.retry_read
@_CONTEXT.reader
def segment_list(context, limit=None, marker=None, sort_dir='asc',
                 recovery_method=None):
    query = sa.select(models.Segment)
    if recovery_method is not None:
        query = query.where(models.Segment.recovery_method ==
                            recovery_method)
    query = api._paginate(query, models.Segment.name, marker, limit,
                          sort_dir)
    return list(context.session.execute(query).scalars())


@api.retry_on_deadlock
@_CONTEXT.writer
def segment_update(context, ident, values):
    session = context.session
    segment = _segment(session, ident)
    new_name = values.get('name')
    if new_name is not None and new_name != segment.name:
        if session.execute(_segment_query(new_name)).first() is not None:
            raise exception.SegmentConflict(
                reason='a segment named %s exists' % new_name)
    for key, value in values.items():
        setattr(segment, key, value)
    try:
        session.flush()
    except db_exc.DBDuplicateEntry as exc:
        raise exception.SegmentConflict(
            reason='a segment named %s exists' % new_name) from exc
    return segment


@api.retry_on_deadlock
@_CONTEXT.writer
def segment_delete(context, ident):
    """Delete a segment and its hosts (the nodes themselves stay)."""
    session = context.session
    segment = _segment(session, ident)
    session.execute(sa.delete(models.SegmentHost).where(
        models.SegmentHost.segment_id == segment.id))
    session.delete(segment)
    return segment


@api.retry_read
@_CONTEXT.reader
def segment_host_list(context, ident):
    """The hosts of a segment, by node name."""
    session = context.session
    return _hosts(session, _segment(session, ident).id)


@api.retry_on_deadlock
@_CONTEXT.writer
def segment_host_add(context, ident, node, reserved=False):
    session = context.session
    segment = _segment(session, ident)
    _host_conflict(session, [node])
    host = models.SegmentHost(segment_id=segment.id, node=node,
                              reserved=bool(reserved))
    session.add(host)
    try:
        session.flush()
    except db_exc.DBDuplicateEntry as exc:
        raise exception.SegmentConflict(
            reason='node %s was added to a segment concurrently'
            % node) from exc
    return host


def _host(session, segment, node):
    host = session.execute(
        sa.select(models.SegmentHost)
        .where(models.SegmentHost.segment_id == segment.id)
        .where(models.SegmentHost.node == node)).scalar_one_or_none()
    if host is None:
        raise exception.SegmentHostNotFound(segment=segment.name, node=node)
    return host


@api.retry_on_deadlock
@_CONTEXT.writer
def segment_host_update(context, ident, node, values):
    """Change a host (``reserved``). Making it reserved again clears
    its activation: vmguard enables it again when it is next used."""
    session = context.session
    host = _host(session, _segment(session, ident), node)
    if 'reserved' in values:
        reserved = bool(values['reserved'])
        if reserved and not host.reserved:
            host.activated_at = None
            host.activated_reason = None
        host.reserved = reserved
    session.flush()
    return host


@api.retry_on_deadlock
@_CONTEXT.writer
def segment_host_remove(context, ident, node):
    session = context.session
    host = _host(session, _segment(session, ident), node)
    session.delete(host)
    return host


@api.retry_idempotent
@_CONTEXT.writer
def segment_host_activate(context, node, reason):
    """A recovery used reserved host ``node`` (vmguard enabled it in Nova).

    Returns True the first time (it was not activated yet)."""
    res = context.session.execute(
        sa.update(models.SegmentHost)
        .where(models.SegmentHost.node == node)
        .where(models.SegmentHost.activated_at.is_(None))
        .values(activated_at=api._now(), activated_reason=reason[:255]))
    return res.rowcount == 1


@api.retry_read
@_CONTEXT.reader
def segment_map(context):
    """Every segment with its hosts, as plain data for the engine::

        [{'name', 'uuid', 'recovery_method',
          'hosts': [{'name', 'reserved', 'activated_at'}]}]
    """
    session = context.session
    segments = {s.id: {'name': s.name, 'uuid': s.uuid,
                       'recovery_method': s.recovery_method, 'hosts': []}
                for s in session.execute(sa.select(models.Segment)).scalars()}
    for host in session.execute(
            sa.select(models.SegmentHost)
            .order_by(models.SegmentHost.node)).scalars():
        segment = segments.get(host.segment_id)
        if segment is not None:
            segment['hosts'].append({
                'name': host.node, 'reserved': host.reserved,
                'activated_at': host.activated_at})
    return sorted(segments.values(), key=lambda s: s['name'])
