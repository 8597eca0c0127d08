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

"""Ownership while the coordination backend comes and goes.

The tooz driver is faked at its boundary (a driver that answers or raises
what tooz's etcd3gw driver raises); the functional tests in
``tests/functional/clusters`` do the same against a real etcd.
"""

from unittest import mock

from etcd3gw import exceptions as etcd3gw_exc
import tooz.coordination

from vmguard.engine import coordination
from vmguard.tests import base

NODES = ['node-%03d' % i for i in range(200)]


class FakeResult:

    def __init__(self, value=None, exc=None):
        self.value, self.exc = value, exc

    def get(self, timeout=None):
        if self.exc is not None:
            raise self.exc
        return self.value


class FakeBackend:
    """What tooz's coordinator shows of a shared group."""

    def __init__(self, member, group):
        self.member, self.group = member, group
        self.away = None          # exception to raise while away
        self.heartbeat_error = None
        self.joins = 0

    def _call(self, value=None):
        return FakeResult(value, self.away)

    def start(self, start_heart=False):
        pass

    def stop(self):
        pass

    def create_group(self, group):
        if group in self.group.setdefault('_created', set()):
            return FakeResult(exc=tooz.coordination.GroupAlreadyExist(group))
        self.group['_created'].add(group)
        return self._call()

    def join_group(self, group):
        if self.away:
            return self._call()
        self.joins += 1
        self.group.setdefault('members', set()).add(self.member)
        return FakeResult()

    def leave_group(self, group):
        self.group.setdefault('members', set()).discard(self.member)
        return FakeResult()

    def get_members(self, group):
        return self._call(set(self.group.get('members', set())))

    def heartbeat(self):
        if self.heartbeat_error is not None:
            raise self.heartbeat_error
        return 10


class TestCoordinator(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(group='coordination', backend_url='etcd3+http://x:1',
                   membership_timeout=5, heartbeat_interval=60)
        self.group = {}
        self.backends = {}
        self.now = [1000.0]
        patcher = mock.patch.object(coordination.time, 'monotonic',
                                    side_effect=lambda: self.now[0])
        patcher.start()
        self.addCleanup(patcher.stop)

    def _engine(self, name):
        backend = FakeBackend(name.encode(), self.group)
        self.backends[name] = backend
        coord = coordination.Coordinator(self.conf, name)
        with mock.patch.object(tooz.coordination, 'get_coordinator',
                               autospec=True, return_value=backend):
            coord.start()
        self.addCleanup(coord.stop)
        return coord

    def _owned(self, coord):
        return {n for n in NODES if coord.owns(n)}

    def test_url_gets_whole_second_timeouts_for_etcd(self):
        self.flags(group='coordination', membership_timeout=2.5)
        self.assertEqual(
            'etcd3+http://x:1?membership_timeout=3&timeout=3',
            coordination._backend_url(self.conf))
        self.flags(group='coordination',
                   backend_url='etcd3+http://x:1?timeout=7')
        self.assertEqual('etcd3+http://x:1?timeout=7&membership_timeout=3',
                         coordination._backend_url(self.conf))

    def test_two_engines_share_the_nodes(self):
        a = self._engine('a')
        b = self._engine('b')
        a.refresh()
        owned_a, owned_b = self._owned(a), self._owned(b)
        self.assertEqual(set(NODES), owned_a | owned_b)
        self.assertFalse(owned_a & owned_b)
        self.assertTrue(owned_a and owned_b)

    def test_backend_away_keeps_own_nodes_and_takes_none(self):
        a = self._engine('a')
        b = self._engine('b')
        a.refresh()
        owned_a, owned_b = self._owned(a), self._owned(b)
        for backend in self.backends.values():
            backend.away = tooz.coordination.ToozConnectionError('refused')
            backend.heartbeat_error = etcd3gw_exc.ConnectionFailedError(
                'refused')
        # Raw etcd3gw exception from the heartbeat: handled, not raised.
        self.assertFalse(a.heartbeat())
        self.assertTrue(a.backend_away)
        self.now[0] += 60
        self.assertFalse(a.refresh())
        self.assertFalse(b.refresh())
        self.assertEqual(owned_a, self._owned(a))
        self.assertEqual(owned_b, self._owned(b))

    def test_after_the_outage_nobody_leaves_before_the_timeout(self):
        a = self._engine('a')
        self._engine('b')
        a.refresh()
        owned_a = self._owned(a)
        self.backends['a'].away = tooz.coordination.ToozConnectionError('x')
        self.assertFalse(a.refresh())
        # The backend comes back having lost both memberships (leases
        # expired): a joins again at once, b has not rejoined yet.
        self.group['members'] = set()
        self.backends['a'].away = None
        self.now[0] += 1
        joins = self.backends['a'].joins
        a.refresh()
        self.assertEqual(joins + 1, self.backends['a'].joins)
        self.assertFalse(a.backend_away)
        self.assertEqual({'a', 'b'}, set(a.members()))
        self.assertEqual(owned_a, self._owned(a))
        # b really is gone: after membership_timeout a takes its nodes.
        self.now[0] += 6
        self.assertTrue(a.refresh())
        self.assertEqual({'a'}, set(a.members()))
        self.assertEqual(set(NODES), self._owned(a))

    def test_dead_engine_leaves_without_an_outage(self):
        a = self._engine('a')
        self._engine('b')
        a.refresh()
        self.group['members'].discard(b'b')
        self.assertTrue(a.refresh())
        self.assertEqual(set(NODES), self._owned(a))

    def test_unexpected_driver_error_in_refresh_is_handled(self):
        a = self._engine('a')
        self.backends['a'].away = etcd3gw_exc.Etcd3Exception('boom')
        self.assertFalse(a.refresh())
        self.assertEqual(set(NODES), self._owned(a))

    def test_without_backend_owns_everything(self):
        self.flags(group='coordination', backend_url=None)
        coord = coordination.Coordinator(self.conf, 'solo')
        coord.start()
        self.assertFalse(coord.enabled)
        self.assertTrue(all(coord.owns(n) for n in NODES))
