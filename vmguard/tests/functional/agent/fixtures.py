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


"""Fixtures of the agent's functional tests: real components only.

* :class:`RecordingEngine`: an RPC server on a real RabbitMQ, on a topic
  of its own, that records the snapshots and events agents cast.
* :class:`TcpProxy`: a loopback TCP forwarder to RabbitMQ that the test
  closes and reopens, to take the broker away from one agent without
  touching the machine's RabbitMQ.
* :class:`SushyStatic`: sushy-tools' static Redfish emulator serving a
  private copy of the project's mockup
  (:mod:`vmguard.allinone.redfish`); the test rewrites its files
  atomically.
* :class:`SysfsTree`: a sysfs-shaped directory for the in-band collector.
* :class:`QemuGuests`: QEMU guests under the machine's libvirtd, prepared
  by ``tools/qemu-test-env.sh`` (:mod:`vmguard.bench.qemu`).
"""

import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
import uuid

import fixtures
import oslo_messaging as messaging

from vmguard.allinone import redfish as redfish_bmc
from vmguard.bench import qemu as bench_qemu
from vmguard.common import rpc
from vmguard import objects
from vmguard.tests.functional import base as func_base


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s'
                         % (timeout, what))


class _Endpoint:
    target = messaging.Target(version='1.2')

    def __init__(self, received):
        self.received = received

    def report_snapshot(self, context, snapshot):
        self.received.put((time.monotonic(), 'snapshot', snapshot))

    def report_vm_event(self, context, event):
        self.received.put((time.monotonic(), 'vm_event', event))

    def report_agent_stop(self, context, node, cycle):
        self.received.put((time.monotonic(), 'agent_stop',
                           {'node': node, 'cycle': cycle}))


class RecordingEngine(fixtures.Fixture):
    """A stand-in engine RPC server on a unique topic of a real RabbitMQ."""

    def __init__(self, conf, url):
        super().__init__()
        self.conf = conf
        self.url = url

    def _setUp(self):
        objects.register_all()
        self.topic = 'vmguard-ft-engine-%s' % uuid.uuid4().hex[:12]
        self.conf.set_override('topic', self.topic, group='engine')
        self.addCleanup(self.conf.clear_override, 'topic', group='engine')
        self.transport = messaging.get_rpc_transport(self.conf, url=self.url)
        self.addCleanup(self.transport.cleanup)
        self.received = queue.Queue()
        target = messaging.Target(topic=self.topic, server='ft-engine')
        self.server = rpc.get_server(target, [_Endpoint(self.received)],
                                     transport=self.transport)
        self.server.start()
        self.addCleanup(self._stop)

    def _stop(self):
        self.server.stop()
        self.server.wait()

    def get(self, timeout=10):
        """Next (monotonic arrival time, kind, object)."""
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError('nothing reached the engine topic %s in '
                                 '%ss' % (self.topic, timeout)) from None

    def get_kind(self, kind, timeout=10, match=None):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %s reached %s' % (kind, self.topic))
            arrived, got_kind, obj = self.get(left)
            if got_kind == kind and (match is None or match(obj)):
                return arrived, obj


class TcpProxy(fixtures.Fixture):
    """Loopback TCP forwarder that can be taken down and brought back."""

    def __init__(self, target_host, target_port):
        super().__init__()
        self.target = (target_host, target_port)

    def _setUp(self):
        self.port = free_port()
        self._conns = []
        self._lock = threading.Lock()
        self._listener = None
        self.up()
        self.addCleanup(self.down)

    def up(self):
        lsock = socket.socket()
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(('127.0.0.1', self.port))
        lsock.listen(16)
        self._listener = lsock
        threading.Thread(target=self._accept, args=(lsock,),
                         daemon=True).start()

    def down(self):
        """Stop listening (connection refused) and cut open connections."""
        lsock, self._listener = self._listener, None
        if lsock is not None:
            try:
                lsock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            lsock.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, lsock):
        while True:
            try:
                client, _ = lsock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.extend((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


REDFISH_MOCKUPS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               'redfish_mockups')


def write_mockup(name, dest):
    """Lay out ``redfish_mockups/<name>.json`` as sushy-static serves it.

    Each file of the corpus maps resource paths to documents; the tree
    gets one ``<path>/index.json`` per resource.
    """
    with open(os.path.join(REDFISH_MOCKUPS, name + '.json')) as f:
        resources = json.load(f)['resources']
    for path, doc in resources.items():
        rel = path[len('/redfish/v1'):].strip('/')
        directory = os.path.join(dest, rel) if rel else dest
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, 'index.json'), 'w') as f:
            json.dump(doc, f, indent=1)


class SushyStatic(fixtures.Fixture):
    """sushy-static serving a private, writable copy of a mockup.

    :param corpus: name of a mockup of ``redfish_mockups/``; None: the
        project's all-in-one mockup.
    """

    def __init__(self, corpus=None):
        super().__init__()
        self.corpus = corpus

    def _setUp(self):
        self.root = self.useFixture(fixtures.TempDir()).path
        self.mockup = os.path.join(self.root, 'mockup')
        if self.corpus is None:
            redfish_bmc.copy_mockup(self.mockup)
        else:
            write_mockup(self.corpus, self.mockup)
        self.server = redfish_bmc.SushyStatic(
            self.mockup, os.path.join(self.root, 'sushy.log'))
        self.addCleanup(self._stop)
        try:
            self.server.start()
            self.server.wait(20)
        except redfish_bmc.SushyStaticError as exc:
            raise AssertionError(str(exc)) from None
        self.port = self.server.port
        self.address = self.server.address

    def _stop(self):
        self.server.stop()

    def path(self, resource):
        return self.server.path(resource)

    def update(self, resource, change):
        """Apply ``change(doc)`` to one resource, replacing it atomically."""
        self.server.update(resource, change)


class SysfsTree(fixtures.Fixture):
    """A sysfs-shaped tree for the in-band collector."""

    def _setUp(self):
        self.root = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(self.root, 'class'))

    def _write(self, rel, value):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('%s\n' % value)

    def add_disk(self, name, serial=None, wwid=None):
        os.makedirs(os.path.join(self.root, 'class/block', name, 'device'),
                    exist_ok=True)
        if serial is not None:
            self._write('class/block/%s/device/serial' % name, serial)
        if wwid is not None:
            self._write('class/block/%s/device/wwid' % name, wwid)

    def add_partition(self, disk, name):
        self._write('class/block/%s/partition' % name, 1)
        os.makedirs(os.path.join(self.root, 'class/block', name, 'device'),
                    exist_ok=True)

    def remove_disk(self, name):
        shutil.rmtree(os.path.join(self.root, 'class/block', name))

    def add_nic(self, name, mac, carrier=1, physical=True):
        if physical:
            os.makedirs(os.path.join(self.root, 'class/net', name,
                                     'device'), exist_ok=True)
        self._write('class/net/%s/address' % name, mac)
        self._write('class/net/%s/carrier' % name, carrier)
        self._write('class/net/%s/operstate' % name,
                    'up' if carrier else 'down')

    def add_dimm(self, mc, dimm, label, corr=0, uncorr=0):
        base = 'devices/system/edac/mc/mc%d/dimm%d/' % (mc, dimm)
        self._write(base + 'dimm_label', label)
        self._write(base + 'dimm_ce_count', corr)
        self._write(base + 'dimm_ue_count', uncorr)

    def add_temp(self, hwmon, chip, index, label, millic, high=None,
                 crit=None):
        base = 'class/hwmon/%s/' % hwmon
        self._write(base + 'name', chip)
        self._write(base + 'temp%d_input' % index, millic)
        self._write(base + 'temp%d_label' % index, label)
        if high is not None:
            self._write(base + 'temp%d_max' % index, high)
        if crit is not None:
            self._write(base + 'temp%d_crit' % index, crit)


class QemuGuests(bench_qemu.QemuGuests, fixtures.Fixture):
    """Software-emulated QEMU guests under the machine's libvirtd
    (:class:`vmguard.bench.qemu.QemuGuests`), undone with the test."""

    def _setUp(self):
        self.addCleanup(self.stop)
        self.start()


class AgentFunctionalTestCase(func_base.FunctionalTestCase):
    """Base of the agent's functional tests."""

    def setUp(self):
        super().setUp()
        self.flags(node_name='ft-node-%s' % uuid.uuid4().hex[:8],
                   group='agent')


def _sdr_full_threshold(number, name, nominal, unc, uc, unr):
    """A Full Sensor Record (IPMI 2.0 table 43-1) of a temperature sensor."""
    body = [0x20, 0x00, number,           # owner, LUN, sensor number
            0x0a, 0x01,                   # entity: power supply 1
            0x7f, 0x68,                   # initialisation, capabilities
            0x01, 0x01,                   # temperature, threshold based
            0x80, 0x0a, 0x80, 0x0a,       # assertion/deassertion masks
            0x3f, 0x3f,                   # settable, readable thresholds
            0x00, 0x01, 0x00,             # unsigned, degrees C
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # linear, M=1
            nominal, 0x60, 0x10, 0xff, 0x00,
            unr, uc, unc, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00]
    label = name.encode()
    body += [0xc0 | len(label)] + list(label)
    return [number, 0x00, 0x51, 0x01, len(body)] + body


def _fru_with_board_serial(serial):
    def field(text):
        raw = text.encode()
        return [0xc0 | len(raw)] + list(raw)
    board = ([0x01, 0x00, 0x00, 0x00, 0x00, 0x00] + field('') + field('')
             + field(serial) + field('') + field('') + [0xc1])
    while (len(board) + 1) % 8:
        board.append(0)
    board[1] = (len(board) + 1) // 8
    board.append(-sum(board) & 0xff)
    header = [0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]
    header.append(-sum(header) & 0xff)
    return header + board


def _hex(data):
    return ' '.join('0x%02x' % b for b in data)


IPMI_LAN_CONF = """name "vmguardft"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %(port)d
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  user 1 false "" "test" user 10 none md2 md5 straight
  user 2 true "admin" "%(password)s" admin 10 none md2 md5 straight
console 127.0.0.1 %(console)d
"""


class IpmiSim(fixtures.Fixture):
    """OpenIPMI's ipmi_sim: a BMC with one PSU temperature sensor and FRU.

    The sensor (number 1, "PSU1 Temp") reads 64 C; its upper thresholds
    are 112 (non-critical), 144 (critical) and 160 (non-recoverable).
    :meth:`set_sensor` moves it through the simulator's console.
    """

    PASSWORD = 'password'
    SERIAL = 'BRD-42'

    def _setUp(self):
        root = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.console = free_port()
        with open(os.path.join(root, 'lan.conf'), 'w') as f:
            f.write(IPMI_LAN_CONF % {'port': self.port,
                                     'console': self.console,
                                     'password': self.PASSWORD})
        sdr = _sdr_full_threshold(1, 'PSU1 Temp', 0x30, 0x70, 0x90, 0xa0)
        fru = _fru_with_board_serial(self.SERIAL)
        emu = [
            'mc_setbmc 0x20',
            'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 '
            'persist_sdr',
            'sel_enable 0x20 1000 0x0a',
            'main_sdr_add 0x20 %s' % _hex(sdr),
            'sensor_add 0x20 0 1 0x01 0x01',
            'sensor_set_value 0x20 0 1 0x40 0',
            'sensor_set_threshold 0x20 0 1 settable 111000 0xa0 0x90 0x70 '
            '00 00 00',
            'sensor_set_event_support 0x20 0 1 enable scanning per-state '
            '000111111000000 000111111000000 000111111000000 '
            '000111111000000',
            'mc_add_fru_data 0x20 0 %d data %s' % (len(fru), _hex(fru)),
            'mc_enable 0x20',
        ]
        with open(os.path.join(root, 'sim.emu'), 'w') as f:
            f.write('\n'.join(emu) + '\n')
        state = os.path.join(root, 'state')
        os.mkdir(state)
        self.log = open(os.path.join(root, 'ipmi_sim.log'), 'wb')
        self.addCleanup(self.log.close)
        exe = shutil.which('ipmi_sim')
        if exe is None:
            raise AssertionError('ipmi_sim is missing: apt-get install '
                                 'openipmi (.ci/run does)')
        self.proc = subprocess.Popen(
            [exe, '-c', os.path.join(root, 'lan.conf'), '-f',
             os.path.join(root, 'sim.emu'), '-s', state, '-n'],
            stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT,
            # Keep SIGPIPE ignored: ipmi_sim dies of it when a console
            # client leaves while it writes its prompt.
            restore_signals=False)
        self.addCleanup(self._stop)
        wait_for(self._console_up, 20, what='ipmi_sim console')

    def _console_up(self):
        if self.proc.poll() is not None:
            raise AssertionError('ipmi_sim exited with %s'
                                 % self.proc.returncode)
        try:
            with socket.create_connection(('127.0.0.1', self.console),
                                          1) as s:
                s.settimeout(2)
                return b'>' in s.recv(4096)  # the prompt
        except OSError:
            return False

    def _stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def set_sensor(self, number, value):
        """Set a sensor's raw reading, generating its events."""
        with socket.create_connection(('127.0.0.1', self.console),
                                      5) as s:
            s.settimeout(5)
            command = 'sensor_set_value 0x20 0 %d 0x%02x 1\n' % (number,
                                                                value)
            seen = b''
            while b'>' not in seen:  # the prompt
                seen += s.recv(4096)
            s.sendall(command.encode())
            echo = command.strip().encode()
            seen = b''
            while echo not in seen or b'>' not in seen.split(echo)[-1]:
                chunk = s.recv(4096)
                if not chunk:
                    raise AssertionError('ipmi_sim console closed')
                seen += chunk
