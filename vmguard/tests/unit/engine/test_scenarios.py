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

"""Every scenario of vmguard/tests/scenarios through replay's code path.

The expected decisions were written by hand from SPEC.md's rules
(tools/make_scenarios.py), not recorded from vmguard's output.
"""

import configparser
import io
import json
import os
import subprocess
import sys

import fixtures

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.engine import replay
from vmguard.engine import segments
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard.tests import base
from vmguard.tests.unit.engine import streams

SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'scenarios')
KEYS = ('node', 'cycle', 'action', 'vm', 'service', 'target', 'rule')


def _names():
    return sorted(f[:-len('.expected.jsonl')] for f in os.listdir(SCENARIOS)
                  if f.endswith('.expected.jsonl'))


def _expected(name):
    decisions, rejected = [], []
    with open(os.path.join(SCENARIOS, name + '.expected.jsonl')) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            item = json.loads(line)
            if 'rejected_lines' in item:
                rejected = item['rejected_lines']
            else:
                decisions.append(item)
    return decisions, rejected


def _segments_file(name):
    """The failover segments a scenario is judged with, if any."""
    path = os.path.join(SCENARIOS, name + '.segments.json')
    return path if os.path.exists(path) else None


class TestScenarios(base.TestCase):

    def _overrides(self, name):
        path = os.path.join(SCENARIOS, name + '.conf')
        if not os.path.exists(path):
            return
        parser = configparser.ConfigParser()
        parser.read(path)
        for section in parser.sections():
            for key, value in parser.items(section):
                self.flags(group=section, **{key: int(value)})

    def _check(self, name):
        self._overrides(name)
        expected, rejected_lines = _expected(name)
        out, err = io.StringIO(), io.StringIO()
        path = _segments_file(name)
        segment_map = segments.load_file(path) if path else None
        with open(os.path.join(SCENARIOS, name + '.jsonl')) as f:
            code = replay.run(f, self.conf, out, err, segments=segment_map)
        got = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual([{k: e[k] for k in KEYS} for e in expected],
                         [{k: g[k] for k in KEYS} for g in got],
                         '%s: decisions differ' % name)
        for exp, dec in zip(expected, got, strict=True):
            self.assertTrue(dec['reason'])
            for fragment in exp.get('reason_contains', ()):
                self.assertIn(fragment, dec['reason'])
        if rejected_lines:
            self.assertEqual(replay.EXIT_REJECTED, code)
            for number in rejected_lines:
                self.assertIn('line %d: rejected' % number, err.getvalue())
        else:
            self.assertEqual(replay.EXIT_OK, code, err.getvalue())

    def test_library_is_complete(self):
        names = _names()
        for rule in ('r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9',
                     'r10', 'rev2_'):
            self.assertTrue(any(rule in n for n in names), rule)
        self.assertGreaterEqual(len(names), 20)


class TestScenariosThroughTheEngine(base.DbTestCase):
    """The same traces through the engine service's path
    (``service.Engine.handle``/``tick``: wall clock, database).

    The trace is given a wall clock: a record's time is its cycle, but
    never more than one cycle after the previous record's time (a node's
    far-future cycle does not move the engine's clock), and the engine's
    periodic tick runs after each record. The decisions are the ones
    written for replay; their order may differ (the engine decides R9 and
    timed-out events when the time says so).
    """

    def _check(self, name):
        TestScenarios._overrides(self, name)
        objects.register_all()
        self.flags(host='engine-scenario')
        engine = service.Engine(self.conf)
        path = _segments_file(name)
        if path:
            # Stored as the API would, read by the engine's rebalance.
            with open(path) as f:
                for segment in segments.parse(json.load(f)):
                    db_api.segment_create(
                        self.context,
                        {'name': segment['name'],
                         'recovery_method': segment['recovery_method']},
                        segment['hosts'])
            engine.rebalance()
        interval = self.conf.engine.cycle_interval
        expected, rejected_lines = _expected(name)
        got, bad, clock = [], 0, None
        with open(os.path.join(SCENARIOS, name + '.jsonl')) as f:
            for line in f:
                try:
                    rec = records.parse_record(json.loads(line))
                except (ValueError, exception.InvalidRecord):
                    bad += 1
                    continue
                cycle = rec.cycle if clock is None else max(
                    clock, min(rec.cycle, clock + 1))
                clock = cycle
                now = (cycle + 0.5) * interval
                before = engine.rejected
                got += engine.handle(rec, now=now)
                bad += engine.rejected - before
                got += engine.tick(now=now)
        got += engine.tick(now=(clock + 100) * interval)
        self.assertEqual(
            sorted(tuple(e[k] for k in KEYS) for e in expected),
            sorted(tuple(getattr(d, k) for k in KEYS) for d in got),
            '%s: decisions differ' % name)
        self.assertEqual(len(rejected_lines), bad)
        stored = db_api.decision_list(self.context)
        self.assertEqual(len(got), len(stored))


def _make_test(name):
    def test(self):
        self._check(name)
    test.__name__ = 'test_%s' % name
    return test


for _name in _names():
    setattr(TestScenarios, 'test_%s' % _name, _make_test(_name))
    setattr(TestScenariosThroughTheEngine, 'test_%s' % _name,
            _make_test(_name))


class TestReplayCommand(base.TestCase):
    """``vmguard-manage replay`` through its real entry point."""

    def _run(self, *args):
        return subprocess.run(
            [sys.executable, '-m', 'vmguard.cmd.manage'] + list(args),
            capture_output=True, text=True, timeout=120, check=False)

    def test_prints_decisions_as_json_lines(self):
        proc = self._run('replay', os.path.join(
            SCENARIOS, 'r4_failed_host_once_and_rearm.jsonl'))
        self.assertEqual(0, proc.returncode, proc.stderr)
        lines = [json.loads(x) for x in proc.stdout.splitlines()]
        self.assertEqual(['evacuate', 'migrate_all', 'disable_node',
                          'migrate_all', 'disable_node'],
                         [x['action'] for x in lines])
        self.assertEqual(list(KEYS) + ['reason'], list(lines[0]))

    def test_rejected_lines_exit_3_and_go_on(self):
        proc = self._run('replay', os.path.join(
            SCENARIOS, 'disabled_node_is_not_a_target.jsonl'))
        self.assertEqual(3, proc.returncode)
        self.assertIn('line 4: rejected: not valid JSON', proc.stderr)
        self.assertIn("line 5: rejected: snapshot: 'cycle' must be an "
                      "integer", proc.stderr)
        self.assertEqual(3, len(proc.stdout.splitlines()))

    def test_values_of_unexpected_types_and_deep_nesting_go_on(self):
        # An unhashable enum value once raised TypeError out of the
        # validation, and a line nested deeper than the JSON decoder's
        # recursion limit raised RecursionError: each ended the replay.
        trace = self.useFixture(fixtures.TempDir()).join('t.jsonl')
        good = streams.snapshot('odd-1', 1, health='critical')
        bad_health = streams.snapshot('odd-2', 1)
        bad_health['hardware'][0]['health'] = ['critical']
        bad_state = streams.snapshot('odd-3', 1)
        bad_state['services'][0]['state'] = {'x': 1}
        with open(trace, 'w') as f:
            f.write(json.dumps(dict(bad_health, type='snapshot')) + '\n')
            f.write('[' * 100000 + '\n')
            f.write(json.dumps(dict(bad_state, type='snapshot')) + '\n')
            f.write(json.dumps(dict(good, type='snapshot')) + '\n')
        proc = self._run('replay', trace)
        self.assertEqual(3, proc.returncode, proc.stderr)
        self.assertIn("line 1: rejected: hardware[0]: 'health' must be a "
                      "string, not list", proc.stderr)
        self.assertIn('line 2: rejected: not valid JSON: nested too deep',
                      proc.stderr)
        self.assertIn("line 3: rejected: services[0]: 'state' must be a "
                      "string, not dict", proc.stderr)
        self.assertEqual(['migrate_all', 'disable_node'],
                         [json.loads(x)['action']
                          for x in proc.stdout.splitlines()])

    def test_config_file_overrides_thresholds(self):
        trace = os.path.join(SCENARIOS,
                             'r2_crash_loop_outside_window.jsonl')
        proc = self._run('replay', trace)
        rules = [json.loads(x)['rule'] for x in proc.stdout.splitlines()]
        # Default reboot_window (30): the 4th crash is a crash loop.
        self.assertEqual(['R1', 'R1', 'R1', 'R2'], rules)
        conf = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'v.conf')
        with open(conf, 'w') as f:
            f.write('[engine]\nreboot_window = 5\n')
        proc = self._run('--config-file', conf, 'replay', trace)
        rules = [json.loads(x)['rule'] for x in proc.stdout.splitlines()]
        self.assertEqual(['R1', 'R1', 'R1', 'R1'], rules)

    def test_segments_file(self):
        trace = os.path.join(SCENARIOS, 'segments_reserved_host.jsonl')
        proc = self._run('replay', trace)
        self.assertEqual(0, proc.returncode, proc.stderr)
        # The cloud-wide pool: cmp-02 has the most free RAM.
        self.assertEqual(['cmp-02', 'cmp-02', None], [
            json.loads(x)['target'] for x in proc.stdout.splitlines()])
        proc = self._run('replay', '--segments', os.path.join(
            SCENARIOS, 'segments_reserved_host.segments.json'), trace)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual(['cmp-03', 'cmp-03', None], [
            json.loads(x)['target'] for x in proc.stdout.splitlines()])
        tmp = self.useFixture(fixtures.TempDir()).path
        for name, content, expected in (
                ('bad.json', '{"segments": [', 'is not JSON'),
                ('method.json', '[{"name": "a", "recovery_method": "x"}]',
                 'segment a: "recovery_method" must be one of auto'),
                ('twice.json', '[{"name": "a", "recovery_method": "auto",'
                 ' "hosts": ["n1"]}, {"name": "b", "recovery_method": '
                 '"auto", "hosts": ["n1"]}]',
                 'node n1 is already in segment a')):
            path = os.path.join(tmp, name)
            with open(path, 'w') as f:
                f.write(content)
            proc = self._run('replay', '--segments', path, trace)
            self.assertEqual(2, proc.returncode, proc.stderr)
            self.assertIn(expected, proc.stderr)
            self.assertEqual('', proc.stdout)
        proc = self._run('replay', '--segments', '/nonexistent.json', trace)
        self.assertEqual(2, proc.returncode)
        self.assertIn('cannot read /nonexistent.json', proc.stderr)

    def test_missing_trace(self):
        proc = self._run('replay', '/nonexistent/trace.jsonl')
        self.assertEqual(2, proc.returncode)
        self.assertIn('cannot read trace', proc.stderr)
