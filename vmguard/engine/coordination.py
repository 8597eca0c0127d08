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

"""Sharing the nodes among engines: a tooz partitioned group.

Every engine joins the group ``[coordination] group`` under its host name
and keeps a consistent hash ring of the members; a node belongs to the
member the ring names for it. Without ``[coordination] backend_url`` the
single engine owns every node.

When an engine dies its heartbeat stops; the backend drops it from the
group after the membership timeout, the survivors see it leave on their
next :meth:`Coordinator.refresh` and take its nodes over (their judge
state comes from the database). Ownership only decides who *judges*; the
unique incident key in the database is what keeps a decision from being
stored -- and executed -- twice while ownership moves.
"""

import threading
import urllib.parse

from oslo_log import log as logging
import tooz.coordination

LOG = logging.getLogger(__name__)


def _backend_url(conf):
    url = conf.coordination.backend_url
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme.startswith('redis'):
        query = urllib.parse.parse_qs(parsed.query)
        if 'membership_timeout' not in query:
            sep = '&' if parsed.query else '?'
            url = '%s%smembership_timeout=%s' % (
                url, sep, conf.coordination.membership_timeout)
    return url


class Coordinator:
    """Who owns which node."""

    def __init__(self, conf, member_id):
        self.conf = conf
        self.member_id = member_id
        self._coord = None
        self._partitioner = None
        self._members = frozenset((member_id,))
        # The ring changes in refresh() while RPC threads look up owners.
        self._lock = threading.Lock()

    @property
    def enabled(self):
        return self._coord is not None

    def start(self):
        if not self.conf.coordination.backend_url:
            LOG.info('No [coordination] backend_url: this engine owns '
                     'every node')
            return
        group = self.conf.coordination.group.encode()
        self._coord = tooz.coordination.get_coordinator(
            _backend_url(self.conf), self.member_id.encode())
        self._coord.start(start_heart=True)
        partitions = self.conf.coordination.partitions
        try:
            self._partitioner = self._coord.join_partitioned_group(
                group, partitions=partitions)
        except tooz.coordination.MemberAlreadyExist:
            # Our own membership from a run that ended without leaving
            # (killed, restarted before its heartbeat expired).
            LOG.info('%s is still a member of %s from a previous run; '
                     'joining again', self.member_id,
                     self.conf.coordination.group)
            self._coord.leave_group(group).get()
            self._partitioner = self._coord.join_partitioned_group(
                group, partitions=partitions)
        self.refresh()
        LOG.info('Joined engine group %s as %s; members: %s',
                 self.conf.coordination.group, self.member_id,
                 ', '.join(sorted(self._members)))

    def stop(self):
        if self._coord is None:
            return
        try:
            self._coord.leave_partitioned_group(self._partitioner)
        except Exception:
            LOG.warning('Could not leave the engine group cleanly',
                        exc_info=True)
        try:
            self._coord.stop()
        except Exception:
            LOG.warning('Could not stop the coordinator cleanly',
                        exc_info=True)
        self._coord = self._partitioner = None

    def refresh(self):
        """Run the group watchers; return True when membership changed."""
        if self._coord is None:
            return False
        try:
            with self._lock:
                self._coord.run_watchers()
                nodes = list(self._partitioner.ring.nodes)
        except Exception:
            LOG.warning('Coordination backend not reachable; keeping the '
                        'last known members %s', sorted(self._members),
                        exc_info=True)
            return False
        members = frozenset(m.decode() if isinstance(m, bytes) else m
                            for m in nodes)
        if members != self._members:
            LOG.info('Engine group members now: %s (were %s)',
                     ', '.join(sorted(members)),
                     ', '.join(sorted(self._members)))
            self._members = members
            return True
        return False

    def members(self):
        return self._members

    def owner(self, node):
        """Name of the engine that owns ``node``."""
        if self._partitioner is None:
            return self.member_id
        with self._lock:
            found = self._partitioner.members_for_object(node)
        if not found:
            # Empty ring (not joined yet): judge it here.
            return self.member_id
        member = next(iter(found))
        return member.decode() if isinstance(member, bytes) else member

    def owns(self, node):
        return self.owner(node) == self.member_id
