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


"""BMCs for the fencing tests: sushy-tools' Redfish emulator and OpenIPMI's
ipmi_sim with a power-managed "host" process. A missing tool fails the
test with a clear message."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import fixtures

SYSTEM = '27946b59-9e44-4fa7-8e91-f3527a1ef094'


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class SushyEmulator(fixtures.Fixture):
    """sushy-emulator with one fake system, powered on (fake systems apply
    power actions 1-11 s after they are asked, like real BMCs)."""

    def _setUp(self):
        self.dir = tempfile.mkdtemp(prefix='vmguard-bmc-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        config = os.path.join(self.dir, 'emulator.conf')
        with open(config, 'w') as f:
            f.write('SUSHY_EMULATOR_STATE_DIR = %r\n'
                    'SUSHY_EMULATOR_FAKE_DRIVER = True\n'
                    'SUSHY_EMULATOR_FAKE_SYSTEMS = [{"uuid": %r, '
                    '"name": "cmp-bmc", "power_state": "On", '
                    '"external_notifier": False, "nics": []}]\n'
                    % (os.path.join(self.dir, 'state'), SYSTEM))
        try:
            import sushy_tools.emulator.main  # noqa: F401
        except ImportError:
            raise AssertionError('sushy-emulator is missing: pip install '
                                 'sushy-tools (test-requirements.txt)'
                                 ) from None
        # The interpreter of the tests runs it (a venv layered on another
        # has no sushy-emulator script of its own).
        exe = [sys.executable, '-c', 'import sys; from '
               'sushy_tools.emulator.main import main; sys.exit(main())']
        self.port = free_port()
        self.log = open(os.path.join(self.dir, 'emulator.log'), 'wb')
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen(
            exe + ['--config', config, '--fake', '-i', '127.0.0.1',
             '-p', str(self.port)], stdout=self.log, stderr=self.log)
        self.addCleanup(_stop, self.proc)
        self.url = 'http://127.0.0.1:%d/redfish/v1/Systems/%s' % (
            self.port, SYSTEM)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    with open(os.path.join(self.dir, 'emulator.log')) as f:
                        log = f.read()[-3000:]
                    raise AssertionError('sushy-emulator did not start: %s'
                                         % log) from None
                time.sleep(0.2)


_LAN_CONF = """name "vmguardfence"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %(port)d
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid b123456789abcdefa123456789abcdef
  endlan
  chassis_control "%(control)s"
  user 1 false "" "test" user 10 none md2 md5 straight
  user 2 true "%(user)s" "%(password)s" admin 10 none md2 md5 straight
console 127.0.0.1 %(console)d
"""


_CHASSIS_SH = """#!/bin/sh
# ipmi_sim chassis control: get power / set power "0|1".
pid=$(cat %(pidfile)s 2>/dev/null)
alive() { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
while [ $# -gt 0 ]; do
  case "$1" in
    get) if alive; then echo power:1; else echo power:0; fi; exit 0;;
    set) shift; shift; value=$(echo "$1" | tr -d '"')
         if [ "$value" = 0 ] && alive; then kill -9 "$pid"; fi
         exit 0;;
  esac
  shift
done
exit 1
"""


class IpmiSimBMC(fixtures.Fixture):
    """ipmi_sim whose chassis power is a real process (its
    ``chassis_control`` program): power on while that process lives; a
    chassis power off kills it."""

    USER = 'admin'
    PASSWORD = 'password'

    def _setUp(self):
        exe = shutil.which('ipmi_sim')
        if exe is None:
            raise AssertionError('ipmi_sim is missing: apt-get install '
                                 'openipmi (.ci/run does)')
        root = self.useFixture(fixtures.TempDir()).path
        self.port = free_port(socket.SOCK_DGRAM)
        self.console = free_port()
        self.pidfile = os.path.join(root, 'host.pid')
        # The chassis power is a process (the "host"): ipmi_sim runs
        # ``control get power`` / ``control set power "0"`` for the
        # chassis commands it receives.
        control = os.path.join(root, 'chassis.sh')
        with open(control, 'w') as f:
            f.write(_CHASSIS_SH % {'pidfile': self.pidfile})
        os.chmod(control, 0o755)
        self._start_host(control)
        with open(os.path.join(root, 'lan.conf'), 'w') as f:
            f.write(_LAN_CONF % {'port': self.port, 'console': self.console,
                                 'user': self.USER,
                                 'password': self.PASSWORD,
                                 'control': control})
        with open(os.path.join(root, 'sim.emu'), 'w') as f:
            f.write('mc_setbmc 0x20\n'
                    'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 '
                    '0xf02 persist_sdr\n'
                    'mc_enable 0x20\n')
        state = os.path.join(root, 'state')
        os.mkdir(state)
        self.log = open(os.path.join(root, 'ipmi_sim.log'), 'wb')
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen(
            [exe, '-c', os.path.join(root, 'lan.conf'), '-f',
             os.path.join(root, 'sim.emu'), '-s', state, '-n'],
            stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, restore_signals=False)
        self.addCleanup(_stop, self.proc)
        self.addCleanup(self._kill_host)
        deadline = time.monotonic() + 20
        while not self._console_up():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                with open(os.path.join(root, 'ipmi_sim.log'), 'rb') as f:
                    log = f.read()[-3000:]
                raise AssertionError('ipmi_sim did not start: %r' % log)
            time.sleep(0.1)
        self.address = '127.0.0.1:%d' % self.port

    def _start_host(self, control):
        host = subprocess.Popen(['sleep', '86400'],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL)
        self._host = host
        with open(self.pidfile, 'w') as f:
            f.write('%d\n' % host.pid)
        # Reap it when the "BMC" kills it, so that it leaves no zombie.
        threading.Thread(target=host.wait, daemon=True).start()

    def _console_up(self):
        try:
            with socket.create_connection(('127.0.0.1', self.console), 1):
                return True
        except OSError:
            return False

    def host_pid(self):
        return self._host.pid

    def host_running(self):
        """Is the "host" (the process the chassis power is) alive?"""
        return self._host.poll() is None

    def _kill_host(self):
        if self._host.poll() is None:
            self._host.kill()
