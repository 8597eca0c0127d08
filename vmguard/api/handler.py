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

"""Routing of the REST API: ``ROUTE_DECLARATIONS`` and the dispatcher.

Each path maps HTTP methods to a handler ``handler(req, **url_args)``
returning a ``webob.Response``; a handler raises ``util.HTTPError`` for
an error answer. A known path with an unknown method is a 405 that lists
the allowed methods; an unknown path a 404. ``HEAD`` is answered on every
``GET`` route (the headers of the ``GET``, no body). Every client error,
a path or query string that is not UTF-8 included, is a 4xx in the
OpenStack error format.
"""

from oslo_log import log as logging
from oslo_policy import policy as oslo_policy
import routes
import webob.dec
import webob.exc

from vmguard.api.handlers import dashboard
from vmguard.api.handlers import decisions
from vmguard.api.handlers import nodes
from vmguard.api.handlers import notifications
from vmguard.api.handlers import root
from vmguard.api.handlers import segments
from vmguard.api.handlers import settings
from vmguard.api.handlers import vms
from vmguard.api import util

LOG = logging.getLogger(__name__)

ROUTE_DECLARATIONS = {
    '/': {'GET': root.home},
    '/v1': {'GET': root.v1},
    '/v1/nodes': {'GET': nodes.list_nodes},
    '/v1/nodes/{name}': {'GET': nodes.show_node},
    '/v1/nodes/{name}/states': {'GET': nodes.list_states},
    '/v1/nodes/{name}/hardware': {'GET': nodes.list_hardware},
    '/v1/nodes/{name}/hardware-changes': {
        'GET': nodes.list_hardware_changes},
    '/v1/nodes/{name}/maintenance': {'PUT': nodes.set_maintenance},
    '/v1/nodes/{name}/enable': {'PUT': nodes.enable},
    '/v1/nodes/{name}/dry-run': {'PUT': nodes.set_dry_run},
    '/v1/nodes/{name}/recover': {'POST': notifications.recover_node},
    '/v1/vms': {'GET': vms.list_vms},
    '/v1/vms/{uuid}': {'GET': vms.show_vm},
    '/v1/vms/{uuid}/recover': {'POST': notifications.recover_vm},
    '/v1/events': {'GET': vms.list_events},
    '/v1/decisions': {'GET': decisions.list_decisions},
    '/v1/decisions/{uuid}': {'GET': decisions.show_decision},
    '/v1/recoveries': {'GET': decisions.list_recoveries},
    '/v1/recoveries/{uuid}': {'GET': decisions.show_recovery},
    '/v1/dry-run': {'GET': settings.show_dry_run,
                    'PUT': settings.set_dry_run},
    # Notifications of other monitors (issue 16, API 1.3).
    '/v1/notifications': {'GET': notifications.list_notifications,
                          'POST': notifications.create_notification},
    '/v1/notifications/{id}': {'GET': notifications.show_notification},
    # The status page (h17): its files (public, no data) and its reads.
    '/dashboard': {'GET': dashboard.page},
    '/dashboard/static/{filename}': {'GET': dashboard.static},
    '/v1/dashboard/timeline': {'GET': dashboard.timeline},
    '/v1/dashboard/nodes/{name}/cycles/{cycle}': {'GET': dashboard.cycle},
    # Failover segments (issue 16, microversion 1.3).
    '/v1/segments': {'GET': segments.list_segments,
                     'POST': segments.create_segment},
    '/v1/segments/{segment}': {'GET': segments.show_segment,
                               'PATCH': segments.update_segment,
                               'DELETE': segments.delete_segment},
    '/v1/segments/{segment}/hosts': {'GET': segments.list_hosts,
                                     'POST': segments.add_host},
    '/v1/segments/{segment}/hosts/{node}': {
        'PATCH': segments.update_host, 'DELETE': segments.remove_host},
}

# Routes that answer without authentication (version discovery).
PUBLIC_PATHS = frozenset(('/', '/v1')) | dashboard.PUBLIC_PATHS


def make_map(declarations):
    mapper = routes.Mapper()
    for path in declarations:
        # Routes keeps string extras only: remember the declared path.
        mapper.connect(path, _route=path)
        # Tolerate a trailing slash like most OpenStack services.
        if path != '/':
            mapper.connect(path + '/', _route=path)
    return mapper


class Handler:
    """The innermost WSGI application: dispatch to ROUTE_DECLARATIONS."""

    def __init__(self, declarations=None):
        self._declarations = declarations or ROUTE_DECLARATIONS
        self._map = make_map(self._declarations)

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            path = req.path_info
        except UnicodeDecodeError:
            # No route (nor node name) has such a path.
            return util.error_response(
                req.environ, 404, 'The resource could not be found: its '
                'path is not valid UTF-8.', util.NOT_FOUND)
        shown = path if len(path) <= 200 else path[:200] + '...'
        match = self._map.match(path)
        if match is None:
            return util.error_response(
                req.environ, 404, 'The resource %s could not be found.'
                % shown, util.NOT_FOUND)
        methods = self._declarations[match.pop('_route')]
        handler = methods.get(req.method)
        if handler is None and req.method == 'HEAD':
            # webob answers a HEAD with the headers of the response only.
            handler = methods.get('GET')
        if handler is None:
            allowed = set(methods)
            if 'GET' in allowed:
                allowed.add('HEAD')
            allow = ', '.join(sorted(allowed))
            return util.error_response(
                req.environ, 405, 'Method %s is not allowed on %s; allowed: '
                '%s.' % (req.method[:16], shown, allow),
                headers={'Allow': allow})
        try:
            util.query_of(req)
            return handler(req, **match)
        except util.HTTPError as exc:
            return util.error_response(req.environ, exc.status, exc.detail,
                                       exc.code, exc.headers)
        except (oslo_policy.PolicyNotAuthorized,
                oslo_policy.InvalidScope) as exc:
            return util.error_response(req.environ, 403, str(exc),
                                       util.FORBIDDEN)
        except webob.exc.HTTPClientError as exc:
            # Raised while reading the body, e.g. by the size limit.
            return util.error_response(
                req.environ, exc.code, exc.explanation,
                util.TOO_LARGE if exc.code == 413 else util.UNDEFINED)
