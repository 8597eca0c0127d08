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

"""The API reference covers every route; api-ref and release notes build.

The builds are what ``tox -e api-ref`` and ``tox -e releasenotes`` run
(sphinx-build -W: a warning fails).
"""

import configparser
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

import testtools

from vmguard.api import handler
from vmguard.tests.functional.packaging import test_wheel

TOP = test_wheel.TOP


def _documented_routes():
    found = set()
    for path in glob.glob(os.path.join(TOP, 'api-ref', 'source', '*.inc')):
        with open(path) as f:
            for method, route in re.findall(
                    r'^\.\. rest_method:: (\w+) (\S+)$', f.read(), re.M):
                found.add((method, route))
    return found


class TestDocs(testtools.TestCase):

    def test_every_route_is_documented(self):
        routes = {(method, path)
                  for path, methods in handler.ROUTE_DECLARATIONS.items()
                  for method in methods}
        self.assertEqual(set(), routes - _documented_routes())
        self.assertEqual(set(), _documented_routes() - routes)

    def _tox_build(self, env):
        tox = configparser.ConfigParser(interpolation=None)
        tox.read(os.path.join(TOP, 'tox.ini'))
        commands = [c for c in tox.get('testenv:%s' % env,
                                       'commands').splitlines()
                    if c.startswith('sphinx-build')]
        self.assertEqual(1, len(commands))
        argv = shlex.split(commands[0])
        out = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ['rm', '-rf', out], check=False)
        # Build where tox would, but into a temporary directory.
        argv[-1] = os.path.join(out, 'html')
        argv[argv.index('-d') + 1] = os.path.join(out, 'doctrees')
        proc = subprocess.run(
            [sys.executable, '-m', 'sphinx'] + argv[1:], cwd=TOP,
            capture_output=True, text=True, timeout=300, check=False)
        self.assertEqual(0, proc.returncode, proc.stdout[-2000:]
                         + proc.stderr[-3000:])
        return os.path.join(out, 'html')

    def test_api_ref_builds(self):
        html = self._tox_build('api-ref')
        with open(os.path.join(html, 'index.html')) as f:
            text = f.read()
        for title in ('List hardware changes', 'Set global dry run'):
            # find(), not assertIn: a failure would print the whole page.
            self.assertNotEqual(-1, text.find(title), title)

    def test_release_notes_build(self):
        html = self._tox_build('releasenotes')
        with open(os.path.join(html, 'unreleased.html')) as f:
            text = f.read()
        self.assertNotEqual(-1, text.find('vmguard[libvirt]'))
