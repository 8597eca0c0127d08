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

"""The demo's libvirt stand-in answers as libvirt's test driver does.

The same node XML (written by the demo's simulated node) is read by the
real libvirt collector twice: through libvirt-python on libvirt's
``test:///`` driver, and in an interpreter where libvirt-python cannot be
imported, through :mod:`vmguard.allinone.libvirt_standin`. The results
must be equal.
"""

import json
import subprocess
import sys
import tempfile

import libvirt
from oslo_config import cfg

from vmguard.agent.collectors import libvirt as lv_collector
from vmguard.allinone import libvirt_standin
from vmguard.allinone import nodes
from vmguard.conf import agent as agent_conf
from vmguard.tests import base

COLLECT = r'''
import json, sys


class NoLibvirt:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == 'libvirt':
            raise ModuleNotFoundError('hidden by the test', name=name)


sys.meta_path.insert(0, NoLibvirt())
from vmguard.allinone import libvirt_standin
assert libvirt_standin.install_if_missing()
from oslo_config import cfg
from vmguard.agent.collectors import libvirt as lv
from vmguard.conf import agent as agent_conf
conf = cfg.ConfigOpts()
agent_conf.register_opts(conf)
conf([], default_config_files=[])
conf.set_override('libvirt_uri', sys.argv[1], group='agent')
collector = lv.LibvirtCollector(conf)
collector.start(lambda *a: None)
result = collector.collect()
collector.stop()
print(json.dumps({'vms': sorted([v.uuid, v.state, v.reason, v.vcpus,
                                 v.ram_mb] for v in result.vms),
                  'vcpus_free': result.vcpus_free,
                  'ram_mb_free': result.ram_mb_free,
                  'module': lv.libvirt.__name__}))
'''


def _summary(result):
    return {'vms': sorted([v.uuid, v.state, v.reason, v.vcpus, v.ram_mb]
                          for v in result.vms),
            'vcpus_free': result.vcpus_free,
            'ram_mb_free': result.ram_mb_free}


class TestLibvirtStandIn(base.TestCase):

    def setUp(self):
        super().setUp()
        self.node = nodes.SimNode('cmp-x', 0, tempfile.mkdtemp())
        self.addCleanup(subprocess.run, ['rm', '-rf', self.node.root],
                        check=False)
        self.node.add_domain('web')
        self.node.add_domain('db', vcpus=4, ram_mb=4096)
        crashed = self.node.add_domain('crashed', vcpus=1, ram_mb=512)
        self.node.domains[crashed]['state'] = nodes.CRASHED
        stopped = self.node.add_domain('stopped', vcpus=8, ram_mb=8192)
        self.node.domains[stopped]['state'] = libvirt.VIR_DOMAIN_SHUTOFF
        self.node.write_xml()
        self.uri = 'test://' + self.node.xml

    def test_collector_sees_the_same_through_both(self):
        conf = cfg.ConfigOpts()
        agent_conf.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override('libvirt_uri', self.uri, group='agent')
        collector = lv_collector.LibvirtCollector(conf)
        collector.start(lambda *a: None)
        self.addCleanup(collector.stop)
        real = _summary(collector.collect())
        self.assertEqual(4, len(real['vms']))
        self.assertIn('crashed', [v[1] for v in real['vms']])

        proc = subprocess.run([sys.executable, '-c', COLLECT, self.uri],
                              capture_output=True, text=True, timeout=60,
                              check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        standin = json.loads(proc.stdout.splitlines()[-1])
        self.assertEqual('vmguard.allinone.libvirt_standin',
                         standin.pop('module'))
        self.assertEqual(real, standin)

    def test_raw_answers_match(self):
        real = libvirt.open(self.uri)
        self.addCleanup(real.close)
        fake = libvirt_standin.open(self.uri)
        self.assertEqual(real.getInfo(), fake.getInfo())

        def doms(conn):
            return sorted((d.UUIDString(), d.name(), list(d.state()),
                           list(d.info()[:4])) for d in conn.listAllDomains())

        self.assertEqual(doms(real), doms(fake))

    def test_only_test_driver_files(self):
        for uri in ('qemu:///system', 'test:///default', None):
            exc = self.assertRaises(libvirt_standin.libvirtError,
                                    libvirt_standin.open, uri)
            self.assertIn('vmguard[libvirt]', str(exc))
        exc = self.assertRaises(libvirt_standin.libvirtError,
                                libvirt_standin.open,
                                'test:///nonexistent/node.xml')
        self.assertEqual(libvirt_standin.VIR_ERR_NO_CONNECT,
                         exc.get_error_code())

    def test_constants_match_libvirt(self):
        for name in dir(libvirt_standin):
            if name.startswith('VIR_'):
                self.assertEqual(getattr(libvirt, name),
                                 getattr(libvirt_standin, name), name)

    def test_install_keeps_a_real_libvirt(self):
        self.assertFalse(libvirt_standin.install_if_missing())
        self.assertIs(libvirt, sys.modules['libvirt'])
