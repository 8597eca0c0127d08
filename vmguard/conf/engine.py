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

"""[engine] options: the judgment thresholds of SPEC.md section 1."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'engine', title='Judgment engine options',
    help='Collection cycle and the thresholds of rules R1-R10.')

opts = [
    cfg.IntOpt('cycle_interval', default=10, min=1, max=3600,
               help='Length of one collection cycle in seconds. Agents '
                    'number cycles as int(unix_time // cycle_interval), '
                    'so every agent and engine must use the same value.'),
    cfg.IntOpt('max_reboots', default=3, min=1, max=1000, mutable=True,
               help='R2: number of in-place reboots vmguard may issue for '
                    'one VM within reboot_window cycles. The next crash '
                    'inside the window is escalated instead of rebooted.'),
    cfg.IntOpt('reboot_window', default=30, min=1, max=100000, mutable=True,
               help='R2: window, in cycles, over which reboots of one VM '
                    'are counted.'),
    cfg.IntOpt('identity_cycles', default=3, min=1, max=1000, mutable=True,
               help='R5: consecutive cycles in which a hardware item must '
                    'be read through a path other than its baseline path '
                    '(e.g. only by the BMC) before its node is drained.'),
    cfg.IntOpt('external_cycles', default=3, min=1, max=1000, mutable=True,
               help='R6: consecutive cycles an external item (shared '
                    'storage, uplink) must be failed before the node is '
                    'drained.'),
    cfg.IntOpt('service_cycles', default=3, min=1, max=1000, mutable=True,
               help='R7/R8: a service down for fewer consecutive cycles '
                    'than this is restarted (R7); on this cycle the node '
                    'is disabled and the fault escalated (R8).'),
    cfg.IntOpt('silent_cycles', default=3, min=1, max=1000, mutable=True,
               help='R9: consecutive cycles without a snapshot from a '
                    'node, while other nodes report, after which the node '
                    'is fenced and its VMs evacuated.'),
    cfg.FloatOpt('pairing_timeout', default=15.0, min=0.0, max=3600.0,
                 help='Seconds a crash event waits for the snapshot of its '
                      'own cycle. When it does not come in time, the host '
                      'state of that cycle is taken as unknown, which is '
                      'treated as not normal (the VM is evacuated).'),
    cfg.IntOpt('max_cycle_skew', default=3, min=0, max=100000,
               help='A record whose cycle is more than this many cycles '
                    'ahead of the clock is rejected as bad input (counted '
                    'and logged, never judged). The clock is wall-clock '
                    'time // cycle_interval in the engine; in replay, for '
                    'a record of node N, the median of the latest accepted '
                    'cycles of the other nodes.'),
    cfg.IntOpt('storm_window', default=3, min=1, max=1000,
               help='R10: window, in cycles, over which nodes opening '
                    'incidents (R4, R5, R6, R8, R9) are counted.'),
    cfg.IntOpt('storm_min_nodes', default=3, min=1, max=100000,
               help='R10: a node opening an incident is escalated instead '
                    'of drained when it would make the number of nodes '
                    'with incidents in storm_window exceed the larger of '
                    'this and storm_ratio x the nodes reporting.'),
    cfg.FloatOpt('storm_ratio', default=0.25, min=0.0, max=1.0,
                 help='R10: fraction of the reporting nodes that may open '
                      'incidents within storm_window before further '
                      'incidents are escalated instead of acted on.'),
    cfg.ListOpt('judges',
                default=['host_hardware', 'external', 'services',
                         'identity', 'vm_crash'],
                help='Judgment drivers to load, by name, from the '
                     'vmguard.judges entry point namespace. Add your own '
                     'judge by declaring it in that namespace of your '
                     'package and naming it here.'),
    cfg.ListOpt('rules',
                default=['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8',
                         'R9', 'R10'],
                help='Rules to run (SPEC.md names). A rule reads the '
                     'outputs of judges: enabling a rule whose judge is '
                     'not in judges fails at start, naming both (R1-R3 '
                     'need vm_crash, host_hardware and external; R4 '
                     'host_hardware; R5 identity; R6 external; R7 '
                     'services and host_hardware; R8 services).'),
    cfg.StrOpt('target_selector', default='most_free_ram',
               help='Target node selector, by name, from the '
                    'vmguard.target_selectors entry point namespace.'),
    cfg.StrOpt('topic', default='vmguard-engine',
               help='RPC topic the engine listens on and agents cast to.'),
    cfg.IntOpt('ingest_partitions', default=0, min=0, max=1024,
               help='Snapshots travel on this many RabbitMQ queues '
                    '(<topic>-ingest.<n>, single active consumer each); '
                    'a node always uses the same one (CRC-32 of its name '
                    'modulo this number) and each engine consumes the '
                    'queues the hash ring gives it, so that a snapshot '
                    'reaches the engine that owns its node without a '
                    'second hop, in order, and is acknowledged only once '
                    'what it changed is stored. Every agent and engine '
                    'must use the same value; changing it needs the '
                    'engines restarted together. 0 (the default in this '
                    'release): snapshots are cast to the shared topic and '
                    'forwarded to their owner, as before RPC API 1.4; 64 '
                    'is the value to start with. Only on a RabbitMQ '
                    'transport (any other keeps the shared topic).'),
    cfg.IntOpt('ingest_batch_size', default=256, min=1, max=10000,
               help='Most snapshots an engine takes from its ingest '
                    'queues, judges and stores before it acknowledges '
                    'them together (RabbitMQ prefetches twice this).'),
    cfg.FloatOpt('ingest_batch_wait', default=0.05, min=0.001, max=5.0,
                 help='Seconds an engine waits for a batch of snapshots '
                      'to fill before it judges and stores what it has '
                      '(the added latency of a snapshot when the queues '
                      'are quiet).'),
    cfg.IntOpt('periodic_interval', default=2, min=1, max=600,
               help='Seconds between runs of the wall-clock tasks: silent '
                    'node detection (R9) and crash event pairing '
                    'timeouts.'),
    # Defaults: records.DEFAULT_MAX_VMS and DEFAULT_MAX_ITEMS.
    cfg.IntOpt('max_vms_per_snapshot', default=1000, min=1, max=100000,
               help='Most VMs one snapshot may list. A larger snapshot is '
                    'rejected (counted and logged with its node), by '
                    'replay and by the engine alike: it bounds the memory '
                    'and time one message can take. Set it above the '
                    'largest number of instances a compute node can '
                    'host.'),
    cfg.IntOpt('max_items_per_snapshot', default=2000, min=1, max=100000,
               help='Most hardware, external and service items one '
                    'snapshot may list, all three together. A larger '
                    'snapshot is rejected like an oversized VM list. A '
                    'server reports a few dozen items (DIMMs, disks, fans, '
                    'NICs, sensors).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
