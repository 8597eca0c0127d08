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

"""``openstack vmguard notification create|list|show`` and ``vm recover``
through the real ``openstack`` command against a real API (noauth) on
MariaDB, casting over RabbitMQ on a topic no engine serves: what it
stores waits there, ``new``, for the engines' periodic task."""

import json
import os
import subprocess
import sys

import oslo_messaging as messaging
from oslo_utils import uuidutils

from vmguard.api.handlers import notifications as api_notifications
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.tests.functional.api import base as api_base
from vmguard.tests.functional import base
from vmguard.tests.unit.api import data

BIN = os.path.dirname(sys.executable)


class TestOSCNotifications(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.conf([], project='vmguard', default_config_files=[])
        policy.reset()
        self.addCleanup(policy.reset)
        self.db = self.mariadb()
        data.seed(self.context)
        url = self.require_rabbitmq()
        # Registers [DEFAULT] transport_url (oslo.messaging's option).
        messaging.get_rpc_transport(self.conf, url=url).cleanup()
        self.flags(transport_url=url)
        self.flags(group='engine', topic='vmguard-osc-notifications-%s'
                   % uuidutils.generate_uuid(dashed=False)[:10])
        self.flags(group='api', auth_strategy='noauth')
        api_notifications._engine_api = None
        self.addCleanup(setattr, api_notifications, '_engine_api', None)
        self.addCleanup(rpc.cleanup)
        self.api = self.useFixture(api_base.APIServer(self.conf))

    def osc(self, *args, ok=True):
        cmd = [os.path.join(BIN, 'openstack'), '--os-auth-type', 'none',
               '--os-endpoint', self.api.url, 'vmguard'] + list(args)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, env=env, check=False)
        if not ok:
            self.assertNotEqual(0, proc.returncode, proc.stdout)
            return proc.stderr
        self.assertEqual(0, proc.returncode,
                         '%s: %s' % (' '.join(args), proc.stderr[-2000:]))
        return json.loads(proc.stdout)

    def test_create_list_show(self):
        created = self.osc('notification', 'create', 'host_down', 'cmp-02',
                           '--id', 'pcmk-cmp-02-7', '--source', 'pacemaker',
                           '--detail', 'stonith ok', '-f', 'json')
        self.assertEqual(('pcmk-cmp-02-7', 'host_down', 'cmp-02', 'new',
                          'pending'),
                         (created['id'], created['type'], created['node'],
                          created['status'], created['outcome']))
        again = self.osc('notification', 'create', 'host_down', 'cmp-02',
                         '--id', 'pcmk-cmp-02-7', '-f', 'json')
        self.assertEqual(created['uuid'], again['uuid'])
        self.osc('notification', 'create', 'vm_crashed', 'cmp-01',
                 '--id', 'libvirt-hook-1', '--vm', data.VM2, '--reason',
                 'panicked', '-f', 'json')
        listed = self.osc('notification', 'list', '-f', 'json')
        self.assertEqual(['libvirt-hook-1', 'pcmk-cmp-02-7'],
                         [n['id'] for n in listed])
        only = self.osc('notification', 'list', '--type', 'vm_crashed',
                        '--long', '-f', 'json')
        self.assertEqual([(data.VM2, 'new')],
                         [(n['vm'], n['status']) for n in only])
        shown = self.osc('notification', 'show', 'pcmk-cmp-02-7', '-f',
                         'json')
        self.assertEqual(('pacemaker', 'stonith ok', []),
                         (shown['source'], shown['detail'],
                          shown['decisions']))
        self.assertEqual(2, len(db_api.notification_list(self.context)))
        # A bad one: the API's message reaches the operator.
        err = self.osc('notification', 'create', 'vm_crashed', 'cmp-01',
                       '--id', 'x-1', ok=False)
        self.assertIn("'vm' is a required property", err)
        err = self.osc('notification', 'create', 'host_down', 'cmp-01',
                       '--id', 'pcmk-cmp-02-7', ok=False)
        self.assertIn('HTTP 409', err)

    def test_vm_recover(self):
        decision = self.osc('vm', 'recover', data.VM2, '--reason',
                            'ticket 4711', '--action', 'reboot', '-f',
                            'json')
        self.assertEqual(('manual', 'reboot', data.VM2, 'ticket 4711'),
                         (decision['rule'], decision['action'],
                          decision['vm'], decision['reason']))
        err = self.osc('vm', 'recover', data.VM2, '--reason', 'again',
                       ok=False)
        self.assertIn('HTTP 409', err)
