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

"""A vmguard-api that cannot work says so, instead of a 500 per call.

* Keystone unconfigured (``[api] auth_strategy = keystone`` without an
  auth plugin in ``[keystone_authtoken]``): keystonemiddleware could not
  validate a single token. :func:`check_keystone` refuses to build the
  application, with a message that says what to set.
* Schema not synced (``vmguard-manage db sync`` not run after an
  install or upgrade): :class:`SchemaCheck` answers 503 in the OpenStack
  error format, saying so, until the schema is at this release's revision
  (checked again at most every few seconds; once right, never again).
"""

import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging

from vmguard.api import handler
from vmguard.api import util
from vmguard.db import migration

LOG = logging.getLogger(__name__)


class NotConfigured(Exception):
    """The API cannot work with this configuration."""


def check_keystone(conf):
    """Raise :class:`NotConfigured` when tokens cannot be validated.

    Call it after keystonemiddleware's options are registered (after the
    ``AuthProtocol`` is built).
    """
    group = conf.keystone_authtoken
    if 'auth_type' not in group or not group.auth_type:
        raise NotConfigured(
            '[api] auth_strategy is keystone, but [keystone_authtoken] has '
            'no auth_type: vmguard-api could not validate any token. Set '
            '[keystone_authtoken] auth_type (e.g. password), auth_url, '
            'username, password, project_name, user_domain_name, '
            'project_domain_name and www_authenticate_uri -- or, for a '
            'test setup only, [api] auth_strategy = noauth.')


class SchemaCheck:
    """WSGI middleware: 503 while the schema is not at this release's."""

    def __init__(self, application, engine=None, interval=5.0):
        self.application = application
        self._engine = engine
        self._interval = interval
        self._lock = threading.Lock()
        self._ready = False
        self._checked_at = None
        self._problem = None

    def _check(self):
        try:
            current = migration.version(engine=self._engine)
        except db_exc.DBConnectionError:
            # Unreachable: each call answers 503 for that (FaultWrapper).
            return None
        head = migration.head()
        if current == head:
            return None
        LOG.error('The database schema is at revision %s, this release '
                  'needs %s: run vmguard-manage db sync.', current, head)
        return ('The database schema is at revision %s, this release of '
                'vmguard needs %s: the operator must run "vmguard-manage db '
                'sync".' % (current, head))

    def problem(self):
        """None when ready, else why not (rechecked every interval)."""
        if self._ready:
            return None
        with self._lock:
            now = time.monotonic()
            if (self._checked_at is None
                    or now - self._checked_at >= self._interval):
                self._checked_at = now
                self._problem = self._check()
                self._ready = self._problem is None
            return self._problem

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO') or '/'
        if (path.rstrip('/') or '/') not in handler.PUBLIC_PATHS:
            problem = self.problem()
            if problem:
                resp = util.error_response(environ, 503, problem,
                                           util.UNAVAILABLE,
                                           {'Retry-After': '30'})
                return resp(environ, start_response)
        return self.application(environ, start_response)
