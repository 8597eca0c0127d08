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

"""One validator (SPEC.md, Revision 2): the three ways in agree.

For any record -- valid, with one field broken every way the contract
knows, with a string that is not printable text, with duplicate ids, or
with more VMs or items than the limits allow -- these accept and reject
exactly the same records, and accepted ones are the same record:

* ``replay``: the trace line through the real replay loop;
* the RPC endpoint: the primitive an agent casts through the engine's
  serializer (as ``EngineService`` builds it, with the configured limits);
* forwarding: an accepted record as the first engine passes it on
  (``Snapshot.from_record`` / ``VMEvent.from_record``, the primitive over
  JSON) and as the owner deserialises it;

and the agents' constructor (``from_json_dict``) refuses what they refuse.
"""

import json
import logging

import fixtures
import hypothesis
from hypothesis import strategies as st

from vmguard.common import exception
from vmguard.engine import manager
from vmguard.engine import replay
from vmguard import objects
from vmguard.objects import base as objects_base
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.properties import strategies as s

# Small limits, so that drawn snapshots (up to 4 VMs, 8 items) cross them.
MAX_VMS = 3
MAX_ITEMS = 5


def _wire(value):
    """``value`` as JSON text; a value nested too deep for the encoder
    can be neither a trace line nor a message: not an example."""
    try:
        return json.dumps(value)
    except (RecursionError, ValueError):
        hypothesis.reject()


class _Capture:
    """Stands in for the pipeline: keeps what replay accepted."""

    def __init__(self):
        self.records = []

    def process(self, record):
        self.records.append(record)
        return ()

    def finish(self):
        return ()


def _duplicated(data):
    """A snapshot whose first item of some list appears twice."""
    for lst in ('hardware', 'vms', 'external', 'services'):
        if data[lst]:
            data[lst].append(dict(data[lst][0]))
            return data
    return data


# The RPC payload is the versioned object's flat form: it has no 'type'
# and no 'capacity' object to break. Every other way of being wrong is in.
def _rpc_expressible(case):
    _data, where, key = case
    return where != 'record' and not (where == 'snapshot'
                                      and key == 'capacity')


records_to_try = st.one_of(
    s.snapshots, s.vm_events, s.full_snapshots,
    s.broken_snapshot().filter(_rpc_expressible).map(lambda c: c[0]),
    s.broken_event().filter(_rpc_expressible).map(lambda c: c[0]),
    s.not_printable().map(lambda c: c[0]),
    s.full_snapshots.map(_duplicated))


class TestOneValidator(base.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(group='engine', max_vms_per_snapshot=MAX_VMS,
                   max_items_per_snapshot=MAX_ITEMS)
        self.limits = records.limits(self.conf)

    def _replay(self, data):
        """('ok', record dict) or ('rejected', reason) from replay."""
        pipeline, reports = _Capture(), []
        line = _wire(data).encode('utf-8')
        replay.replay([line], pipeline, lambda d: None,
                      lambda n, m: reports.append(m), self.limits)
        if reports:
            self.assertEqual([], pipeline.records)
            return 'rejected', reports[0]
        return 'ok', pipeline.records[0].to_dict()

    def _rpc(self, prim):
        """The engine's serializer on a primitive as it comes off the wire.

        A fresh serializer each time: its parse cache would otherwise
        hand a node's lists from one example to the next.
        """
        serializer = manager.EngineSerializer(
            objects_base.VmguardObjectSerializer(), self.limits)
        try:
            prim = json.loads(_wire(prim))
        except RecursionError:
            hypothesis.reject()
        entity = serializer.deserialize_entity(self.context, prim)
        if isinstance(entity, manager.Rejected):
            return 'rejected', entity.reason
        return 'ok', entity

    def _forward(self, rec):
        cls = (snapshot_obj.Snapshot if rec.__class__ is records.Snapshot
               else snapshot_obj.VMEvent)
        return self._rpc(cls.from_record(rec).obj_to_primitive())

    def _construct(self, data):
        cls = (snapshot_obj.VMEvent if data['type'] == 'vm_event'
               else snapshot_obj.Snapshot)
        try:
            cls.from_json_dict(data)
        except exception.InvalidRecord as exc:
            return 'rejected', exc.reason
        return 'ok', None

    @hypothesis.settings(max_examples=400)
    @hypothesis.given(records_to_try)
    def test_replay_rpc_and_forwarding_agree(self, data):
        outcome, replayed = self._replay(data)
        rpc_outcome, rec = self._rpc(s.primitive_of(data))
        self.assertEqual(outcome, rpc_outcome, (replayed, rec))
        if outcome == 'rejected':
            if data.get('type') in ('snapshot', 'vm_event'):
                # The default limits are larger: only those may differ.
                if 'per_snapshot' not in replayed:
                    self.assertEqual('rejected',
                                     self._construct(data)[0], replayed)
            return
        self.assertEqual(replayed, rec.to_dict())
        forwarded_outcome, forwarded = self._forward(rec)
        self.assertEqual('ok', forwarded_outcome, forwarded)
        self.assertEqual(replayed, forwarded.to_dict())

    def test_the_limits_are_the_configured_options(self):
        vms = [{'uuid': 'vm-%d' % i, 'state': 'running'}
               for i in range(MAX_VMS + 1)]
        data = {'type': 'snapshot', 'node': 'cmp-1', 'cycle': 1,
                'hardware': [], 'external': [], 'services': [], 'vms': vms}
        for outcome, reason in (self._replay(data),
                                self._rpc(s.primitive_of(data))):
            self.assertEqual('rejected', outcome)
            self.assertIn('at most %d VMs (max_vms_per_snapshot), not %d'
                          % (MAX_VMS, MAX_VMS + 1), reason)
        data['vms'] = vms[:MAX_VMS]
        data['services'] = [{'name': 'svc-%d' % i, 'state': 'running'}
                            for i in range(MAX_ITEMS + 1)]
        for outcome, reason in (self._replay(data),
                                self._rpc(s.primitive_of(data))):
            self.assertEqual('rejected', outcome)
            self.assertIn('max_items_per_snapshot', reason)
        data['services'] = data['services'][:MAX_ITEMS]
        self.assertEqual('ok', self._replay(data)[0])

    def test_a_newline_in_a_node_name_forges_no_log_line(self):
        logger = self.useFixture(fixtures.FakeLogger(
            name='vmguard.engine.manager', level=logging.WARNING))
        endpoint = manager.EngineManager(engine=None)
        forged = 'cmp-1\n2026-11-29 05:00:00.000 1 WARNING forged'
        data = {'type': 'vm_event', 'node': forged, 'cycle': 1,
                'uuid': 'u-1', 'event': 'crashed'}
        outcome, reason = self._replay(data)
        self.assertEqual('rejected', outcome)
        self.assertIn("'node' must be printable Unicode text, not one "
                      'holding a control character (U+000A at offset 5)',
                      reason)
        entity = manager.EngineSerializer(
            objects_base.VmguardObjectSerializer()).deserialize_entity(
                self.context, s.primitive_of(data))
        endpoint.report_vm_event(self.context, entity)
        self.assertEqual(1, endpoint.stats['rejected'])
        self.assertEqual(1, len(logger.output.splitlines()),
                         logger.output)
        self.assertIn("cmp-1\\n", logger.output)

    def test_default_limits_are_the_option_defaults(self):
        self.conf.clear_override('max_vms_per_snapshot', group='engine')
        self.conf.clear_override('max_items_per_snapshot', group='engine')
        limits = records.limits(self.conf)
        self.assertEqual(
            (records.DEFAULT_MAX_VMS, records.DEFAULT_MAX_ITEMS),
            (limits.max_vms, limits.max_items))
