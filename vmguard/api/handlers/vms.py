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

"""VMs as last seen by vmguard, and their crash events."""

from vmguard.api import util
from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.policies import events as event_policies
from vmguard.policies import vms as policies

LIST_QUERY = util.query_schema(
    node={'type': 'string', 'minLength': 1, 'maxLength': 255},
    state={'type': 'string', 'minLength': 1, 'maxLength': 16},
)
EVENTS_QUERY = util.query_schema(
    node={'type': 'string', 'minLength': 1, 'maxLength': 255},
    vm={'type': 'string', 'minLength': 1, 'maxLength': 36},
    event={'type': 'string', 'minLength': 1, 'maxLength': 32},
    since=util.SINCE,
)


def _vm(vm, node_name):
    return {
        'uuid': vm.uuid,
        'node': node_name,
        'state': vm.state,
        'reason': vm.reason,
        'vcpus': vm.vcpus,
        'ram_mb': vm.ram_mb,
        'task_state': vm.task_state,
        'changed_cycle': vm.changed_cycle,
        'created_at': util.isotime(vm.created_at),
        'updated_at': util.isotime(vm.updated_at),
    }


def list_vms(req):
    context = util.context_of(req)
    policy.authorize(context, policies.LIST)
    query = util.validate_query(req, LIST_QUERY)
    limit = util.page_limit(query)
    rows = db_api.vm_list(context, node=query.get('node'),
                          state=query.get('state'), limit=limit,
                          marker=query.get('marker'),
                          sort_dir=query.get('sort_dir', 'asc'))
    items = [_vm(vm, node) for vm, node in rows]
    return util.json_response(util.paged(
        req, 'vms', items, limit, lambda item: item['uuid']))


def show_vm(req, uuid):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    util.validate_query(req, {'type': 'object', 'properties': {},
                              'additionalProperties': False})
    try:
        vm, node = db_api.vm_get(context, uuid)
    except exception.NotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    return util.json_response({'vm': _vm(vm, node)})


def list_events(req):
    context = util.context_of(req)
    policy.authorize(context, event_policies.LIST)
    query = util.validate_query(req, EVENTS_QUERY)
    limit = util.page_limit(query)
    marker = query.get('marker')
    if marker is not None:
        marker = util.parse_int(marker, 'marker', 'the id of the last '
                                'event of the previous page')
    events = db_api.vm_event_list(
        context, node=query.get('node'), uuid=query.get('vm'),
        event=query.get('event'), since=util.parse_since(query.get('since')),
        limit=limit, marker=marker, sort_dir=query.get('sort_dir', 'asc'))
    items = [{
        'id': e.id,
        'node': e.node,
        'cycle': e.cycle,
        'vm': e.uuid,
        'event': e.event,
        'reason': e.reason,
        'source': e.source,
        'created_at': util.isotime(e.created_at),
    } for e in events]
    return util.json_response(util.paged(
        req, 'events', items, limit, lambda item: str(item['id'])))
