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
