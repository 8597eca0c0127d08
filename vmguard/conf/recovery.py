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

"""[recovery] options: how decisions become actions."""

from oslo_config import cfg

GROUP = cfg.OptGroup('recovery', title='Recovery options')

opts = [
    cfg.StrOpt('compute_driver', default='nova',
               help='Compute back end that executes recoveries, by name, '
                    'from the vmguard.compute entry point namespace: '
                    '"nova" (openstacksdk, configured in [nova]) or '
                    '"fake" (in memory, records what it would do and '
                    'touches no cloud; the demo and the tests choose it '
                    'explicitly).'),
    cfg.BoolOpt('dry_run', default=False,
                help='Record decisions and recoveries but take no action. '
                     'Can also be set per node through the API.'),
    cfg.IntOpt('max_concurrent', default=8, min=1, max=256,
               help='Recoveries (Nova actions) one engine runs at once.'),
    cfg.IntOpt('max_per_target', default=2, min=1, max=64,
               help='Migrations/evacuations running at once towards one '
                    'target node.'),
    cfg.FloatOpt('mass_failure_ratio', default=0.5, min=0.0, max=1.0,
                 help='When more than this share of all known nodes is '
                      'silent at once (R9), vmguard alerts instead of '
                      'fencing and evacuating: it is more likely a '
                      'network or broker fault than dead hosts.'),
    cfg.IntOpt('action_timeout', default=300, min=1, max=86400,
               help='Seconds to wait for a server to reach its expected '
                    'state after a Nova action.'),
    cfg.IntOpt('retries', default=3, min=0, max=100,
               help='Retries of a Nova call that failed with a 5xx answer '
                    'or a timeout, with exponential backoff. When the last '
                    'retry fails too, the recovery ends "failed" with '
                    'Nova\'s error, a vmguard.recovery.error notification '
                    'and an ALERT in the engine log; it is not retried '
                    'later.'),
    cfg.FloatOpt('retry_interval', default=1.0, min=0.0, max=600.0,
                 help='Seconds before the first retry of a failed Nova call; '
                      'doubled for each further retry.'),
    cfg.FloatOpt('poll_interval', default=1.0, min=0.05, max=600.0,
                 help='Seconds between two looks at a server while waiting '
                      'for it to reach its expected state.'),
    cfg.IntOpt('fence_timeout', default=60, min=1, max=3600,
               help='R9: seconds to wait for the BMC to confirm that a '
                    'silent node is powered off before evacuating it. '
                    'Without confirmation the recovery is escalated.'),
    cfg.IntOpt('compute_down_timeout', default=120, min=0, max=3600,
               help='R9, before fencing: seconds to wait for Nova to '
                    'report the silent node\'s nova-compute service down '
                    '(its own heartbeat; set at least Nova\'s '
                    'service_down_time). Still up after that: the recovery '
                    'escalates "agent silent, compute alive" and touches '
                    'nothing.'),
    cfg.ListOpt('fencers', default=['redfish', 'ipmi', 'none'],
                help='R9 fencing: fencers from the vmguard.fencers entry '
                     'point namespace, tried in this order; the first '
                     'that has the node configured powers it off. '
                     '"redfish" uses [recovery] bmc_redfish, "ipmi" '
                     '[recovery] bmc_ipmi, "none" takes every node and '
                     'refuses unless fence_without_bmc is true.'),
    cfg.DictOpt('bmc_redfish', default={},
                help='R9 fencing through the BMC: node name -> Redfish '
                     'URL of its system resource, e.g. '
                     'cmp-01:https://bmc-01/redfish/v1/Systems/1.'),
    cfg.DictOpt('bmc_ipmi', default={},
                help='R9 fencing through the BMC: node name -> IPMI '
                     'address of its BMC, host or host:port (default port '
                     '623), e.g. cmp-02:10.0.0.12. Credentials are '
                     'bmc_username and bmc_password.'),
    cfg.BoolOpt('fence_without_bmc', default=False,
                help='R9 on a node with no BMC configured: when false '
                     '(default) the recovery escalates and no server is '
                     'touched; set true only when another fencing exists '
                     '(e.g. a PDU or storage fencing outside vmguard), '
                     'then the node is forced down in Nova and evacuated '
                     'without a power off by vmguard.'),
    cfg.BoolOpt('protect_by_default', default=True,
                help='Servers that set no vmguard:protect (in their '
                     'metadata or their flavor\'s extra specs) are '
                     'recovered (true) or left alone (false, then only '
                     'servers with vmguard:protect=true are).'),
    cfg.IntOpt('server_view_max_age', default=900, min=0, max=86400,
               help='Seconds for which what Nova last said of a server '
                    '(its instance notifications, which the engine '
                    'receives with [notifications] nova_listener, or '
                    'vmguard\'s own last read) stands in for a new read '
                    'before a reboot or an evacuation: when that view '
                    'is younger and says the server is protected, in no '
                    'Nova task and not stopped or in error, the action '
                    'is requested without a GET /servers/{id} first '
                    '(one Nova API round trip less between a crash and '
                    'its reboot). An older view, one that says leave '
                    'it alone, or none: the server is read again. Needs '
                    'Nova\'s notify_on_state_change (every change of a '
                    'server, metadata included, is then notified). 0: '
                    'always read.'),
    cfg.IntOpt('server_view_refresh_interval', default=300, min=0,
               max=86400,
               help='Seconds between two reads of the servers of each '
                    'node this engine judges (one GET /servers/detail '
                    'per node, spread over the interval), which keep '
                    'the view of a server Nova has not notified about '
                    'for a while younger than server_view_max_age. '
                    'Must be below server_view_max_age to keep every '
                    'view fresh. 0: only notifications and recoveries '
                    'refresh views.'),
    cfg.BoolOpt('recover_error_state', default=False,
                help='Recover (reboot or move) servers whose Nova vm_state '
                     'is error. False: such servers are skipped and left '
                     'to an operator.'),
    cfg.IntOpt('restart_confirm_timeout', default=150, min=1, max=7200,
               help='R7 restart_service: seconds to wait for the agent\'s '
                    'answer (its restart command, then the service seen '
                    'running; at least twice the agent\'s [agent] '
                    'restart_timeout). The recovery succeeds only when '
                    'the agent reports the service running; otherwise it '
                    'fails with the agent\'s reason.'),
    cfg.StrOpt('bmc_username', help='User name for the BMCs.'),
    cfg.StrOpt('bmc_password', secret=True, help='Password for the BMCs.'),
    cfg.BoolOpt('bmc_verify', default=True,
                help='Verify the TLS certificates of the BMCs.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
