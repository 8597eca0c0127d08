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

"""Alerts: a real HTTP receiver (http.server) gets the webhook POSTs."""

import oslo_messaging as messaging
from oslo_messaging.notify import _impl_test

from vmguard.common import rpc
from vmguard.compute import fake
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.engine.recovery import alerts
from vmguard import objects
from vmguard.tests import base as test_base
from vmguard.tests.fixtures import webhook


class TestAlerts(test_base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(group='recovery', retry_interval=0.0, poll_interval=0.05,
                   max_concurrent=1, compute_down_timeout=0)
        self.flags(group='alerts', webhook_retry_interval=0.0,
                   webhook_timeout=2.0)
        self.driver = fake.FakeComputeDriver()
        self.driver.add_host('cmp-1')
        db_api.node_get_or_create(self.context, 'cmp-1')
        transport = messaging.get_notification_transport(self.conf,
                                                         url='fake:/')
        self.notifier = messaging.Notifier(
            transport, driver='test', publisher_id='vmguard-engine.test',
            serializer=rpc.get_serializer())
        _impl_test.reset()
        self.sender = alerts.AlertSender(notifier=self.notifier)
        self.executor = recovery.RecoveryExecutor(
            driver=self.driver, owner='engine-1', sleep=lambda s: None,
            alerter=self.sender)
        self.addCleanup(self.executor.stop)
        self._n = 0

    def _receiver(self, **kwargs):
        receiver = webhook.Receiver(**kwargs)
        self.addCleanup(receiver.close)
        self.flags(group='alerts', webhook_url=receiver.url)
        return receiver

    def _recovery(self, decision):
        return db_api.recovery_get_by_decision(self.context, decision.id)

    def _decision(self, action='escalate', rule='R2', vm='vm-1'):
        self._n += 1
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': '%s-%d' % (self.id(), self._n), 'node': 'cmp-1',
            'cycle': 10, 'action': action, 'vm': vm, 'rule': rule,
            'reason': 'VM crashed 3 times in 30 cycles'})
        return decision

    def test_escalation_posts_json_and_notifies(self):
        receiver = self._receiver()
        decision = self._decision()
        self.assertEqual('escalated', self.executor.execute(decision))
        self.sender.stop()
        [(ctype, body)] = receiver.posts
        self.assertEqual('application/json', ctype)
        rec = db_api.recovery_get_by_decision(self.context, decision.id)
        self.assertEqual(
            ('vmguard.alert', 'escalated', 'cmp-1', 'vm-1', 'R2', 'escalate',
             decision.uuid, rec.uuid),
            (body['event_type'], body['status'], body['node'], body['vm'],
             body['rule'], body['action'], body['decision'],
             body['recovery']))
        self.assertEqual('VM crashed 3 times in 30 cycles', body['message'])
        [note] = _impl_test.NOTIFICATIONS
        _ctxt, message, priority, _retry = note
        self.assertEqual(('CRITICAL', 'vmguard.alert'),
                         (priority, message['event_type']))
        payload = message['payload']
        self.assertEqual('AlertPayload', payload['vmguard_object.name'])
        self.assertEqual('escalated',
                         payload['vmguard_object.data']['status'])

    def test_failed_recovery_alerts(self):
        receiver = self._receiver()
        decision = self._decision(action='reboot', rule='R1', vm='gone')
        self.assertEqual('failed', self.executor.execute(decision))
        self.sender.stop()
        [(_ctype, body)] = receiver.posts
        self.assertEqual('failed', body['status'])
        self.assertIn('gone', body['message'])

    def test_success_sends_nothing(self):
        receiver = self._receiver()
        self.driver.add_server('vm-1', 'cmp-1')
        decision = self._decision(action='reboot', rule='R1')
        self.assertEqual('succeeded', self.executor.execute(decision))
        self.sender.stop()
        self.assertEqual([], receiver.posts)
        self.assertEqual([], _impl_test.NOTIFICATIONS)

    def test_5xx_retried_until_accepted(self):
        receiver = self._receiver(script=[500, 503])
        self.flags(group='alerts', webhook_retries=3)
        self.assertEqual('escalated',
                         self.executor.execute(self._decision()))
        self.sender.stop()
        self.assertEqual(3, len(receiver.posts))
        self.assertEqual((1, 0), (self.sender.sent, self.sender.failed))

    def test_4xx_not_retried(self):
        receiver = self._receiver(script=[400])
        self.executor.execute(self._decision())
        self.sender.stop()
        self.assertEqual(1, len(receiver.posts))
        self.assertEqual((0, 1), (self.sender.sent, self.sender.failed))

    def test_slow_receiver_bounded_by_timeout_and_retries(self):
        receiver = self._receiver(delay=1.0)
        self.flags(group='alerts', webhook_timeout=0.2, webhook_retries=1)
        decision = self._decision()
        future = self.sender.send(decision, self._recovery(decision),
                                  'escalated', 'test')
        self.assertFalse(future.result(timeout=10))
        self.assertEqual(2, len(receiver.posts))
        self.assertEqual((0, 1), (self.sender.sent, self.sender.failed))

    def test_receiver_down_is_logged_never_raised(self):
        receiver = self._receiver()
        receiver.close()
        self.flags(group='alerts', webhook_retries=1)
        self.assertEqual('escalated',
                         self.executor.execute(self._decision()))
        self.sender.stop()
        self.assertEqual((0, 1), (self.sender.sent, self.sender.failed))

    def test_no_webhook_url_no_post(self):
        decision = self._decision()
        future = self.sender.send(decision, self._recovery(decision),
                                  'escalated', 'test')
        self.assertIsNone(future)
        self.assertEqual(1, len(_impl_test.NOTIFICATIONS))
