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

"""R7 ``restart_service``, executed by the node's agent and confirmed.

The recovery is an RPC *call* to the agent (``restart_service``); it
succeeds only when the agent answers that the service is running again
(its restart command worked and its services collector sees the service
``running``). Any other answer, or no answer within ``[recovery]
restart_confirm_timeout``, fails the recovery with the agent's reason.
"""

import json

from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard import conf
from vmguard.db import api as db_api

LOG = logging.getLogger(__name__)
CONF = conf.CONF


class RestartServiceHandler:
    """handler(context, recovery, decision) -> (status, message), for
    :meth:`RecoveryExecutor.register_handler`.

    :param agents: :class:`vmguard.agent.rpcapi.AgentAPI`.
    """

    def __init__(self, agents):
        self.agents = agents

    def __call__(self, context, recovery, decision):
        node, service = decision.node, decision.service
        timeout = CONF.recovery.restart_confirm_timeout
        row, _created = db_api.recovery_action_create(
            context, recovery.id, node, 'restart_service', target=service,
            detail=json.dumps({'service': service}))
        try:
            answer = self.agents.restart_service(context, node, service,
                                                 timeout=timeout)
        except messaging.MessagingTimeout:
            why = ('no answer from the agent of %s within %ss: restart of '
                   '%s not confirmed' % (node, timeout, service))
            self._end(context, row, 'failed', service, error=why)
            return 'failed', why
        except messaging.MessagingException as exc:
            why = 'restart of %s on %s: %s' % (service, node, exc)
            self._end(context, row, 'failed', service, error=why)
            return 'failed', why
        answer = answer if isinstance(answer, dict) else {}
        if answer.get('running') is True:
            self._end(context, row, 'done', service, answer=answer)
            return 'succeeded', ('agent of %s reports %s running' % (
                node, service))
        why = 'agent of %s: %s' % (node, answer.get('detail') or
                                   'service %s not running' % service)
        self._end(context, row, 'failed', service, answer=answer, error=why)
        return 'failed', why

    @staticmethod
    def _end(context, row, status, service, **evidence):
        db_api.recovery_action_update(
            context, row.id, status=status,
            detail=json.dumps(dict(evidence, service=service), default=str))
