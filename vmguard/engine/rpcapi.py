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

import urllib.parse
import zlib

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard.common import rpc

LOG = logging.getLogger(__name__)


def partition_of(node, partitions):
    """The ingest partition of ``node``: CRC-32 of its name (UTF-8)
    modulo ``partitions``; the same in every process and release."""
    return zlib.crc32(str(node).encode('utf-8', 'surrogatepass')) \
        % partitions


# oslo.messaging drivers of RabbitMQ: the ingest queues are RabbitMQ's.
RABBIT_DRIVERS = ('rabbit', 'kombu')


def ingest_partitions(conf, transport=None):
    """The ingest partitions in use: ``[engine] ingest_partitions`` on a
    RabbitMQ transport; 0 (snapshots on the shared topic) on any other
    (``fake://`` of the all-in-one demo and the unit tests).

    The driver is read from the URL's scheme: ``conf``'s
    ``transport_url``, else that of the configuration ``transport`` was
    built from (the demo's agents have configurations of their own,
    without messaging options). Never ``TransportURL.parse`` on such a
    configuration: registering oslo.messaging's options on it from here
    tied it to the next one built the same way (the demo's agents read
    each other's options).
    """
    partitions = conf.engine.ingest_partitions
    if not partitions:
        return 0
    url = None
    for source in (conf, getattr(transport, 'conf', None)):
        if source is None:
            continue
        try:
            url = source.transport_url
        except cfg.NoSuchOptError:
            continue
        if url:
            break
    # No URL: oslo.messaging's default, rabbit://.
    scheme = urllib.parse.urlsplit(url).scheme if url else 'rabbit'
    return partitions if scheme in RABBIT_DRIVERS else 0


def ingest_topic(topic, partition):
    """Routing key and queue name of ingest partition ``partition``."""
    return '%s-ingest.%d' % (topic, partition)


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
    * 1.4 - ``report_snapshot`` is cast to the ingest queue of the node's
      partition (routing key ``<topic>-ingest.<n>``, see
      :func:`partition_of`) instead of the shared topic; the engine that
      owns the partition consumes it in batches and acknowledges it once
      stored (:mod:`vmguard.engine.ingest`). Same method and argument.
      Pin ``[upgrade_levels] engine = 1.3`` on agents while engines of
      the previous release run; a 1.4 cast no queue takes (no engine of
      this release has started yet) is sent again as 1.0.
    """

    RPC_API_VERSION = '1.4'

    def __init__(self, conf, transport=None, version_cap=None):
        target = messaging.Target(topic=conf.engine.topic,
                                  version=self.RPC_API_VERSION)
        pin = None
        upgrade_levels = getattr(conf, 'upgrade_levels', None)
        if upgrade_levels is not None:
            pin = upgrade_levels.engine
        self.client = rpc.get_client(
            target, version_cap=version_cap or pin or self.RPC_API_VERSION,
            transport=transport)
        self.topic = conf.engine.topic
        self.partitions = ingest_partitions(conf, transport or rpc.TRANSPORT)
        self._fallback_logged = False

    def report_snapshot(self, context, snapshot):
        """Cast one node's snapshot of one cycle to the engine: to the
        ingest queue of its node's partition (1.4), or to the shared
        topic (1.0: pinned, partitions off, or no queue took it)."""
        if self.partitions and self.client.can_send_version('1.4'):
            if isinstance(snapshot, dict):
                # A primitive serialised beforehand (benchmarks, tools).
                node = (snapshot.get('vmguard_object.data') or {}).get(
                    'node')
            else:
                node = snapshot.node
            topic = ingest_topic(self.topic,
                                 partition_of(node, self.partitions))
            cctxt = self.client.prepare(topic=topic, version='1.4')
            try:
                cctxt.cast(context, 'report_snapshot', snapshot=snapshot)
                return
            except messaging.MessageUndeliverable:
                # Returned by RabbitMQ (mandatory flag, at_least_once):
                # no engine of this release declared the ingest queues.
                if not self._fallback_logged:
                    self._fallback_logged = True
                    LOG.warning('No queue takes snapshots on %s (engines '
                                'of a release before RPC API 1.4?): '
                                'sending them to topic %s; pin '
                                '[upgrade_levels] engine = 1.3 to skip '
                                'the attempt', topic, self.topic)
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
