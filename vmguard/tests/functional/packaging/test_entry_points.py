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

"""No vmguard process imports eventlet.

Every module named by one of vmguard's entry points (console scripts,
config/policy hooks, drivers, the CLI plugin) is imported in a fresh
interpreter, which then must not have eventlet in ``sys.modules``.
futurist probes for eventlet at import time; vmguard/__init__.py makes
that probe find none.
"""

import json
import subprocess
import sys
from importlib import metadata

import testtools

PROBE = r'''
import importlib, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = '%s: %s' % (type(exc).__name__, exc)
print(json.dumps({'eventlet': 'eventlet' in sys.modules,
                  'eventlet_modules': sorted(m for m in sys.modules
                                             if m.startswith('eventlet')),
                  'failed': failed}))
'''


def _entry_point_modules():
    dist = metadata.distribution('vmguard')
    return sorted({ep.value.split(':')[0] for ep in dist.entry_points})


class TestNoEventlet(testtools.TestCase):

    def _probe(self, modules):
        proc = subprocess.run([sys.executable, '-c', PROBE,
                               json.dumps(modules)],
                              capture_output=True, text=True, timeout=120,
                              check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        return json.loads(proc.stdout.splitlines()[-1])

    def test_entry_points_are_known(self):
        modules = _entry_point_modules()
        for expected in ('vmguard.cmd.engine', 'vmguard.cmd.agent',
                         'vmguard.cmd.api', 'vmguard.cli.osc.plugin'):
            self.assertIn(expected, modules)

    def test_each_console_script_alone(self):
        dist = metadata.distribution('vmguard')
        scripts = sorted({ep.value.split(':')[0] for ep in dist.entry_points
                          if ep.group == 'console_scripts'})
        self.assertGreaterEqual(len(scripts), 6)
        for module in scripts:
            result = self._probe([module])
            self.assertEqual({}, result['failed'], module)
            self.assertFalse(result['eventlet'],
                             '%s: %s' % (module, result['eventlet_modules']))

    def test_every_entry_point_module(self):
        result = self._probe(_entry_point_modules())
        self.assertEqual({}, result['failed'])
        self.assertFalse(result['eventlet'], result['eventlet_modules'])

    def test_futurist_after_vmguard_uses_threads(self):
        proc = subprocess.run(
            [sys.executable, '-c',
             'import sys, vmguard, futurist, futurist._utils as u; '
             'print(u.EVENTLET_AVAILABLE, "eventlet" in sys.modules)'],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('False False', proc.stdout.strip())
