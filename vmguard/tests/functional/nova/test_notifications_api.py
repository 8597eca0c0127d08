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


"""Notifications of other monitors and manual recoveries, end to end.

A real ``vmguard-engine`` process (RabbitMQ, MariaDB, the ``nova`` back
end on the test Nova 34), the API in front of the same database casting
to it, and a Redfish BMC served by sushy-tools:

* a ``host_down`` notification posted twice with one id (and again after
  the API was started anew) recovers the node once: one decision, one
  fencing, one evacuation in Nova's own records;
* ``openstack vmguard node recover`` (the real CLI entry point) fences
  and evacuates a node, recorded as rule ``manual`` with the reason.
"""

import json
import os
import subprocess
import sys

import requests

from vmguard.api.handlers import notifications as api_notifications
from vmguard.common import rpc
from vmguard.compute import fencing
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.tests.functional.api import base as api_base
from vmguard.tests.functional.faults import daemons
from vmguard.tests.functional.faults import nova_engine
from vmguard.tests.functional.nova import bmc
from vmguard.tests.functional.nova import fixtures as nova_fixtures

BIN = os.path.dirname(sys.executable)
STEPS = ['check_compute', 'power_off', 'power_off_confirm', 'force_down']


class NotificationTestCase(nova_engine.NovaEngineFaultTestCase):

    def setUp(self):
        super().setUp()
        self.conf([], project='vmguard', default_config_files=[])
        policy.reset()
        self.addCleanup(policy.reset)
        self.flags(transport_url=self.url)
        self.flags(group='api', auth_strategy='noauth')
        # The API's RPC client is made for this test's broker and topic.
        api_notifications._engine_api = None
        self.addCleanup(setattr, api_notifications, '_engine_api', None)
        self.addCleanup(rpc.cleanup)
        self.api_server = self.useFixture(api_base.APIServer(self.conf))
        self.http = requests.Session()
        self.addCleanup(self.http.close)

    def post(self, path, body, server=None, headers=api_base.ADMIN):
        return self.http.post(
            (server or self.api_server).url + path, json=body,
            headers=dict(headers, **{
                'OpenStack-API-Version': 'vmguard 1.3'}), timeout=60)

    def get(self, path):
        return self.http.get(
            self.api_server.url + path,
            headers=dict(api_base.ADMIN, **{
                'OpenStack-API-Version': 'vmguard 1.3'}), timeout=60)

    def start_fencing_engine(self, node):
        self.redfish = self.useFixture(bmc.SushyEmulator())
        self.fencer = fencing.RedfishFencer(systems={node: self.redfish.url},
                                            username='', password='',
                                            verify=False)
        config = self.engine_config(
            fencers='redfish,none', bmc_redfish='%s:%s' % (
                node, self.redfish.url), bmc_verify=False,
            compute_down_timeout=60, fence_timeout=60)
        return self.start_engine(config)

    def stop_compute(self, host):
        """The node dies for Nova: its nova-compute stops."""
        self.addCleanup(self._restore_host, host)
        self.addCleanup(nova_fixtures.novactl, 'start-service',
                        'compute-%s' % host)
        res = nova_fixtures.novactl('stop-service', 'compute-%s' % host)
        self.assertEqual(0, res.returncode, res.stderr)

    def agents_report(self, node):
        """The publisher stands for the agents; wait until the engine
        judged ``node``."""
        self.start_publishing()
        daemons.wait_for(
            lambda: (db_api.node_get(self.context, node).last_cycle or 0)
            > self.FIRST_CYCLE, 60, interval=0.3,
            what='the engine to judge %s' % node, alive=self.running())

    def node_decisions(self, node):
        return [d for d in self.decisions() if d.node == node]

    def steps(self, decision, node):
        rec = db_api.recovery_get_by_decision(self.context, decision.id)
        return [(r.action, r.status) for r in
                db_api.recovery_action_list(self.context, rec.id)
                if r.server == node]

    def wait_final(self, decision, timeout=240):
        def final():
            rec = db_api.recovery_get_by_decision(self.context, decision.id)
            return rec if rec.status in nova_engine.FINAL else None
        return daemons.wait_for(final, timeout, interval=0.5,
                                what='the recovery of %s' % decision.uuid,
                                alive=self.running())


class TestHostDownNotification(NotificationTestCase):

    NODE = 'cmp-1'

    def test_posted_twice_with_one_id_recovers_the_node_once(self):
        node = self.NODE
        server_id = self._server(node)
        self.place(node, [server_id])
        self.start_fencing_engine(node)
        self.agents_report(node)
        # The node dies: its agent falls silent (the publisher stops
        # reporting it) and Nova loses its nova-compute. The engine's
        # own R9 is off here (silent_cycles 100): the notification is
        # what recovers it.
        self.hosts = [h for h in self.hosts if h != node]
        self.stop_compute(node)
        body = {'notification': {
            'id': 'pacemaker-%s-1' % node, 'type': 'host_down',
            'node': node, 'source': 'pacemaker',
            'detail': 'stonith: node lost'}}
        first = self.post('/v1/notifications', body)
        self.assertEqual(202, first.status_code, first.text)
        again = self.post('/v1/notifications', body)
        self.assertEqual(200, again.status_code, again.text)
        self.assertEqual(first.json()['notification']['uuid'],
                         again.json()['notification']['uuid'])
        # The same id for another notification is refused.
        other = dict(body['notification'], node='cmp-2')
        conflict = self.post('/v1/notifications', {'notification': other})
        self.assertEqual(409, conflict.status_code, conflict.text)
        self.assertIn('pacemaker-%s-1' % node,
                      conflict.json()['errors'][0]['detail'])

        [decision] = daemons.wait_for(
            lambda: self.node_decisions(node), 60, interval=0.3,
            what='the decision of the notification', alive=self.running())
        rec = self.wait_final(decision)
        self.assertEqual('succeeded', rec.status, rec.error)
        self.assertEqual(('migrate_all', 'R9'), (decision.action,
                                                 decision.rule))
        self.assertEqual('pacemaker-%s-1' % node,
                         decision.evidence['notification'])
        self.assertIn('host_down notification pacemaker-%s-1' % node,
                      decision.reason)
        # R9's proofs of death, in order: Nova down, BMC off, force-down.
        self.assertEqual(list(zip(STEPS, ['done', 'done', 'done',
                                          'accepted'], strict=True)),
                         self.steps(decision, node))
        self.assertEqual(fencing.POWER_OFF, self.fencer.power_state(node))
        self.assertTrue(self._service(node).forced_down)
        moved = self._wait_server(server_id, 'ACTIVE')
        self.assertNotEqual(node, moved.host)
        self.assertEqual(1, self.nova_actions(server_id).count('evacuate'))

        # Posted again after the API was started anew: the database's
        # unique key answers, nothing is decided again.
        restarted = self.useFixture(api_base.APIServer(self.conf))
        late = self.post('/v1/notifications', body, server=restarted)
        self.assertEqual(200, late.status_code, late.text)
        shown = late.json()['notification']
        self.assertEqual(first.json()['notification']['uuid'],
                         shown['uuid'])
        self.assertEqual(('accepted', 'recovered'),
                         (shown['status'], shown['outcome']))
        self.assertEqual([(decision.uuid, 'succeeded')],
                         [(d['uuid'], d['recovery']['status'])
                          for d in shown['decisions']])
        listed = self.get('/v1/notifications?node=%s' % node).json()
        self.assertEqual(['pacemaker-%s-1' % node],
                         [n['id'] for n in listed['notifications']])
        self.assertEqual(1, len(self.node_decisions(node)))
        self.assertEqual(1, self.nova_actions(server_id).count('evacuate'))
        # Decided once (the periodic task never took it a second time).
        self.assertEqual(1, self.engine_log_count(
            r'Notification pacemaker-%s-1 \(host_down of node %s from '
            r'pacemaker\): accepted' % (node, node)))


class TestManualNodeRecovery(NotificationTestCase):

    NODE = 'cmp-2'

    def osc(self, *args):
        cmd = [os.path.join(BIN, 'openstack'), '--os-auth-type', 'none',
               '--os-endpoint', self.api_server.url, 'vmguard'] + list(args)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, env=env, check=False)
        self.assertEqual(0, proc.returncode,
                         '%s: %s' % (' '.join(args), proc.stderr[-2000:]))
        return json.loads(proc.stdout)

    def test_node_recover_cli_fences_and_evacuates(self):
        node = self.NODE
        server_id = self._server(node)
        self.place(node, [server_id])
        self.start_fencing_engine(node)
        self.agents_report(node)
        # Forced down by the recovery: put back afterwards.
        self.addCleanup(self._restore_host, node)
        reason = 'PSU alarm in rack 4: take cmp-2 out now'
        shown = self.osc('node', 'recover', node, '--reason', reason,
                         '-f', 'json')
        self.assertEqual(('manual', 'migrate_all', node, reason),
                         (shown['rule'], shown['action'], shown['node'],
                          shown['reason']))
        decision = db_api.decision_get_by_uuid(self.context, shown['uuid'])
        self.assertEqual('vmguard-cli',
                         decision.evidence['requested_by'])
        rec = self.wait_final(decision)
        self.assertEqual('succeeded', rec.status, rec.error)
        steps = self.steps(decision, node)
        self.assertEqual(STEPS, [s for s, _status in steps])
        self.assertEqual(['done', 'done', 'done', 'accepted'],
                         [status for _s, status in steps])
        self.assertEqual(fencing.POWER_OFF, self.fencer.power_state(node))
        self.assertTrue(self._service(node).forced_down)
        moved = self._wait_server(server_id, 'ACTIVE')
        self.assertNotEqual(node, moved.host)
        self.assertEqual(['evacuate'], [a for a in self.nova_actions(
            server_id) if a in ('evacuate', 'migrate', 'live-migration')])
        listed = self.osc('decision', 'list', '--node', node, '-f', 'json')
        self.assertEqual([('manual', reason)],
                         [(d['rule'], d['reason']) for d in listed])
