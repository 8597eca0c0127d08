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

import logging
import os

import fixtures

from vmguard.agent.collectors import base
from vmguard.agent import manager
from vmguard.agent import sanitize
from vmguard.common import exception
from vmguard.objects import records
from vmguard.tests import base as test_base
from vmguard.tests.unit.agent import test_manager

# What Python makes of the NIC name b'eth\xff0' (os.fsdecode).
BAD_NIC = os.fsdecode(b'eth\xff0')
BAD_SERIAL = 'S3\x01Z'


def _snapshot():
    return records.Snapshot(
        'cmp-01', 7, None,
        hardware=[
            base.HardwareItem('nic:' + BAD_NIC, 'nic', 'ok',
                              identity='52:54:00:00:00:01',
                              identity_path='inband',
                              detail={'source': 'sysfs',
                                      'model': 'X\x1b[2J'}),
            base.HardwareItem('disk:sda', 'disk', 'ok', identity=BAD_SERIAL,
                              identity_path='inband'),
            base.HardwareItem('disk:sdb', 'disk', 'ok', identity='GOOD',
                              identity_path='inband')],
        external=[base.ExternalItem('mount\n/x', 'storage', 'ok')],
        services=[base.ServiceState('svc\udcff', 'running')],
        vms=[base.VMInfo('u1', 'crashed', 'panic\x00ked', 1, 512)])


class TestSanitizer(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name=sanitize.__name__, level=logging.WARNING))

    def test_unescaped_snapshot_is_rejected(self):
        # The hole this closes: one bad name costs the whole snapshot.
        self.assertRaises(exception.InvalidRecord, records.parse_snapshot,
                          _snapshot().to_dict())

    def test_every_string_escaped_and_snapshot_accepted(self):
        snap = sanitize.Sanitizer().snapshot(_snapshot())
        parsed = records.parse_snapshot(snap.to_dict())
        hw = {h.id: h for h in parsed.hardware}
        self.assertEqual({'nic:eth\\xff0', 'disk:sda', 'disk:sdb'}, set(hw))
        self.assertEqual('S3\\x01Z', hw['disk:sda'].identity)
        self.assertEqual('GOOD', hw['disk:sdb'].identity)
        self.assertEqual({'source': 'sysfs', 'model': 'X\\x1b[2J'},
                         hw['nic:eth\\xff0'].detail)
        self.assertEqual('mount\\n/x', parsed.external[0].id)
        self.assertEqual('svc\\xff', parsed.services[0].name)
        self.assertEqual('panic\\x00ked', parsed.vms[0].reason)

    def test_escapes_that_overflow_a_field_are_cut_to_its_bound(self):
        snap = records.Snapshot('cmp-01', 1, None, hardware=[
            base.HardwareItem('disk:sda', 'disk', 'ok',
                              identity='S' + '\x01' * 200,
                              detail={'model': '\x02' * 100})],
            vms=[base.VMInfo('u1', 'crashed', 'p\x00' * 16, 1, 512)])
        parsed = records.parse_snapshot(
            sanitize.Sanitizer().snapshot(snap).to_dict())
        hw = parsed.hardware[0]
        self.assertEqual(records.MAX_NAME, len(hw.identity))
        self.assertTrue(hw.identity.startswith('S\\x01\\x01'))
        self.assertEqual(records.MAX_DETAIL_VALUE, len(hw.detail['model']))
        self.assertEqual(records.MAX_KIND, len(parsed.vms[0].reason))

    def test_valid_text_is_never_cut(self):
        # Only escapes are cut: a long valid value is the engine's to judge.
        snap = records.Snapshot('cmp-01', 1, None, hardware=[
            base.HardwareItem('disk:sda', 'disk', 'ok', identity='S' * 300)])
        sanitize.Sanitizer().snapshot(snap)
        self.assertEqual(300, len(snap.hardware[0].identity))

    def test_valid_text_is_untouched(self):
        snap = records.Snapshot('cmp-01', 1, None, hardware=[
            base.HardwareItem('nic:eth0', 'nic', 'ok', identity='ÄÖ-ü',
                              detail={'k': None, 'src': 'sysfs'})])
        item = snap.hardware[0]
        detail = item.detail
        sanitize.Sanitizer().snapshot(snap)
        self.assertIs(detail, item.detail)
        self.assertEqual('ÄÖ-ü', item.identity)
        self.assertEqual('', self.log.output)

    def test_each_escaped_item_logged_once(self):
        san = sanitize.Sanitizer()
        for _ in range(3):
            san.snapshot(_snapshot())
        lines = self.log.output.splitlines()
        # nic, disk:sda, external, service, vm: once each, not per cycle.
        self.assertEqual(5, len(lines), lines)
        nic = [ln for ln in lines if 'nic:eth' in ln]
        self.assertEqual(1, len(nic))
        self.assertIn("id 'nic:eth\\udcff0'", nic[0])
        for line in lines:
            self.assertTrue(line.isprintable(), line)
        self.assertEqual(3 * 6, san.escaped)

    def test_memory_is_bounded(self):
        san = sanitize.Sanitizer(max_remembered=2)
        for i in range(5):
            san.snapshot(records.Snapshot('n', 1, None, hardware=[
                base.HardwareItem('nic:%d\x01' % i, 'nic', 'ok')]))
        self.assertLessEqual(len(san._logged), 2)
        self.assertEqual(5, len(self.log.output.splitlines()))

    def test_event_escaped(self):
        rec = sanitize.Sanitizer().event(records.VMEvent(
            'cmp-01', 3, 'u1', 'crashed', 'guest\npanicked', 'libvirt'))
        parsed = records.parse_vm_event(rec.to_dict())
        self.assertEqual('guest\\npanicked', parsed.reason)


class TestAgentSendsEscaped(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(node_name='cmp-01', group='agent')
        self.flags(cycle_interval=10, group='engine')

    def test_collector_names_escaped_in_sent_snapshot(self):
        engine = test_manager._Engine()
        agent = manager.AgentManager(
            self.conf, engine_api=engine, collectors=[test_manager._Static(
                self.conf, base.Result(hardware=[base.HardwareItem(
                    'nic:' + BAD_NIC, 'nic', 'ok', identity=BAD_SERIAL,
                    identity_path='inband')]))])
        agent.run_cycle(5)
        kind, obj = engine.sent[-1]
        self.assertEqual('snapshot', kind)
        parsed = records.parse_snapshot(obj.to_json_dict())
        self.assertEqual(['nic:eth\\xff0'],
                         [h.id for h in parsed.hardware])
        self.assertEqual('S3\\x01Z', parsed.hardware[0].identity)

    def test_event_reason_escaped(self):
        engine = test_manager._Engine()
        agent = manager.AgentManager(self.conf, engine_api=engine,
                                     collectors=[])
        agent.report_event('u1', 'crashed', 'bad\x7freason', 'libvirt')
        kind, obj = engine.sent[-1]
        self.assertEqual('bad\\x7freason', obj.reason)

    def test_node_name_escaped_everywhere(self):
        self.flags(node_name='cmp\n01', group='agent')
        engine = test_manager._Engine()
        agent = manager.AgentManager(self.conf, engine_api=engine,
                                     collectors=[])
        self.assertEqual('cmp\\n01', agent.node)
        agent.run_cycle(5)
        agent.report_event('u1', 'crashed', 'panicked', 'libvirt')
        agent.report_stop()
        self.assertEqual(['cmp\\n01'] * 3,
                         [obj.node if kind != 'agent_stop' else obj[0]
                          for kind, obj in engine.sent])
