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

"""WSGI entry point of the test Nova's API, for gunicorn.

Nova's WSGI application parses ``sys.argv`` as its own command line; under
gunicorn that holds gunicorn's options, so it is cleared first. The copied
``api-paste.ini`` has no ``authtoken`` filter: Nova then trusts the
identity headers of a request, and this wrapper supplies an admin identity
for requests that carry none. Bind it to 127.0.0.1 only.
"""

import sys

sys.argv = sys.argv[:1]

from nova.wsgi import osapi_compute  # noqa: E402

IDENTITY = {
    'HTTP_X_USER_ID': 'vmguard-test-admin',
    'HTTP_X_PROJECT_ID': 'vmguard-test',
    'HTTP_X_ROLES': 'admin,member,reader',
}


def application(environ, start_response):
    if 'HTTP_X_USER_ID' not in environ:
        environ.update(IDENTITY)
    return osapi_compute.application(environ, start_response)
