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

"""A Redfish BMC emulated by sushy-tools' ``sushy-static``.

:data:`MOCKUP` is the project's Redfish mockup (``redfish_mockup/``): one
system with two DIMMs, two drives and a NIC, one chassis with two PSUs, a
fan and a temperature. ``sushy-static`` serves a private, writable copy of
it (:func:`copy_mockup`); :func:`update_resource` rewrites one of its
resources atomically, as a BMC's view changes. Used by the all-in-one
demo's simulated nodes, the end-to-end benchmark and the agent's
functional tests.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

MOCKUP = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'redfish_mockup')


class SushyStaticError(RuntimeError):
    """sushy-static is missing, exited, or does not answer."""


def free_port():
    """A TCP port of 127.0.0.1 free just now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def copy_mockup(dest):
    """Copy :data:`MOCKUP` to ``dest`` (which must not exist).

    Only the Redfish documents: the package markers of the installed
    mockup (``__init__.py``, byte code) are not BMC resources.
    """
    shutil.copytree(MOCKUP, dest, ignore=shutil.ignore_patterns(
        '__init__.py', '__pycache__', '*.pyc'))


def resource_path(mockup, resource):
    """The file of ``resource`` (e.g. ``Chassis/1U/Power``) in a mockup."""
    return os.path.join(mockup, resource, 'index.json')


def update_resource(mockup, resource, change):
    """Apply ``change(doc)`` to one resource, replacing it atomically."""
    path = resource_path(mockup, resource)
    with open(path) as f:
        doc = json.load(f)
    change(doc)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def executable():
    """sushy-static beside this Python, else on the PATH, else None."""
    exe = os.path.join(os.path.dirname(sys.executable), 'sushy-static')
    if os.path.exists(exe):
        return exe
    return shutil.which('sushy-static')


class SushyStatic:
    """sushy-static serving ``mockup`` on a free port of 127.0.0.1.

    :meth:`start` spawns it (its output goes to ``log_path``),
    :meth:`wait` returns once it answers, :meth:`stop` ends it (safe to
    call more than once, or without a start).
    """

    def __init__(self, mockup, log_path):
        self.mockup = mockup
        self.log_path = log_path
        self.proc = None
        self.port = None
        self.address = None
        self._log = None

    def start(self):
        exe = executable()
        if exe is None:
            raise SushyStaticError(
                'sushy-static not found (pip install sushy-tools)')
        self.port = free_port()
        self.address = 'http://127.0.0.1:%d' % self.port
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(
            [exe, '-i', '127.0.0.1', '-p', str(self.port), '-m',
             self.mockup], stdout=self._log, stderr=subprocess.STDOUT)

    def answers(self):
        """True when the service root answers 200."""
        if self.proc.poll() is not None:
            raise SushyStaticError('sushy-static exited with %s'
                                   % self.proc.returncode)
        try:
            with urllib.request.urlopen(self.address + '/redfish/v1/',
                                        timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def wait(self, timeout=20, interval=0.05):
        deadline = time.monotonic() + timeout
        while not self.answers():
            if time.monotonic() >= deadline:
                raise SushyStaticError('sushy-static did not answer '
                                       'within %ss' % timeout)
            time.sleep(interval)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def path(self, resource):
        return resource_path(self.mockup, resource)

    def update(self, resource, change):
        """Apply ``change(doc)`` to one resource, replacing it atomically."""
        update_resource(self.mockup, resource, change)
