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

"""Metrics and /healthcheck while a real engine works.

Real processes, as an operator runs them: ``vmguard-engine`` (SQLite,
fake compute back end in dry run) and ``vmguard-agent`` (libvirt
collector on libvirt's test driver, a node with a crashed VM) talking
over the machine's RabbitMQ, and ``vmguard-api``. Both metrics endpoints
are scraped while the engine takes snapshots and decides; /healthcheck
answers 200 while the engine runs and 503 once it is stopped.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import oslo_messaging as messaging

from vmguard.allinone import nodes
from vmguard.tests.functional import base as func_base


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _scrape(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                timeout=10) as resp:
        return resp.read().decode()


def _sample(text, name, **labels):
    """Value of one sample of the text format, or None."""
    want = ','.join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        if not match or match.group(1) != name:
            continue
        got = ','.join(sorted((match.group(2) or '').split(',')))
        if got.strip(',') == want:
            return float(match.group(3))
    return None


class TestMetricsEndpoints(func_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        self.dir = tempfile.mkdtemp(prefix='vmguard-metrics-')
        self.addCleanup(subprocess.run, ['rm', '-rf', self.dir], check=False)
        suffix = uuid.uuid4().hex[:8]
        self.engine_topic = 'vmguard-metrics-ft-engine-%s' % suffix
        node = nodes.SimNode('cmp-m-%s' % suffix, 0, self.dir)
        node.add_domain('web')
        self.crashed = node.add_domain('db')
        node.domains[self.crashed]['state'] = nodes.CRASHED
        node.write_xml()
        self.engine_port = _free_port()
        self.agent_port = _free_port()
        self.api_port = _free_port()
        self.conf_path = os.path.join(self.dir, 'vmguard.conf')
        with open(self.conf_path, 'w') as f:
            f.write(
                '[DEFAULT]\ntransport_url = %(url)s\nhost = metrics-%(s)s\n'
                'use_stderr = false\n'
                '[database]\nconnection = sqlite:///%(dir)s/vmguard.sqlite\n'
                '[engine]\ntopic = %(topic)s\ncycle_interval = 1\n'
                'periodic_interval = 1\n'
                '[agent]\ntopic = vmguard-metrics-ft-agent-%(s)s\n'
                'node_name = %(node)s\ncollectors = libvirt\n'
                'libvirt_uri = test://%(xml)s\n'
                '[notifications]\nnova_listener = false\nemit = false\n'
                '[recovery]\ncompute_driver = fake\ndry_run = true\n'
                '[metrics]\nhost_ip = 127.0.0.1\nengine_port = %(ep)d\n'
                'agent_port = %(ap)d\n'
                '[api]\nhost_ip = 127.0.0.1\nport = %(pp)d\n'
                'auth_strategy = noauth\n'
                % {'url': self.url, 's': suffix, 'dir': self.dir,
                   'topic': self.engine_topic, 'node': node.name,
                   'xml': node.xml, 'ep': self.engine_port,
                   'ap': self.agent_port, 'pp': self.api_port})
        subprocess.run([sys.executable, '-m', 'vmguard.cmd.manage',
                        '--config-file', self.conf_path, 'db', 'sync'],
                       check=True, capture_output=True, timeout=120)

    def _daemon(self, name):
        log = os.path.join(self.dir, '%s.log' % name)
        proc = subprocess.Popen(
            [sys.executable, '-m', 'vmguard.cmd.%s' % name, '--config-file',
             self.conf_path, '--log-file', log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def reap():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(reap)
        return proc

    def _wait(self, what, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except (OSError, urllib.error.URLError) as exc:
                last = exc
            time.sleep(0.5)
        logs = ''
        for name in ('engine', 'agent', 'api'):
            path = os.path.join(self.dir, '%s.log' % name)
            if os.path.exists(path):
                with open(path) as f:
                    logs += '--- %s\n%s\n' % (name, f.read()[-2000:])
        self.fail('%s: not within %ss (last: %r)\n%s'
                  % (what, timeout, last, logs))

    def _healthcheck(self):
        req = urllib.request.Request(
            'http://127.0.0.1:%d/healthcheck' % self.api_port)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def test_scrape_both_while_the_engine_decides(self):
        engine = self._daemon('engine')
        self._wait('engine metrics endpoint',
                   lambda: _scrape(self.engine_port))
        self._daemon('agent')
        api = self._daemon('api')

        def engine_decided():
            # The crashed VM on a node without hardware information: R3
            # (escalate: no other node to move it to).
            text = _scrape(self.engine_port)
            got = _sample(text, 'vmguard_engine_decisions_total',
                          rule='R3', action='escalate')
            return text if got and got >= 1 else None
        text = self._wait('a decision counted', engine_decided)
        self.assertGreaterEqual(_sample(
            text, 'vmguard_engine_records_received_total',
            kind='snapshot'), 1)
        self.assertGreaterEqual(_sample(
            text, 'vmguard_engine_crash_to_decision_seconds_count'), 1)
        self.assertIsNotNone(_sample(text, 'vmguard_engine_judge_backlog'))
        # Its recovery ran (dry run: skipped).
        self._wait('a recovery outcome counted', lambda: _sample(
            _scrape(self.engine_port), 'vmguard_engine_recoveries_total',
            outcome='skipped'))

        # Bad input is counted as rejected.
        transport = messaging.get_rpc_transport(self.conf, url=self.url)
        self.addCleanup(transport.cleanup)
        client = messaging.get_rpc_client(
            transport, messaging.Target(topic=self.engine_topic))
        client.cast({}, 'report_snapshot', snapshot='garbage')
        self._wait('a rejected record counted', lambda: sum(
            float(v) for v in re.findall(
                r'^vmguard_engine_records_rejected_total\{[^}]*\} (\S+)$',
                _scrape(self.engine_port), re.M)) >= 1)

        # The agent's endpoint, while it sends.
        agent_text = self._wait(
            'libvirt collector timings', lambda: (
                lambda t: t if (_sample(
                    t, 'vmguard_agent_collector_duration_seconds_count',
                    collector='libvirt') or 0) >= 2 else None)(
                _scrape(self.agent_port)))
        self.assertEqual(0, _sample(agent_text,
                                    'vmguard_agent_buffer_depth'))

        # /healthcheck: all three backends pass while the engine runs...
        status, body = self._wait('healthcheck 200', lambda: (
            lambda r: r if r[0] == 200 else None)(self._healthcheck()))
        self.assertEqual(200, status, body)
        # ... and it says 503 once the engine is gone.
        engine.send_signal(signal.SIGTERM)
        self.assertEqual(0, engine.wait(60))
        status, body = self._healthcheck()
        self.assertEqual(503, status, body)
        self.assertIn('no engine answered', body)
        self.assertIsNone(api.poll())
