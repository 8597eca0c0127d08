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

"""Failover segments and their hosts (microversion 1.3).

A segment is named by its name or its uuid in the path. A node belongs
to at most one segment: adding it to a second one is a 409.
"""

import webob

from oslo_log import log as logging

from vmguard.api import microversion
from vmguard.api import util
from vmguard.api.schemas import segments as schema
from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.policies import segments as policies

LOG = logging.getLogger(__name__)

VERSION = '1.3'
LIST_QUERY = util.query_schema(recovery_method=schema.METHOD)
NO_QUERY = {'type': 'object', 'properties': {},
            'additionalProperties': False}


def _host(host):
    return {
        'name': host.node,
        'reserved': host.reserved,
        'activated_at': util.isotime(host.activated_at),
        'activated_reason': host.activated_reason,
        'created_at': util.isotime(host.created_at),
    }


def _segment(segment, hosts):
    return {
        'uuid': segment.uuid,
        'name': segment.name,
        'recovery_method': segment.recovery_method,
        'description': segment.description,
        'hosts': [_host(h) for h in hosts],
        'created_at': util.isotime(segment.created_at),
        'updated_at': util.isotime(segment.updated_at),
    }


def _errors(fn, *args):
    try:
        return fn(*args)
    except exception.NotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    except exception.Conflict as exc:
        raise util.HTTPError(409, exc.message) from None


def _show(context, ident):
    segment = _errors(db_api.segment_get, context, ident)
    return _segment(segment, db_api.segment_host_list(context,
                                                      segment.uuid))


@microversion.min_version(VERSION)
def list_segments(req):
    context = util.context_of(req)
    policy.authorize(context, policies.LIST)
    query = util.validate_query(req, LIST_QUERY)
    limit = util.page_limit(query)
    segments = db_api.segment_list(
        context, limit=limit, marker=query.get('marker'),
        sort_dir=query.get('sort_dir', 'asc'),
        recovery_method=query.get('recovery_method'))
    items = [_segment(s, db_api.segment_host_list(context, s.uuid))
             for s in segments]
    return util.json_response(util.paged(
        req, 'segments', items, limit, lambda item: item['name']))


@microversion.min_version(VERSION)
def create_segment(req):
    context = util.context_of(req)
    policy.authorize(context, policies.CREATE)
    data = util.validate_body(req, schema.CREATE)
    hosts = data.pop('hosts', [])
    segment = _errors(db_api.segment_create, context, data, hosts)
    LOG.info('Segment %s (%s, %d hosts) created by user %s (request %s)',
             segment.name, segment.recovery_method, len(hosts),
             context.user_id, context.request_id)
    return util.json_response({'segment': _show(context, segment.uuid)},
                              status=201)


@microversion.min_version(VERSION)
def show_segment(req, segment):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    util.validate_query(req, NO_QUERY)
    return util.json_response({'segment': _show(context, segment)})


@microversion.min_version(VERSION)
def update_segment(req, segment):
    context = util.context_of(req)
    policy.authorize(context, policies.UPDATE)
    data = util.validate_body(req, schema.UPDATE)
    row = _errors(db_api.segment_update, context, segment, data)
    LOG.info('Segment %s updated by user %s (request %s): %s', row.name,
             context.user_id, context.request_id, sorted(data))
    return util.json_response({'segment': _show(context, row.uuid)})


@microversion.min_version(VERSION)
def delete_segment(req, segment):
    context = util.context_of(req)
    policy.authorize(context, policies.DELETE)
    row = _errors(db_api.segment_delete, context, segment)
    LOG.info('Segment %s deleted by user %s (request %s)', row.name,
             context.user_id, context.request_id)
    return webob.Response(status=204)


@microversion.min_version(VERSION)
def list_hosts(req, segment):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    util.validate_query(req, NO_QUERY)
    hosts = _errors(db_api.segment_host_list, context, segment)
    return util.json_response({'hosts': [_host(h) for h in hosts]})


@microversion.min_version(VERSION)
def add_host(req, segment):
    context = util.context_of(req)
    policy.authorize(context, policies.HOST_ADD)
    data = util.validate_body(req, schema.HOST)
    host = _errors(db_api.segment_host_add, context, segment, data['name'],
                   data.get('reserved', False))
    LOG.info('Node %s added to segment %s (reserved: %s) by user %s '
             '(request %s)', host.node, segment, host.reserved,
             context.user_id, context.request_id)
    return util.json_response({'host': _host(host)}, status=201)


@microversion.min_version(VERSION)
def update_host(req, segment, node):
    context = util.context_of(req)
    policy.authorize(context, policies.HOST_UPDATE)
    data = util.validate_body(req, schema.HOST_UPDATE)
    host = _errors(db_api.segment_host_update, context, segment, node,
                   data)
    LOG.info('Host %s of segment %s: reserved set to %s by user %s '
             '(request %s)', node, segment, host.reserved, context.user_id,
             context.request_id)
    return util.json_response({'host': _host(host)})


@microversion.min_version(VERSION)
def remove_host(req, segment, node):
    context = util.context_of(req)
    policy.authorize(context, policies.HOST_REMOVE)
    _errors(db_api.segment_host_remove, context, segment, node)
    LOG.info('Node %s removed from segment %s by user %s (request %s)',
             node, segment, context.user_id, context.request_id)
    return webob.Response(status=204)
