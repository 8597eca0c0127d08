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

"""Authentication middlewares and the request context.

``keystone``: keystonemiddleware's auth_token validates the token (with
``delay_auth_decision`` so that version discovery stays public and the
401 answer has vmguard's error format). ``noauth``: the identity headers
(X-User-Id, X-Project-Id, X-Roles) are trusted as sent -- only for tests
and the all-in-one demo behind a trusted proxy.
"""

from oslo_log import log as logging

from vmguard.api import handler
from vmguard.api import util
from vmguard.common import context as vmg_context

LOG = logging.getLogger(__name__)


class NoAuthMiddleware:
    """Trust X-User-Id/X-Project-Id/X-Roles; mark the identity confirmed."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_USER_ID'):
            environ['HTTP_X_IDENTITY_STATUS'] = 'Confirmed'
            environ.setdefault('HTTP_X_ROLES', '')
        else:
            environ['HTTP_X_IDENTITY_STATUS'] = 'Invalid'
        return self.application(environ, start_response)


class ContextMiddleware:
    """401 without a confirmed identity; else build the RequestContext."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO') or '/'
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            if (path.rstrip('/') or '/') in handler.PUBLIC_PATHS:
                return self.application(environ, start_response)
            LOG.debug('Unauthenticated request to %s refused', path)
            resp = util.error_response(
                environ, 401, 'Authentication required: send a valid '
                'X-Auth-Token.', util.NOT_AUTHENTICATED)
            return resp(environ, start_response)
        context = vmg_context.RequestContext.from_environ(environ)
        environ[util.CONTEXT_ENVIRON] = context
        return self.application(environ, start_response)
