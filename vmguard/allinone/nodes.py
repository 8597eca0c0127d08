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

"""Simulated compute nodes of the all-in-one demo.

Each node has what the real collectors read: a node XML for libvirt's
``test:///`` driver (the demo changes its domains and makes the libvirt
collector reopen its connection), a sysfs-shaped tree for the in-band
collector, and a Redfish BMC (``sushy-static`` serving a private copy of
the project's mockup, :mod:`vmguard.allinone.redfish`, serial numbers made
unique per node).
"""

import collections
import os
import shutil
import threading
import uuid

from oslo_config import cfg

from vmguard.allinone import redfish
from vmguard.compute import fake as fake_compute
import vmguard.conf
from vmguard.conf import agent as agent_conf
from vmguard.conf import default as default_conf
from vmguard.conf import engine as engine_conf

CONF = vmguard.conf.CONF

# libvirt's test driver: runstate values of <test:runstate>.
RUNNING = 1
CRASHED = 6

NODE_XML = """<node>
  <cpu><mhz>2000</mhz><model>x86</model><nodes>1</nodes><sockets>1</sockets>
    <cores>32</cores><threads>1</threads><active>32</active></cpu>
  <memory>67108864</memory>
%s
</node>
"""

DOMAIN_XML = """  <domain type='test'
          xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>%(name)s</name><uuid>%(uuid)s</uuid>
    <memory unit='MiB'>%(ram_mb)d</memory><vcpu>%(vcpus)d</vcpu>
    <os><type>hvm</type></os>
    <test:runstate>%(state)d</test:runstate>
  </domain>"""


class SimNode:
    """One simulated compute node: hypervisor, sysfs and BMC."""

    def __init__(self, name, index, root):
        self.name = name
        self.index = index
        self.root = os.path.join(root, name)
        os.makedirs(self.root)
        self.xml = os.path.join(self.root, 'node.xml')
        self.sysfs = os.path.join(self.root, 'sys')
        self.mockup = os.path.join(self.root, 'redfish')
        self.domains = collections.OrderedDict()
        self.agent = None
        self.bmc = None
        self.bmc_address = None
        self.lock = threading.Lock()

    def serial(self, kind, n):
        return '%s-SN-%s-%04d' % (kind, self.name.upper(), n)

    @property
    def mac(self):
        return '52:54:00:ab:%02x:01' % (self.index + 1)

    # hypervisor
    def add_domain(self, name, vcpus=2, ram_mb=2048):
        dom_uuid = str(uuid.uuid4())
        self.domains[dom_uuid] = {'name': name, 'vcpus': vcpus,
                                  'ram_mb': ram_mb, 'state': RUNNING}
        return dom_uuid

    def write_xml(self):
        doms = [DOMAIN_XML % dict(d, uuid=u) for u, d in
                self.domains.items()]
        tmp = self.xml + '.tmp'
        with open(tmp, 'w') as f:
            f.write(NODE_XML % '\n'.join(doms))
        os.replace(tmp, self.xml)

    def apply_domains(self):
        """Rewrite the node XML and make the agent's libvirt collector
        read it again.

        libvirt's test driver loads the XML when a connection opens; the
        collector's stop/start closes and reopens its connection.
        """
        with self.lock:
            self.write_xml()
            if self.agent is None:
                return
            for collector in self.agent.collectors:
                if collector.name == 'libvirt':
                    collector.stop()
                    collector.start(self.agent.report_event)

    # sysfs
    def write_sysfs(self):
        os.makedirs(os.path.join(self.sysfs, 'class'), exist_ok=True)
        for n, disk in ((1, 'sda'), (2, 'sdb')):
            dev = os.path.join(self.sysfs, 'class', 'block', disk, 'device')
            os.makedirs(dev, exist_ok=True)
            with open(os.path.join(dev, 'serial'), 'w') as f:
                f.write(self.serial('DISK', n) + '\n')
        net = os.path.join(self.sysfs, 'class', 'net', 'eth0')
        os.makedirs(os.path.join(net, 'device'), exist_ok=True)
        for attr, value in (('address', self.mac), ('carrier', '1'),
                            ('operstate', 'up')):
            with open(os.path.join(net, attr), 'w') as f:
                f.write(value + '\n')
        mon = os.path.join(self.sysfs, 'class', 'hwmon', 'hwmon0')
        os.makedirs(mon, exist_ok=True)
        for attr, value in (('name', 'coretemp'), ('temp1_label', 'Package'),
                            ('temp1_max', '85000'), ('temp1_crit', '95000')):
            with open(os.path.join(mon, attr), 'w') as f:
                f.write(value + '\n')
        self.set_temperature(45000)

    def set_temperature(self, millic):
        path = os.path.join(self.sysfs, 'class', 'hwmon', 'hwmon0',
                            'temp1_input')
        with open(path + '.tmp', 'w') as f:
            f.write('%d\n' % millic)
        os.replace(path + '.tmp', path)

    def remove_disk(self, disk):
        shutil.rmtree(os.path.join(self.sysfs, 'class', 'block', disk))

    # BMC
    def prepare_mockup(self):
        redfish.copy_mockup(self.mockup)
        for top, _dirs, files in os.walk(self.mockup):
            for name in files:
                if not name.endswith('.json'):
                    continue
                path = os.path.join(top, name)
                with open(path) as f:
                    text = f.read()
                for kind in ('DISK', 'DIMM', 'PSU'):
                    for n in (1, 2):
                        text = text.replace('%s-SN-%04d' % (kind, n),
                                            self.serial(kind, n))
                text = text.replace('52:54:00:AB:CD:01', self.mac.upper())
                with open(path, 'w') as f:
                    f.write(text)

    def update_bmc(self, resource, change):
        """Apply change(doc) to one Redfish resource, atomically."""
        redfish.update_resource(self.mockup, resource, change)

    def start_bmc(self, log_dir):
        """Start the BMC; a sentence saying why not, or None."""
        bmc = redfish.SushyStatic(
            self.mockup, os.path.join(log_dir, 'sushy-%s.log' % self.name))
        try:
            bmc.start()
        except redfish.SushyStaticError as exc:
            return str(exc)
        self.bmc = bmc
        self.bmc_address = bmc.address
        return None

    def wait_bmc(self, timeout=20):
        """Wait for the BMC to answer; a sentence saying why not, or
        None."""
        try:
            self.bmc.wait(timeout, interval=0.1)
        except redfish.SushyStaticError as exc:
            return str(exc)
        return None

    def stop_bmc(self):
        if self.bmc is not None:
            self.bmc.stop()
            self.bmc = None

    def agent_conf(self, collectors):
        """A configuration of this node's agent (one per agent: every
        agent of the demo runs in this process)."""
        conf = cfg.ConfigOpts()
        # Groups by name: each configuration gets OptGroup objects of its
        # own. Registered with the modules' OptGroup objects, the three
        # agents' configurations shared them, and with them their
        # overrides: an agent whose cached values were cleared (any later
        # register_opts on its configuration clears them) read the last
        # agent's node name and BMC address.
        for module in (default_conf, agent_conf, engine_conf):
            for group, opts in module.list_opts().items():
                name = getattr(group, 'name', group)
                conf.register_opts(opts, group=None if name == 'DEFAULT'
                                   else name)
        conf([], project='vmguard', default_config_files=[])
        for group, name, value in (
                ('engine', 'cycle_interval', CONF.engine.cycle_interval),
                ('engine', 'topic', CONF.engine.topic),
                ('agent', 'topic', CONF.agent.topic),
                ('agent', 'node_name', self.name),
                ('agent', 'collectors', collectors),
                ('agent', 'libvirt_uri', 'test://' + self.xml),
                ('agent', 'sysfs_root', self.sysfs),
                ('agent', 'smartctl_path', 'vmguard-no-smartctl'),
                ('agent', 'collector_timeout', 0.8),
                ('agent', 'redfish_address', self.bmc_address),
                ('agent', 'redfish_timeout', 0.8)):
            conf.set_override(name, value, group=group)
        return conf


class SimulatedCompute(fake_compute.FakeComputeDriver):
    """The ``fake`` back end, its actions reflected on the simulated
    nodes: a rebooted server runs again, a moved one runs on its target."""

    def __init__(self, on_change):
        super().__init__()
        self._on_change = on_change

    def reboot_server(self, server_id, request_id, hard=True):
        answer = super().reboot_server(server_id, request_id, hard=hard)
        self._on_change('reboot', server_id)
        return answer

    def evacuate_server(self, server_id, target_host, request_id):
        answer = super().evacuate_server(server_id, target_host, request_id)
        self._on_change('move', server_id)
        return answer

    def live_migrate_server(self, server_id, target_host, request_id):
        answer = super().live_migrate_server(server_id, target_host,
                                             request_id)
        self._on_change('move', server_id)
        return answer

    def migrate_server(self, server_id, target_host, request_id):
        answer = super().migrate_server(server_id, target_host, request_id)
        self._on_change('move', server_id)
        return answer
