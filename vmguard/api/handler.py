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
the allowed methods; an unknown path a 404.
"""

from oslo_log import log as logging
from oslo_policy import policy as oslo_policy
import routes
import webob.dec

from vmguard.api.handlers import dashboard
from vmguard.api.handlers import decisions
from vmguard.api.handlers import nodes
from vmguard.api.handlers import root
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
    '/v1/vms': {'GET': vms.list_vms},
    '/v1/vms/{uuid}': {'GET': vms.show_vm},
    '/v1/events': {'GET': vms.list_events},
    '/v1/decisions': {'GET': decisions.list_decisions},
    '/v1/decisions/{uuid}': {'GET': decisions.show_decision},
    '/v1/recoveries': {'GET': decisions.list_recoveries},
    '/v1/recoveries/{uuid}': {'GET': decisions.show_recovery},
    '/v1/dry-run': {'GET': settings.show_dry_run,
                    'PUT': settings.set_dry_run},
    # The status page (h17): its files (public, no data) and its reads.
    '/dashboard': {'GET': dashboard.page},
    '/dashboard/static/{filename}': {'GET': dashboard.static},
    '/v1/dashboard/timeline': {'GET': dashboard.timeline},
    '/v1/dashboard/nodes/{name}/cycles/{cycle}': {'GET': dashboard.cycle},
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
        match = self._map.match(path)
        if match is None:
            return util.error_response(
                req.environ, 404, 'The resource %s could not be found.'
                % req.path_info, util.NOT_FOUND)
        methods = self._declarations[match.pop('_route')]
        handler = methods.get(req.method)
        if handler is None:
            allow = ', '.join(sorted(methods))
            return util.error_response(
                req.environ, 405, 'Method %s is not allowed on %s; allowed: '
                '%s.' % (req.method, req.path_info, allow),
                headers={'Allow': allow})
        try:
            return handler(req, **match)
        except util.HTTPError as exc:
            return util.error_response(req.environ, exc.status, exc.detail,
                                       exc.code, exc.headers)
        except oslo_policy.PolicyNotAuthorized as exc:
            return util.error_response(req.environ, 403, str(exc),
                                       util.FORBIDDEN)
