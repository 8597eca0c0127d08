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

"""vmguard.common.metrics: the hooks through the real code paths, and the
text the endpoint serves."""

import urllib.request

from oslo_config import cfg
import prometheus_client
import testtools

from vmguard.common import metrics
from vmguard.compute import base as compute_base
from vmguard.conf import metrics as metrics_conf
from vmguard.compute import fake
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.objects import records
from vmguard.tests import base as test_base


def _value(name, labels=None):
    return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0


class _NoBMC:
    def configured(self, node):
        return False


class TestRecoveryHooks(test_base.DbTestCase):

    def test_nova_accepted_observed_by_the_executor(self):
        self.flags(group='recovery', retry_interval=0.0, poll_interval=0.05,
                   max_concurrent=1)
        driver = fake.FakeComputeDriver()
        driver.add_host('cmp-1')
        db_api.node_get_or_create(self.context, 'cmp-1')
        db_api.node_update(self.context, 'cmp-1', {'host_state': 'normal'})
        driver.add_server('vm-1', 'cmp-1', status=compute_base.ACTIVE)
        executor = recovery.RecoveryExecutor(driver=driver, owner='e1',
                                             fencer=_NoBMC(),
                                             sleep=lambda s: None)
        self.addCleanup(executor.stop)
        decision, _created = db_api.decision_create(self.context, {
            'incident_key': 'metrics-%s' % self.id(), 'node': 'cmp-1',
            'cycle': 10, 'action': 'reboot', 'vm': 'vm-1', 'target': None,
            'rule': 'R1', 'reason': 'test'})
        before = _value(
            'vmguard_engine_decision_to_nova_accepted_seconds_count')
        self.assertEqual('succeeded', executor.execute(decision))
        self.assertEqual(
            before + 1,
            _value('vmguard_engine_decision_to_nova_accepted_seconds_count'))


class TestHooks(testtools.TestCase):

    def test_decision_and_recovery_counters(self):
        class Row:
            rule = 'R1'
            action = 'reboot'
        before = _value('vmguard_engine_decisions_total',
                        {'rule': 'R1', 'action': 'reboot'})
        metrics.decision_stored(Row())
        self.assertEqual(before + 1, _value(
            'vmguard_engine_decisions_total',
            {'rule': 'R1', 'action': 'reboot'}))
        before = _value('vmguard_engine_recoveries_total',
                        {'outcome': 'escalated'})
        metrics.recovery_finished('escalated')
        metrics.recovery_finished(None)  # left pending: not counted
        self.assertEqual(before + 1, _value(
            'vmguard_engine_recoveries_total', {'outcome': 'escalated'}))

    def test_crash_to_decision_from_collected_at(self):
        class Decision:
            vm = 'vm-1'
        snap = records.Snapshot('cmp-1', 5,
                                collected_at='2026-01-01T00:00:00.000000Z')
        stamp = metrics._epoch('2026-01-01T00:00:00.000000Z')
        before_sum = _value('vmguard_engine_crash_to_decision_seconds_sum')
        metrics.crash_to_decision(snap, [Decision()], intake=stamp + 0.5,
                                  now=stamp + 2.0)
        self.assertAlmostEqual(
            before_sum + 2.0,
            _value('vmguard_engine_crash_to_decision_seconds_sum'))

        class NodeDecision:
            vm = None
        count = _value('vmguard_engine_crash_to_decision_seconds_count')
        metrics.crash_to_decision(snap, [NodeDecision()], intake=stamp)
        self.assertEqual(
            count, _value('vmguard_engine_crash_to_decision_seconds_count'))

    def test_hooks_never_raise(self):
        metrics.decision_stored(object())
        metrics.crash_to_decision(object(), None, intake='x')
        metrics.collectors_timed(None)

    def test_collector_timings(self):
        before = _value('vmguard_agent_collector_failures_total',
                        {'collector': 'redfish'})
        metrics.collectors_timed({'libvirt': 0.02, 'redfish': None})
        self.assertEqual(before + 1, _value(
            'vmguard_agent_collector_failures_total',
            {'collector': 'redfish'}))
        self.assertGreaterEqual(_value(
            'vmguard_agent_collector_duration_seconds_count',
            {'collector': 'libvirt'}), 1)


class TestServe(testtools.TestCase):

    def test_serves_text_format_and_survives_a_busy_port(self):
        conf = cfg.ConfigOpts()
        metrics_conf.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override('host_ip', '127.0.0.1', group='metrics')

        class Agent:
            def buffered(self):
                return 7
        metrics.watch_agent(Agent())
        host, port = metrics.serve(conf, 0)
        with urllib.request.urlopen('http://%s:%s/metrics' % (host, port),
                                    timeout=10) as resp:
            text = resp.read().decode()
        self.assertIn('vmguard_agent_buffer_depth 7.0', text)
        self.assertIn('# TYPE vmguard_engine_decisions_total counter', text)
        # The same port again: logged, None, no exception.
        self.assertIsNone(metrics.serve(conf, port))
        conf.set_override('enabled', False, group='metrics')
        self.assertIsNone(metrics.serve(conf, 0))
        self.assertIsNotNone(prometheus_client)


class TestDashboard(testtools.TestCase):

    def test_dashboard_graphs_every_metric(self):
        import json
        import os
        import vmguard
        path = os.path.join(os.path.dirname(vmguard.__file__), '..', 'doc',
                            'grafana', 'vmguard-dashboard.json')
        with open(path) as f:
            dash = json.load(f)
        exprs = ' '.join(t['expr'] for p in dash['panels']
                         for t in p['targets'])
        names = ['vmguard_engine_records_received_total',
                 'vmguard_engine_records_rejected_total',
                 'vmguard_engine_decisions_total',
                 'vmguard_engine_recoveries_total',
                 'vmguard_engine_crash_to_decision_seconds_bucket',
                 'vmguard_engine_decision_to_nova_accepted_seconds_bucket',
                 'vmguard_engine_judge_backlog',
                 'vmguard_agent_collector_duration_seconds_bucket',
                 'vmguard_agent_collector_failures_total',
                 'vmguard_agent_buffer_depth']
        for name in names:
            self.assertIn(name, exprs)
        # Every metric of the registry is among them.
        for metric in metrics.REGISTRY.collect():
            self.assertTrue(any(n.startswith(metric.name) for n in names),
                            metric.name)
