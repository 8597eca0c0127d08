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
    cfg.StrOpt('compute_driver', default='fake',
               help='Compute back end that executes recoveries, by name, '
                    'from the vmguard.compute entry point namespace: '
                    '"nova" (openstacksdk) or "fake" (in memory, records '
                    'what it would do; for tests and the demo).'),
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
                    'or a timeout, with exponential backoff.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
