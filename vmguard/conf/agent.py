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

"""[agent] options: the compute-node agent."""

from oslo_config import cfg

GROUP = cfg.OptGroup('agent', title='Compute node agent options')

opts = [
    cfg.StrOpt('node_name',
               help='Name this node reports under. It must match the '
                    'hypervisor host name Nova uses for the node. '
                    'Defaults to [DEFAULT] host.'),
    cfg.ListOpt('collectors',
                default=['libvirt', 'inband', 'external', 'services'],
                help='Collector drivers to run every cycle, by name, from '
                     'the vmguard.collectors entry point namespace '
                     '(libvirt, redfish, ipmi, inband, external, '
                     'services).'),
    cfg.FloatOpt('collector_timeout', default=5.0, min=0.1, max=600.0,
                 help='Seconds one collector may take in a cycle. A '
                      'collector that overruns (a hung NFS mount, a slow '
                      'BMC) has its items reported as failed/unknown for '
                      'that cycle; the cycle is not delayed.'),
    cfg.IntOpt('buffer_size', default=360, min=1, max=100000,
               help='Snapshots kept while the message broker is '
                    'unreachable; the oldest are dropped first. They are '
                    'sent in order when the broker is back.'),
    cfg.StrOpt('libvirt_uri', default='qemu:///system',
               help='libvirt connection URI of the local hypervisor.'),
    cfg.ListOpt('services',
                default=['nova-compute', 'libvirtd', 'ovs-vswitchd'],
                help='Service components whose state is reported and that '
                     'the engine may ask this agent to restart (R7).'),
    cfg.StrOpt('restart_command', default='systemctl restart {service}',
               help='Command used to restart a service on request of the '
                    'engine. {service} is replaced by the service name.'),
    cfg.StrOpt('sysfs_root', default='/sys',
               help='Root of the sysfs tree read by the in-band '
                    'collector (EDAC, net, block, hwmon). Tests point it '
                    'at a prepared tree.'),
    cfg.StrOpt('smartctl_path', default='smartctl',
               help='smartctl binary used for disk identity and health, '
                    'when present.'),
    cfg.ListOpt('storage_paths', default=[],
                help='Shared instance storage mount points to probe with '
                     'a write/read heartbeat file each cycle.'),
    cfg.ListOpt('uplinks', default=[],
                help='Network uplink interfaces whose carrier is checked '
                     'each cycle.'),
    cfg.ListOpt('probe_addresses', default=[],
                help='Addresses (gateways) whose reachability is probed '
                     'each cycle; unreachable means the uplink failed.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
