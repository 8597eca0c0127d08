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

"""Bad input costs no decision: the "bad input" rows of the fault table.

Each node reports a running VM, then the VM crashed. Before the valid
crash snapshot, bad records of the same node and cycle arrive, one per way
of being wrong the issue found (a newline or an unpaired surrogate in a
string, ids twice in a list, more VMs than allowed, a detail that is not
strings, a cycle as a string, a boolean vCPU count, a crash event whose
node is a number, without uuid, or with a cycle of 10**30). Through the
real RabbitMQ to an engine storing in MariaDB, and through ``replay``:
every bad record is one rejection, nothing of it is stored, every valid
snapshot is stored and every crash is decided once. The rows (records
tried / rejected / stored, decisions expected / made / lost / doubled)
go to the fault table (``tools/fault_table.py`` prints them).
"""

import copy
import io
import json

import oslo_messaging as messaging

from vmguard.common import exception
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.engine import replay
from vmguard.objects import records
from vmguard.tests.functional import base
from vmguard.tests.functional.engine import test_engine
from vmguard.tests.functional.faults import table
from vmguard.tests.unit.engine import streams
from vmguard.tests.unit.properties import strategies as s

NODES = ['bad-input-%d' % i for i in range(4)]


def _crashed(node):
    return streams.snapshot(node, 2, vms=[(streams.vm_uuid(node),)
                                          + streams.CRASHED])


def _bad_records(node):
    """Bad versions of ``node``'s crash snapshot (and crash events)."""
    good = _crashed(node)

    def broken(change):
        d = copy.deepcopy(good)
        change(d)
        return d
    event = {'type': 'vm_event', 'node': node, 'cycle': 2,
             'uuid': streams.vm_uuid(node), 'event': 'crashed',
             'reason': 'panicked'}
    return [
        broken(lambda d: d.update(node=node + '\n2026-11-29 WARNING x')),
        broken(lambda d: d['hardware'][0].update(id='dimm-\ud800')),
        broken(lambda d: d['hardware'][0].update(kind='mem\x1bory')),
        broken(lambda d: d['vms'].append(dict(d['vms'][0]))),
        broken(lambda d: d.update(vms=d['vms'] + [
            {'uuid': 'vm-%d' % i, 'state': 'running'}
            for i in range(records.DEFAULT_MAX_VMS)])),
        broken(lambda d: d['hardware'][0].update(detail={'x': 5})),
        broken(lambda d: d.update(cycle='2')),
        broken(lambda d: d['vms'][0].update(vcpus=True)),
        dict(event, node=7),
        {k: v for k, v in event.items() if k != 'uuid'},
        dict(event, cycle=10 ** 30),
    ]


def _trace():
    """[(verdict, record)]: per node a good snapshot, the bad records,
    then the good crash snapshot."""
    out = []
    for node in NODES:
        out.append(('good', streams.snapshot(node, 1, vms=[
            (streams.vm_uuid(node),) + streams.RUNNING])))
        out += [('bad', d) for d in _bad_records(node)]
        out.append(('good', _crashed(node)))
    return out


def _expected():
    return [(node, 'R1', 'reboot') for node in NODES]


def _detail(tried, rejected, kept, word='stored'):
    return 'records tried %d, rejected %d, %s %d' % (tried, rejected, word,
                                                      kept)


class TestBadInputThroughTheBroker(test_engine.EngineFunctionalTestCase):

    def test_bad_records_cost_no_decision(self):
        client = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=self.topic))
        stats = self.svc.manager.stats
        trace = _trace()
        for _verdict, data in trace:
            kind = 'snapshot' if data['type'] == 'snapshot' else 'vm_event'
            arg = 'snapshot' if kind == 'snapshot' else 'event'
            # Cast as a (broken) agent would: no local validation.
            client.cast({}, 'report_' + kind, **{arg: s.primitive_of(data)})
        n_bad = sum(1 for verdict, _d in trace if verdict == 'bad')
        expected = _expected()
        self.wait_decisions(streams.counted(
            [type('D', (), dict(node=n, rule=r, action=a))
             for n, r, a in expected]))
        test_engine.wait_for(
            lambda: (stats['rejected_snapshot'] + stats['rejected_vm_event']
                     >= n_bad), what='%d rejections' % n_bad)
        rejected = stats['rejected_snapshot'] + stats['rejected_vm_event']
        stored = sum(1 for node in NODES
                     if db_api.node_get(self.context, node).last_cycle == 2)
        made = [(d.node, d.rule, d.action) for d in self.decisions()
                if d.node in NODES]
        # Every snapshot the engine took is counted; all of them were
        # stored (a node's latest cycle is in its row).
        taken = stats['snapshots'] + stats['events']
        row = table.record('bad input: RPC (broker, MariaDB)', expected,
                           made, _detail(len(trace), rejected, taken))
        self.assertEqual(n_bad, rejected)
        self.assertEqual(len(trace) - n_bad, taken)
        self.assertEqual(len(NODES), stored)
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        # Nothing of a bad record is stored: only the good nodes exist,
        # no event was stored (all events were bad).
        names = {n.name for n in db_api.node_list(self.context)}
        self.assertEqual(set(NODES), names)
        self.assertEqual([], db_api.vm_event_list(self.context))


class TestBadInputReplay(base.FunctionalTestCase):

    def test_bad_lines_cost_no_decision(self):
        trace = _trace()
        lines = [json.dumps(d).encode('utf-8') for _v, d in trace]
        # And bytes that are no UTF-8 at all.
        lines.insert(1, b'{"type": "snapshot", "node": "\xff"}')
        out, err = io.StringIO(), io.StringIO()
        status = replay.run(lines, self.conf, out, err)
        made = [(d['node'], d['rule'], d['action'])
                for d in map(json.loads, out.getvalue().splitlines())]
        rejected = len([line for line in err.getvalue().splitlines()
                        if ': rejected: ' in line])
        n_bad = 1 + sum(1 for verdict, _d in trace if verdict == 'bad')
        row = table.record('bad input: replay', _expected(), made,
                           _detail(len(lines), rejected,
                                   len(lines) - rejected, 'judged'))
        self.assertEqual(replay.EXIT_REJECTED, status)
        self.assertEqual(n_bad, rejected, err.getvalue())
        self.assertEqual((0, 0), (row.lost, row.doubled), row)
        self.assertNotIn('Traceback', err.getvalue())
        self.assertRaises(exception.InvalidRecord, records.parse_record,
                          trace[1][1])
