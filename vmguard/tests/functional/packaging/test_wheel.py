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

"""The built wheel holds the whole package (pbr's package discovery).

pyproject.toml once named ``[tool.setuptools] packages = ["vmguard"]``,
which overrode pbr: the subpackages went in as data files, or not at all.
This builds the wheel as a packager does (``pip wheel --no-deps``) and
compares it with the source tree.
"""

import os
import subprocess
import sys
import tempfile
import zipfile

import testtools

import vmguard

TOP = os.path.dirname(os.path.dirname(os.path.abspath(vmguard.__file__)))


def _source_files():
    """Files of the package in the source tree: git's list when there is
    one, else every file outside __pycache__."""
    try:
        out = subprocess.run(['git', '-C', TOP, 'ls-files', 'vmguard'],
                             capture_output=True, text=True, check=True)
        files = set(out.stdout.split())
        if files:
            return {f for f in files if os.path.exists(os.path.join(TOP, f))}
    except (OSError, subprocess.CalledProcessError):
        pass
    found = set()
    for top, dirs, names in os.walk(os.path.join(TOP, 'vmguard')):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in names:
            found.add(os.path.relpath(os.path.join(top, name), TOP))
    return found


class TestWheel(testtools.TestCase):

    def test_wheel_holds_every_subpackage_and_file(self):
        out = tempfile.mkdtemp(prefix='vmguard-wheel-')
        self.addCleanup(subprocess.run, ['rm', '-rf', out], check=False)
        # pbr writes vmguard.egg-info into the source tree; left there it
        # would shadow the installed metadata (entry points) of processes
        # started in the tree.
        egg_info = os.path.join(TOP, 'vmguard.egg-info')
        if not os.path.exists(egg_info):
            self.addCleanup(subprocess.run, ['rm', '-rf', egg_info],
                            check=False)
        proc = subprocess.run(
            [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
             '--no-build-isolation', '-q', '-w', out, TOP],
            capture_output=True, text=True, timeout=300, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertNotIn('would be ignored', proc.stderr)
        wheels = [f for f in os.listdir(out) if f.endswith('.whl')]
        self.assertEqual(1, len(wheels), wheels)
        with zipfile.ZipFile(os.path.join(out, wheels[0])) as whl:
            names = set(whl.namelist())
        source = _source_files()
        packages = {os.path.dirname(f) for f in source
                    if f.endswith('/__init__.py')}
        # Sanity: the tree really has nested subpackages.
        self.assertIn('vmguard/engine/judges', packages)
        missing_packages = sorted(p for p in packages
                                  if p + '/__init__.py' not in names)
        self.assertEqual([], missing_packages)
        missing = sorted(source - names)
        self.assertEqual([], missing)
        # Installed as packages, not copied as data files.
        self.assertEqual([], sorted(n for n in names
                                    if '.data/' in n and '/vmguard/' in n
                                    and n.endswith('.py')))
        # The etc/ files ship as data files.
        self.assertTrue(any(n.endswith('data/etc/vmguard/api-paste.ini')
                            for n in names), sorted(names)[:5])

    def test_libvirt_is_an_extra(self):
        from importlib import metadata
        requires = metadata.requires('vmguard') or []
        plain = [r for r in requires if 'extra ==' not in r]
        self.assertFalse([r for r in plain if r.startswith('libvirt')],
                         plain)
        self.assertTrue([r for r in requires if r.startswith('libvirt')
                         and 'extra == "libvirt"' in r], requires)
