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

"""vmguard's DevStack plugin, run phase by phase against stand-ins.

``standins.sh`` stands in for DevStack's functions (iniset writes real ini
files). For a controller (n-api, n-cpu, tls-proxy) and for a compute
subnode (n-cpu only) the test sources devstack/settings, then runs
devstack/plugin.sh for ``stack install``, ``stack post-config`` and
``stack extra`` as stack.sh does, and reads the configuration files and
the calls made.
"""

import configparser
import os
import subprocess
import tempfile

import testtools

import vmguard

TOP = os.path.dirname(os.path.dirname(os.path.abspath(vmguard.__file__)))
STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'standins.sh')

SCRIPT = r'''
set -eu
source "$STANDINS"
source "$TOP/devstack/settings"
set +u
for phase in install post-config extra; do
    source "$TOP/devstack/plugin.sh" stack "$phase"
done
source "$TOP/devstack/plugin.sh" unstack
echo "ENABLED=$ENABLED_SERVICES"
'''


def _ini(path):
    conf = configparser.RawConfigParser(strict=False)
    conf.optionxform = str
    conf.read(path)
    return conf


class TestDevStackPlugin(testtools.TestCase):

    def _stack(self, services, protocol='http'):
        tmp = tempfile.mkdtemp(prefix='vmguard-devstack-')
        self.addCleanup(subprocess.run, ['rm', '-rf', tmp], check=False)
        for name in ('nova.conf', 'nova-cpu.conf'):
            with open(os.path.join(tmp, name), 'w') as f:
                f.write('[DEFAULT]\n')
        # vmguard's console scripts, recording how they are called.
        bindir = os.path.join(tmp, 'bin')
        os.mkdir(bindir)
        for name in ('vmguard-manage',):
            path = os.path.join(bindir, name)
            with open(path, 'w') as f:
                f.write('#!/bin/bash\necho "%s $*" >> "$CALLS"\n' % name)
            os.chmod(path, 0o755)
        env = dict(
            os.environ, TOP=TOP, STANDINS=STANDINS,
            CALLS=os.path.join(tmp, 'calls'), ENABLED_SERVICES=services,
            STANDIN_BIN=bindir,
            DEST=tmp, DATA_DIR=os.path.join(tmp, 'data'),
            VMGUARD_CONF_DIR=os.path.join(tmp, 'etc'),
            SERVICE_HOST='10.0.0.1', SERVICE_PROTOCOL=protocol,
            STACK_USER='stack', ENABLE_DEBUG_LOG_LEVEL='True',
            REGION_NAME='RegionOne', SERVICE_TIMEOUT='60',
            KEYSTONE_SERVICE_URI='%s://10.0.0.1/identity' % protocol,
            SERVICE_PASSWORD='secret', SERVICE_DOMAIN_NAME='Default',
            SERVICE_PROJECT_NAME='service',
            NOVA_CONF=os.path.join(tmp, 'nova.conf'),
            NOVA_CPU_CONF=os.path.join(tmp, 'nova-cpu.conf'))
        proc = subprocess.run(['bash', '-c', SCRIPT], env=env,
                              capture_output=True, text=True, timeout=120,
                              check=False)
        self.assertEqual(0, proc.returncode, proc.stderr[-3000:])
        with open(env['CALLS']) as f:
            calls = f.read().splitlines()
        enabled = [line for line in proc.stdout.splitlines()
                   if line.startswith('ENABLED=')][-1]
        return (tmp, calls, enabled[len('ENABLED='):].split(','),
                _ini(os.path.join(tmp, 'etc', 'vmguard.conf')))

    def _nova_notifications(self, tmp):
        for name in ('nova.conf', 'nova-cpu.conf'):
            nova = _ini(os.path.join(tmp, name))
            self.assertEqual('both',
                             nova.get('notifications', 'notification_format'))
            self.assertEqual('vm_and_task_state', nova.get(
                'notifications', 'notify_on_state_change'))
            self.assertEqual('messagingv2', nova.get(
                'oslo_messaging_notifications', 'driver'))

    def test_controller(self):
        tmp, calls, enabled, conf = self._stack(
            'key,mysql,rabbit,n-api,n-cpu,keystone,tls-proxy',
            protocol='https')
        for name in ('vmguard-engine', 'vmguard-api', 'vmguard-agent'):
            self.assertIn(name, enabled)
        self.assertIn('recreate_database vmguard', calls)
        self.assertIn('vmguard-manage --config-file %s db sync'
                      % os.path.join(tmp, 'etc', 'vmguard.conf'), calls)
        # Services: engine, API, and the agent as root.
        runs = [c for c in calls if c.startswith('run_process')]
        self.assertEqual(['vmguard-engine', 'vmguard-api', 'vmguard-agent'],
                         [c.split()[1] for c in runs])
        self.assertTrue(runs[2].endswith('root root'), runs[2])
        self.assertIn('--config-file %s' % os.path.join(tmp, 'etc',
                                                        'vmguard.conf'),
                      runs[0])
        # The agent watches DevStack's nova-compute unit.
        self.assertEqual('devstack@n-cpu,libvirtd',
                         conf.get('agent', 'services'))
        self.assertEqual('public', conf.get('nova', 'valid_interfaces'))
        self.assertEqual('messagingv2',
                         conf.get('oslo_messaging_notifications', 'driver'))
        self._nova_notifications(tmp)
        # tls-proxy: https endpoint served by the proxy in front of the
        # plain-HTTP API on its internal port.
        endpoint = [c for c in calls
                    if c.startswith('get_or_create_endpoint')]
        self.assertEqual(['get_or_create_endpoint vmguard RegionOne '
                          'https://10.0.0.1:8788'], endpoint)
        self.assertEqual('18788', conf.get('api', 'port'))
        self.assertIn('start_tls_proxy vmguard * 8788 10.0.0.1 18788', calls)
        self.assertEqual('True', conf.get(
            'oslo_middleware', 'enable_proxy_headers_parsing'))
        self.assertIn('mysql+pymysql://', conf.get('database', 'connection'))
        self.assertIn('stop_process vmguard-engine', calls)

    def test_controller_without_tls(self):
        _tmp, calls, _enabled, conf = self._stack(
            'key,mysql,rabbit,n-api,keystone')
        self.assertEqual('8788', conf.get('api', 'port'))
        self.assertFalse([c for c in calls if 'start_tls_proxy' in c])
        self.assertFalse(conf.has_section('agent'))
        self.assertFalse([c for c in calls
                          if c.startswith('run_process vmguard-agent')])

    def test_compute_subnode(self):
        tmp, calls, enabled, conf = self._stack('n-cpu,q-agt')
        self.assertIn('vmguard-agent', enabled)
        self.assertNotIn('vmguard-engine', enabled)
        self.assertNotIn('vmguard-api', enabled)
        # Never the controller's database, Keystone or processes.
        self.assertFalse([c for c in calls if 'database' in c], calls)
        self.assertFalse([c for c in calls if 'create_service' in c])
        self.assertFalse([c for c in calls if 'endpoint' in c])
        self.assertEqual(['run_process vmguard-agent'],
                         [' '.join(c.split()[:2]) for c in calls
                          if c.startswith('run_process')])
        self.assertFalse(conf.has_section('database'))
        self.assertEqual('devstack@n-cpu,libvirtd,ovs-vswitchd',
                         conf.get('agent', 'services'))
        self.assertEqual('cmp-1', conf.get('agent', 'node_name'))
        self.assertIn('pip_install libvirt-python>=9.0.0', calls)
        self._nova_notifications(tmp)
