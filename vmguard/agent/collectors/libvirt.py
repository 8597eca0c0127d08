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

"""VM running info from libvirt, and crash events from its event loop.

Every cycle: each domain's UUID (Nova makes it the instance UUID), state
and state reason under their libvirt names in lower case (SPEC.md
section 2), vCPUs and memory, and the node's free vCPUs and RAM.

Between cycles: a lifecycle event callback on libvirt's default event
loop (run by one native thread per process) reports crash-class events
at once: a guest panic (``VIR_DOMAIN_EVENT_CRASHED``), watchdog and I/O
error pauses, and a QEMU that died (``STOPPED_FAILED``/``STOPPED_CRASHED``).
The connection is kept alive with libvirt keepalives; when it closes, a
reconnect thread reopens it and registers the callback again.

Domains Nova creates have no panic device; for them the collector also
runs the detectors of :mod:`vmguard.agent.collectors.guestfaults` when
enabled: the console log watcher (``[agent] console_log_detection``)
and the QEMU guest agent ping (``[agent] guest_agent_detection``).
"""

import concurrent.futures
import threading
import time

try:
    import libvirt
except ImportError as _exc:  # vmguard[libvirt] is an extra: say so
    raise ImportError(
        'The libvirt collector needs libvirt-python: pip install '
        '"vmguard[libvirt]" (it builds against libvirt\'s headers: apt-get '
        'install libvirt-dev pkg-config), or use the distribution\'s '
        'python3-libvirt') from _exc
from oslo_log import log as logging

from vmguard.agent.collectors import base
from vmguard.agent.collectors import guestfaults

LOG = logging.getLogger(__name__)

# State names, in libvirt's own spelling (virsh domstate) in lower case.
_STATE_NAMES = (
    ('NOSTATE', 'nostate'), ('RUNNING', 'running'), ('BLOCKED', 'blocked'),
    ('PAUSED', 'paused'), ('SHUTDOWN', 'shutdown'), ('SHUTOFF', 'shutoff'),
    ('CRASHED', 'crashed'), ('PMSUSPENDED', 'pmsuspended'),
)

# Reason enum suffixes per state (virDomain<State>Reason). Spelled out:
# a prefix scan of the libvirt module would also catch unrelated flags
# such as VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN.
_REASONS = {
    'NOSTATE': ('UNKNOWN',),
    'RUNNING': ('UNKNOWN', 'BOOTED', 'MIGRATED', 'RESTORED', 'FROM_SNAPSHOT',
                'UNPAUSED', 'MIGRATION_CANCELED', 'SAVE_CANCELED', 'WAKEUP',
                'CRASHED', 'POSTCOPY', 'POSTCOPY_FAILED'),
    'BLOCKED': ('UNKNOWN',),
    'PAUSED': ('UNKNOWN', 'USER', 'MIGRATION', 'SAVE', 'DUMP', 'IOERROR',
               'WATCHDOG', 'FROM_SNAPSHOT', 'SHUTTING_DOWN', 'SNAPSHOT',
               'CRASHED', 'STARTING_UP', 'POSTCOPY', 'POSTCOPY_FAILED',
               'API_ERROR'),
    'SHUTDOWN': ('UNKNOWN', 'USER'),
    'SHUTOFF': ('UNKNOWN', 'SHUTDOWN', 'DESTROYED', 'CRASHED', 'MIGRATED',
                'SAVED', 'FAILED', 'FROM_SNAPSHOT', 'DAEMON'),
    'CRASHED': ('UNKNOWN', 'PANICKED'),
    'PMSUSPENDED': ('UNKNOWN',),
}


def _build_tables():
    states = {}
    reasons = {}
    for const, name in _STATE_NAMES:
        value = getattr(libvirt, 'VIR_DOMAIN_' + const)
        states[value] = name
        table = reasons[value] = {}
        for suffix in _REASONS[const]:
            code = getattr(libvirt, 'VIR_DOMAIN_%s_%s' % (const, suffix),
                           None)
            if code is not None:  # older libvirt: reason not defined
                table[code] = suffix.lower()
    return states, reasons


STATES, REASONS = _build_tables()


def state_names(state, reason):
    """Map libvirt's (state, reason) integers to SPEC.md names.

    An integer this libvirt-python does not know (a newer daemon) maps to
    'nostate' and 'unknown' rather than failing the cycle.
    """
    name = STATES.get(state, 'nostate')
    return name, REASONS.get(state, {}).get(reason, 'unknown')


def _crash_events():
    table = {}

    def add(event, detail, name, reason):
        e = getattr(libvirt, event, None)
        d = getattr(libvirt, detail, None)
        if e is not None and d is not None:
            table[(e, d)] = (name, reason)

    add('VIR_DOMAIN_EVENT_CRASHED', 'VIR_DOMAIN_EVENT_CRASHED_PANICKED',
        'crashed', 'panicked')
    add('VIR_DOMAIN_EVENT_CRASHED', 'VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED',
        'crashed', 'crashloaded')
    add('VIR_DOMAIN_EVENT_SUSPENDED', 'VIR_DOMAIN_EVENT_SUSPENDED_IOERROR',
        'paused', 'ioerror')
    add('VIR_DOMAIN_EVENT_SUSPENDED', 'VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG',
        'paused', 'watchdog')
    add('VIR_DOMAIN_EVENT_STOPPED', 'VIR_DOMAIN_EVENT_STOPPED_CRASHED',
        'shutoff', 'crashed')
    add('VIR_DOMAIN_EVENT_STOPPED', 'VIR_DOMAIN_EVENT_STOPPED_FAILED',
        'shutoff', 'failed')
    return table


#: (lifecycle event, detail) -> (event name, reason) of the vm_event
#: record. The event name is the domain state the event leads to, so the
#: engine applies the same crash definition to events and snapshots.
CRASH_EVENTS = _crash_events()


def crash_event(event, detail):
    """(event, reason) names of a crash-class lifecycle event, or None."""
    found = CRASH_EVENTS.get((event, detail))
    if found is None and event == libvirt.VIR_DOMAIN_EVENT_CRASHED:
        # A crash detail newer than this table is still a crash.
        found = ('crashed', 'unknown')
    return found


_LOOP_LOCK = threading.Lock()
_LOOP_THREAD = None


def _ignore_libvirt_error(_ctx, _err):
    # libvirt prints every error on stderr unless a handler is set; the
    # errors are raised as libvirtError and logged where handled.
    pass


def ensure_event_loop():
    """Register libvirt's default event loop and run it in a thread.

    Once per process, before the first connection is opened (keepalive
    and events need it).
    """
    global _LOOP_THREAD
    with _LOOP_LOCK:
        if _LOOP_THREAD is not None:
            return
        libvirt.registerErrorHandler(_ignore_libvirt_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _LOOP_THREAD = threading.Thread(target=_run_event_loop,
                                        name='libvirt-event-loop',
                                        daemon=True)
        _LOOP_THREAD.start()


def _run_event_loop():
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:
            LOG.exception('libvirt event loop iteration failed')
            time.sleep(0.1)


class LibvirtCollector(base.Collector):
    """Domains of the local hypervisor, and their crash events."""

    name = 'libvirt'

    def __init__(self, conf):
        super().__init__(conf)
        self._uri = conf.agent.libvirt_uri
        self._lock = threading.RLock()
        self._conn = None
        self._callback_id = None
        self._sink = None
        self._stopped = threading.Event()
        self._reconnect_thread = None
        agent = conf.agent
        self._console = None
        if agent.console_log_detection:
            self._console = guestfaults.ConsoleLogWatcher(
                agent.console_log_path, agent.console_panic_patterns,
                agent.console_log_poll_interval)
        self._prober = None
        if agent.guest_agent_detection:
            self._prober = guestfaults.GuestAgentProber(
                guestfaults.libvirt_ping(agent.guest_agent_timeout),
                agent.hang_cycles, agent.guest_agent_boot_grace)

    # -- connection ---------------------------------------------------------

    def connection(self):
        """The live connection, opened (and wired for events) if needed."""
        with self._lock:
            conn = self._conn
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except libvirt.libvirtError:
                    pass
                self._drop(conn)
            ensure_event_loop()
            conn = libvirt.open(self._uri)
            self._conn = conn
            LOG.info('Connected to libvirt at %s', self._uri)
            if self._sink is not None:
                self._wire(conn)
            return conn

    def _wire(self, conn):
        agent = self.conf.agent
        try:
            conn.setKeepAlive(agent.libvirt_keepalive_interval,
                              agent.libvirt_keepalive_count)
        except libvirt.libvirtError as exc:
            # Local drivers (test:///, qemu:///session in-process) have no
            # keepalive; events still work.
            LOG.debug('libvirt keepalive not available on %s: %s',
                      self._uri, exc)
        try:
            conn.registerCloseCallback(self._on_close, None)
        except libvirt.libvirtError as exc:
            LOG.debug('No close callback on %s: %s', self._uri, exc)
        self._callback_id = conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle,
            None)

    def _drop(self, conn):
        if self._conn is conn:
            self._conn = None
            self._callback_id = None
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    def _on_close(self, conn, reason, _opaque):
        LOG.warning('libvirt connection to %s closed (reason %s); '
                    'reconnecting', self._uri, reason)
        with self._lock:
            if self._conn is conn:
                self._conn = None
                self._callback_id = None

    def _reconnect_loop(self):
        interval = self.conf.agent.libvirt_reconnect_interval
        while not self._stopped.wait(interval):
            try:
                self.connection()
            except libvirt.libvirtError as exc:
                LOG.warning('Cannot reconnect to libvirt at %s: %s',
                            self._uri, exc)

    # -- events ---------------------------------------------------------------

    def _on_lifecycle(self, _conn, dom, event, detail, _opaque):
        if (event == libvirt.VIR_DOMAIN_EVENT_STARTED
                and self._console is not None):
            # Follow a new run's console from its first line, not from
            # the next cycle.
            try:
                self._console.domain_seen(dom.UUIDString(), dom.ID())
            except libvirt.libvirtError:
                LOG.debug('Started domain vanished before it was followed')
            return
        found = crash_event(event, detail)
        if found is None:
            return
        try:
            uuid = dom.UUIDString()
        except libvirt.libvirtError:
            LOG.exception('Crash event for a domain whose UUID cannot be '
                          'read')
            return
        LOG.info('Domain %s: crash event %s/%s', uuid, found[0], found[1])
        sink = self._sink
        if sink is not None:
            try:
                sink(uuid, found[0], found[1], 'libvirt')
            except Exception:
                LOG.exception('Crash event of domain %s not delivered', uuid)

    def start(self, event_sink):
        self._sink = event_sink
        self._stopped.clear()
        try:
            with self._lock:
                if self._conn is not None:
                    self._wire(self._conn)
                else:
                    self.connection()
        except libvirt.libvirtError as exc:
            LOG.warning('libvirt at %s not reachable yet: %s', self._uri,
                        exc)
        self._reconnect_thread = threading.Thread(
            target=self._reconnect_loop, name='libvirt-reconnect',
            daemon=True)
        self._reconnect_thread.start()
        if self._console is not None:
            self._console.start(event_sink)

    def stop(self):
        self._stopped.set()
        if self._console is not None:
            self._console.stop()
        with self._lock:
            self._sink = None
            conn = self._conn
            if conn is not None:
                if self._callback_id is not None:
                    try:
                        conn.domainEventDeregisterAny(self._callback_id)
                    except libvirt.libvirtError:
                        pass
                self._drop(conn)

    # -- cycle ---------------------------------------------------------------

    def collect(self):
        try:
            return self._collect(self.connection())
        except libvirt.libvirtError:
            with self._lock:
                if self._conn is not None:
                    self._drop(self._conn)
            raise

    def _collect(self, conn):
        result = base.Result()
        used_vcpus = 0
        used_ram_mb = 0
        domains = []
        for dom in conn.listAllDomains():
            try:
                state, reason = dom.state()
                info = dom.info()
                uuid = dom.UUIDString()
                dom_id = dom.ID()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    continue  # undefined while we looked
                raise
            domains.append((dom, uuid, dom_id, state, reason, info))
        guest_faults = self._guest_faults(domains)
        for _dom, uuid, _dom_id, state, reason, info in domains:
            state_name, reason_name = state_names(state, reason)
            if state_name == 'running' and uuid in guest_faults:
                state_name, reason_name = guest_faults[uuid]
            vcpus = info[3]
            ram_mb = info[1] // 1024
            if state_name not in ('shutoff', 'nostate'):
                used_vcpus += vcpus
                used_ram_mb += ram_mb
            result.vms.append(base.VMInfo(uuid, state_name, reason_name,
                                          vcpus, ram_mb))
        node = conn.getInfo()
        result.vcpus_free = max(0, node[2] - used_vcpus)
        result.ram_mb_free = max(0, node[1] - used_ram_mb)
        return result

    # -- guest faults libvirt does not see ------------------------------------

    def _guest_faults(self, domains):
        """{uuid: (state, reason)} of running domains found crashed by the
        console log watcher or the guest agent prober."""
        found = {}
        uuids = [d[1] for d in domains]
        if self._console is not None:
            self._console.forget_others(uuids)
            for _dom, uuid, dom_id, _s, _r, _i in domains:
                self._console.domain_seen(uuid, dom_id)
            self._console.poll()
            for _dom, uuid, dom_id, state, _r, _i in domains:
                if (state == libvirt.VIR_DOMAIN_RUNNING
                        and self._console.panicked(uuid, dom_id)):
                    found[uuid] = ('crashed', 'panicked')
        if self._prober is not None:
            self._prober.forget_others(uuids)
            checks = [d for d in domains if d[1] not in found]
            workers = min(8, len(checks)) or 1
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                hung = list(pool.map(self._probe, checks))
            for (_dom, uuid, _id, _s, _r, _i), is_hung in zip(checks, hung,
                                                              strict=True):
                if not is_hung:
                    continue
                found[uuid] = ('crashed', 'hung')
                if self._prober.newly_hung(uuid):
                    LOG.warning('Domain %s: guest agent silent for %d '
                                'cycles while running: hung', uuid,
                                self.conf.agent.hang_cycles)
                    sink = self._sink
                    if sink is not None:
                        try:
                            sink(uuid, 'crashed', 'hung', 'guest-agent')
                        except Exception:
                            LOG.exception('Hang of domain %s not '
                                          'delivered', uuid)
        return found

    def _probe(self, domain):
        dom, uuid, dom_id, state, _reason, _info = domain
        try:
            return self._prober.check(
                uuid, dom_id, state == libvirt.VIR_DOMAIN_RUNNING,
                lambda: dom.XMLDesc(0), dom)
        except libvirt.libvirtError as exc:
            LOG.debug('Guest agent check of %s failed: %s', uuid, exc)
            return False
