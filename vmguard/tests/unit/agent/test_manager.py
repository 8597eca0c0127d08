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


import threading
import time

from vmguard.agent.collectors import base
from vmguard.agent import manager
from vmguard.common import exception
from vmguard.tests import base as test_base


class _Static(base.Collector):
    name = 'static'

    def __init__(self, conf, result=None, error=None):
        super().__init__(conf)
        self.result = result or base.Result()
        self.error = error
        self.calls = 0

    def collect(self):
        self.calls += 1
        if self.error:
            raise self.error
        return self.result


class _Hanging(base.Collector):
    name = 'hanging'

    def __init__(self, conf):
        super().__init__(conf)
        self.release = threading.Event()
        self.calls = 0

    def collect(self):
        self.calls += 1
        self.release.wait(30)
        return base.Result(external=[base.ExternalItem('x', 'storage',
                                                       'ok')])

    def unavailable(self, reason):
        return base.Result(external=[base.ExternalItem('x', 'storage',
                                                       'failed')],
                           complete=False)


class _Engine:
    """Stands in for EngineAPI: records casts, fails while ``down``."""

    def __init__(self):
        self.down = False
        self.sent = []

    def _cast(self, kind, obj):
        if self.down:
            raise ConnectionRefusedError('broker down')
        self.sent.append((kind, obj))

    def report_snapshot(self, context, snapshot):
        self._cast('snapshot', snapshot)

    def report_vm_event(self, context, event):
        self._cast('vm_event', event)

    def report_agent_stop(self, context, node, cycle):
        self._cast('agent_stop', (node, cycle))


class TestCollect(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(node_name='cmp-01', group='agent')
        self.flags(cycle_interval=10, group='engine')

    def test_cycle_number_is_aligned_wall_clock(self):
        agent = manager.AgentManager(self.conf, collectors=[])
        before = int(time.time() // 10)
        cycle = agent.cycle_now()
        self.assertIn(cycle, (before, before + 1))

    def test_results_are_combined(self):
        vm = base.VMInfo('u1', 'crashed', 'panicked', 2, 2048)
        agent = manager.AgentManager(self.conf, collectors=[
            _Static(self.conf, base.Result(vms=[vm], vcpus_free=4,
                                           ram_mb_free=1000)),
            _Static(self.conf, base.Result(
                services=[base.ServiceState('libvirtd', 'running')]))])
        snap = agent.collect(cycle=42)
        self.assertEqual(('cmp-01', 42, 4, 1000), (snap.node, snap.cycle,
                                                    snap.vcpus_free,
                                                    snap.ram_mb_free))
        self.assertEqual(['u1'], [v.uuid for v in snap.vms])
        self.assertEqual(['libvirtd'], [s.name for s in snap.services])
        self.assertTrue(snap.collected_at.endswith('Z'))

    def test_failing_collector_is_unavailable_not_fatal(self):
        ok = _Static(self.conf, base.Result(
            services=[base.ServiceState('libvirtd', 'running')]))
        bad = _Static(self.conf, error=RuntimeError('boom'))
        bad.name = 'bad'
        agent = manager.AgentManager(self.conf, collectors=[ok, bad])
        snap = agent.collect()
        self.assertEqual(1, len(snap.services))
        self.assertIsNone(agent.last_timings['bad'])
        self.assertIsNotNone(agent.last_timings['static'])

    def test_overrunning_collector_does_not_delay_and_is_not_restarted(self):
        self.flags(collector_timeout=0.2, group='agent')
        hanging = _Hanging(self.conf)
        self.addCleanup(hanging.release.set)
        agent = manager.AgentManager(self.conf, collectors=[hanging])
        for _ in range(2):
            snap = agent.collect()
            self.assertEqual([('x', 'failed')],
                             [(e.id, e.health) for e in snap.external])
        self.assertEqual(1, hanging.calls)
        hanging.release.set()
        time.sleep(0.1)
        snap = agent.collect()
        self.assertEqual(2, hanging.calls)

    def test_unknown_collector_name_fails_loudly(self):
        self.assertRaises(exception.DriverLoadError,
                          manager.load_collectors, self.conf, ['nope'])

    def test_collectors_load_by_name(self):
        collectors = manager.load_collectors(self.conf,
                                             ['services', 'external'])
        self.assertEqual(['services', 'external'],
                         [c.name for c in collectors])


class TestBuffer(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(node_name='cmp-01', buffer_size=3, group='agent')
        self.engine = _Engine()
        self.agent = manager.AgentManager(self.conf, collectors=[],
                                          engine_api=self.engine)

    def test_sent_at_once_when_the_broker_is_there(self):
        self.assertTrue(self.agent.send_snapshot(self.agent.collect(1)))
        self.assertTrue(self.agent.report_event('u1', 'crashed', 'panicked',
                                                'libvirt'))
        self.assertEqual(['snapshot', 'vm_event'],
                         [k for k, _ in self.engine.sent])
        event = self.engine.sent[1][1]
        self.assertEqual(('cmp-01', 'u1', 'crashed', 'panicked', 'libvirt'),
                         (event.node, event.uuid, event.event, event.reason,
                          event.source))

    def test_buffered_in_order_and_bounded(self):
        self.engine.down = True
        for cycle in (1, 2):
            self.assertFalse(self.agent.send_snapshot(
                self.agent.collect(cycle)))
        self.agent.report_event('u1', 'crashed', 'panicked', 'libvirt')
        self.agent.send_snapshot(self.agent.collect(3))
        self.assertEqual(3, self.agent.buffered())
        self.assertEqual(1, self.agent.dropped)  # cycle 1, the oldest
        self.engine.down = False
        self.assertTrue(self.agent.flush())
        self.assertEqual([('snapshot', 2), ('vm_event', 'u1'),
                          ('snapshot', 3)],
                         [(k, o.cycle if k == 'snapshot' else o.uuid)
                          for k, o in self.engine.sent])
        self.assertEqual(0, self.agent.buffered())


class TestCleanStop(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(node_name='cmp-01', group='agent')
        self.engine = _Engine()
        self.agent = manager.AgentManager(self.conf, collectors=[],
                                          engine_api=self.engine)

    def test_report_stop_flushes_then_names_the_last_cycle(self):
        self.engine.down = True
        self.agent.send_snapshot(self.agent.collect(7))
        self.agent._last_cycle = 7
        self.engine.down = False
        self.assertTrue(self.agent.report_stop())
        self.assertEqual(['snapshot', 'agent_stop'],
                         [k for k, _ in self.engine.sent])
        self.assertEqual(('cmp-01', 7), self.engine.sent[-1][1])

    def test_broker_away_at_stop_is_logged_not_raised(self):
        self.engine.down = True
        self.assertFalse(self.agent.report_stop())

    def test_once_mode_sends_no_agent_stop(self):
        # stop() without a running cycle loop (vmguard-agent --once).
        self.agent.stop()
        self.assertEqual([], self.engine.sent)
