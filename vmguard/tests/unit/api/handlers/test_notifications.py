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

"""Notifications of other monitors and manual recoveries through the WSGI
stack (in-memory SQLite); the cast to the engine is the process boundary
(an autospec'd ``EngineAPI``)."""

from unittest import mock

from oslo_serialization import jsonutils
import webob

from vmguard.api import deploy
from vmguard.api.handlers import notifications
from vmguard.db import api as db_api
from vmguard.engine import rpcapi
from vmguard import policy
from vmguard.tests import base
from vmguard.tests.unit.api import data

ADMIN = {'X-User-Id': 'alice', 'X-Project-Id': 'ops', 'X-Roles': 'admin'}
READER = {'X-User-Id': 'rita', 'X-Roles': 'reader',
          'OpenStack-System-Scope': 'all'}
MEMBER = {'X-User-Id': 'mike', 'X-Project-Id': 'p1', 'X-Roles': 'member'}
HOST_DOWN = {'id': 'pcmk-cmp-01-1', 'type': 'host_down', 'node': 'cmp-01',
             'source': 'pacemaker'}


class NotificationAPITestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.conf([], project='vmguard', default_config_files=[])
        self.flags(group='api', auth_strategy='noauth')
        policy.reset()
        self.addCleanup(policy.reset)
        self.sample = data.seed(self.context)
        self.engine = mock.create_autospec(rpcapi.EngineAPI, instance=True)
        patcher = mock.patch.object(notifications, 'engine_api',
                                    autospec=True,
                                    return_value=self.engine)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.app = deploy.deploy(self.conf)

    def call(self, method, path, body=None, headers=ADMIN, version='1.3',
             raw=None):
        req = webob.Request.blank(path, method=method)
        for name, value in headers.items():
            req.headers[name] = value
        if version:
            req.headers['OpenStack-API-Version'] = 'vmguard %s' % version
        if body is not None or raw is not None:
            req.content_type = 'application/json'
            req.body = raw if raw is not None else jsonutils.dump_as_bytes(
                body)
        return req.get_response(self.app)

    def post(self, body, **kwargs):
        return self.call('POST', '/v1/notifications', body, **kwargs)

    def assertBad(self, resp, status, *texts):
        self.assertEqual(status, resp.status_int, resp.text)
        detail = resp.json['errors'][0]['detail']
        for text in texts:
            self.assertIn(text, detail)
        return detail


class TestCreateNotification(NotificationAPITestCase):

    def test_created_once_and_cast_to_the_engine(self):
        resp = self.post({'notification': HOST_DOWN})
        self.assertEqual(202, resp.status_int, resp.text)
        body = resp.json['notification']
        self.assertEqual(('pcmk-cmp-01-1', 'host_down', 'cmp-01', 'new',
                          'pending', []),
                         (body['id'], body['type'], body['node'],
                          body['status'], body['outcome'],
                          body['decisions']))
        self.engine.process_notification.assert_called_once_with(
            mock.ANY, body['uuid'], retry=notifications.CAST_RETRIES)
        again = self.post({'notification': HOST_DOWN})
        self.assertEqual(200, again.status_int, again.text)
        self.assertEqual(body['uuid'], again.json['notification']['uuid'])
        self.assertEqual(1, len(db_api.notification_list(self.context)))
        # Still new: cast again (the first cast may have been lost).
        self.assertEqual(2, self.engine.process_notification.call_count)

    def test_taken_notification_is_not_cast_again(self):
        uuid = self.post({'notification': HOST_DOWN}).json[
            'notification']['uuid']
        db_api.notification_claim(self.context, uuid, 'engine-a')
        db_api.notification_finish(self.context, uuid, 'ignored',
                                   message='node being recovered')
        again = self.post({'notification': HOST_DOWN})
        self.assertEqual(200, again.status_int)
        self.assertEqual(('ignored', 'ignored', 'node being recovered'),
                         (again.json['notification']['status'],
                          again.json['notification']['outcome'],
                          again.json['notification']['message']))
        self.assertEqual(1, self.engine.process_notification.call_count)

    def test_used_id_for_another_notification_is_a_409(self):
        self.post({'notification': HOST_DOWN})
        before = data.dump(self.db.engine)
        resp = self.post({'notification': dict(HOST_DOWN, node='cmp-02')})
        self.assertBad(resp, 409, "'pcmk-cmp-01-1' is used already",
                       'host_down notification of node cmp-01')
        self.assertEqual(before, data.dump(self.db.engine))

    def test_lost_cast_is_not_an_error_for_the_client(self):
        self.engine.process_notification.side_effect = RuntimeError(
            'broker away')
        resp = self.post({'notification': HOST_DOWN})
        self.assertEqual(202, resp.status_int, resp.text)
        self.assertEqual('new', db_api.notification_get(
            self.context, 'pcmk-cmp-01-1').status)

    def test_each_type_with_its_fields(self):
        vm = dict(HOST_DOWN, id='vm-1', type='vm_crashed', vm=data.VM2,
                  reason='panicked', generated_at='2026-11-29T10:00:00Z')
        proc = dict(HOST_DOWN, id='proc-1', type='process_down',
                    service='nova-compute')
        for body in (vm, proc):
            resp = self.post({'notification': body})
            self.assertEqual(202, resp.status_int, resp.text)
        shown = self.call('GET', '/v1/notifications/vm-1').json[
            'notification']
        self.assertEqual((data.VM2, 'panicked', '2026-11-29T10:00:00Z'),
                         (shown['vm'], shown['reason'],
                          shown['generated_at']))
        self.assertEqual('nova-compute', self.call(
            'GET', '/v1/notifications/proc-1').json['notification'][
                'service'])

    def test_bad_bodies_are_400_with_a_clear_message(self):
        before = data.dump(self.db.engine)
        cases = [
            ({}, "'notification' is a required property"),
            ({'notification': {'type': 'host_down', 'node': 'x'}},
             "'id' is a required property"),
            ({'notification': dict(HOST_DOWN, type='host_gone')},
             "'host_gone' is not one of"),
            ({'notification': dict(HOST_DOWN, type='vm_crashed',
                                   id='v')},
             "Invalid vm_crashed notification: 'vm' is a required "
             "property"),
            ({'notification': dict(HOST_DOWN, type='process_down')},
             "'service' is a required property"),
            ({'notification': dict(HOST_DOWN, vm=data.VM1)},
             "Invalid host_down notification: Additional properties are "
             "not allowed ('vm' was unexpected)"),
            ({'notification': dict(HOST_DOWN, type='vm_crashed',
                                   vm='not-a-uuid')},
             "field 'vm'"),
            ({'notification': dict(HOST_DOWN, id='has space')},
             "field 'id'"),
            ({'notification': dict(HOST_DOWN, id='x' * 65)},
             'is too long'),
            ({'notification': dict(HOST_DOWN, node='cmp\n1')},
             "field 'node'"),
            ({'notification': dict(HOST_DOWN, node='')},
             "field 'node'"),
            ({'notification': dict(HOST_DOWN, generated_at='yesterday')},
             "'notification.generated_at': 'yesterday' is not an ISO "
             "8601"),
            ({'notification': dict(HOST_DOWN, id=7)},
             "7 is not of type 'string'"),
            ({'notification': 'host_down'},
             "'host_down' is not of type 'object'"),
        ]
        for body, text in cases:
            self.assertBad(self.post(body), 400, text)
        self.assertBad(self.post(None, raw=b'{"notification": '), 400,
                       'Malformed JSON body')
        self.assertEqual(before, data.dump(self.db.engine))
        self.engine.process_notification.assert_not_called()

    def test_not_admin_is_a_403(self):
        for headers in (MEMBER, READER):
            self.assertBad(self.post({'notification': HOST_DOWN},
                                     headers=headers), 403,
                           'vmguard:notifications:create')
        self.assertEqual([], db_api.notification_list(self.context))

    def test_before_microversion_1_3_there_is_no_such_route(self):
        self.assertBad(self.post({'notification': HOST_DOWN},
                                 version='1.2'), 404, 'microversion 1.3')


class TestListNotifications(NotificationAPITestCase):

    def setUp(self):
        super().setUp()
        for n in range(3):
            self.post({'notification': dict(HOST_DOWN, id='n-%d' % n,
                                            node='cmp-0%d' % (n % 2 + 1))})

    def test_list_newest_first_filters_pages(self):
        body = self.call('GET', '/v1/notifications', headers=READER).json
        self.assertEqual(['n-2', 'n-1', 'n-0'],
                         [n['id'] for n in body['notifications']])
        self.assertEqual(['n-1'], [n['id'] for n in self.call(
            'GET', '/v1/notifications?node=cmp-02').json['notifications']])
        page = self.call('GET', '/v1/notifications?limit=2').json
        self.assertEqual(['n-2', 'n-1'],
                         [n['id'] for n in page['notifications']])
        self.assertIn('marker=n-1', page['links'][0]['href'])
        rest = self.call('GET', '/v1/notifications?marker=n-1').json
        self.assertEqual(['n-0'], [n['id'] for n in rest['notifications']])
        self.assertBad(self.call('GET', '/v1/notifications?status=odd'),
                       400, "'odd' is not one of")

    def test_show_with_the_outcome_of_its_decisions(self):
        row = db_api.notification_get(self.context, 'n-0')
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': 'notification:%s:migrate_all' % row.uuid,
            'node': 'cmp-01', 'cycle': 50, 'action': 'migrate_all',
            'rule': 'R9', 'reason': 'host_down'})
        db_api.notification_claim(self.context, row.uuid, 'engine-a')
        db_api.notification_finish(self.context, row.uuid, 'accepted',
                                   decisions=[decision.uuid])
        shown = self.call('GET', '/v1/notifications/n-0',
                          headers=READER).json['notification']
        self.assertEqual(('accepted', 'recovering', 'engine-a'),
                         (shown['status'], shown['outcome'],
                          shown['engine']))
        self.assertEqual([(decision.uuid, 'R9', 'pending')],
                         [(d['uuid'], d['rule'], d['recovery']['status'])
                          for d in shown['decisions']])
        self.assertBad(self.call('GET', '/v1/notifications/nope'), 404,
                       'nope')
        self.assertBad(self.call('GET', '/v1/notifications', headers=MEMBER),
                       403)


class TestManualRecovery(NotificationAPITestCase):

    def test_node_recover_stores_a_manual_decision_for_the_engine(self):
        resp = self.call('POST', '/v1/nodes/cmp-02/recover',
                         {'reason': 'PSU alarm'})
        self.assertEqual(202, resp.status_int, resp.text)
        decision = resp.json['decision']
        self.assertEqual(('manual', 'migrate_all', 'cmp-02', None,
                          'PSU alarm', 'pending'),
                         (decision['rule'], decision['action'],
                          decision['node'], decision['vm'],
                          decision['reason'],
                          decision['recovery']['status']))
        self.assertEqual(('alice', 'ops'),
                         (decision['evidence']['requested_by'],
                          decision['evidence']['project']))
        self.engine.execute_decision.assert_called_once_with(
            mock.ANY, decision['uuid'], retry=notifications.CAST_RETRIES)
        # One at a time per node.
        self.assertBad(self.call('POST', '/v1/nodes/cmp-02/recover',
                                 {'reason': 'again'}), 409,
                       decision['uuid'])
        listed = self.call('GET', '/v1/decisions?rule=manual').json
        self.assertEqual([decision['uuid']],
                         [d['uuid'] for d in listed['decisions']])

    def test_vm_recover_action_follows_the_host_state(self):
        # VM1 is on cmp-01, whose host state is failed: evacuate.
        resp = self.call('POST', '/v1/vms/%s/recover' % data.VM1,
                         {'reason': 'customer ticket 42'})
        self.assertEqual(202, resp.status_int, resp.text)
        self.assertEqual(('evacuate', data.VM1, 'cmp-01'),
                         (resp.json['decision']['action'],
                          resp.json['decision']['vm'],
                          resp.json['decision']['node']))
        resp = self.call('POST', '/v1/vms/%s/recover' % data.VM2,
                         {'reason': 'hung', 'action': 'reboot'})
        self.assertEqual('reboot', resp.json['decision']['action'])

    def test_bad_requests(self):
        before = data.dump(self.db.engine)
        self.assertBad(self.call('POST', '/v1/nodes/cmp-02/recover', {}),
                       400, "'reason' is a required property")
        self.assertBad(self.call('POST', '/v1/nodes/cmp-02/recover',
                                 {'reason': '  '}), 400, "field 'reason'")
        self.assertBad(self.call('POST', '/v1/vms/%s/recover' % data.VM1,
                                 {'reason': 'x', 'action': 'delete'}),
                       400, "'delete' is not one of")
        self.assertBad(self.call('POST', '/v1/nodes/nope/recover',
                                 {'reason': 'x'}), 404, 'nope')
        self.assertBad(self.call(
            'POST', '/v1/vms/2b1c0000-0000-4000-8000-0000000000ff/recover',
            {'reason': 'x'}), 404, 'could not be found')
        for headers in (MEMBER, READER):
            self.assertBad(self.call('POST', '/v1/nodes/cmp-02/recover',
                                     {'reason': 'x'}, headers=headers),
                           403, 'vmguard:nodes:recover')
            self.assertBad(self.call('POST', '/v1/vms/%s/recover' % data.VM1,
                                     {'reason': 'x'}, headers=headers),
                           403, 'vmguard:vms:recover')
        self.assertEqual(before, data.dump(self.db.engine))
        self.engine.execute_decision.assert_not_called()
