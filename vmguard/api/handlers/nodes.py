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

"""Nodes: latest and per-cycle host state, hardware, operator switches."""

from oslo_log import log as logging

from vmguard.api import util
from vmguard.api.schemas import nodes as schema
from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.policies import nodes as policies

LOG = logging.getLogger(__name__)

HOST_STATES = ['normal', 'degraded', 'failed', 'unknown']

LIST_QUERY = util.query_schema(
    host_state={'type': 'string', 'enum': HOST_STATES},
    disabled=util.BOOL_QUERY,
    maintenance=util.BOOL_QUERY,
)
STATES_QUERY = util.query_schema(
    since_cycle={'type': 'integer', 'minimum': 0},
    cycle={'type': 'integer', 'minimum': 0},
)
CHANGES_QUERY = util.query_schema(
    item={'type': 'string', 'minLength': 1, 'maxLength': 255},
    since_cycle={'type': 'integer', 'minimum': 0},
)
NO_QUERY = {'type': 'object', 'properties': {},
            'additionalProperties': False}


def _node(node):
    return {
        'name': node.name,
        'host_state': node.host_state,
        'last_cycle': node.last_cycle,
        'last_report_at': util.isotime(node.last_report_at),
        'vcpus_free': node.vcpus_free,
        'ram_mb_free': node.ram_mb_free,
        'disabled': node.disabled,
        'disabled_reason': node.disabled_reason,
        'disabled_at': util.isotime(node.disabled_at),
        'maintenance': node.maintenance,
        'dry_run': node.dry_run,
        'created_at': util.isotime(node.created_at),
        'updated_at': util.isotime(node.updated_at),
    }


def _period(period, last_cycle=None):
    return {
        'id': period.id,
        'state': period.state,
        'cycle_from': period.cycle_from,
        # An open period lasts until the latest cycle of the node.
        'cycle_to': period.cycle_to,
        'open': period.cycle_to is None,
        'last_cycle': (period.cycle_to if period.cycle_to is not None
                       else last_cycle),
        'reason': period.reason,
        'created_at': util.isotime(period.created_at),
    }


def _get_node(context, name):
    try:
        return db_api.node_get(context, name)
    except exception.NodeNotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None


def list_nodes(req):
    context = util.context_of(req)
    policy.authorize(context, policies.LIST)
    query = util.validate_query(req, LIST_QUERY)
    limit = util.page_limit(query)
    nodes = db_api.node_list_filtered(
        context, host_state=query.get('host_state'),
        disabled=util.to_bool(query.get('disabled')),
        maintenance=util.to_bool(query.get('maintenance')),
        limit=limit, marker=query.get('marker'),
        sort_dir=query.get('sort_dir', 'asc'))
    items = [_node(n) for n in nodes]
    return util.json_response(util.paged(
        req, 'nodes', items, limit, lambda item: item['name']))


def show_node(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    util.validate_query(req, NO_QUERY)
    node = _get_node(context, name)
    body = _node(node)
    periods = db_api.host_state_period_list(context, node.id, limit=1,
                                            sort_dir='desc')
    # Why the node is in its current state: the open period's reason.
    body['host_state_period'] = (_period(periods[0], node.last_cycle)
                                 if periods else None)
    body['external'] = [
        {'id': e.item_id, 'kind': e.kind, 'health': e.health,
         'since_cycle': e.since_cycle}
        for e in db_api.node_external_items(context, node.id)]
    body['services'] = [
        {'name': s.name, 'state': s.state, 'since_cycle': s.since_cycle}
        for s in db_api.node_service_states(context, node.id)]
    body['effective_dry_run'] = db_api.effective_dry_run(
        context, node, default=util.CONF.recovery.dry_run)
    return util.json_response({'node': body})


def list_states(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    query = util.validate_query(req, STATES_QUERY)
    node = _get_node(context, name)
    limit = util.page_limit(query)
    marker = _int_marker(query)
    periods = db_api.host_state_period_list(
        context, node.id, since_cycle=query.get('since_cycle'),
        cycle=query.get('cycle'), limit=limit, marker=marker,
        sort_dir=query.get('sort_dir', 'desc'))
    items = [_period(p, node.last_cycle) for p in periods]
    return util.json_response(util.paged(
        req, 'states', items, limit, lambda item: str(item['id'])))


def list_hardware(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    util.validate_query(req, NO_QUERY)
    node = _get_node(context, name)
    items = [{
        'id': h.item_id,
        'kind': h.kind,
        'health': h.health,
        'identity': h.identity,
        'identity_path': h.identity_path,
        'baseline_path': h.baseline_path,
        'first_cycle': h.first_cycle,
        'changed_cycle': h.changed_cycle,
        'gone_cycle': h.gone_cycle,
    } for h in db_api.hardware_item_list(context, node.id)]
    return util.json_response({'hardware': items})


def list_hardware_changes(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    query = util.validate_query(req, CHANGES_QUERY)
    node = _get_node(context, name)
    limit = util.page_limit(query)
    changes = db_api.hardware_change_list(
        context, node.id, item_id=query.get('item'),
        since_cycle=query.get('since_cycle'), limit=limit,
        marker=_int_marker(query), sort_dir=query.get('sort_dir', 'desc'))
    items = [{
        'id': c.id,
        'item': c.item_id,
        'cycle': c.cycle,
        'health': c.health,
        'identity': c.identity,
        'identity_path': c.identity_path,
        'created_at': util.isotime(c.created_at),
    } for c in changes]
    return util.json_response(util.paged(
        req, 'hardware_changes', items, limit,
        lambda item: str(item['id'])))


def _int_marker(query):
    marker = query.get('marker')
    if marker is None:
        return None
    return util.parse_int(marker, 'marker', 'the id of the last item of '
                          'the previous page')


def set_maintenance(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.UPDATE)
    data = util.validate_body(req, schema.MAINTENANCE)
    _get_node(context, name)
    node = db_api.node_update(context, name,
                              {'maintenance': data['maintenance']})
    LOG.info('Node %s: maintenance set to %s by user %s (request %s)',
             name, data['maintenance'], context.user_id,
             context.request_id)
    return util.json_response({'node': _node(node)})


def enable(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.UPDATE)
    if req.body:
        util.validate_body(req, schema.ENABLE)
    before = _get_node(context, name)
    node = db_api.node_enable(context, name)
    LOG.info('Node %s enabled by user %s (request %s); it was disabled: %s '
             '(%s)', name, context.user_id, context.request_id,
             before.disabled, before.disabled_reason)
    return util.json_response({'node': _node(node)})


def set_dry_run(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.UPDATE)
    data = util.validate_body(req, schema.DRY_RUN)
    _get_node(context, name)
    node = db_api.node_update(context, name, {'dry_run': data['dry_run']})
    LOG.info('Node %s: dry-run set to %s by user %s (request %s)',
             name, data['dry_run'], context.user_id, context.request_id)
    return util.json_response({'node': _node(node)})
