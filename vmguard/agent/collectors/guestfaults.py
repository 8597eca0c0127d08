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

"""Guest faults libvirt does not report on domains Nova creates.

Nova's libvirt driver adds no panic device to its domains, so a guest
kernel panic leaves libvirt reporting ``running`` (SPEC.md, Revision 2,
"Guest faults as stock Nova shows them"). Two detectors fill the gap;
the libvirt collector drives both:

* :class:`ConsoleLogWatcher` follows each instance's console log (Nova's
  ``console.log``) in a thread, polling every
  ``[agent] console_log_poll_interval`` seconds, and reports
  ``crashed/panicked`` at once when new text matches a panic signature.
  The panic holds for the domain's current run (its libvirt domain ID):
  a restarted domain clears it, and text already read is never read
  again, so the same panic text does not fire twice. A truncated or
  replaced file (QEMU and virtlogd truncate the log when the domain
  starts; virtlogd rotates it) is read again from its start.
* :class:`GuestAgentProber` pings the QEMU guest agent of domains that
  have its channel, once per cycle, and reports ``crashed/hung`` after
  ``[agent] hang_cycles`` consecutive silent cycles while running.
  Counting starts once the agent answered in the domain's current run
  (an image that declares an agent it does not run is not a hung
  guest), or after ``[agent] guest_agent_boot_grace`` seconds of the run
  when that is set.
"""

import json
import os
import re
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: The channel Nova adds for ``hw_qemu_guest_agent=yes`` images.
GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0'

#: A partial line longer than this is judged as it is (a guest that
#: never writes a newline cannot grow the agent's memory).
MAX_LINE = 4096
#: At most this much new text is read per file and poll; a guest that
#: floods its console has only the latest text judged.
MAX_READ = 1024 * 1024


class _ConsoleState:
    __slots__ = ('path', 'inode', 'offset', 'partial', 'dom_id',
                 'panicked_run', 'unreadable')

    def __init__(self, path, dom_id):
        self.path = path
        self.inode = None
        self.offset = 0
        self.partial = b''
        self.dom_id = dom_id
        # Domain ID of the run whose console showed a panic, or None.
        self.panicked_run = None
        self.unreadable = False


class ConsoleLogWatcher:
    """Follows instance console logs for kernel panic signatures."""

    def __init__(self, path_template, patterns, interval, sink=None):
        if '{uuid}' not in path_template:
            raise ValueError('console log path %r has no {uuid}'
                             % path_template)
        self._template = path_template
        self._patterns = [re.compile(p.encode('utf-8')) for p in patterns]
        self._interval = interval
        self._sink = sink
        self._lock = threading.Lock()
        self._files = {}
        # One reader at a time: the watcher thread and the cycle.
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def path(self, uuid):
        return self._template.replace('{uuid}', uuid)

    # -- domains ------------------------------------------------------------

    def domain_seen(self, uuid, dom_id):
        """Note a domain and the ID of its current run.

        A new run (another ID) ends the panic of the previous one.
        """
        with self._lock:
            state = self._files.get(uuid)
            if state is None:
                self._files[uuid] = _ConsoleState(self.path(uuid), dom_id)
            elif state.dom_id != dom_id:
                state.dom_id = dom_id
                if state.panicked_run not in (None, dom_id):
                    state.panicked_run = None

    def forget_others(self, uuids):
        """Stop following the domains not in ``uuids``."""
        with self._lock:
            for uuid in set(self._files) - set(uuids):
                del self._files[uuid]

    def panicked(self, uuid, dom_id):
        """True when the console of this run of the domain shows a panic."""
        with self._lock:
            state = self._files.get(uuid)
            return (state is not None and state.panicked_run is not None
                    and state.panicked_run == dom_id)

    # -- reading ------------------------------------------------------------

    def poll(self):
        """Read new console text of every followed domain once.

        :returns: UUIDs whose console showed a new panic.
        """
        with self._poll_lock:
            fired = self._poll_locked()
        for uuid in fired:
            LOG.warning('Domain %s: kernel panic on its console (%s)', uuid,
                        self.path(uuid))
            sink = self._sink
            if sink is not None:
                try:
                    sink(uuid, 'crashed', 'panicked', 'console')
                except Exception:
                    LOG.exception('Console panic of domain %s not '
                                  'delivered', uuid)
        return fired

    def _poll_locked(self):
        with self._lock:
            states = list(self._files.items())
        fired = []
        for uuid, state in states:
            try:
                text = self._new_text(state)
            except OSError as exc:
                if not state.unreadable:
                    LOG.warning('Cannot read console log %s: %s',
                                state.path, exc)
                    state.unreadable = True
                continue
            state.unreadable = False
            if text and self._matches(text):
                with self._lock:
                    if (state.panicked_run is None
                            and state.dom_id is not None
                            and state.dom_id >= 0):
                        state.panicked_run = state.dom_id
                        fired.append(uuid)
        return fired

    def _matches(self, text):
        return any(p.search(text) for p in self._patterns)

    def _new_text(self, state):
        try:
            st = os.stat(state.path)
        except FileNotFoundError:
            return b''  # not created yet (or the instance is gone)
        if st.st_ino != state.inode or st.st_size < state.offset:
            # A new file (rotated, recreated) or truncated at start: what
            # it holds is new. A panic seen before belongs to the text
            # that is gone, but stays until the domain runs again.
            state.inode = st.st_ino
            state.offset = 0
            state.partial = b''
        if st.st_size == state.offset:
            return b''
        with open(state.path, 'rb') as f:
            if st.st_size - state.offset > MAX_READ:
                state.offset = st.st_size - MAX_READ
                state.partial = b''
            f.seek(state.offset)
            data = f.read(MAX_READ)
        state.offset += len(data)
        data = state.partial + data
        head, sep, tail = data.rpartition(b'\n')
        if len(tail) > MAX_LINE:
            state.partial = b''
            return data
        state.partial = tail
        return head + sep

    # -- thread -------------------------------------------------------------

    def _run(self):
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception:
                LOG.exception('Console log poll failed')

    def start(self, sink):
        self._sink = sink
        self._stop.clear()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run,
                                            name='console-log-watcher',
                                            daemon=True)
            self._thread.start()

    def stop(self):
        self._stop.set()
        self._sink = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _AgentState:
    __slots__ = ('dom_id', 'has_channel', 'answered', 'silent', 'since',
                 'reported')

    def __init__(self, dom_id, has_channel):
        self.dom_id = dom_id
        self.has_channel = has_channel
        self.answered = False
        self.silent = 0
        self.since = time.monotonic()
        self.reported = False


def has_agent_channel(xml):
    """True when a domain XML has the QEMU guest agent's channel."""
    return ("name='%s'" % GUEST_AGENT_CHANNEL in xml
            or 'name="%s"' % GUEST_AGENT_CHANNEL in xml)


class GuestAgentProber:
    """Counts the cycles the QEMU guest agent of a domain did not answer.

    :param ping: callable ``ping(dom)`` that returns when the agent
        answered and raises when it did not (libvirt_qemu's
        ``qemuAgentCommand`` with ``guest-ping``).
    """

    def __init__(self, ping, hang_cycles, boot_grace=0.0):
        self._ping = ping
        self._hang_cycles = hang_cycles
        self._boot_grace = boot_grace
        self._domains = {}

    def check(self, uuid, dom_id, running, xml_of, dom):
        """Ping one domain for this cycle; True when it is hung.

        :param xml_of: callable returning the domain XML, called once per
            run of the domain to learn whether it has the channel.
        """
        state = self._domains.get(uuid)
        if state is None or state.dom_id != dom_id:
            state = _AgentState(dom_id, has_agent_channel(xml_of()))
            self._domains[uuid] = state
        if not state.has_channel:
            return False
        if not running:
            # Paused or stopped guests do not answer; that is not a hang.
            state.silent = 0
            return False
        try:
            self._ping(dom)
        except Exception as exc:
            armed = state.answered or (
                self._boot_grace > 0
                and time.monotonic() - state.since >= self._boot_grace)
            if armed:
                state.silent += 1
                LOG.debug('Domain %s: guest agent silent (%d/%d): %s', uuid,
                          state.silent, self._hang_cycles, exc)
        else:
            state.answered = True
            state.silent = 0
            state.reported = False
        return state.silent >= self._hang_cycles

    def newly_hung(self, uuid):
        """True once per hang: the first cycle a domain is judged hung."""
        state = self._domains.get(uuid)
        if state is None or state.silent < self._hang_cycles \
                or state.reported:
            return False
        state.reported = True
        return True

    def forget_others(self, uuids):
        for uuid in set(self._domains) - set(uuids):
            del self._domains[uuid]


def libvirt_ping(timeout):
    """A ``ping(dom)`` for :class:`GuestAgentProber` through libvirt_qemu."""
    import libvirt_qemu

    command = json.dumps({'execute': 'guest-ping'})

    def ping(dom):
        libvirt_qemu.qemuAgentCommand(dom, command, timeout, 0)

    return ping
