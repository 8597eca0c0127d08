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

"""Limits of what a client may send: the request body size.

oslo.middleware's ``sizelimit`` enforces ``[api] max_request_body_size``:
a declared length above it is refused before anything is read, a body
without a declared length stops being read at the limit. Its 413 (plain
text or HTML) becomes a 413 in the OpenStack error format, which never
echoes the body.
"""

from oslo_middleware import sizelimit
import webob

from vmguard.api import util


class BodySizeLimit:
    """WSGI middleware: 413 for a body larger than ``max_size`` bytes."""

    def __init__(self, application, max_size):
        self.max_size = max_size
        self._limited = sizelimit.RequestBodySizeLimiter(
            application, {'max_request_body_size': max_size})

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        resp = req.get_response(self._limited)
        if resp.status_int == 413 and resp.content_type != 'application/json':
            resp = util.error_response(
                environ, 413, 'The request body is larger than the %d bytes '
                'this API accepts ([api] max_request_body_size).'
                % self.max_size, util.TOO_LARGE)
        return resp(environ, start_response)
