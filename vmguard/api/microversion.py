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

"""Microversions of the vmguard API (``OpenStack-API-Version: vmguard X.Y``).

Placement-style: a request without the header gets the minimum version,
``latest`` the maximum. Add a version at the end of ``VERSIONS`` with a
line in its history here and in ``doc/source/api.rst``.

History:

* 1.0 -- initial version: nodes (host-state periods, hardware, identity-path
  history), VMs, events, decisions, recoveries; node maintenance, enable
  and per-node dry-run.
* 1.1 -- the global dry-run switch ``GET/PUT /v1/dry-run``.
* 1.2 -- the reads of the status page: ``GET /v1/dashboard/timeline`` and
  ``GET /v1/dashboard/nodes/{name}/cycles/{cycle}``.
* 1.3 -- failover segments and their (reserved) hosts:
  ``/v1/segments``, ``/v1/segments/{segment}``,
  ``/v1/segments/{segment}/hosts`` and
  ``/v1/segments/{segment}/hosts/{node}``; notifications of other
  monitors ``POST/GET /v1/notifications``, ``GET /v1/notifications/{id}``;
  manual recoveries
  ``POST /v1/nodes/{name}/recover`` and ``POST /v1/vms/{uuid}/recover``.
"""

import functools

import microversion_parse

from vmguard.api import util

SERVICE_TYPE = 'vmguard'
MICROVERSION_ENVIRON = '%s.microversion' % SERVICE_TYPE

VERSIONS = [
    '1.0',
    '1.1',
    '1.2',
    '1.3',
]


def min_version_string():
    return VERSIONS[0]


def max_version_string():
    return VERSIONS[-1]


def parse_version_string(value):
    return microversion_parse.parse_version_string(value)


class MicroversionMiddleware:
    """Put the requested microversion into the environ; echo it back."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        headers = microversion_parse.headers_from_wsgi_environ(environ)
        try:
            version = microversion_parse.extract_version(
                headers, SERVICE_TYPE, VERSIONS)
        except ValueError as exc:
            resp = util.error_response(
                environ, 406, 'Invalid microversion: %s. Supported: %s to '
                '%s.' % (exc, min_version_string(), max_version_string()),
                util.MICROVERSION)
            return resp(environ, start_response)
        except TypeError as exc:
            resp = util.error_response(
                environ, 400, 'Invalid microversion: %s' % exc,
                util.MICROVERSION)
            return resp(environ, start_response)
        environ[MICROVERSION_ENVIRON] = version
        value = '%s %s' % (SERVICE_TYPE, version)

        def _start_response(status, response_headers, exc_info=None):
            response_headers = list(response_headers)
            response_headers.append(('OpenStack-API-Version', value))
            response_headers.append(('Vary', 'OpenStack-API-Version'))
            return start_response(status, response_headers, exc_info)

        return self.application(environ, _start_response)


def requested(req):
    return req.environ[MICROVERSION_ENVIRON]


def min_version(version):
    """Decorator: the handler exists from ``version`` on (404 before)."""
    wanted = parse_version_string(version)

    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(req, **kwargs):
            if requested(req) < wanted:
                raise util.HTTPError(
                    404, 'The resource could not be found: it needs '
                         'microversion %s or later (OpenStack-API-Version: '
                         '%s %s).' % (version, SERVICE_TYPE, version),
                    util.NOT_FOUND)
            return handler(req, **kwargs)
        wrapper.min_version = version
        return wrapper
    return decorator
