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

"""Nova's notifications in, vmguard's out (endpoint logic, SQLite)."""

import time

from oslo_utils import uuidutils
from oslo_versionedobjects import fixture as ovo_fixture

from vmguard.db import api as db_api
from vmguard.engine import notifications
from vmguard.engine import service
from vmguard.engine import targets
from vmguard import objects
from vmguard.objects import base as objects_base
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests import base
from vmguard.tests.unit.engine import streams


def payload(uuid, host, task_state=None, power_state='running'):
    return {'nova_object.name': 'InstanceActionPayload',
            'nova_object.namespace': 'nova',
            'nova_object.version': '1.8',
            'nova_object.data': {
                'uuid': uuid, 'host': host, 'task_state': task_state,
                'power_state': power_state, 'state': 'active',
                'flavor': {'nova_object.name': 'FlavorPayload',
                           'nova_object.data': {'vcpus': 2,
                                                'memory_mb': 2048}}}}


class TestNovaEndpoint(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(host='engine-a')
        self.engine = service.Engine(self.conf)
        self.endpoint = notifications.NovaNotificationEndpoint(self.engine)
        self.uuid = uuidutils.generate_uuid()

    def send(self, data):
        self.engine.handle(
            snapshot_obj.Snapshot.from_json_dict(data).to_record())

    def test_operation_start_without_task_state_sets_one(self):
        self.endpoint.info({}, 'nova-compute:c1', 'instance.rebuild.start',
                           payload(self.uuid, 'c1'), {})
        self.assertEqual('rebuilding', self.engine.pipeline.tasks[self.uuid])
        vm, node = db_api.vm_get(self.context, self.uuid)
        self.assertEqual(('c1', 'rebuilding', 2, 2048),
                         (node, vm.task_state, vm.vcpus, vm.ram_mb))
        self.endpoint.info({}, 'nova-compute:c1', 'instance.rebuild.end',
                           payload(self.uuid, 'c1'), {})
        self.assertNotIn(self.uuid, self.engine.pipeline.tasks)

    def test_vm_in_nova_task_is_not_judged_crashed(self):
        self.endpoint.info({}, 'nova-compute:c1', 'instance.update',
                           payload(self.uuid, 'c1', task_state='migrating'),
                           {})
        self.send(streams.snapshot('c2', 1))
        self.send(streams.snapshot('c1', 1, vms=[(self.uuid, 'shutoff',
                                                  'crashed')]))
        self.assertEqual([], db_api.decision_list(self.context))

    def test_power_state_crashed_is_a_crash_event(self):
        cycle = int(time.time() // self.conf.engine.cycle_interval)
        self.send(streams.snapshot('c2', cycle))
        self.send(streams.snapshot('c1', cycle, vms=[(self.uuid, 'running',
                                                      None)]))
        self.endpoint.info({}, 'nova-compute:c1', 'instance.update',
                           payload(self.uuid, 'c1', power_state='crashed'),
                           {})
        rows = db_api.decision_list(self.context)
        if not rows:
            # The cycle turned between the snapshot and the event.
            self.send(streams.snapshot('c1', cycle + 1))
            rows = db_api.decision_list(self.context)
        self.assertEqual([('R1', 'reboot', self.uuid)],
                         [(r.rule, r.action, r.vm) for r in rows])
        self.assertEqual(1, self.endpoint.stats['crashes'])

    def test_not_an_instance_payload_is_counted(self):
        self.endpoint.info({}, 'x', 'instance.update', 'garbage', {})
        self.endpoint.error({}, 'x', 'instance.update',
                            {'nova_object.data': {'uuid': 5}}, {})
        self.assertEqual(2, self.endpoint.stats['rejected'])

    def test_delete_end_forgets_the_vm(self):
        self.endpoint.info({}, 'n', 'instance.update',
                           payload(self.uuid, 'c1'), {})
        self.endpoint.info({}, 'n', 'instance.delete.end',
                           payload(self.uuid, 'c1'), {})
        self.assertEqual([], db_api.vm_list(self.context))


# Nova's documented versioned notifications (doc/notification_samples):
# event type -> payload class. Payloads below are written for these tests.
INSTANCE_EVENTS = {
    'instance.create.start': 'InstanceCreatePayload',
    'instance.create.end': 'InstanceCreatePayload',
    'instance.create.error': 'InstanceCreatePayload',
    'instance.delete.start': 'InstanceActionPayload',
    'instance.delete.end': 'InstanceActionPayload',
    'instance.evacuate': 'InstanceActionPayload',
    'instance.exists': 'InstanceExistsPayload',
    'instance.interface_attach.start': 'InstanceActionPayload',
    'instance.interface_attach.end': 'InstanceActionPayload',
    'instance.interface_attach.error': 'InstanceActionPayload',
    'instance.interface_detach.start': 'InstanceActionPayload',
    'instance.interface_detach.end': 'InstanceActionPayload',
    'instance.lock': 'InstanceActionPayload',
    'instance.unlock': 'InstanceActionPayload',
    'instance.pause.start': 'InstanceActionPayload',
    'instance.pause.end': 'InstanceActionPayload',
    'instance.unpause.start': 'InstanceActionPayload',
    'instance.unpause.end': 'InstanceActionPayload',
    'instance.power_off.start': 'InstanceActionPayload',
    'instance.power_off.end': 'InstanceActionPayload',
    'instance.power_on.start': 'InstanceActionPayload',
    'instance.power_on.end': 'InstanceActionPayload',
    'instance.power_on_share.start': 'InstanceActionSharePayload',
    'instance.power_on_share.end': 'InstanceActionSharePayload',
    'instance.reboot.start': 'InstanceActionPayload',
    'instance.reboot.end': 'InstanceActionPayload',
    'instance.reboot.error': 'InstanceActionPayload',
    'instance.rebuild.start': 'InstanceActionRebuildPayload',
    'instance.rebuild.end': 'InstanceActionRebuildPayload',
    'instance.rebuild.error': 'InstanceActionRebuildPayload',
    'instance.rebuild_scheduled': 'InstanceActionRebuildPayload',
    'instance.rescue.start': 'InstanceActionRescuePayload',
    'instance.rescue.end': 'InstanceActionRescuePayload',
    'instance.unrescue.start': 'InstanceActionPayload',
    'instance.unrescue.end': 'InstanceActionPayload',
    'instance.resize.start': 'InstanceActionPayload',
    'instance.resize.end': 'InstanceActionPayload',
    'instance.resize.error': 'InstanceActionPayload',
    'instance.resize_prep.start': 'InstanceActionResizePrepPayload',
    'instance.resize_prep.end': 'InstanceActionResizePrepPayload',
    'instance.resize_finish.start': 'InstanceActionPayload',
    'instance.resize_finish.end': 'InstanceActionPayload',
    'instance.resize_confirm.start': 'InstanceActionPayload',
    'instance.resize_confirm.end': 'InstanceActionPayload',
    'instance.resize_revert.start': 'InstanceActionPayload',
    'instance.resize_revert.end': 'InstanceActionPayload',
    'instance.restore.start': 'InstanceActionPayload',
    'instance.restore.end': 'InstanceActionPayload',
    'instance.resume.start': 'InstanceActionPayload',
    'instance.resume.end': 'InstanceActionPayload',
    'instance.suspend.start': 'InstanceActionPayload',
    'instance.suspend.end': 'InstanceActionPayload',
    'instance.shelve.start': 'InstanceActionPayload',
    'instance.shelve.end': 'InstanceActionPayload',
    'instance.shelve_offload.start': 'InstanceActionPayload',
    'instance.shelve_offload.end': 'InstanceActionPayload',
    'instance.unshelve.start': 'InstanceActionPayload',
    'instance.unshelve.end': 'InstanceActionPayload',
    'instance.share_attach.start': 'InstanceActionSharePayload',
    'instance.share_attach.end': 'InstanceActionSharePayload',
    'instance.share_attach.error': 'InstanceActionSharePayload',
    'instance.share_detach.start': 'InstanceActionSharePayload',
    'instance.share_detach.end': 'InstanceActionSharePayload',
    'instance.share_detach.error': 'InstanceActionSharePayload',
    'instance.shutdown.start': 'InstanceActionPayload',
    'instance.shutdown.end': 'InstanceActionPayload',
    'instance.snapshot.start': 'InstanceActionSnapshotPayload',
    'instance.snapshot.end': 'InstanceActionSnapshotPayload',
    'instance.soft_delete.start': 'InstanceActionPayload',
    'instance.soft_delete.end': 'InstanceActionPayload',
    'instance.trigger_crash_dump.start': 'InstanceActionPayload',
    'instance.trigger_crash_dump.end': 'InstanceActionPayload',
    'instance.update': 'InstanceUpdatePayload',
    'instance.volume_attach.start': 'InstanceActionVolumePayload',
    'instance.volume_attach.end': 'InstanceActionVolumePayload',
    'instance.volume_attach.error': 'InstanceActionVolumePayload',
    'instance.volume_detach.start': 'InstanceActionVolumePayload',
    'instance.volume_detach.end': 'InstanceActionVolumePayload',
    'instance.volume_swap.start': 'InstanceActionVolumeSwapPayload',
    'instance.volume_swap.end': 'InstanceActionVolumeSwapPayload',
    'instance.volume_swap.error': 'InstanceActionVolumeSwapPayload',
    'instance.live_migration_pre.start': 'InstanceActionPayload',
    'instance.live_migration_pre.end': 'InstanceActionPayload',
    'instance.live_migration_post.start': 'InstanceActionPayload',
    'instance.live_migration_post.end': 'InstanceActionPayload',
    'instance.live_migration_post_dest.start': 'InstanceActionPayload',
    'instance.live_migration_post_dest.end': 'InstanceActionPayload',
    'instance.live_migration_rollback.start': 'InstanceActionPayload',
    'instance.live_migration_rollback.end': 'InstanceActionPayload',
    'instance.live_migration_rollback_dest.start': 'InstanceActionPayload',
    'instance.live_migration_rollback_dest.end': 'InstanceActionPayload',
    'instance.live_migration_abort.start': 'InstanceActionPayload',
    'instance.live_migration_abort.end': 'InstanceActionPayload',
    'instance.live_migration_force_complete.start': 'InstanceActionPayload',
    'instance.live_migration_force_complete.end': 'InstanceActionPayload',
}

OTHER_EVENTS = {
    'aggregate.create.start': {'name': 'agg', 'uuid': 'a-1', 'hosts': []},
    'aggregate.add_host.end': {'name': 'agg', 'hosts': ['c1']},
    'aggregate.cache_images.progress': {'host': 'c1', 'index': 1},
    'aggregate.update_metadata.end': {'metadata': {'k': 'v'}},
    'compute.exception': {'exception': 'NovaException',
                          'exception_message': 'boom',
                          'function_name': 'f', 'module_name': 'm'},
    'flavor.create': {'flavorid': 'f1', 'vcpus': 2, 'memory_mb': 512},
    'flavor.delete': {'flavorid': 'f1'},
    'keypair.import.end': {'name': 'k', 'user_id': 'u'},
    'libvirt.connect.error': {'ip': '10.0.0.1', 'reason': {}},
    'metrics.update': {'host': 'c1', 'nodename': 'c1', 'metrics': []},
    'scheduler.select_destinations.start': {'instance_uuid': 'i'},
    'server_group.add_member': {'uuid': 'g', 'members': []},
    'volume.usage': {'instance_uuid': 'i', 'volume_id': 'v'},
}


def nova_payload(name, version, data):
    return {'nova_object.name': name, 'nova_object.namespace': 'nova',
            'nova_object.version': version, 'nova_object.data': data}


def instance_data(uuid, host, name, task_state=None, power_state='running'):
    data = {'uuid': uuid, 'host': host, 'node': host,
            'task_state': task_state, 'power_state': power_state,
            'state': 'active', 'display_name': 'vm', 'locked': False,
            'metadata': {}, 'tenant_id': 'p', 'user_id': 'u',
            'flavor': nova_payload('FlavorPayload', '1.4', {
                'flavorid': 'f1', 'vcpus': 2, 'memory_mb': 2048,
                'root_gb': 10, 'extra_specs': {}}),
            'ip_addresses': [nova_payload('IpPayload', '1.0', {
                'address': '10.0.0.5', 'version': 4, 'mac': 'fa:16:3e:0:0:1',
                'port_uuid': 'p1', 'device_name': 'tap1', 'label': 'net'})],
            'block_devices': []}
    if name == 'InstanceUpdatePayload':
        data['state_update'] = nova_payload('InstanceStateUpdatePayload',
                                            '1.0', {
                                                'old_state': 'active',
                                                'state': 'active',
                                                'old_task_state': None,
                                                'new_task_state': task_state})
        data['audit_period'] = {'audit_period_beginning': 'x'}
    if name.startswith('InstanceAction') or name == 'InstanceCreatePayload':
        data['fault'] = None
    if name == 'InstanceActionResizePrepPayload':
        data['new_flavor'] = data['flavor']
    if name == 'InstanceActionVolumeSwapPayload':
        data['old_volume_id'], data['new_volume_id'] = 'v1', 'v2'
    if name == 'InstanceExistsPayload':
        data['audit_period'] = nova_payload('AuditPeriodPayload', '1.0', {
            'audit_period_beginning': 'a', 'audit_period_ending': 'b'})
        data['bandwidth'] = []
    return data


def service_payload(host, disabled=False, forced_down=False,
                    binary='nova-compute', reason=None):
    return nova_payload('ServiceStatusPayload', '1.1', {
        'host': host, 'binary': binary, 'topic': 'compute',
        'disabled': disabled, 'disabled_reason': reason,
        'forced_down': forced_down, 'report_count': 3, 'version': 66,
        'last_seen_up': '2026-11-29T05:00:00Z',
        'uuid': uuidutils.generate_uuid()})


class FakeClock:

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TestNovaEventStream(base.DbTestCase):
    """Nova's event order as it really comes, one notification at a time."""

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(host='engine-a')
        self.flags(task_state_ttl=600, crash_dump_grace=300,
                   group='notifications')
        self.engine = service.Engine(self.conf)
        self.clock = FakeClock()
        self.endpoint = notifications.NovaNotificationEndpoint(
            self.engine, clock=self.clock)
        self.uuid = uuidutils.generate_uuid()

    def send(self, data):
        self.engine.handle(
            snapshot_obj.Snapshot.from_json_dict(data).to_record())

    def notify(self, event_type, host, task_state=None,
               power_state='running', name='InstanceActionPayload'):
        self.endpoint.info({}, 'nova-compute:%s' % host, event_type,
                           nova_payload(name, '1.8', instance_data(
                               self.uuid, host, name, task_state,
                               power_state)), {})

    def node_and_task(self):
        vm, node = db_api.vm_get(self.context, self.uuid)
        return node, vm.task_state, self.engine.pipeline.tasks.get(
            self.uuid)

    def test_every_documented_event_type_is_handled(self):
        for event_type, name in sorted(INSTANCE_EVENTS.items()):
            for version in ('1.0', '1.8', '2.0'):
                self.endpoint.info({}, 'nova-compute:c1', event_type,
                                   nova_payload(name, version, instance_data(
                                       self.uuid, 'c1', name)), {})
        for event_type, data in sorted(OTHER_EVENTS.items()):
            self.endpoint.info({}, 'nova-api:x', event_type,
                               nova_payload('Payload', '1.0', data), {})
        for event_type in ('service.create', 'service.update',
                           'service.delete'):
            self.endpoint.info({}, 'nova-compute:c1', event_type,
                               service_payload('c1'), {})
        for event_type in ('compute_task.build_instances.error',
                           'compute_task.migrate_server.error',
                           'compute_task.rebuild_server.error'):
            self.endpoint.error({}, 'nova-conductor:x', event_type,
                                nova_payload('ComputeTaskPayload', '1.0', {
                                    'instance_uuid': self.uuid,
                                    'state': 'error',
                                    'reason': nova_payload(
                                        'ExceptionPayload', '1.1', {
                                            'exception': 'NoValidHost'}),
                                    'request_spec': None}), {})
        self.assertEqual(0, self.endpoint.stats['rejected'])
        self.assertEqual(len(OTHER_EVENTS), self.endpoint.stats['ignored'])
        self.assertEqual(3, self.endpoint.stats['services'])

    def test_bad_payloads_are_counted_not_raised(self):
        for payload in (None, [], 'x', {'nova_object.data': None},
                        {'nova_object.data': {'uuid': 7}},
                        nova_payload('P', '1.0', {'uuid': self.uuid,
                                                  'flavor': 'x',
                                                  'task_state': 5})):
            self.endpoint.info({}, 'p', 'instance.update', payload, {})
            self.endpoint.info({}, 'p', 'service.update', payload, {})
            self.endpoint.info({}, 'p', 'compute_task.x.error', payload,
                               {})
        # The last one is an instance payload with odd fields: taken,
        # its odd fields left out; it is no service nor conductor payload.
        self.assertEqual(5 * 3 + 2, self.endpoint.stats['rejected'])
        vm, _node = db_api.vm_get(self.context, self.uuid)
        self.assertIsNone(vm.task_state)

    def test_live_migration_ends_without_task_and_agents_place_the_vm(self):
        cycle = 10
        self.send(streams.snapshot('c2', cycle))
        self.send(streams.snapshot('c1', cycle, vms=[(self.uuid, 'running',
                                                      None)]))
        # Nova's order: pre on the destination, post on the source, then
        # post_dest on the destination, and last the source's post.end
        # still saying "migrating".
        self.notify('instance.live_migration_pre.start', 'c1', 'migrating')
        self.notify('instance.live_migration_pre.end', 'c1', 'migrating')
        self.notify('instance.live_migration_post.start', 'c1', 'migrating')
        self.notify('instance.live_migration_post_dest.start', 'c2',
                    'migrating')
        self.assertEqual(('c1', 'migrating', 'migrating'),
                         self.node_and_task())
        self.notify('instance.live_migration_post_dest.end', 'c2')
        self.notify('instance.live_migration_post.end', 'c1', 'migrating')
        # The notification's host c2 did not move the VM; no task left.
        self.assertEqual(('c1', None, None), self.node_and_task())
        # The agents say where it runs now; a crash there is judged R1.
        self.send(streams.snapshot('c1', cycle + 1))
        self.send(streams.snapshot('c2', cycle + 1, vms=[
            (self.uuid, 'running', None)]))
        self.assertEqual('c2', self.node_and_task()[0])
        self.send(streams.snapshot('c1', cycle + 2))
        self.send(streams.snapshot('c2', cycle + 2, vms=[
            (self.uuid, 'crashed', 'panicked')]))
        self.assertEqual([('c2', 'R1', 'reboot', self.uuid)],
                         [(r.node, r.rule, r.action, r.vm)
                          for r in db_api.decision_list(self.context)])

    def test_a_notification_host_never_overrides_the_agents(self):
        self.send(streams.snapshot('c1', 5, vms=[(self.uuid, 'running',
                                                  None)]))
        self.notify('instance.update', 'c9', name='InstanceUpdatePayload')
        self.assertEqual('c1', self.node_and_task()[0])

    def test_error_and_rollback_end_the_task(self):
        for operation in ('reboot', 'rebuild', 'resize'):
            self.notify('instance.%s.start' % operation, 'c1')
            self.assertIsNotNone(self.node_and_task()[2])
            self.notify('instance.%s.error' % operation, 'c1',
                        task_state='rebooting_hard')
            self.assertEqual(('c1', None, None), self.node_and_task())
        self.notify('instance.live_migration_rollback.start', 'c1',
                    'migrating')
        self.notify('instance.live_migration_rollback.end', 'c1',
                    'migrating')
        self.assertEqual(('c1', None, None), self.node_and_task())

    def test_conductor_error_ends_the_task(self):
        self.notify('instance.update', 'c1', 'resize_prep',
                    name='InstanceUpdatePayload')
        self.endpoint.error({}, 'nova-conductor:x',
                            'compute_task.migrate_server.error',
                            nova_payload('ComputeTaskPayload', '1.0', {
                                'instance_uuid': self.uuid}), {})
        self.assertEqual(('c1', None, None), self.node_and_task())

    def test_task_states_expire(self):
        self.notify('instance.update', 'c1', 'migrating',
                    name='InstanceUpdatePayload')
        self.clock.now += 599
        self.endpoint.expire()
        self.assertEqual('migrating', self.node_and_task()[2])
        # Confirmed by a new notification: a new time to live.
        self.notify('instance.update', 'c1', 'migrating',
                    name='InstanceUpdatePayload')
        self.clock.now += 599
        self.endpoint.expire()
        self.assertEqual('migrating', self.endpoint.task_state(self.uuid))
        self.clock.now += 2
        self.endpoint.expire()
        self.assertEqual(('c1', None, None), self.node_and_task())
        self.assertEqual(1, self.endpoint.stats['expired'])

    def test_trigger_crash_dump_is_not_a_crash(self):
        cycle = int(time.time() // self.conf.engine.cycle_interval)
        self.send(streams.snapshot('c2', cycle))
        self.send(streams.snapshot('c1', cycle, vms=[(self.uuid, 'running',
                                                      None)]))
        self.notify('instance.trigger_crash_dump.start', 'c1')
        self.notify('instance.trigger_crash_dump.end', 'c1')
        # Nova then sees the guest crashed (its kdump after the NMI).
        self.notify('instance.update', 'c1', power_state='crashed',
                    name='InstanceUpdatePayload')
        self.send(streams.snapshot('c2', cycle + 1))
        self.send(streams.snapshot('c1', cycle + 1, vms=[
            (self.uuid, 'crashed', 'panicked')]))
        self.assertEqual([], db_api.decision_list(self.context))
        self.assertEqual(0, self.endpoint.stats['crashes'])
        self.assertEqual('trigger_crash_dump', self.node_and_task()[2])
        # The grace ends: a later crash is a crash again.
        self.clock.now += 301
        self.endpoint.expire()
        self.assertEqual(('c1', None, None), self.node_and_task())

    def test_service_update_marks_computes_unavailable(self):
        services = self.endpoint.services
        self.endpoint.info({}, 'nova-compute:c1', 'service.update',
                           service_payload('c1', disabled=True,
                                           reason='maintenance'), {})
        self.endpoint.info({}, 'nova-compute:c2', 'service.update',
                           service_payload('c2', forced_down=True), {})
        self.endpoint.info({}, 'nova-compute:c3', 'service.update',
                           service_payload('c3'), {})
        self.endpoint.info({}, 'nova-scheduler:c4', 'service.update',
                           service_payload('c4', disabled=True,
                                           binary='nova-scheduler'), {})
        self.assertEqual({'c1', 'c2'}, services.unavailable())
        self.assertFalse(services.is_target('c1'))
        self.assertTrue(services.is_target('c3'))
        self.assertEqual('maintenance',
                         services.get('c1')['disabled_reason'])
        self.endpoint.info({}, 'nova-compute:c1', 'service.update',
                           service_payload('c1'), {})
        self.endpoint.info({}, 'nova-compute:c2', 'service.delete',
                           service_payload('c2', forced_down=True), {})
        self.assertEqual(set(), services.unavailable())

    def test_unavailable_computes_are_no_targets(self):
        for node in ('c1', 'c2', 'c3'):
            self.send(streams.snapshot(node, 1, ram=100000 * int(node[1])))
        self.endpoint.services.guard(self.engine.directory)
        selector = targets.MostFreeRamSelector()
        self.assertEqual(['c3', 'c2'], selector.select(
            self.engine.directory, 'c1', 1, 512))
        self.endpoint.info({}, 'nova-compute:c3', 'service.update',
                           service_payload('c3', disabled=True), {})
        self.assertEqual(['c2'], selector.select(
            self.engine.directory, 'c1', 1, 512))


class FakeListener:

    def __init__(self):
        self.calls = []

    def start(self, override_pool_size=None):
        self.calls.append(('start', override_pool_size))

    def stop(self):
        self.calls.append(('stop',))

    def wait(self):
        self.calls.append(('wait',))


class TestOrderedListener(base.TestCase):

    def test_one_worker(self):
        listener = FakeListener()

        class Endpoint:
            expired = 0

            def expire(self):
                Endpoint.expired += 1

        ordered = notifications.OrderedListener(listener, Endpoint(),
                                                interval=0.01)
        ordered.start()
        deadline = time.monotonic() + 5
        while Endpoint.expired < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        ordered.stop()
        ordered.wait()
        self.assertEqual([('start', 1), ('stop',), ('wait',)],
                         listener.calls)
        self.assertGreaterEqual(Endpoint.expired, 2)


class TestPayloadObjects(base.TestCase):

    def test_object_hashes(self):
        expected = {
            'DecisionPayload': '1.0-6aa1b511f8e96e139a64dfff736b395c',
            'RecoveryPayload': '1.0-ab4545c04c30ae7f96d0a665c150ced8',
        }
        checker = ovo_fixture.ObjectVersionChecker(
            objects_base.VmguardObjectRegistry.obj_classes())
        actual = {name: fp for name, fp in
                  checker.get_hashes().items() if name in expected}
        self.assertEqual(sorted(expected), sorted(actual))
        self.assertEqual(expected, actual)


class TestRecoveryNotifications(base.DbTestCase):

    def test_failed_recovery_error_notification_says_why(self):
        decision, _created = db_api.decision_create(self.context, {
            'incident_key': 'R1:c1:vm-1:7', 'node': 'c1', 'cycle': 7,
            'action': 'reboot', 'vm': 'vm-1', 'rule': 'R1',
            'reason': 'test'})
        rec = db_api.recovery_get_by_decision(self.context, decision.id)

        class Executor:
            def execute(executor, row):
                db_api.recovery_transition(self.context, rec.id, 'running',
                                           expected='pending', owner='e')
                db_api.recovery_transition(
                    self.context, rec.id, 'failed', expected='running',
                    error='Compute API unavailable: connection refused')
                return 'failed'

        sent = []

        class Notifier:
            def recovery(notifier, row, phase, status=None, error=None):
                sent.append((phase, status, error))

        runner = service.DirectRecovery(Executor(), Notifier())
        self.assertEqual('failed', runner.run(decision))
        self.assertEqual(
            [('start', None, None),
             ('error', 'failed',
              'Compute API unavailable: connection refused')], sent)
