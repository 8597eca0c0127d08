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
                 mutable=True,
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
                     'each cycle; unreachable means the uplink failed. '
                     'HOST:PORT is probed with a TCP connection (refused '
                     'counts as reachable), a bare HOST with one ping.'),
    cfg.StrOpt('topic', default='vmguard-agent',
               help='RPC topic the agent serves restart_service on. The '
                    'agent listens with its node name as RPC server, so '
                    'the engine addresses one node.'),
    cfg.IntOpt('restart_timeout', default=60, min=1, max=3600,
               help='Seconds the restart command may take before it is '
                    'killed and the restart reported as failed; then as '
                    'long again for the service to be seen running.'),
    cfg.IntOpt('send_retries', default=0, min=0, max=10,
               help='Connection retries of one cast to the engine before '
                    'the message is buffered (see buffer_size). Keep it '
                    'low: a cast blocks the cycle while it retries.'),
    cfg.IntOpt('libvirt_keepalive_interval', default=5, min=1, max=600,
               help='Seconds between libvirt keepalive messages; the '
                    'connection is closed (and reopened) after '
                    'libvirt_keepalive_count missed answers.'),
    cfg.IntOpt('libvirt_keepalive_count', default=3, min=1, max=100,
               help='Unanswered libvirt keepalive messages after which the '
                    'connection is considered dead.'),
    cfg.FloatOpt('libvirt_reconnect_interval', default=2.0, min=0.1,
                 max=600.0,
                 help='Seconds between attempts to reopen a lost libvirt '
                      'connection (and re-register the event callback).'),
    cfg.IntOpt('edac_ce_warning', default=100, min=1, max=10000000,
               mutable=True,
               help='Correctable memory errors (EDAC) of one DIMM from '
                    'which the DIMM is reported as warning. Any '
                    'uncorrectable error makes it critical.'),
    cfg.FloatOpt('command_timeout', default=10.0, min=0.1, max=600.0,
                 help='Seconds one helper command (smartctl, systemctl, '
                      'ping) may run.'),
    cfg.FloatOpt('storage_timeout', default=3.0, min=0.1, max=600.0,
                 mutable=True,
                 help='Seconds the heartbeat write/read on one shared '
                      'storage path may take; slower means failed.'),
    cfg.FloatOpt('probe_timeout', default=2.0, min=0.1, max=600.0,
                 mutable=True,
                 help='Seconds one reachability probe may take.'),
    cfg.StrOpt('redfish_address',
               help='Redfish endpoint of this node\'s BMC, e.g. '
                    'https://10.0.0.5. Required by the redfish '
                    'collector.'),
    cfg.StrOpt('redfish_username', help='Redfish user name.'),
    cfg.StrOpt('redfish_password', secret=True,
               help='Redfish password.'),
    cfg.StrOpt('redfish_system_id',
               help='Redfish ComputerSystem path of this node, e.g. '
                    '/redfish/v1/Systems/1. Defaults to the only system '
                    'of the BMC.'),
    cfg.BoolOpt('redfish_verify', default=True,
                help='Verify the BMC\'s TLS certificate.'),
    cfg.FloatOpt('redfish_timeout', default=10.0, min=0.1, max=600.0,
                 help='Read timeout of one Redfish request.'),
    cfg.StrOpt('ipmi_address',
               help='IPMI (LAN+) address of this node\'s BMC. Required by '
                    'the ipmi collector.'),
    cfg.PortOpt('ipmi_port', default=623, help='IPMI UDP port.'),
    cfg.StrOpt('ipmi_username', help='IPMI user name.'),
    cfg.StrOpt('ipmi_password', secret=True, help='IPMI password.'),
    # Guest faults libvirt does not report on domains Nova creates (no
    # panic device): SPEC.md Revision 2.
    cfg.BoolOpt('console_log_detection', default=False,
                help='Follow each domain\'s console log (Nova writes it '
                     'to <instances_path>/<uuid>/console.log) and report '
                     'the domain crashed/panicked, at once, when a kernel '
                     'panic signature appears. Nova\'s libvirt driver adds '
                     'no panic device, so without this a guest panic '
                     'leaves libvirt reporting running. Used by the '
                     'libvirt collector.'),
    cfg.StrOpt('console_log_path',
               default='/var/lib/nova/instances/{uuid}/console.log',
               help='Path of a domain\'s console log; {uuid} is replaced '
                    'by the domain UUID (Nova\'s instance UUID). Match '
                    'Nova\'s [DEFAULT] instances_path.'),
    cfg.FloatOpt('console_log_poll_interval', default=0.1, min=0.02,
                 max=10.0,
                 help='Seconds between two reads of the new text of the '
                      'console logs. Bounds the detection delay of a '
                      'guest panic.'),
    cfg.MultiStrOpt('console_panic_patterns',
                    default=[r'Kernel panic - not syncing',
                             r'Oops: .*\[#\d+\]'],
                    help='Regular expressions (Python syntax, matched '
                         'against the console\'s bytes) whose match in '
                         'new console text means the guest kernel '
                         'panicked. Repeat the option for each pattern.'),
    cfg.BoolOpt('guest_agent_detection', default=False,
                help='Ping the QEMU guest agent of every running domain '
                     'that has its channel (images with '
                     'hw_qemu_guest_agent=yes) once per cycle, and '
                     'report the domain crashed/hung after hang_cycles '
                     'consecutive unanswered pings. Counting starts once '
                     'the agent answered in the domain\'s current run '
                     '(see guest_agent_boot_grace).'),
    cfg.IntOpt('guest_agent_timeout', default=1, min=1, max=60,
               help='Seconds one guest agent ping may take before it '
                    'counts as unanswered.'),
    cfg.IntOpt('hang_cycles', default=3, min=1, max=1000,
               help='Consecutive cycles without a guest agent answer, '
                    'while the domain runs, after which it is reported '
                    'crashed/hung.'),
    cfg.FloatOpt('guest_agent_boot_grace', default=0.0, min=0.0,
                 max=86400.0,
                 help='Seconds after a domain starts after which its '
                      'silent guest agent counts even if it never '
                      'answered. 0 (default): only a guest agent that '
                      'answered once in the current run can be judged '
                      'hung, so an image that declares an agent it does '
                      'not run is never rebooted for it.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
