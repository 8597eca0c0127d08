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

"""What Nova last said about each server, kept so that a crash does not
wait for a ``GET /servers/{id}`` before its hard reboot.

A recovery acts on a server only when its guards pass (protection, task
state, vm_state: :mod:`vmguard.engine.recovery.guards`). Reading them from
Nova at crash time costs an API round trip (about as long as the reboot
request itself). Nova already tells: with ``[notifications]
notify_on_state_change`` set, every ``Instance.save()`` -- a task or vm
state change, a metadata update through the API -- sends an
``instance.update`` whose payload carries the server's state, task state,
metadata and flavor extra specs; the engine listens to them anyway.

A :class:`ServerViews` holds, per server, the last of (a) such a payload
and (b) a server vmguard read from Nova itself, with the monotonic time it
was received. The recovery takes its fast path only when the view is
younger than ``[recovery] server_view_max_age`` **and** says "act"; a view
that says "leave it alone", an old view, a partial payload or no view at
all means the ``GET`` as before. A view can only be behind Nova by the
notification's own delay (milliseconds) or by notifications the engine
did not receive; the age limit bounds the latter, and Nova itself refuses
a reboot of a server in a conflicting task (409: the recovery fails and
alerts).
"""

import dataclasses
import threading
import time

from oslo_log import log as logging

from vmguard.compute import base
from vmguard.engine import notifications
from vmguard.engine.recovery import guards

LOG = logging.getLogger(__name__)

_MISSING = object()

def _slim(values):
    """Only what the guards read (``vmguard:protect``): a view stays a
    few hundred bytes whatever metadata a server carries."""
    return {k: v for k, v in values.items() if k == guards.PROTECT_KEY}


def _strings(value):
    """A dict of strings, or None when ``value`` is not one."""
    if not isinstance(value, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str)
               for k, v in value.items()):
        return None
    return dict(value)


def server_from_payload(data, task_state=_MISSING):
    """A :class:`vmguard.compute.base.Server` from the ``nova_object.data``
    of an instance notification (InstancePayload), or None when the payload
    lacks what the guards need (metadata, flavor extra specs, state).

    :param task_state: the task state the notification endpoint derived
        for this event (e.g. the operation of a ``.start`` whose payload
        carries none); default: the payload's.
    """
    if not isinstance(data, dict) or not isinstance(data.get('uuid'), str):
        return None
    metadata = _strings(data.get('metadata'))
    flavor = notifications.nova_data(data.get('flavor'))
    # FlavorPayload 1.3 made extra_specs nullable: null means "not sent",
    # not "none", so such a payload cannot vouch for protection.
    extra_specs = _strings(flavor.get('extra_specs')) if flavor else None
    vm_state = data.get('state')
    if metadata is None or extra_specs is None or not isinstance(
            vm_state, str):
        return None
    if task_state is _MISSING:
        task_state = data.get('task_state')
    if not isinstance(task_state, str) or not task_state:
        task_state = None
    host = data.get('host')
    return base.Server(
        id=data['uuid'],
        status=base.STATUS_OF_VM_STATE.get(vm_state, vm_state.upper()),
        host=host if isinstance(host, str) and host else None,
        task_state=task_state, vm_state=vm_state, metadata=_slim(metadata),
        flavor_extra_specs=_slim(extra_specs),
        name=data.get('display_name') if isinstance(
            data.get('display_name'), str) else None)


class ServerViews:
    """Per server: the last state Nova told vmguard (thread-safe).

    Bounded by the servers Nova notifies about (an entry is dropped with
    ``instance.delete.end``) and by ``max_entries`` (the oldest go first).
    """

    def __init__(self, clock=time.monotonic, max_entries=200000):
        self._clock = clock
        self._lock = threading.Lock()
        self._views = {}
        self._max = max_entries
        self.stats = {'notified': 0, 'read': 0, 'partial': 0, 'hits': 0,
                      'misses': 0, 'stale': 0}

    def now(self):
        return self._clock()

    def notified(self, data, task_state=_MISSING, deleted=False):
        """An instance notification's payload was received."""
        uuid = data.get('uuid') if isinstance(data, dict) else None
        if not isinstance(uuid, str):
            return
        if deleted:
            self.forget(uuid)
            return
        server = server_from_payload(data, task_state)
        with self._lock:
            if server is None:
                # Something changed that this payload cannot show: what
                # was held may be wrong now.
                self._views.pop(uuid, None)
                self.stats['partial'] += 1
                return
            self._put(uuid, server, self._clock())
            self.stats['notified'] += 1

    def read(self, server, since):
        """``server`` was read from Nova by a request sent at ``since``
        (:meth:`now`). Kept unless a notification arrived after the
        request was sent (the answer may be older than it)."""
        if server is None or not getattr(server, 'id', None):
            return
        with self._lock:
            held = self._views.get(server.id)
            if held is not None and held[1] > since:
                return
            self._put(server.id, dataclasses.replace(
                server, metadata=_slim(server.metadata or {}),
                flavor_extra_specs=_slim(server.flavor_extra_specs or {})),
                since)
            self.stats['read'] += 1

    def _put(self, uuid, server, stamp):
        self._views.pop(uuid, None)
        self._views[uuid] = (server, stamp)
        while len(self._views) > self._max:
            del self._views[next(iter(self._views))]

    def forget(self, uuid):
        with self._lock:
            self._views.pop(uuid, None)

    def fresh(self, uuid, max_age):
        """(server, age in seconds) when the view of ``uuid`` is at most
        ``max_age`` old, else None."""
        if max_age <= 0:
            return None
        with self._lock:
            held = self._views.get(uuid)
            if held is None:
                self.stats['misses'] += 1
                return None
            age = self._clock() - held[1]
            if age > max_age:
                self.stats['stale'] += 1
                return None
            self.stats['hits'] += 1
            return held[0], age

    def __len__(self):
        with self._lock:
            return len(self._views)


class ViewRefresher:
    """Reads the servers of this engine's nodes from Nova, one node at a
    time, spread over ``interval`` seconds, into the views (a server Nova
    has not notified about for a while keeps a young view).

    :param nodes: callable returning the names of the nodes to read.
    """

    def __init__(self, views, driver, nodes, interval):
        self.views = views
        self.driver = driver
        self._nodes = nodes
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self.stats = {'rounds': 0, 'nodes': 0, 'servers': 0, 'errors': 0}

    def start(self):
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='vmguard-server-views')
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self):
        while not self._stop.is_set():
            nodes = sorted(self._nodes())
            if not nodes:
                # Nodes are adopted as their first snapshots arrive.
                self._stop.wait(min(self.interval, 10))
                continue
            pause = self.interval / len(nodes)
            for node in nodes:
                if self._stop.is_set():
                    return
                self.refresh_node(node)
                self._stop.wait(pause)
            self.stats['rounds'] += 1

    def refresh_node(self, node):
        """Read the servers of ``node``; False when Nova could not say."""
        since = self.views.now()
        try:
            servers = self.driver.list_servers(node)
        except Exception as exc:
            self.stats['errors'] += 1
            LOG.warning('Could not read the servers of %s from Nova (%s); '
                        'their views age until the next round', node, exc)
            return False
        for server in servers:
            self.views.read(server, since)
        self.stats['nodes'] += 1
        self.stats['servers'] += len(servers)
        return True
