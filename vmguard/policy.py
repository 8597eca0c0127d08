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

"""Policy enforcement of vmguard's REST API (oslo.policy)."""

import threading

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import policy

from vmguard import policies

LOG = logging.getLogger(__name__)

_ENFORCER = None
_LOCK = threading.Lock()


def init(conf=None):
    """Create the enforcer once (thread-safe) and return it."""
    global _ENFORCER
    if _ENFORCER is None:
        with _LOCK:
            if _ENFORCER is None:
                enforcer = policy.Enforcer(conf or cfg.CONF)
                enforcer.register_defaults(policies.list_rules())
                _ENFORCER = enforcer
    return _ENFORCER


def reset():
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def get_enforcer():
    """Entry point of ``oslo.policy.enforcer`` (oslopolicy-* tools)."""
    cfg.CONF([], project='vmguard')
    return init()


def authorize(context, action, target=None):
    """Raise ``oslo_policy.policy.PolicyNotAuthorized`` when not allowed."""
    enforcer = init()
    target = target or {'project_id': context.project_id}
    try:
        return enforcer.authorize(action, target, context, do_raise=True)
    except policy.PolicyNotAuthorized:
        LOG.info('Policy %s denied for user %s with roles %s',
                 action, context.user_id, context.roles)
        raise
