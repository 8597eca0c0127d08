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

"""Software-emulated QEMU guests under the machine's libvirtd.

``tools/qemu-test-env.sh`` (of a source checkout) prepares libvirtd and
builds, once, the guests' kernel and busybox initramfs; the initramfs
prints ``VMGUARD-READY`` on the serial console once its init runs, and
acts on the ``vmguard.test=MODE`` argument of the kernel command line
(``idle``, ``watchdog``, ``ioerror``). Guests panic on an NMI
(``unknown_nmi_panic=1``, an ISA panic device).

Used by the end-to-end benchmark (:mod:`vmguard.bench.e2e`) and, wrapped
in a fixture, by the agent's functional tests.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ENV_SCRIPT = os.path.join(REPO, 'tools', 'qemu-test-env.sh')

GUEST_XML = """<domain type='qemu'>
  <name>%(name)s</name>
  <uuid>%(uuid)s</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <initrd>%(initrd)s</initrd>
    <cmdline>%(cmdline)s</cmdline>
  </os>
  <features><acpi/></features>
  %(on_crash)s
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='%(console)s'/><target port='0'/></serial>
    %(panic)s
    %(channel)s
    <watchdog model='i6300esb' action='pause'/>
    %(disk)s
    <memballoon model='none'/>
  </devices>
</domain>
"""

#: What Nova's libvirt driver adds for hw_qemu_guest_agent=yes images.
AGENT_CHANNEL = """<channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>"""

CMDLINE = ('console=ttyS0 panic=0 unknown_nmi_panic=1 quiet '
           'vmguard.test=%s')

IOERROR_DISK = """<disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none' error_policy='stop'/>
      <source file='%s'/>
      <target dev='vda' bus='virtio'/>
    </disk>"""


class QemuError(RuntimeError):
    """The QEMU environment cannot be prepared, or a guest did not boot."""


def wait_for(predicate, timeout, interval=0.05, what='condition'):
    """The first true value of ``predicate()``, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise QemuError('timed out after %ss waiting for %s' % (timeout, what))


def console_ready(console):
    """True once a guest wrote ``VMGUARD-READY`` to its console file."""
    try:
        with open(console, 'rb') as f:
            return b'VMGUARD-READY' in f.read()
    except OSError:
        return False


class QemuGuests:
    """QEMU guests under the machine's libvirtd (``qemu:///system``).

    :meth:`start` runs ``tools/qemu-test-env.sh``, makes a directory for
    the guests' consoles and opens a libvirt connection that stamps the
    lifecycle events of every domain (:attr:`events`: monotonic time,
    domain UUID, event, detail). :meth:`boot` starts a guest;
    :meth:`stop` destroys (and undefines) the guests booted and undoes
    the rest, last first.
    """

    URI = 'qemu:///system'

    def __init__(self):
        super().__init__()
        # Not ``_cleanups``: the functional tests' fixture is also a
        # fixtures.Fixture, which has its own.
        self._undo = []
        self.libvirt = None
        self.conn = None
        self.dir = None
        self.kernel = None
        self.initrd = None
        self.events = []

    def _defer(self, fn, *args, **kwargs):
        self._undo.append((fn, args, kwargs))

    def start(self):
        import libvirt

        from vmguard.agent.collectors import libvirt as lv_collector

        self.libvirt = libvirt
        proc = subprocess.run(['bash', ENV_SCRIPT], capture_output=True,
                              timeout=600, check=False)
        if proc.returncode != 0:
            raise QemuError(
                'tools/qemu-test-env.sh failed (%s): %s' % (
                    proc.returncode,
                    proc.stderr.decode('utf-8', 'replace')[-2000:]))
        env = dict(line.split('=', 1) for line in
                   proc.stdout.decode().split() if '=' in line)
        self.kernel = env['KERNEL']
        self.initrd = env['INITRD']
        self.dir = tempfile.mkdtemp(prefix='vmguard-ft-qemu-')
        os.chmod(self.dir, 0o755)
        self._defer(shutil.rmtree, self.dir, True)
        # This connection timestamps libvirt's lifecycle events, to
        # measure the agent's share of a crash's latency.
        lv_collector.ensure_event_loop()
        self.conn = libvirt.open(self.URI)
        self._defer(self._quietly, self.conn.close)
        cb = self.conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_event,
            None)
        self._defer(self._quietly, self.conn.domainEventDeregisterAny, cb)

    def stop(self):
        """Undo everything, last first; raise the first error after."""
        first = None
        while self._undo:
            fn, args, kwargs = self._undo.pop()
            try:
                fn(*args, **kwargs)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    def _quietly(self, call, *args):
        # The connection may be gone with a libvirtd a test restarted.
        try:
            call(*args)
        except self.libvirt.libvirtError:
            pass

    def _on_event(self, _conn, dom, event, detail, _opaque):
        self.events.append((time.monotonic(), dom.UUIDString(), event,
                            detail))

    def event_time(self, dom_uuid, event, timeout=30):
        """Monotonic time libvirt delivered ``event`` for the domain."""
        def find():
            for when, uuid_, ev, _detail in self.events:
                if uuid_ == dom_uuid and ev == event:
                    return when
            return None
        return wait_for(find, timeout, what='libvirt event %s' % event)

    def guest_xml(self, name, dom_uuid, console, mode='idle', disk='',
                  like_nova=False, agent_channel=False):
        """The domain XML of a guest of this environment.

        ``like_nova``: no panic device and libvirt's default ``on_crash``,
        as Nova's libvirt driver makes them (a guest panic leaves the
        domain running). ``agent_channel``: the QEMU guest agent's
        channel (nothing in the guest answers on it).
        """
        return GUEST_XML % {
            'name': name, 'uuid': dom_uuid, 'kernel': self.kernel,
            'initrd': self.initrd, 'cmdline': CMDLINE % mode,
            'console': console, 'disk': disk,
            'on_crash': '' if like_nova else '<on_crash>preserve</on_crash>',
            'panic': '' if like_nova else "<panic model='isa'/>",
            'channel': AGENT_CHANNEL if agent_channel else ''}

    def boot(self, mode='idle', persistent=False, ready_timeout=90,
             like_nova=False, agent_channel=False, dom_uuid=None,
             console=None):
        """Start a guest; return (domain, uuid) once its init is ready."""
        name = 'vmguard-ft-%s-%s' % (mode, uuid.uuid4().hex[:8])
        dom_uuid = dom_uuid or str(uuid.uuid4())
        console = console or os.path.join(self.dir, name + '.log')
        disk = ''
        if mode == 'ioerror':
            tiny = os.path.join(self.dir, name + '-tmpfs')
            os.mkdir(tiny)
            subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m',
                            'tmpfs', tiny], check=True)
            self._defer(subprocess.run, ['umount', '-l', tiny],
                        check=False)
            image = os.path.join(tiny, 'disk.img')
            with open(image, 'wb') as f:
                f.truncate(64 * 1024 * 1024)  # sparse: far over the tmpfs
            disk = IOERROR_DISK % image
        xml = self.guest_xml(name, dom_uuid, console, mode, disk,
                             like_nova=like_nova,
                             agent_channel=agent_channel)
        if persistent:
            dom = self.conn.defineXML(xml)
            self._defer(self._undefine, name)
            dom.create()
        else:
            dom = self.conn.createXML(xml, 0)
        self._defer(self._destroy, name)
        wait_for(lambda: console_ready(console), ready_timeout,
                 interval=0.1, what='guest %s to boot' % name)
        return dom, dom_uuid

    def _destroy(self, name):
        try:
            self.conn.lookupByName(name).destroy()
        except self.libvirt.libvirtError:
            pass

    def _undefine(self, name):
        try:
            self.conn.lookupByName(name).undefine()
        except self.libvirt.libvirtError:
            pass

    def qemu_pid(self, name):
        with open('/run/libvirt/qemu/%s.pid' % name) as f:
            return int(f.read().strip())
