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

"""Decisions of the judgment and the recoveries that execute them."""

from sqlalchemy import exc as sa_exc

from vmguard.api import util
from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.policies import decisions as decision_policies
from vmguard.policies import recoveries as recovery_policies

ACTIONS = ['reboot', 'evacuate', 'migrate_all', 'disable_node',
           'restart_service', 'escalate']
STATUSES = sorted(db_api.RECOVERY_TRANSITIONS)

_FILTERS = dict(
    node={'type': 'string', 'minLength': 1, 'maxLength': 255},
    rule={'type': 'string', 'pattern': '^(R[0-9]+|manual)$'},
    action={'type': 'string', 'enum': ACTIONS},
    since=util.SINCE,
)
DECISIONS_QUERY = util.query_schema(
    vm={'type': 'string', 'minLength': 1, 'maxLength': 36}, **_FILTERS)
RECOVERIES_QUERY = util.query_schema(
    status={'type': 'string', 'enum': STATUSES}, **_FILTERS)
NO_QUERY = {'type': 'object', 'properties': {},
            'additionalProperties': False}


def _recovery_summary(recovery):
    if recovery is None:
        return None
    return {
        'uuid': recovery.uuid,
        'status': recovery.status,
        'attempts': recovery.attempts,
        'error': recovery.error,
        'started_at': util.isotime(recovery.started_at),
        'finished_at': util.isotime(recovery.finished_at),
    }


def _decision(decision, recovery=None, evidence=True):
    body = {
        'uuid': decision.uuid,
        'node': decision.node,
        'cycle': decision.cycle,
        'action': decision.action,
        'vm': decision.vm,
        'service': decision.service,
        'target': decision.target,
        'rule': decision.rule,
        'reason': decision.reason,
        'engine': decision.engine,
        'created_at': util.isotime(decision.created_at),
        'recovery': _recovery_summary(recovery),
    }
    if evidence:
        body['evidence'] = decision.evidence
    return body


def _marker_id(context, query, getter):
    """Public UUID marker -> primary key of that row."""
    marker = query.get('marker')
    if marker is None:
        return None
    try:
        row = getter(context, marker)
    except exception.NotFound:
        raise util.HTTPError(400, "Invalid query string: marker '%s' not "
                                  "found." % marker,
                             util.QUERY_INVALID) from None
    return row[0].id if isinstance(row, tuple) else row.id


def list_decisions(req):
    context = util.context_of(req)
    policy.authorize(context, decision_policies.LIST)
    query = util.validate_query(req, DECISIONS_QUERY)
    limit = util.page_limit(query)
    rows = db_api.decision_list_filtered(
        context, node=query.get('node'), rule=query.get('rule'),
        action=query.get('action'), vm=query.get('vm'),
        since=util.parse_since(query.get('since')), limit=limit,
        marker=_marker_id(context, query, db_api.decision_get_by_uuid),
        sort_dir=query.get('sort_dir', 'asc'))
    items = [_decision(d, r) for d, r in rows]
    return util.json_response(util.paged(
        req, 'decisions', items, limit, lambda item: item['uuid']))


def show_decision(req, uuid):
    context = util.context_of(req)
    policy.authorize(context, decision_policies.SHOW)
    util.validate_query(req, NO_QUERY)
    try:
        decision = db_api.decision_get_by_uuid(context, uuid)
    except exception.NotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    try:
        recovery = db_api.recovery_get_by_decision(context, decision.id)
    except sa_exc.NoResultFound:
        recovery = None
    return util.json_response({'decision': _decision(decision, recovery)})


def _action(action):
    return {
        'server': action.server,
        'action': action.action,
        'target': action.target,
        'status': action.status,
        'request_id': action.request_id,
        'detail': action.detail,
        'created_at': util.isotime(action.created_at),
        'updated_at': util.isotime(action.updated_at),
    }


def _recovery(recovery, decision):
    body = _recovery_summary(recovery)
    body.update({
        'owner': recovery.owner,
        'created_at': util.isotime(recovery.created_at),
        'updated_at': util.isotime(recovery.updated_at),
        'decision': _decision(decision, evidence=False),
    })
    del body['decision']['recovery']
    return body


def list_recoveries(req):
    context = util.context_of(req)
    policy.authorize(context, recovery_policies.LIST)
    query = util.validate_query(req, RECOVERIES_QUERY)
    limit = util.page_limit(query)
    rows = db_api.recovery_list_filtered(
        context, node=query.get('node'), status=query.get('status'),
        rule=query.get('rule'), action=query.get('action'),
        since=util.parse_since(query.get('since')), limit=limit,
        marker=_marker_id(context, query, db_api.recovery_get_by_uuid),
        sort_dir=query.get('sort_dir', 'asc'))
    items = [_recovery(r, d) for r, d in rows]
    return util.json_response(util.paged(
        req, 'recoveries', items, limit, lambda item: item['uuid']))


def show_recovery(req, uuid):
    context = util.context_of(req)
    policy.authorize(context, recovery_policies.SHOW)
    util.validate_query(req, NO_QUERY)
    try:
        recovery, decision = db_api.recovery_get_by_uuid(context, uuid)
    except exception.NotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    body = _recovery(recovery, decision)
    body['actions'] = [_action(a) for a in
                       db_api.recovery_action_list(context, recovery.id)]
    return util.json_response({'recovery': body})
