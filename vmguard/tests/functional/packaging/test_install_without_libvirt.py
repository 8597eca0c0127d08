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

"""The README's main command installs and runs without libvirt's headers.

``tox -e demo`` on a fresh machine: a new virtualenv gets the demo
environment's deps from tox.ini and vmguard itself (``pip install .``,
no extra) while ``pkg-config`` cannot find libvirt, so anything trying to
build libvirt-python fails. The installed ``vmguard-allinone`` then runs
the demo on the libvirt stand-in, says so, and prints its table.
"""

import configparser
import os
import subprocess
import sys
import tempfile

from vmguard.tests.functional import base as func_base
from vmguard.tests.functional.packaging import test_wheel


def _demo_deps():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(os.path.join(test_wheel.TOP, 'tox.ini'))
    deps = tox.get('testenv:demo', 'deps').split()
    return [d.replace('{toxinidir}', test_wheel.TOP) for d in deps]


class TestInstallWithoutLibvirt(func_base.FunctionalTestCase):

    def test_demo_env_installs_and_runs_without_libvirt_headers(self):
        deps = _demo_deps()
        self.assertNotIn('libvirt', ' '.join(deps).lower())
        venv = tempfile.mkdtemp(prefix='vmguard-nolibvirt-')
        self.addCleanup(subprocess.run, ['rm', '-rf', venv], check=False)
        env = dict(os.environ, PKG_CONFIG_PATH='/nonexistent',
                   PKG_CONFIG_LIBDIR='/nonexistent')
        env.pop('PYTHONPATH', None)
        subprocess.run([sys.executable, '-m', 'venv', venv], check=True,
                       timeout=120)
        python = os.path.join(venv, 'bin', 'python')
        # pkg-config really finds no libvirt in this environment.
        pc = subprocess.run(['pkg-config', '--exists', 'libvirt'], env=env,
                            check=False)
        self.assertNotEqual(0, pc.returncode)
        proc = subprocess.run(
            [python, '-m', 'pip', 'install', '-q'] + deps + [test_wheel.TOP],
            env=env, capture_output=True, text=True, timeout=900,
            check=False)
        self.assertEqual(0, proc.returncode, proc.stderr[-3000:])
        probe = subprocess.run([python, '-c', 'import libvirt'], env=env,
                               capture_output=True, text=True, check=False)
        self.assertNotEqual(0, probe.returncode)
        # The libvirt collector says how to get libvirt-python.
        probe = subprocess.run(
            [python, '-c', 'import vmguard.agent.collectors.libvirt'],
            env=env, capture_output=True, text=True, check=False)
        self.assertNotEqual(0, probe.returncode)
        self.assertIn('pip install "vmguard[libvirt]"', probe.stderr)

        demo = subprocess.run(
            [os.path.join(venv, 'bin', 'vmguard-allinone')], env=env,
            capture_output=True, text=True, timeout=300, check=False,
            cwd=venv)
        self.assertEqual(0, demo.returncode,
                         demo.stdout[-3000:] + demo.stderr[-3000:])
        self.assertIn('libvirt-python is not installed', demo.stdout)
        self.assertIn('vmguard.allinone.libvirt_standin', demo.stdout)
        self.assertNotIn('Redfish BMCs NOT used', demo.stdout)
        self.assertIn('R1 reboot', demo.stdout)
        self.assertIn('OK: every expected decision was made', demo.stdout)
