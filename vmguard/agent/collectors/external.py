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

"""External hardware running info: shared storage and network uplinks.

* Each ``[agent] storage_paths`` entry: a heartbeat file is written,
  synced and read back within ``[agent] storage_timeout``. A probe that
  fails or does not come back in time makes the path ``failed``; a probe
  still hung from an earlier cycle (a dead NFS server leaves the thread
  in uninterruptible sleep) is not started again, the path stays
  ``failed`` until it returns.
* Each ``[agent] uplinks`` interface: its carrier in sysfs.
* Each ``[agent] probe_addresses`` entry: ``HOST:PORT`` is probed with a
  TCP connection (an answer, even a refusal, means reachable), a bare
  ``HOST`` with one ICMP echo through ``ping``.
"""

import errno
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

from oslo_log import log as logging

from vmguard.agent.collectors import base

LOG = logging.getLogger(__name__)


def heartbeat(path, node):
    """Write, sync and read back a heartbeat file under ``path``."""
    name = os.path.join(path, '.vmguard-heartbeat-%s' % node)
    token = ('%s %s\n' % (time.time(), uuid.uuid4().hex)).encode()
    tmp = name + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, token)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, name)
    with open(name, 'rb') as f:
        if f.read() != token:
            raise OSError(errno.EIO, 'heartbeat read back differs', name)


class _Probe:
    """One storage path's heartbeat, run in a thread of its own."""

    def __init__(self, path, node):
        self.path = path
        self.ok = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(node,),
                                       name='storage-probe', daemon=True)
        self.thread.start()

    def _run(self, node):
        try:
            heartbeat(self.path, node)
            self.ok = True
        except OSError as exc:
            LOG.warning('Storage heartbeat on %s failed: %s', self.path, exc)
            self.ok = False
        finally:
            self.done.set()


def tcp_reachable(host, port, timeout):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except ConnectionRefusedError:
        return True  # the host answered
    except OSError:
        return False


def split_address(address):
    """'host:port', '[v6]:port', 'host' -> (host, port or None)."""
    if address.startswith('['):
        host, _, rest = address[1:].partition(']')
        return host, int(rest[1:]) if rest.startswith(':') else None
    if address.count(':') == 1:
        host, port = address.split(':')
        return host, int(port)
    return address, None


class ExternalCollector(base.Collector):
    """Shared instance storage and network uplinks of this node."""

    name = 'external'

    def __init__(self, conf):
        super().__init__(conf)
        self._probes = {}
        self._node = conf.agent.node_name or conf.host

    def collect(self):
        result = base.Result()
        agent = self.conf.agent
        ext = result.external
        deadline = time.monotonic() + agent.storage_timeout
        started = []
        for path in agent.storage_paths:
            probe = self._probes.get(path)
            if probe is None or probe.done.is_set():
                probe = self._probes[path] = _Probe(path, self._node)
            else:
                LOG.warning('Storage heartbeat on %s still hung from an '
                            'earlier cycle', path)
            started.append(probe)
        for probe in started:
            probe.done.wait(max(0.0, deadline - time.monotonic()))
            ok = probe.done.is_set() and probe.ok
            if not probe.done.is_set():
                LOG.warning('Storage heartbeat on %s timed out after %ss',
                            probe.path, agent.storage_timeout)
            ext.append(base.ExternalItem(probe.path, 'storage',
                                         'ok' if ok else 'failed'))
        for iface in agent.uplinks:
            ext.append(base.ExternalItem(iface, 'uplink',
                                         self._carrier(iface)))
        for address in agent.probe_addresses:
            ext.append(base.ExternalItem(address, 'gateway',
                                         self._probe(address)))
        return result

    def _carrier(self, iface):
        path = os.path.join(self.conf.agent.sysfs_root, 'class', 'net',
                            iface, 'carrier')
        try:
            with open(path) as f:
                return 'ok' if f.read().strip() == '1' else 'failed'
        except OSError:
            # Missing interface, or administratively down (EINVAL).
            return 'failed'

    def _probe(self, address):
        timeout = self.conf.agent.probe_timeout
        try:
            host, port = split_address(address)
        except ValueError:
            LOG.error('Cannot parse probe address %r', address)
            return 'failed'
        if port is not None:
            return 'ok' if tcp_reachable(host, port, timeout) else 'failed'
        ping = shutil.which('ping')
        if ping is None:
            LOG.error('No ping binary to probe %s; give a HOST:PORT', host)
            return 'failed'
        try:
            proc = subprocess.run(
                [ping, '-n', '-q', '-c', '1', '-W',
                 str(max(1, int(round(timeout)))), host],
                capture_output=True, timeout=timeout + 1, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return 'failed'
        return 'ok' if proc.returncode == 0 else 'failed'

    def unavailable(self, reason):
        # A collector that did not answer in time could not vouch for any
        # of its items: all of them are failed this cycle.
        agent = self.conf.agent
        result = base.Result(complete=False)
        for path in agent.storage_paths:
            result.external.append(base.ExternalItem(path, 'storage',
                                                     'failed'))
        for iface in agent.uplinks:
            result.external.append(base.ExternalItem(iface, 'uplink',
                                                     'failed'))
        for address in agent.probe_addresses:
            result.external.append(base.ExternalItem(address, 'gateway',
                                                     'failed'))
        return result
