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

"""A pure-Python stand-in for libvirt's ``test:///`` driver (demo only).

The all-in-one demo's simulated nodes are node XML files read by
libvirt's test driver. libvirt-python has no wheel: it builds against
libvirt's headers, which a fresh machine does not have. When it is
missing, :func:`install_if_missing` puts this module in its place (as
``sys.modules['libvirt']``) for this process only, so that the real
libvirt collector reads the same node XML files, with the same answers
as the test driver gives for them (a functional test compares the two).

It implements what the collector calls and nothing else: opening a
``test://<path>`` URI, listing domains with their state and info, the
node's info, and the event/keepalive calls (accepted, no events: the
demo's crashes show in snapshots). Any other URI is refused. It is not a
hypervisor: a compute node needs ``pip install 'vmguard[libvirt]'``.
"""

import sys
import threading
import xml.etree.ElementTree as ET

#: What the demo says when it runs on this stand-in.
NOTE = ('libvirt-python is not installed: the simulated nodes run on '
        "vmguard's pure-Python stand-in for libvirt's test:/// driver "
        '(vmguard.allinone.libvirt_standin); pip install '
        '"vmguard[libvirt]" (needs libvirt-dev and pkg-config) for the '
        'real one')

_TEST_NS = '{http://libvirt.org/schemas/domain/test/1.0}'

# Constants the collector reads (values as in libvirt's headers).
VIR_DOMAIN_NOSTATE = 0
VIR_DOMAIN_RUNNING = 1
VIR_DOMAIN_BLOCKED = 2
VIR_DOMAIN_PAUSED = 3
VIR_DOMAIN_SHUTDOWN = 4
VIR_DOMAIN_SHUTOFF = 5
VIR_DOMAIN_CRASHED = 6
VIR_DOMAIN_PMSUSPENDED = 7

VIR_DOMAIN_NOSTATE_UNKNOWN = 0
VIR_DOMAIN_RUNNING_UNKNOWN = 0
VIR_DOMAIN_RUNNING_BOOTED = 1
VIR_DOMAIN_BLOCKED_UNKNOWN = 0
VIR_DOMAIN_PAUSED_UNKNOWN = 0
VIR_DOMAIN_PAUSED_USER = 1
VIR_DOMAIN_SHUTDOWN_UNKNOWN = 0
VIR_DOMAIN_SHUTOFF_UNKNOWN = 0
VIR_DOMAIN_SHUTOFF_SHUTDOWN = 1
VIR_DOMAIN_CRASHED_UNKNOWN = 0
VIR_DOMAIN_CRASHED_PANICKED = 1
VIR_DOMAIN_PMSUSPENDED_UNKNOWN = 0

VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0
VIR_DOMAIN_EVENT_SUSPENDED = 3
VIR_DOMAIN_EVENT_STOPPED = 5
VIR_DOMAIN_EVENT_CRASHED = 8
VIR_DOMAIN_EVENT_SUSPENDED_IOERROR = 2
VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG = 3
VIR_DOMAIN_EVENT_STOPPED_CRASHED = 2
VIR_DOMAIN_EVENT_STOPPED_FAILED = 5
VIR_DOMAIN_EVENT_CRASHED_PANICKED = 0
VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED = 1

VIR_ERR_NO_SUPPORT = 3
VIR_ERR_NO_CONNECT = 5
VIR_ERR_INVALID_CONN = 6
VIR_ERR_NO_DOMAIN = 42

_MEMORY_KIB = {'b': 1 / 1024, 'bytes': 1 / 1024, 'k': 1, 'kib': 1,
               'kb': 1000 / 1024, 'm': 1024, 'mib': 1024, 'mb': 1000 ** 2
               / 1024, 'g': 1024 ** 2, 'gib': 1024 ** 2}


class libvirtError(Exception):  # noqa: N801 - libvirt's own name
    def __init__(self, message, code=VIR_ERR_NO_SUPPORT):
        super().__init__(message)
        self._code = code

    def get_error_code(self):
        return self._code


def registerErrorHandler(_handler, _ctx):  # noqa: N802
    return 1


def virEventRegisterDefaultImpl():  # noqa: N802
    return 0


_IDLE = threading.Event()


def virEventRunDefaultImpl():  # noqa: N802
    # No events ever come; the collector's loop thread just idles.
    _IDLE.wait(1.0)
    return 0


def _kib(element, default_unit='KiB'):
    unit = element.get('unit', default_unit).lower()
    if unit not in _MEMORY_KIB:
        raise libvirtError('unsupported memory unit %r' % unit)
    return int(int(element.text.strip()) * _MEMORY_KIB[unit])


class Domain:
    def __init__(self, name, uuid, state, memory_kib, vcpus, dom_id=1):
        self._id = dom_id
        self._name = name
        self._uuid = uuid
        self._state = state
        self._memory_kib = memory_kib
        self._vcpus = vcpus

    def name(self):
        return self._name

    def UUIDString(self):  # noqa: N802
        return self._uuid

    def ID(self):  # noqa: N802
        # As libvirt: a running domain's number, -1 for an inactive one.
        return self._id if self._state != VIR_DOMAIN_SHUTOFF else -1

    def XMLDesc(self, _flags=0):  # noqa: N802
        # No devices: no guest agent channel to ping.
        return '<domain type="test"><name>%s</name><uuid>%s</uuid>' \
            '<devices/></domain>' % (self._name, self._uuid)

    def state(self):
        # The test driver gives a <test:runstate> domain reason 0.
        return [self._state, 0]

    def info(self):
        return [self._state, self._memory_kib, self._memory_kib,
                self._vcpus, 0]


class Connection:
    """A read-only view of one test driver node XML file."""

    def __init__(self, path):
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise libvirtError('cannot read %s: %s' % (path, exc),
                               VIR_ERR_NO_CONNECT) from exc
        if root.tag != 'node':
            raise libvirtError('%s is not a test driver node XML' % path,
                               VIR_ERR_NO_CONNECT)
        self._alive = True
        cpu = root.find('cpu')
        if cpu is None:
            cpu = ET.Element('cpu')
        self._cpus = int(cpu.findtext('active', '16'))
        self._mhz = int(cpu.findtext('mhz', '1400'))
        self._model = cpu.findtext('model', 'i686')
        mem = root.find('memory')
        self._memory_kib = _kib(mem) if mem is not None else 8 * 1024 ** 2
        self._domains = []
        for dom in root.findall('domain'):
            runstate = dom.find(_TEST_NS + 'runstate')
            state = (int(runstate.text) if runstate is not None
                     else VIR_DOMAIN_RUNNING)
            self._domains.append(Domain(
                dom.findtext('name'), dom.findtext('uuid'), state,
                _kib(dom.find('memory')), int(dom.findtext('vcpu', '1')),
                len(self._domains) + 1))

    def _check(self):
        if not self._alive:
            raise libvirtError('connection closed', VIR_ERR_INVALID_CONN)

    def isAlive(self):  # noqa: N802
        return 1 if self._alive else 0

    def setKeepAlive(self, _interval, _count):  # noqa: N802
        # As the real test driver: a local driver has no keepalive.
        raise libvirtError('keepalive not supported', VIR_ERR_NO_SUPPORT)

    def registerCloseCallback(self, _cb, _opaque):  # noqa: N802
        return 0

    def domainEventRegisterAny(self, _dom, _event_id, _cb,  # noqa: N802
                               _opaque):
        self._check()
        return 1

    def domainEventDeregisterAny(self, _callback_id):  # noqa: N802
        return 0

    def close(self):
        self._alive = False
        return 0

    def listAllDomains(self, _flags=0):  # noqa: N802
        self._check()
        return list(self._domains)

    def getInfo(self):  # noqa: N802
        self._check()
        return [self._model, self._memory_kib // 1024, self._cpus, self._mhz,
                1, 1, self._cpus, 1]


def open(uri):  # noqa: A001 - libvirt's own name
    if not uri or not uri.startswith('test://') or uri == 'test:///default':
        raise libvirtError(
            'the libvirt stand-in only reads test:///<node XML> files, '
            'not %r: pip install "vmguard[libvirt]"' % uri,
            VIR_ERR_NO_CONNECT)
    return Connection(uri[len('test://'):])


def install_if_missing():
    """Make ``import libvirt`` give this stand-in when libvirt-python is
    not installed. True when the stand-in is now in use."""
    current = sys.modules.get('libvirt')
    if current is sys.modules[__name__]:
        return True
    if current is not None:
        return False
    try:
        import libvirt  # noqa: F401
        return False
    except ImportError:
        sys.modules['libvirt'] = sys.modules[__name__]
        return True
