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

"""restart_service confirmed: the engine's handler calls the real agent
endpoint (oslo.messaging over the fake:/ transport), which runs a real
restart command and looks for the service in the process table."""

import json
import os
import signal

import fixtures
import oslo_messaging as messaging
from oslo_utils import uuidutils

from vmguard.agent import manager as agent_manager
from vmguard.agent import rpcapi as agent_rpcapi
from vmguard.common import rpc
from vmguard.compute import fake
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.engine.recovery import restart
from vmguard import objects
from vmguard.tests import base as test_base


class TestRestartConfirmed(test_base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.service = 'vmgsvc%s' % uuidutils.generate_uuid()[:8]
        self.dir = self.useFixture(fixtures.TempDir()).path
        script = os.path.join(self.dir, self.service)
        with open(script, 'w') as f:
            # No exec: the shell keeps the service's name in its argv.
            f.write('echo $$ > %s.pid\nwhile :; do sleep 1; done\n'
                    % script)
        self.pidfile = script + '.pid'
        self.addCleanup(self._kill_service)
        self.flags(group='agent', services=[self.service], restart_timeout=2,
                   restart_command='sh -c "nohup sh %s/{service} '
                   '>/dev/null 2>&1 &"' % self.dir)
        self.flags(group='recovery', restart_confirm_timeout=20)
        self.transport = messaging.get_rpc_transport(
            self.conf, url='fake:/%s' % uuidutils.generate_uuid())
        self.addCleanup(self.transport.cleanup)
        self.flags(group='recovery', retry_interval=0.0, max_concurrent=1)
        self.executor = recovery.RecoveryExecutor(
            driver=fake.FakeComputeDriver(), owner='engine-1',
            sleep=lambda s: None)
        self.addCleanup(self.executor.stop)
        agents = agent_rpcapi.AgentAPI(self.conf, transport=self.transport)
        self.executor.register_handler(
            'restart_service', restart.RestartServiceHandler(agents))
        db_api.node_get_or_create(self.context, 'cmp-1')

    def _kill_service(self):
        try:
            with open(self.pidfile) as f:
                os.kill(int(f.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def _agent(self):
        target = messaging.Target(topic=self.conf.agent.topic,
                                  server='cmp-1')
        server = rpc.get_server(
            target, [agent_manager.AgentEndpoint(self.conf)],
            transport=self.transport)
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)

    def _decision(self):
        decision, _ = db_api.decision_create(self.context, {
            'incident_key': self.id(), 'node': 'cmp-1', 'cycle': 5,
            'action': 'restart_service', 'service': self.service,
            'rule': 'R7', 'reason': '%s stopped' % self.service})
        return decision

    def _result(self, decision):
        rec = db_api.recovery_get_by_decision(self.context, decision.id)
        [row] = db_api.recovery_action_list(self.context, rec.id)
        return rec, row, json.loads(row.detail)

    def test_succeeds_once_the_agent_sees_the_service_running(self):
        self._agent()
        decision = self._decision()
        self.assertEqual('succeeded', self.executor.execute(decision))
        rec, row, detail = self._result(decision)
        self.assertIn('running', rec.error)
        self.assertEqual(('done', True, 'running'),
                         (row.status, detail['answer']['running'],
                          detail['answer']['state']))
        self.assertTrue(os.path.exists(self.pidfile))

    def test_restart_command_fails(self):
        self.flags(group='agent', restart_command='sh -c "echo no unit '
                   '{service} >&2; exit 5"')
        self._agent()
        decision = self._decision()
        self.assertEqual('failed', self.executor.execute(decision))
        rec, row, _detail = self._result(decision)
        self.assertEqual('failed', row.status)
        self.assertIn('exit 5: no unit %s' % self.service, rec.error)

    def test_command_succeeds_but_service_not_running(self):
        self.flags(group='agent', restart_command='true')
        self._agent()
        decision = self._decision()
        self.assertEqual('failed', self.executor.execute(decision))
        rec, _row, detail = self._result(decision)
        self.assertIn('the service is stopped', rec.error)
        self.assertFalse(detail['answer']['running'])

    def test_no_agent_answer_fails(self):
        self.flags(group='recovery', restart_confirm_timeout=1)
        decision = self._decision()
        self.assertEqual('failed', self.executor.execute(decision))
        rec, row, _detail = self._result(decision)
        self.assertIn('no answer from the agent of cmp-1', rec.error)
        self.assertEqual('failed', row.status)
