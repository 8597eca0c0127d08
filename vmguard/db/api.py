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

"""Database API of vmguard.

Callers import this module; the SQLAlchemy implementation lives in
:mod:`vmguard.db.sqlalchemy.api` (the only one there is). Every function
takes a request context first (``vmguard.common.context.RequestContext``).
"""

from vmguard.db.sqlalchemy import api as _impl
from vmguard.db.sqlalchemy import segments as _segments
from vmguard.db.sqlalchemy import notifications as _notifications

RECOVERY_TRANSITIONS = _impl.RECOVERY_TRANSITIONS
RECOVERY_FINAL = _impl.RECOVERY_FINAL
NOTIFICATION_STATUSES = _notifications.NOTIFICATION_STATUSES
NOTIFICATION_IDENTITY = _notifications.NOTIFICATION_IDENTITY


def __getattr__(name):
    # Delegate every public function to the implementation.
    if name.startswith('_'):
        raise AttributeError(name)
    if name.startswith('segment'):
        return getattr(_segments, name)
    if name.startswith(('notification', 'manual_')):
        return getattr(_notifications, name)
    return getattr(_impl, name)
