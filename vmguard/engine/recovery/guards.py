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

"""What a recovery must not touch (SPEC Revision 2).

* **Maintenance** -- a node an operator put in maintenance is still judged
  and its decisions recorded, but no recovery runs on it (``skipped:
  maintenance``), it is never a target and never fenced.
* **Protection per VM** -- ``vmguard:protect`` in the server's metadata or
  its flavor's extra specs (both read from Nova with the server, at
  recovery time: since microversion 2.47 the flavor and its extra specs
  come embedded in the server). Any ``false`` -> never rebooted or moved
  (``skipped: not protected``); with ``[recovery] protect_by_default =
  false`` only servers that set it ``true`` are. Node-level actions
  (``disable_node``, fencing) still run.
* **Nova's own state** of the server, re-read before acting: a task in
  progress (``task_state`` set: Nova is busy with it), a server stopped on
  purpose (``vm_state`` stopped: never started by vmguard), a server in
  ``error`` (left to an operator unless ``[recovery]
  recover_error_state``).
"""

from oslo_log import log as logging
from oslo_utils import strutils

from vmguard import conf

LOG = logging.getLogger(__name__)
CONF = conf.CONF

PROTECT_KEY = 'vmguard:protect'

SKIP_MAINTENANCE = 'maintenance'
SKIP_NOT_PROTECTED = 'not protected'


def _flag(server, source, values):
    value = (values or {}).get(PROTECT_KEY)
    if value is None:
        return None
    flag = strutils.bool_from_string(value, strict=False, default=None)
    if flag is None:
        LOG.warning('Server %s: %s %s=%r is not a boolean; ignored',
                    server.id, source, PROTECT_KEY, value)
    return flag


def protected(server):
    """Is the server recovered by vmguard?"""
    flags = [_flag(server, 'metadata', server.metadata),
             _flag(server, 'flavor extra spec', server.flavor_extra_specs)]
    if False in flags:
        return False
    if True in flags:
        return True
    return CONF.recovery.protect_by_default


def skip_reason(server, starts=False):
    """Why vmguard must leave ``server`` (as just read from Nova) alone,
    or None.

    :param starts: the action would power the server on (a hard reboot);
        a server stopped on purpose is then skipped.
    """
    if not protected(server):
        return SKIP_NOT_PROTECTED
    if server.task_state is not None:
        return 'nova busy: task_state %s' % server.task_state
    if server.vm_state == 'error' and not CONF.recovery.recover_error_state:
        return ('server in error state (see [recovery] '
                'recover_error_state)')
    if starts and server.vm_state == 'stopped':
        return 'server stopped: vmguard never starts a stopped server'
    return None


def in_maintenance(node):
    """``node``: a Node row or None."""
    return bool(node is not None and node.maintenance)
