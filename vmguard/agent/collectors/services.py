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

"""Service component running info.

With systemd running (``/run/systemd/system`` exists), each configured
service's state comes from ``systemctl is-active``; without it (containers,
tests), from the process table: a process whose name (``comm``) or whose
first command line words name the service is ``running``.
"""

import os
import shutil
import subprocess

from oslo_log import log as logging

from vmguard.agent.collectors import base

LOG = logging.getLogger(__name__)

# systemctl is-active answers -> SPEC.md service states.
_SYSTEMD_STATES = {
    'active': 'running', 'reloading': 'running', 'activating': 'running',
    'refreshing': 'running', 'inactive': 'stopped',
    'deactivating': 'stopped', 'failed': 'failed',
}


def running_process_names(proc_root='/proc'):
    """Names under which processes run: comm and argv[0..1] basenames."""
    names = set()
    for pid in os.listdir(proc_root):
        if not pid.isdigit():
            continue
        base_dir = os.path.join(proc_root, pid)
        try:
            with open(os.path.join(base_dir, 'comm'), 'rb') as f:
                names.add(f.read().decode('utf-8', 'replace').strip())
            with open(os.path.join(base_dir, 'cmdline'), 'rb') as f:
                argv = f.read().split(b'\0')[:2]
        except OSError:
            continue  # exited while we looked
        for arg in argv:
            if arg:
                names.add(os.path.basename(arg.decode('utf-8', 'replace')))
    return names


def systemd_running():
    return (os.path.isdir('/run/systemd/system')
            and shutil.which('systemctl') is not None)


class ServicesCollector(base.Collector):
    """State of the configured service components."""

    name = 'services'

    def collect(self):
        result = base.Result()
        services = self.conf.agent.services
        if systemd_running():
            for name in services:
                result.services.append(
                    base.ServiceState(name, self._systemd_state(name)))
        else:
            names = running_process_names()
            for name in services:
                state = 'running' if name in names else 'stopped'
                result.services.append(base.ServiceState(name, state))
        return result

    def _systemd_state(self, name):
        proc = subprocess.run(
            ['systemctl', 'is-active', name], capture_output=True,
            timeout=self.conf.agent.command_timeout, check=False)
        answer = proc.stdout.decode('utf-8', 'replace').strip()
        return _SYSTEMD_STATES.get(answer, 'stopped')
