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

"""Poison messages interleaved with the snapshots of real faults.

Every kind of bad message an engine can be sent on its topic, cast
between valid snapshots that lead to known decisions:

* payloads the engine rejects and counts (``rejected_snapshot``,
  ``rejected_vm_event``, ``rejected_message``): wrong object versions,
  wrong types, schema violations (carrying real node names and a cycle
  far ahead, so that one accepted by mistake would show in the nodes'
  state), unknown methods and arguments, RPC versions the engine does not
  serve, RPC envelopes without a method;
* AMQP bodies oslo.messaging's driver cannot decode (not JSON, not an
  RPC envelope, a content type it does not accept): the driver logs and
  rejects them before any engine code runs, so the engine cannot count
  them; the test checks they leave nothing behind in RabbitMQ.

Expected: every decision made once, the engine's rejection counter equal
to the number of poison messages that reach it, every node at its last
cycle, and the engine still judging after the last poison message.
"""

import collections
import json
import subprocess

import kombu
import oslo_messaging as messaging

from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional.engine.test_engine import \
    EngineFunctionalTestCase
from vmguard.tests.functional.engine.test_engine import wait_for
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams

NODES = ('pz-ok-1', 'pz-ok-2', 'pz-hw', 'pz-vm', 'pz-ext')
LAST = 14
# A cycle far ahead: a poison snapshot stored by mistake would move its
# node there and make every later valid snapshot "late".
AHEAD = 10 ** 6

EXPECTED = collections.Counter({
    ('pz-hw', 'R4', 'migrate_all'): 1,
    ('pz-hw', 'R4', 'disable_node'): 1,
    ('pz-vm', 'R1', 'reboot'): 1,
    # Decided after the last poison message: the engine still serves.
    ('pz-ext', 'R6', 'migrate_all'): 1,
    ('pz-ext', 'R6', 'disable_node'): 1,
})


def _snapshot(node, cycle):
    uuid = streams.vm_uuid(node)
    running = [(uuid,) + streams.RUNNING]
    if node == 'pz-hw':
        return streams.snapshot(node, cycle, vms=running,
                                health='critical' if cycle >= 4 else 'ok')
    if node == 'pz-vm':
        return streams.snapshot(node, cycle, vms=[(uuid,) + (
            streams.CRASHED if cycle >= 7 else streams.RUNNING)])
    if node == 'pz-ext':
        return streams.snapshot(node, cycle, vms=running,
                                external='failed' if cycle >= LAST - 2
                                else 'ok')
    return streams.snapshot(node, cycle, vms=running, ram=400000)


def _primitive(node, cycle=AHEAD):
    return snapshot_obj.Snapshot.from_json_dict(streams.snapshot(
        node, cycle, vms=[(streams.vm_uuid(node),) + streams.RUNNING])
    ).obj_to_primitive()


def _mutated(change, node='pz-ok-1'):
    prim = json.loads(json.dumps(_primitive(node)))
    change(prim, prim['vmguard_object.data'])
    return prim


def _hw(prim, data):
    return data['hardware'][0]['vmguard_object.data']


class TestPoisonMessages(EngineFunctionalTestCase):
    """Poison between valid snapshots: counted, dropped, nothing else."""

    def _raw_publish(self, body, content_type='application/json'):
        with kombu.Connection(self.url.replace('rabbit://', 'amqp://')) \
                as conn:
            exchange = kombu.Exchange('openstack', type='topic',
                                      durable=False)
            conn.Producer(serializer='json').publish(
                body, exchange=exchange, routing_key=self.topic,
                content_type=content_type, content_encoding='utf-8')

    def _envelope(self, message):
        return json.dumps({'oslo.version': '2.0',
                           'oslo.message': json.dumps(message)})

    def _poison(self):
        """[(kind, send)] of poison messages the engine sees and counts,
        [(kind, send)] of those oslo.messaging's driver drops first."""
        client = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=self.topic))

        def snap(prim):
            return lambda: client.cast({}, 'report_snapshot', snapshot=prim)

        def setter(**values):
            return lambda prim, data: data.update(values)

        counted = [
            ('snapshot: object version 7.0', snap(_mutated(
                lambda p, d: p.update({'vmguard_object.version': '7.0'}),
                'pz-hw'))),
            ('snapshot: object version 1.99', snap(_mutated(
                lambda p, d: p.update({'vmguard_object.version': '1.99'}),
                'pz-vm'))),
            ('snapshot: no object version', snap(_mutated(
                lambda p, d: p.pop('vmguard_object.version'), 'pz-ext'))),
            ('snapshot: unknown object name', snap(_mutated(
                lambda p, d: p.update({'vmguard_object.name': 'Nope'})))),
            ('snapshot: cycle is a string', snap(_mutated(
                setter(cycle='forty-two'), 'pz-hw'))),
            ('snapshot: negative cycle', snap(_mutated(setter(cycle=-1)))),
            ('snapshot: no node', snap(_mutated(
                lambda p, d: d.pop('node')))),
            ('snapshot: empty node name', snap(_mutated(setter(node='')))),
            ('snapshot: hardware not a list', snap(_mutated(
                setter(hardware={'dimm': 'ok'}), 'pz-vm'))),
            ('snapshot: health "purple"', snap(_mutated(
                lambda p, d: _hw(p, d).update(health='purple'), 'pz-hw'))),
            ('snapshot: hardware item of another class', snap(_mutated(
                lambda p, d: d['hardware'][0].update(
                    {'vmguard_object.name': 'VMInfo'}), 'pz-ok-2'))),
            ('snapshot: VM without uuid', snap(_mutated(
                lambda p, d: d['vms'][0]['vmguard_object.data'].pop('uuid'),
                'pz-vm'))),
            ('snapshot: a string', snap('garbage')),
            ('snapshot: null', snap(None)),
            ('snapshot: empty dict', snap({})),
            ('snapshot: a list', snap([1, 2, 3])),
            ('vm event: not an object', lambda: client.cast(
                {}, 'report_vm_event', event={'node': 'pz-vm'})),
            ('vm event: a snapshot', lambda: client.cast(
                {}, 'report_vm_event', event=_primitive('pz-vm'))),
            ('rpc: unknown argument', lambda: client.cast(
                {}, 'report_snapshot', nope=1)),
            ('rpc: unknown method', lambda: client.cast(
                {}, 'no_such_method', snapshot=_primitive('pz-hw'))),
            ('rpc: version 2.0', lambda: client.prepare(version='2.0').cast(
                {}, 'report_snapshot', snapshot=_primitive('pz-hw'))),
            ('rpc: version 1.9', lambda: client.prepare(version='1.9').cast(
                {}, 'report_snapshot', snapshot=_primitive('pz-vm'))),
            ('amqp: JSON object, not an RPC envelope',
             lambda: self._raw_publish('{"not": "an oslo message"}')),
            ('amqp: envelope whose method is a number',
             lambda: self._raw_publish(self._envelope(
                 {'method': 5, 'args': {}}))),
        ]
        dropped = [
            ('amqp: not JSON',
             lambda: self._raw_publish('\x00\x01 not json at all')),
            ('amqp: JSON list', lambda: self._raw_publish('[1, 2, 3]')),
            ('amqp: envelope around non-JSON',
             lambda: self._raw_publish(json.dumps(
                 {'oslo.version': '2.0', 'oslo.message': 'not json'}))),
            ('amqp: envelope version 9.0',
             lambda: self._raw_publish(json.dumps(
                 {'oslo.version': '9.0', 'oslo.message': json.dumps(
                     {'method': 'report_snapshot', 'args': {}})}))),
            ('amqp: pickle content type',
             lambda: self._raw_publish(b'\x80\x04K\x01.',
                                       'application/x-python-serialize')),
            ('amqp: text/plain', lambda: self._raw_publish('hello',
                                                           'text/plain')),
        ]
        return counted, dropped

    def _queue_depth(self):
        out = subprocess.run(
            ['rabbitmqctl', '-q', 'list_queues', 'name', 'messages',
             'messages_unacknowledged'], capture_output=True, text=True,
            check=True, timeout=60).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == self.topic:
                return int(parts[1]) + int(parts[2])
        raise AssertionError('queue %s not found' % self.topic)

    def test_poison_interleaved_with_faults(self):
        counted, dropped = self._poison()
        poison = counted + dropped
        sent = collections.Counter()
        for cycle in range(1, LAST + 1):
            for node in NODES:
                self.cast(_snapshot(node, cycle))
                # Two poison messages after every valid snapshot until
                # they are all sent (cycles 1 to 3; R6 needs 3 cycles from 12).
                for _ in range(2):
                    if sent.total() < len(poison):
                        kind, send = poison[sent.total()]
                        send()
                        sent[kind] += 1
        self.assertEqual(len(poison), sent.total())
        made = self.wait_decisions(EXPECTED, 60)
        wait_for(lambda: all(
            n.last_cycle == LAST for n in db_api.node_list(self.context)),
            60, what='every node stored up to cycle %d' % LAST)
        wait_for(lambda: self.svc.stats().get('rejected', 0)
                 >= len(counted), 30, what='rejections counted')
        # Nothing left unacknowledged or redelivered on the topic.
        wait_for(lambda: self._queue_depth() == 0, 30,
                 what='the topic queue to empty')
        stats = self.svc.stats()
        nodes = {n.name: n.last_cycle for n in
                 db_api.node_list(self.context)}
        row = table.record(
            'Poison messages', EXPECTED.elements(), made.elements(),
            '%d poison messages between %d valid snapshots: %d rejected '
            'and counted by the engine (snapshot %d, vm_event %d, '
            'message %d), %d undecodable AMQP bodies dropped by '
            'oslo.messaging before the engine (not counted); engine '
            'still judging after the last one'
            % (len(poison), len(NODES) * LAST, stats.get('rejected', 0),
               stats.get('rejected_snapshot', 0),
               stats.get('rejected_vm_event', 0),
               stats.get('rejected_message', 0), len(dropped)))
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertEqual(EXPECTED, made)
        self.assertEqual(len(counted), stats['rejected'])
        self.assertEqual(
            (len(counted) - 8, 2, 6),
            (stats['rejected_snapshot'], stats['rejected_vm_event'],
             stats['rejected_message']))
        self.assertEqual(len(NODES) * LAST, stats['snapshots'])
        self.assertEqual(dict.fromkeys(NODES, LAST), nodes)
