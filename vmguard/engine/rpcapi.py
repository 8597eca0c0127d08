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

"""Client side of the engine RPC API (used by agents and engines)."""

import oslo_messaging as messaging

from vmguard.common import rpc


class EngineAPI:
    """Client side of the engine RPC API.

    API version history:

    * 1.0 - Initial version: ``report_snapshot``, ``report_vm_event``
      (casts; payloads are ``vmguard.objects.snapshot.Snapshot`` and
      ``VMEvent`` versioned objects).
    * 1.1 - ``forwarded`` argument of both methods: an engine that is not
      the owner of a node casts the record to the owner (RPC server named
      after the owning engine) with ``forwarded=True``; the owner judges
      it without looking at the hash ring again (no forwarding loops while
      the engines' rings disagree).
    * 1.2 - ``report_agent_stop`` (cast): the agent of a node stops on
      purpose after its last reported cycle (SPEC Revision 2: its node is
      not judged silent until it reports again).
    * 1.3 - ``process_notification`` and ``execute_decision`` (casts, from
      the API): a notification of another monitor, a manual recovery,
      stored by the API and run by the node's owner (an engine that is
      not the owner casts it on with ``forwarded=True``).
    """

    RPC_API_VERSION = '1.3'

    def __init__(self, conf, transport=None, version_cap=None):
        target = messaging.Target(topic=conf.engine.topic,
                                  version=self.RPC_API_VERSION)
        self.client = rpc.get_client(
            target, version_cap=version_cap or self.RPC_API_VERSION,
            transport=transport)

    def report_snapshot(self, context, snapshot):
        """Cast one node's snapshot of one cycle to the engine."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'report_snapshot', snapshot=snapshot)

    def report_vm_event(self, context, event):
        """Cast a VM crash event (sent at once, between cycles)."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'report_vm_event', event=event)

    def report_agent_stop(self, context, node, cycle):
        """Cast: the agent of ``node`` stops on purpose; ``cycle`` is the
        last cycle it reported (a going-away record)."""
        cctxt = self.client.prepare(version='1.2')
        cctxt.cast(context, 'report_agent_stop', node=node, cycle=cycle)

    def forward_snapshot(self, context, server, snapshot):
        """Engine to engine: pass a snapshot to the node's owner."""
        cctxt = self.client.prepare(server=server, version='1.1')
        cctxt.cast(context, 'report_snapshot', snapshot=snapshot,
                   forwarded=True)

    def forward_vm_event(self, context, server, event):
        """Engine to engine: pass a crash event to the node's owner."""
        cctxt = self.client.prepare(server=server, version='1.1')
        cctxt.cast(context, 'report_vm_event', event=event, forwarded=True)

    def process_notification(self, context, notification, retry=None):
        """Cast: the API stored notification ``notification`` (its uuid)
        of another monitor; the owner of its node decides it."""
        cctxt = self.client.prepare(version='1.3', retry=retry)
        cctxt.cast(context, 'process_notification',
                   notification=notification)

    def execute_decision(self, context, decision, retry=None):
        """Cast: the API stored the manual decision ``decision`` (its
        uuid) with its pending recovery; the owner of its node runs it."""
        cctxt = self.client.prepare(version='1.3', retry=retry)
        cctxt.cast(context, 'execute_decision', decision=decision)
