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

"""vmguard daemons as real processes for the fault scenarios.

:func:`write_config` writes an INI file from a dict of sections;
:class:`Daemon` runs ``python -m vmguard.cmd.<name> --config-file F`` with
its log in a file, and kills it (SIGKILL) or stops it (SIGTERM) by the
pid it started -- never by name.
"""

import signal
import subprocess
import sys
import time


def write_config(path, sections):
    """``sections``: {section: {option: value}}; lists are joined by ','."""
    with open(path, 'w') as f:
        for section, options in sections.items():
            f.write('[%s]\n' % section)
            for key, value in options.items():
                if isinstance(value, (list, tuple)):
                    value = ','.join(str(v) for v in value)
                f.write('%s = %s\n' % (key, value))
            f.write('\n')
    return path


class Daemon:
    """One run of a vmguard command (``agent``, ``engine``)."""

    def __init__(self, command, config, log_path):
        self.command = command
        self.config = config
        self.log_path = log_path
        self.proc = None

    def start(self):
        log = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', 'vmguard.cmd.%s' % self.command,
                 '--config-file', self.config],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        finally:
            log.close()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: no clean-up, no flush, no goodbye."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL if it does not end within ``timeout``."""
        if not self.running():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars=4000):
        try:
            with open(self.log_path, 'rb') as f:
                data = f.read()
        except OSError:
            return ''
        return data[-chars:].decode('utf-8', 'replace')

    def check_alive(self):
        """Raise with the end of its log when the daemon died."""
        if not self.running():
            raise AssertionError('vmguard-%s exited with %s: %s' % (
                self.command, self.proc.returncode if self.proc else None,
                self.log_tail()))


def wait_for(predicate, timeout, interval=0.1, what='condition',
             alive=()):
    """Poll ``predicate`` until it returns a true value; fail on timeout
    or when one of the ``alive`` daemons died."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for daemon in alive:
            daemon.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)
