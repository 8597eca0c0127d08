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

import subprocess
import sys

from vmguard.tests import base

_PROBE = """
import socket, threading
import vmguard
from oslo_service import backend
import vmguard.common.rpc, vmguard.db.api, vmguard.objects.snapshot
print(backend.get_backend_type().name)
# Not monkey-patched: the stdlib objects are the originals.
print(socket.socket.__module__, threading.Thread.__module__)
"""


class TestNoEventlet(base.TestCase):

    def test_threading_backend_and_no_monkey_patching(self):
        proc = subprocess.run([sys.executable, '-c', _PROBE],
                              capture_output=True, text=True, check=True,
                              timeout=120)
        lines = proc.stdout.split()
        self.assertEqual(['THREADING', 'socket', 'threading'], lines)
        self.assertNotIn('Eventlet is deprecated', proc.stderr)
