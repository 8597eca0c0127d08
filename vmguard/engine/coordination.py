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

"""Sharing the nodes among engines: a tooz group and a hash ring.

Every engine joins the group ``[coordination] group`` under its host name
and keeps a consistent hash ring (``tooz.hashring``) of the members; a
node belongs to the member the ring names for it. With ingest partitions
(``[engine] ingest_partitions``, the default) the ring places partitions,
not nodes: a node belongs to the owner of its partition, which is the
engine consuming that partition's ingest queue (:mod:`vmguard.engine.
ingest`), so snapshots reach their judge without a second hop. Without
``[coordination] backend_url`` the single engine owns every node.

When an engine dies its heartbeat stops; the backend drops it from the
group after the membership timeout, the survivors see it leave on their
next :meth:`Coordinator.refresh` and take its nodes over (their judge
state comes from the database). Ownership only decides who *judges*; the
unique incident key in the database is what keeps a decision from being
stored -- and executed -- twice while ownership moves.

When the backend itself is away (Redis or etcd down, or unreachable) an
engine keeps the ring of the last members it saw: it goes on judging the
nodes it owned and never takes another engine's. Every driver error is
handled here, the heartbeat's included (tooz's etcd3gw driver raises raw
``etcd3gw`` exceptions from ``heartbeat()``). When the backend answers
again, members are only added, never dropped, for ``membership_timeout``
seconds (the others rejoin in that time if their memberships expired with
the outage), and an engine whose own membership expired joins again.
"""

import math
import threading
import time
import urllib.parse

from oslo_log import log as logging
import tooz.coordination
from tooz import hashring

from vmguard.engine import rpcapi

LOG = logging.getLogger(__name__)


def _backend_url(conf):
    url = conf.coordination.backend_url
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qs(parsed.query)
    timeout = conf.coordination.membership_timeout
    extra = []
    if parsed.scheme.startswith('redis'):
        if 'membership_timeout' not in query:
            extra.append('membership_timeout=%s' % timeout)
    elif parsed.scheme.startswith('etcd3'):
        # The etcd drivers take whole seconds (a lease TTL); ``timeout``
        # is also their HTTP timeout (30 s by default), which would hold
        # a heartbeat that long against a hung server.
        seconds = max(1, int(math.ceil(timeout)))
        for key in ('membership_timeout', 'timeout'):
            if key not in query:
                extra.append('%s=%s' % (key, seconds))
    if extra:
        sep = '&' if parsed.query else '?'
        url = '%s%s%s' % (url, sep, '&'.join(extra))
    return url


def _partition_key(partition):
    return b'ingest-partition-%d' % partition


def _text(member):
    return member.decode() if isinstance(member, bytes) else member


class Coordinator:
    """Who owns which node."""

    def __init__(self, conf, member_id):
        self.conf = conf
        self.member_id = member_id
        self._coord = None
        self._group = conf.coordination.group.encode()
        self._members = frozenset((member_id,))
        self._ring = None
        # Monotonic time the backend was first seen unreachable (None:
        # reachable), and until when no member may leave the ring.
        self._away_since = None
        self._settle_until = 0.0
        self._heart = None
        self._stopping = threading.Event()
        # The ring changes in refresh() while RPC threads look up owners.
        self._lock = threading.Lock()

    @property
    def enabled(self):
        return self._coord is not None

    @property
    def backend_away(self):
        """True while the coordination backend does not answer."""
        return self._away_since is not None

    def start(self):
        if not self.conf.coordination.backend_url:
            LOG.info('No [coordination] backend_url: this engine owns '
                     'every node')
            return
        self._coord = tooz.coordination.get_coordinator(
            _backend_url(self.conf), self.member_id.encode())
        # Our own heartbeat thread: tooz's retries a failing beat forever
        # with a warning and traceback every second.
        self._coord.start(start_heart=False)
        self._join(restart=True)
        self._set_members(self._fetch_members())
        self._stopping.clear()
        self._heart = threading.Thread(target=self._beat, daemon=True,
                                       name='vmguard-coordination-heart')
        self._heart.start()
        LOG.info('Joined engine group %s as %s; members: %s',
                 self.conf.coordination.group, self.member_id,
                 ', '.join(sorted(self._members)))

    def _join(self, restart=False):
        try:
            self._coord.create_group(self._group).get()
        except tooz.coordination.GroupAlreadyExist:
            pass
        try:
            self._coord.join_group(self._group).get()
        except tooz.coordination.MemberAlreadyExist:
            if not restart:
                return
            # Our own membership from a run that ended without leaving
            # (killed, restarted before its heartbeat expired): join
            # again so that it lives on this run's heartbeat.
            LOG.info('%s is still a member of %s from a previous run; '
                     'joining again', self.member_id,
                     self.conf.coordination.group)
            self._coord.leave_group(self._group).get()
            self._coord.join_group(self._group).get()

    def stop(self):
        if self._coord is None:
            return
        self._stopping.set()
        if self._heart is not None:
            self._heart.join(10)
            self._heart = None
        try:
            self._coord.leave_group(self._group).get()
        except Exception:
            LOG.warning('Could not leave the engine group cleanly',
                        exc_info=True)
        try:
            self._coord.stop()
        except Exception:
            LOG.warning('Could not stop the coordinator cleanly',
                        exc_info=True)
        self._coord = None

    # -- the backend ---------------------------------------------------------

    def _beat(self):
        interval = self.conf.coordination.heartbeat_interval
        while not self._stopping.wait(interval):
            self.heartbeat()

    def heartbeat(self):
        """Beat once; return False (logged) when the backend is away."""
        try:
            self._coord.heartbeat()
        except Exception as exc:
            # Raw driver exceptions too (etcd3gw's, redis's).
            self._lost('heartbeat', exc)
            return False
        return True

    def _lost(self, what, exc):
        with self._lock:
            first = self._away_since is None
            if first:
                self._away_since = time.monotonic()
        if first:
            LOG.warning('Coordination backend unreachable (%s: %s: %s); '
                        'keeping the nodes of the last known members %s '
                        'and taking no others until it answers',
                        what, type(exc).__name__, exc,
                        ', '.join(sorted(self._members)))
        else:
            LOG.debug('Coordination backend still unreachable (%s: %s)',
                      what, exc)

    def _fetch_members(self):
        try:
            found = {_text(m) for m in
                     self._coord.get_members(self._group).get()}
        except tooz.coordination.GroupNotCreated:
            found = set()
        if self.member_id not in found:
            # Our membership expired (the backend was away longer than
            # the membership timeout, or lost its data): join again.
            LOG.warning('Engine %s is not a member of %s any more; '
                        'joining again', self.member_id,
                        self.conf.coordination.group)
            self._join()
            found.add(self.member_id)
        return frozenset(found)

    def _set_members(self, members):
        with self._lock:
            if members == self._members and self._ring is not None:
                return False
            ring = hashring.HashRing(
                sorted(members), partitions=self.conf.coordination.partitions)
            old, self._members, self._ring = self._members, members, ring
        LOG.info('Engine group members now: %s (were %s)',
                 ', '.join(sorted(members)), ', '.join(sorted(old)))
        return old != members

    def refresh(self):
        """Read the group; return True when membership changed."""
        if self._coord is None:
            return False
        try:
            members = self._fetch_members()
        except Exception as exc:
            self._lost('membership', exc)
            return False
        now = time.monotonic()
        with self._lock:
            away_since, self._away_since = self._away_since, None
            if away_since is not None:
                self._settle_until = (
                    now + self.conf.coordination.membership_timeout)
            settling = now < self._settle_until
        if away_since is not None:
            LOG.warning('Coordination backend answers again after %.1fs; '
                        'members: %s', now - away_since,
                        ', '.join(sorted(members)))
        if settling:
            # Right after an outage the others may not have rejoined yet:
            # nobody leaves the ring before membership_timeout is over.
            members = members | self._members
        return self._set_members(members)

    # -- ownership -----------------------------------------------------------

    def members(self):
        return self._members

    @property
    def partitions(self):
        """Number of ingest partitions (0: nodes are placed one by one)."""
        return rpcapi.ingest_partitions(self.conf)

    def owner(self, node):
        """Name of the engine that owns ``node``: with ingest partitions,
        the owner of its partition (the engine consuming its snapshots)."""
        ring = self._ring
        if ring is None:
            return self.member_id
        if self.partitions:
            return self._ring_owner(ring, _partition_key(
                rpcapi.partition_of(node, self.partitions)))
        return self._ring_owner(ring, str(node).encode('utf8'))

    @staticmethod
    def _ring_owner(ring, key):
        # The ring always holds this engine, so it is never empty.
        return _text(next(iter(ring.get_nodes(key))))

    def owned_partitions(self):
        """The ingest partitions this engine consumes now (sorted)."""
        ring = self._ring
        if ring is None:
            return list(range(self.partitions))
        return [p for p in range(self.partitions)
                if self._ring_owner(ring, _partition_key(p))
                == self.member_id]

    def owns(self, node):
        return self.owner(node) == self.member_id
