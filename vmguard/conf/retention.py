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

"""[retention] options: how long history rows are kept."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'retention', title='Data retention',
    help='vmguard stores state changes, not every cycle. History rows '
         'older than these ages are removed by "vmguard-manage db purge" '
         'and by the engine\'s periodic purge.')

opts = [
    cfg.IntOpt('history_days', default=14, min=1, max=3650,
               help='Days to keep closed host-state periods, hardware '
                    'change records, service/external changes and crash '
                    'events.'),
    cfg.IntOpt('decision_days', default=90, min=1, max=3650,
               help='Days to keep decisions and their finished '
                    'recoveries (the audit trail). Recoveries that are '
                    'not finished are never purged.'),
    cfg.IntOpt('purge_interval', default=3600, min=0, max=86400,
               help='Seconds between the engine\'s automatic purges. 0 '
                    'disables them.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
