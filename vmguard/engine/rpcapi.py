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

"""Client side of the engine RPC API (used by agents)."""

import oslo_messaging as messaging

from vmguard.common import rpc


class EngineAPI:
    """Client side of the engine RPC API.

    API version history:

    * 1.0 - Initial version: ``report_snapshot``, ``report_vm_event``
      (casts; payloads are ``vmguard.objects.snapshot.Snapshot`` and
      ``VMEvent`` versioned objects).
    """

    RPC_API_VERSION = '1.0'

    def __init__(self, conf, transport=None):
        target = messaging.Target(topic=conf.engine.topic,
                                  version=self.RPC_API_VERSION)
        self.client = rpc.get_client(target,
                                     version_cap=self.RPC_API_VERSION,
                                     transport=transport)

    def report_snapshot(self, context, snapshot):
        """Cast one node's snapshot of one cycle to the engine."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'report_snapshot', snapshot=snapshot)

    def report_vm_event(self, context, event):
        """Cast a VM crash event (sent at once, between cycles)."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'report_vm_event', event=event)
