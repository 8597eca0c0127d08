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

"""Server views: what Nova last said of a server stands in for a GET
before a reboot only while it is young and says "act"."""

from vmguard.compute import base
from vmguard.engine import notifications
from vmguard.engine.recovery import views
from vmguard.engine import service
from vmguard import objects
from vmguard.tests import base as test_base
from vmguard.tests.unit.engine import test_recovery


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def instance(uuid, state='active', task_state=None, metadata=None,
             extra_specs=None, host='cmp-1', flavor=True):
    """The nova_object.data of an InstanceUpdatePayload (Nova's shape:
    metadata and the flavor's extra specs are part of every instance
    payload)."""
    data = {'uuid': uuid, 'host': host, 'state': state,
            'task_state': task_state, 'power_state': 'running',
            'display_name': 'guest', 'metadata': dict(metadata or {})}
    if flavor:
        data['flavor'] = {
            'nova_object.name': 'FlavorPayload',
            'nova_object.namespace': 'nova',
            'nova_object.version': '1.4',
            'nova_object.data': {'vcpus': 1, 'memory_mb': 512,
                                 'extra_specs': (
                                     None if extra_specs is False
                                     else dict(extra_specs or {}))}}
    return data


def envelope(data):
    return {'nova_object.name': 'InstanceUpdatePayload',
            'nova_object.namespace': 'nova',
            'nova_object.version': '2.0', 'nova_object.data': data}


class TestPayload(test_base.TestCase):

    def test_full_payload_is_a_server(self):
        server = views.server_from_payload(instance(
            'vm-1', metadata={'vmguard:protect': 'false', 'role': 'db'},
            extra_specs={'hw:cpu_policy': 'shared',
                         'vmguard:protect': 'true'}))
        self.assertEqual(('vm-1', 'ACTIVE', 'active', None, 'cmp-1'),
                         (server.id, server.status, server.vm_state,
                          server.task_state, server.host))
        # Only what the guards read is kept.
        self.assertEqual({'vmguard:protect': 'false'}, server.metadata)
        self.assertEqual({'vmguard:protect': 'true'},
                         server.flavor_extra_specs)

    def test_stopped_server_shows_shutoff(self):
        server = views.server_from_payload(instance('vm-1', 'stopped'))
        self.assertEqual(('SHUTOFF', 'stopped'),
                         (server.status, server.vm_state))

    def test_payload_without_what_the_guards_need_is_none(self):
        no_meta = instance('vm-1')
        del no_meta['metadata']
        self.assertIsNone(views.server_from_payload(no_meta))
        # FlavorPayload 1.3+: null extra specs mean "not sent".
        self.assertIsNone(views.server_from_payload(
            instance('vm-1', extra_specs=False)))
        self.assertIsNone(views.server_from_payload(
            instance('vm-1', flavor=False)))
        self.assertIsNone(views.server_from_payload(
            instance('vm-1', metadata={'k': 1})))

    def test_derived_task_state_wins_over_the_payload(self):
        server = views.server_from_payload(
            instance('vm-1', task_state=None), task_state='rebuilding')
        self.assertEqual('rebuilding', server.task_state)


class TestServerViews(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = Clock()
        self.views = views.ServerViews(clock=self.clock)

    def test_fresh_until_max_age(self):
        self.views.notified(instance('vm-1'))
        self.clock.t += 60
        server, age = self.views.fresh('vm-1', 60)
        self.assertEqual(('vm-1', 60.0), (server.id, age))
        self.clock.t += 1
        self.assertIsNone(self.views.fresh('vm-1', 60))
        self.assertIsNone(self.views.fresh('vm-1', 0))
        self.assertEqual(1, self.views.stats['stale'])

    def test_partial_payload_and_delete_drop_the_view(self):
        self.views.notified(instance('vm-1'))
        self.views.notified(instance('vm-1', extra_specs=False))
        self.assertIsNone(self.views.fresh('vm-1', 60))
        self.views.notified(instance('vm-1'))
        self.views.notified(instance('vm-1'), deleted=True)
        self.assertIsNone(self.views.fresh('vm-1', 60))
        self.assertEqual(0, len(self.views))

    def test_read_older_than_a_notification_is_not_kept(self):
        since = self.views.now()
        self.clock.t += 1
        self.views.notified(instance('vm-1', task_state='rebooting'))
        stale = base.Server(id='vm-1', status='ACTIVE', host='cmp-1',
                            vm_state='active')
        self.views.read(stale, since)
        self.assertEqual('rebooting',
                         self.views.fresh('vm-1', 60)[0].task_state)
        self.clock.t += 1
        self.views.read(stale, self.views.now())
        self.assertIsNone(self.views.fresh('vm-1', 60)[0].task_state)

    def test_read_keeps_only_what_the_guards_need(self):
        server = base.Server(id='vm-1', status='ACTIVE', host='cmp-1',
                             vm_state='active',
                             metadata={'vmguard:protect': 'no', 'a': 'b'},
                             flavor_extra_specs={'hw:mem': '1'})
        self.views.read(server, self.views.now())
        held = self.views.fresh('vm-1', 60)[0]
        self.assertEqual(({'vmguard:protect': 'no'}, {}),
                         (held.metadata, held.flavor_extra_specs))
        # The caller's server is not changed.
        self.assertEqual('b', server.metadata['a'])

    def test_bounded(self):
        small = views.ServerViews(clock=self.clock, max_entries=2)
        for n in range(3):
            small.notified(instance('vm-%d' % n))
        self.assertEqual(2, len(small))
        self.assertIsNone(small.fresh('vm-0', 60))


class TestRebootWithViews(test_recovery.RecoveryTestCase):
    """The GET before a reboot is left out only when a young view says
    act; any doubt reads Nova."""

    def setUp(self):
        super().setUp()
        self.clock = Clock()
        self.executor.views = views.ServerViews(clock=self.clock)
        self.flags(group='recovery', server_view_max_age=60)

    def _reads(self):
        return len(self.driver.calls_of('get_server'))

    def _reboot(self, vm='vm-1'):
        decision = self._decision('reboot', vm=vm)
        return decision, self.executor.execute(decision)

    def test_young_view_that_says_act_saves_the_read(self):
        self.driver.add_server('vm-1', 'cmp-1')
        self.executor.views.notified(instance('vm-1'))
        self.clock.t += 30
        _decision, status = self._reboot()
        self.assertEqual('succeeded', status)
        calls = [c[0] for c in self.driver.calls]
        # The reboot is the first Nova call; reads only follow it (the
        # wait for the server to be active again).
        self.assertEqual('reboot_server', calls[0])
        self.assertEqual(1, len(self.driver.calls_of('reboot_server')))

    def test_view_saying_not_protected_is_checked_with_nova(self):
        # Nova now says protected (the view is behind): Nova decides.
        self.driver.add_server('vm-1', 'cmp-1')
        self.executor.views.notified(
            instance('vm-1', metadata={'vmguard:protect': 'false'}))
        _decision, status = self._reboot()
        self.assertEqual('get_server', self.driver.calls[0][0])
        self.assertEqual('succeeded', status)

    def test_view_in_a_task_reads_nova(self):
        self.driver.add_server('vm-1', 'cmp-1', task_state='rebooting')
        self.executor.views.notified(instance('vm-1',
                                              task_state='rebooting'))
        decision, status = self._reboot()
        self.assertEqual('skipped', status)
        self.assertEqual(1, self._reads())
        self.assertEqual([], self.driver.calls_of('reboot_server'))

    def test_old_view_reads_nova(self):
        self.driver.add_server('vm-1', 'cmp-1',
                               metadata={'vmguard:protect': 'false'})
        self.executor.views.notified(instance('vm-1'))
        self.clock.t += 61
        _decision, status = self._reboot()
        self.assertEqual('skipped', status)
        self.assertEqual('get_server', self.driver.calls[0][0])
        self.assertEqual([], self.driver.calls_of('reboot_server'))

    def test_no_view_reads_nova_and_keeps_what_it_read(self):
        self.driver.add_server('vm-1', 'cmp-1', status=base.SHUTOFF)
        _decision, status = self._reboot()
        self.assertEqual('skipped', status)
        self.assertEqual('stopped',
                         self.executor.views.fresh('vm-1', 60)[0].vm_state)

    def test_max_age_zero_always_reads(self):
        self.flags(group='recovery', server_view_max_age=0)
        self.driver.add_server('vm-1', 'cmp-1')
        self.executor.views.notified(instance('vm-1'))
        self._reboot()
        self.assertEqual('get_server', self.driver.calls[0][0])


class TestNotificationsFeedViews(test_base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(host='engine-a')
        self.engine = service.Engine(self.conf)
        self.views = views.ServerViews()
        self.endpoint = notifications.NovaNotificationEndpoint(
            self.engine, views=self.views)

    def test_update_and_operations_reach_the_view(self):
        self.endpoint.info({}, 'nova-compute:c1', 'instance.update',
                           envelope(instance('vm-1')), {})
        self.assertIsNone(self.views.fresh('vm-1', 60)[0].task_state)
        # A .start without a task state in its payload: the operation's.
        self.endpoint.info({}, 'nova-compute:c1', 'instance.rebuild.start',
                           envelope(instance('vm-1')), {})
        self.assertEqual('rebuilding',
                         self.views.fresh('vm-1', 60)[0].task_state)
        self.endpoint.info({}, 'nova-compute:c1', 'instance.rebuild.end',
                           envelope(instance('vm-1')), {})
        self.assertIsNone(self.views.fresh('vm-1', 60)[0].task_state)
        self.endpoint.info({}, 'nova-compute:c1', 'instance.delete.end',
                           envelope(instance('vm-1', 'deleted')), {})
        self.assertIsNone(self.views.fresh('vm-1', 60))


class TestViewRefresher(test_recovery.RecoveryTestCase):

    def test_refresh_reads_the_servers_of_a_node(self):
        self.driver.add_server('vm-1', 'cmp-1')
        self.driver.add_server('vm-2', 'cmp-1', status=base.SHUTOFF)
        self.driver.add_server('vm-3', 'cmp-2')
        vs = views.ServerViews()
        refresher = views.ViewRefresher(vs, self.driver, lambda: {'cmp-1'},
                                        300)
        self.assertTrue(refresher.refresh_node('cmp-1'))
        self.assertEqual({'vm-1', 'vm-2'},
                         {s for s in ('vm-1', 'vm-2', 'vm-3')
                          if vs.fresh(s, 60)})
        self.driver.fail_next('list_servers',
                              base.ComputeUnavailable(reason='503'))
        self.assertFalse(refresher.refresh_node('cmp-1'))
        self.assertEqual(1, refresher.stats['errors'])
