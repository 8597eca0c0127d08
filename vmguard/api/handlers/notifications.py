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

"""Notifications of other monitors, manual recoveries (API 1.3).

Both are stored here and handed to the engine by an RPC cast
(``process_notification``, ``execute_decision``): the API never acts on
Nova or a BMC itself. A cast that cannot be sent is not an error for the
client: what is stored is taken by the periodic task of the node's
engine (see :mod:`vmguard.engine.inbox`).

``POST /v1/notifications`` is idempotent by the sender's ``id`` (a unique
key in the database): the same notification posted again answers 200
with the stored one; another notification under a used id is a 409.
"""

import threading

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from vmguard.api import microversion
from vmguard.api.schemas import notifications as schema
from vmguard.api import util
from vmguard.common import exception
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.engine import rpcapi
from vmguard import policy
from vmguard.policies import notifications as policies

LOG = logging.getLogger(__name__)

API_VERSION = '1.3'
MANUAL_RULE = 'manual'
# Attempts of a cast to the engine before the API leaves it to the
# engines' periodic task (the request must not hang on a broker outage).
CAST_RETRIES = 2

LIST_QUERY = util.query_schema(
    node={'type': 'string', 'minLength': 1, 'maxLength': 255},
    type={'type': 'string', 'enum': schema.TYPES},
    status={'type': 'string', 'enum': list(db_api.NOTIFICATION_STATUSES)},
    since=util.SINCE,
)
NO_QUERY = {'type': 'object', 'properties': {},
            'additionalProperties': False}

_lock = threading.Lock()
_engine_api = None


def engine_api():
    """The RPC client of the engine (one per API process)."""
    global _engine_api
    with _lock:
        if _engine_api is None:
            rpc.init(util.CONF)
            _engine_api = rpcapi.EngineAPI(util.CONF)
        return _engine_api


def _cast(context, method, uuid):
    try:
        getattr(engine_api(), method)(context, uuid, retry=CAST_RETRIES)
    except Exception as exc:
        LOG.warning('Cannot cast %s %s to the engine (%s: %s); the engine '
                    'owning its node takes it from the database within '
                    'its periodic task', method, uuid, type(exc).__name__,
                    exc)
        return False
    return True


# -- bodies -------------------------------------------------------------------

def _recovery(recovery):
    if recovery is None:
        return None
    return {'uuid': recovery.uuid, 'status': recovery.status,
            'attempts': recovery.attempts, 'error': recovery.error,
            'started_at': util.isotime(recovery.started_at),
            'finished_at': util.isotime(recovery.finished_at)}


def _decision(decision, recovery):
    return {'uuid': decision.uuid, 'node': decision.node,
            'cycle': decision.cycle, 'action': decision.action,
            'vm': decision.vm, 'service': decision.service,
            'target': decision.target, 'rule': decision.rule,
            'reason': decision.reason, 'evidence': decision.evidence,
            'created_at': util.isotime(decision.created_at),
            'recovery': _recovery(recovery)}


def _notification(context, row):
    decisions = [_decision(d, r) for d, r in
                 db_api.notification_decisions(context, row)]
    return {
        'id': row.client_id,
        'uuid': row.uuid,
        'type': row.type,
        'node': row.node,
        'vm': row.vm,
        'service': row.service,
        'reason': row.reason,
        'source': row.source,
        'detail': row.detail,
        'generated_at': util.isotime(row.generated_at),
        'status': row.status,
        'message': row.message,
        'engine': row.engine,
        'cycle': row.cycle,
        'user_id': row.user_id,
        'project_id': row.project_id,
        'created_at': util.isotime(row.created_at),
        'updated_at': util.isotime(row.updated_at),
        'decisions': decisions,
        # Done when every decision's recovery ended (none: nothing to do).
        'outcome': _outcome(row, decisions),
    }


def _outcome(row, decisions):
    if row.status in ('new', 'processing'):
        return 'pending'
    if row.status != 'accepted':
        return row.status
    if not decisions:
        return 'pending' if row.message else 'no decision'
    statuses = {(d['recovery'] or {}).get('status') for d in decisions}
    if statuses & {'pending', 'running', None}:
        return 'recovering'
    if statuses <= {'succeeded'}:
        return 'recovered'
    return ', '.join(sorted(s for s in statuses if s))


def _generated_at(value):
    if value is None:
        return None
    try:
        parsed = timeutils.parse_isotime(value)
    except ValueError:
        raise util.HTTPError(
            400, "Invalid body: field 'notification.generated_at': %r is "
                 "not an ISO 8601 date and time." % value[:64],
            util.SCHEMA_INVALID) from None
    return timeutils.normalize_time(parsed)


# -- notifications ------------------------------------------------------------

@microversion.min_version(API_VERSION)
def create_notification(req):
    context = util.context_of(req)
    policy.authorize(context, policies.CREATE)
    data = util.validate_body(req, schema.ENVELOPE)['notification']
    util.validate(data, schema.BY_TYPE[data['type']],
                  'Invalid %s notification' % data['type'])
    values = {
        'client_id': data['id'], 'type': data['type'], 'node': data['node'],
        'vm': data.get('vm'), 'service': data.get('service'),
        'reason': data.get('reason'), 'source': data.get('source'),
        'detail': data.get('detail'),
        'generated_at': _generated_at(data.get('generated_at')),
        'user_id': context.user_id, 'project_id': context.project_id,
        'request_id': (context.request_id or '')[:64] or None,
    }
    if values['vm'] is not None:
        values['vm'] = values['vm'].lower()
    row, created = db_api.notification_create(context, values)
    if not created:
        same = all(getattr(row, key) == values[key]
                   for key in db_api.NOTIFICATION_IDENTITY)
        if not same:
            raise util.HTTPError(
                409, "Notification id '%s' is used already by a %s "
                     "notification of node %s (received %s); a different "
                     "notification needs a new id." % (
                         row.client_id, row.type, row.node,
                         util.isotime(row.created_at)),
                util.CONFLICT)
        LOG.info('Notification %s posted again by user %s (request %s): '
                 'it is %s', row.client_id, context.user_id,
                 context.request_id, row.status)
        if row.status == 'new':
            _cast(context, 'process_notification', row.uuid)
        return util.json_response(
            {'notification': _notification(context, row)}, status=200)
    LOG.info('Notification %s: %s of node %s%s from %s (user %s, request '
             '%s)', row.client_id, row.type, row.node,
             ' vm %s' % row.vm if row.vm else
             (' service %s' % row.service if row.service else ''),
             row.source or 'unknown', context.user_id, context.request_id)
    _cast(context, 'process_notification', row.uuid)
    return util.json_response({'notification': _notification(context, row)},
                              status=202)


def _marker(context, query):
    marker = query.get('marker')
    if marker is None:
        return None
    try:
        return db_api.notification_get(context, marker).id
    except exception.NotFound:
        raise util.HTTPError(400, "Invalid query string: marker '%s' not "
                                  "found." % marker,
                             util.QUERY_INVALID) from None


@microversion.min_version(API_VERSION)
def list_notifications(req):
    context = util.context_of(req)
    policy.authorize(context, policies.LIST)
    query = util.validate_query(req, LIST_QUERY)
    limit = util.page_limit(query)
    rows = db_api.notification_list(
        context, node=query.get('node'), type=query.get('type'),
        status=query.get('status'),
        since=util.parse_since(query.get('since')), limit=limit,
        marker=_marker(context, query),
        sort_dir=query.get('sort_dir', 'desc'))
    items = [_notification(context, row) for row in rows]
    return util.json_response(util.paged(
        req, 'notifications', items, limit, lambda item: item['id']))


@microversion.min_version(API_VERSION)
def show_notification(req, id):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    util.validate_query(req, NO_QUERY)
    try:
        row = db_api.notification_get(context, id)
    except exception.NotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    return util.json_response({'notification': _notification(context, row)})


# -- manual recoveries --------------------------------------------------------

def _manual(req, context, node, action, reason, vm=None, evidence=None):
    busy = db_api.manual_recovery_unfinished(context, node, vm)
    if busy is not None:
        decision, recovery = busy
        raise util.HTTPError(
            409, 'A manual recovery of %s is %s already (decision %s, '
                 'recovery %s); wait for it to end.' % (
                     vm or node, recovery.status, decision.uuid,
                     recovery.uuid), util.CONFLICT)
    uuid = uuidutils.generate_uuid()
    try:
        cycle = db_api.node_get(context, node).last_cycle or 0
    except exception.NodeNotFound:
        cycle = 0
    evidence = dict(evidence or {}, requested_by=context.user_id,
                    project=context.project_id,
                    request_id=context.request_id)
    decision, _created = db_api.decision_create(context, {
        'uuid': uuid, 'incident_key': '%s:%s' % (MANUAL_RULE, uuid),
        'node': node, 'cycle': cycle, 'action': action, 'vm': vm,
        'rule': MANUAL_RULE, 'reason': reason, 'evidence': evidence})
    recovery = db_api.recovery_get_by_decision(context, decision.id)
    LOG.info('Manual recovery %s: %s of %s%s requested by user %s '
             '(request %s): %s', recovery.uuid, action, node,
             ' vm %s' % vm if vm else '', context.user_id,
             context.request_id, reason)
    _cast(context, 'execute_decision', decision.uuid)
    return util.json_response(
        {'decision': _decision(decision, recovery)}, status=202)


@microversion.min_version(API_VERSION)
def recover_node(req, name):
    context = util.context_of(req)
    policy.authorize(context, policies.RECOVER_NODE)
    data = util.validate_body(req, schema.RECOVER_NODE)
    try:
        node = db_api.node_get(context, name)
    except exception.NodeNotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    return _manual(req, context, name, 'migrate_all', data['reason'],
                   evidence={'host_state': node.host_state,
                             'last_cycle': node.last_cycle})


@microversion.min_version(API_VERSION)
def recover_vm(req, uuid):
    context = util.context_of(req)
    policy.authorize(context, policies.RECOVER_VM)
    data = util.validate_body(req, schema.RECOVER_VM)
    try:
        vm, node_name = db_api.vm_get(context, uuid)
    except exception.NotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    if node_name is None:
        raise util.HTTPError(409, 'VM %s is on no node vmguard knows; it '
                                  'cannot be recovered.' % uuid,
                             util.CONFLICT)
    host_state = db_api.node_get(context, node_name).host_state
    action = data.get('action')
    if action is None:
        # As R1/R3: in place on a healthy host, elsewhere otherwise.
        action = 'reboot' if host_state == 'normal' else 'evacuate'
    return _manual(req, context, node_name, action, data['reason'],
                   vm=vm.uuid, evidence={'host_state': host_state,
                                         'vm_state': vm.state,
                                         'vm_reason': vm.reason})
