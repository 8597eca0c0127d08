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


"""Client side of the agent RPC API (used by the engine)."""

import oslo_messaging as messaging

from vmguard.common import rpc


class AgentAPI:
    """Client side of the agent RPC API.

    Each agent listens on topic ``[agent] topic`` with its node name as
    RPC server name.

    API version history:

    * 1.0 - Initial version: ``restart_service``.
    """

    RPC_API_VERSION = '1.0'

    def __init__(self, conf, transport=None):
        target = messaging.Target(topic=conf.agent.topic,
                                  version=self.RPC_API_VERSION)
        self.client = rpc.get_client(target,
                                     version_cap=self.RPC_API_VERSION,
                                     transport=transport)

    def restart_service(self, context, node, service, timeout=None):
        """Ask the agent of ``node`` to restart ``service`` (rule R7).

        Cast by default. With ``timeout`` the call waits for the outcome
        and returns the agent's answer: a dict with ``service``,
        ``restarted`` (bool) and ``detail``.
        """
        cctxt = self.client.prepare(server=node, version='1.0',
                                    timeout=timeout)
        if timeout is None:
            cctxt.cast(context, 'restart_service', service=service)
            return None
        return cctxt.call(context, 'restart_service', service=service)
