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

"""Reads of the status page (``/v1/dashboard/...``): many nodes at once.

The per-node routes answer one node per request; the timeline of the
status page needs the host-state periods of every node over a range of
cycles, and the decisions made in it, in a few queries.
"""

import sqlalchemy as sa

from vmguard.common import exception
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.db.sqlalchemy import models

_CONTEXT = sqla_api._CONTEXT


@_CONTEXT.reader
def cycle_bounds(context):
    """(first stored cycle, highest cycle any node reported), or Nones."""
    first = context.session.execute(
        sa.select(sa.func.min(models.HostStatePeriod.cycle_from))).scalar()
    latest = context.session.execute(
        sa.select(sa.func.max(models.Node.last_cycle))).scalar()
    return first, latest


@_CONTEXT.reader
def timeline(context, cycle_from, cycle_to, node=None):
    """Nodes, their host-state periods and decisions within a range.

    :returns: (nodes ordered by name, {node id: [periods by cycle_from]},
        [(node, cycle, rule, action, uuid)] ordered by cycle).
    """
    session = context.session
    query = sa.select(models.Node).order_by(models.Node.name)
    if node is not None:
        query = query.where(models.Node.name == node)
    nodes = list(session.execute(query).scalars())
    periods = {n.id: [] for n in nodes}
    if not nodes:
        return nodes, periods, []
    period = models.HostStatePeriod
    query = (sa.select(period.node_id, period.state, period.cycle_from,
                       period.cycle_to)
             .where(period.cycle_from <= cycle_to)
             .where(sa.or_(period.cycle_to.is_(None),
                           period.cycle_to >= cycle_from))
             .order_by(period.node_id, period.cycle_from, period.id))
    if node is not None:
        query = query.where(period.node_id == nodes[0].id)
    for node_id, state, first, last in session.execute(query):
        if node_id in periods:
            periods[node_id].append((state, first, last))
    decision = models.Decision
    query = (sa.select(decision.node, decision.cycle, decision.rule,
                       decision.action, decision.uuid)
             .where(decision.cycle >= cycle_from)
             .where(decision.cycle <= cycle_to)
             .order_by(decision.cycle, decision.id))
    if node is not None:
        query = query.where(decision.node == node)
    decisions = [tuple(r) for r in session.execute(query)]
    return nodes, periods, decisions


@_CONTEXT.reader
def cycle_detail(context, name, cycle):
    """What a node's stored history says about one cycle.

    :returns: dict with ``node``, ``period`` (covering ``cycle`` or None),
        ``items`` ({item id: HardwareItem}) and ``changes``
        (HardwareChange rows up to ``cycle``, in order).
    :raises: NodeNotFound
    """
    session = context.session
    node = session.execute(
        sa.select(models.Node).where(models.Node.name == name)
    ).scalar_one_or_none()
    if node is None:
        raise exception.NodeNotFound(node=name)
    period = models.HostStatePeriod
    found = session.execute(
        sa.select(period).where(period.node_id == node.id)
        .where(period.cycle_from <= cycle)
        .where(sa.or_(period.cycle_to.is_(None), period.cycle_to >= cycle))
        .order_by(period.cycle_from.desc()).limit(1)).scalar_one_or_none()
    items = {h.item_id: h for h in session.execute(
        sa.select(models.HardwareItem)
        .where(models.HardwareItem.node_id == node.id)).scalars()}
    change = models.HardwareChange
    changes = list(session.execute(
        sa.select(change).where(change.node_id == node.id)
        .where(change.cycle <= cycle)
        .order_by(change.cycle, change.id)).scalars())
    return {'node': node, 'period': found, 'items': items,
            'changes': changes}
