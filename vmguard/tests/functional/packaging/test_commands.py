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

"""The README's two commands and what runs them.

* ``.ci/run`` runs exactly the README's test command;
* ``tox -e py3`` (that command) runs ``tools/ci-setup.sh`` before the
  tests, which knows every system package the tests need (bindep.txt
  too) and installs libvirt-python only after libvirt's headers;
* ``tools/ci-setup.sh --unit`` runs here (idempotent: nothing missing).
"""

import configparser
import os
import re
import subprocess
import sys

import testtools

from vmguard.tests.functional.packaging import test_wheel

TOP = test_wheel.TOP
APT = ('libvirt-dev pkg-config libvirt-clients libvirt-daemon '
       'libvirt-daemon-driver-qemu qemu-system-x86 busybox-static cpio kmod '
       'iproute2 openipmi').split()


def _read(*path):
    with open(os.path.join(TOP, *path)) as f:
        return f.read()


def _readme_commands():
    return re.findall(r'^    (pip install tox && tox -e \S+)$',
                      _read('README.rst'), re.M)


class TestCommands(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tox = configparser.ConfigParser(interpolation=None)
        self.tox.read(os.path.join(TOP, 'tox.ini'))

    def test_readme_names_the_two_commands(self):
        self.assertEqual(['pip install tox && tox -e py3',
                          'pip install tox && tox -e demo'],
                         _readme_commands())

    def test_ci_run_runs_exactly_the_readme_test_command(self):
        lines = [line.strip() for line in _read('.ci', 'run').splitlines()
                 if line.strip() and not line.startswith('#')]
        self.assertEqual('pip install tox && tox -e py3', lines[-1])
        # Nothing else but the shell preamble.
        self.assertEqual(['set -eu', 'set -o pipefail',
                          'cd "$(dirname "$0")/.."'], lines[:-1])

    def test_py3_sets_the_machine_up_first(self):
        pre = self.tox.get('testenv:py3', 'commands_pre')
        self.assertIn('tools/ci-setup.sh', pre)
        script = _read('tools', 'ci-setup.sh')
        for pkg in APT:
            self.assertRegex(script, r'APT_PACKAGES="[^"]*\b%s\b'
                             % re.escape(pkg))
        # libvirt-python is built after the headers are installed.
        self.assertLess(script.index('apt-get install'),
                        script.index("pip install -q 'libvirt-python"))
        self.assertIn('tools/nova/install.sh', script)
        bindep = _read('bindep.txt')
        for pkg in APT:
            self.assertRegex(bindep, r'(?m)^%s ' % re.escape(pkg))

    def test_no_env_installs_libvirt_python_before_the_headers(self):
        # tox installs deps before commands_pre: libvirt-python in any
        # deps would be built before ci-setup.sh installed the headers.
        deps = ' '.join(self.tox.get(s, 'deps', fallback='')
                        for s in self.tox.sections())
        self.assertIn('requirements.txt', deps)
        for text in (deps, _read('requirements.txt'),
                     _read('test-requirements.txt')):
            self.assertNotIn('libvirt', text.lower())

    def test_ci_setup_unit_mode_runs_here(self):
        proc = subprocess.run(['bash', os.path.join(TOP, 'tools',
                                                    'ci-setup.sh'), '--unit'],
                              capture_output=True, text=True, timeout=300,
                              check=False,
                              env=dict(os.environ, PYTHON=sys.executable))
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
