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


import fixtures
import oslo_messaging as messaging

from vmguard.agent import manager
from vmguard.agent import rpcapi
from vmguard.tests import base as test_base


class TestAgentAPI(test_base.TestCase):

    def test_version_history_and_cast(self):
        transport = messaging.get_rpc_transport(self.conf, url='fake:/')
        self.addCleanup(transport.cleanup)
        api = rpcapi.AgentAPI(self.conf, transport=transport)
        self.assertEqual('1.0', api.RPC_API_VERSION)
        self.assertIn('1.0 - Initial version', rpcapi.AgentAPI.__doc__)
        self.assertEqual(self.conf.agent.topic, api.client.target.topic)
        self.assertIsNone(api.restart_service(self.context, 'cmp-01',
                                              'libvirtd'))


class TestAgentEndpoint(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.flags(services=['libvirtd', 'nova-compute'], group='agent')
        self.endpoint = manager.AgentEndpoint(self.conf)

    def test_runs_the_restart_command_with_the_service(self):
        marker = self.tmp + '/restarted'
        self.flags(restart_command="sh -c 'echo $0 > %s' {service}" % marker,
                   restart_timeout=1, group='agent')
        answer = self.endpoint.restart_service(self.context, 'libvirtd')
        # Whether libvirtd then runs is the business of this machine; the
        # answer says what the services collector saw.
        self.assertEqual(('libvirtd', True),
                         (answer['service'], answer['restarted']))
        self.assertEqual(answer['running'], answer['state'] == 'running')
        with open(marker) as f:
            self.assertEqual('libvirtd', f.read().strip())

    def test_refuses_unconfigured_services(self):
        self.flags(restart_command='touch %s/x' % self.tmp, group='agent')
        answer = self.endpoint.restart_service(self.context,
                                               'libvirtd; rm -rf /')
        self.assertFalse(answer['restarted'])

    def test_failing_command_is_reported(self):
        self.flags(restart_command="sh -c 'echo nope >&2; exit 3'",
                   group='agent')
        answer = self.endpoint.restart_service(self.context, 'nova-compute')
        self.assertFalse(answer['restarted'])
        self.assertEqual('exit 3: nope', answer['detail'])

    def test_missing_command_is_reported(self):
        self.flags(restart_command='/nonexistent/restart {service}',
                   group='agent')
        answer = self.endpoint.restart_service(self.context, 'libvirtd')
        self.assertFalse(answer['restarted'])

