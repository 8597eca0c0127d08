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

"""[upgrade_levels] options: RPC version pins for rolling upgrades."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'upgrade_levels', title='RPC version pins',
    help='During a rolling upgrade, pin what the services of the new '
         'release send to the version the services of the previous '
         'release understand; remove the pin once every service runs '
         'the new release.')

opts = [
    cfg.StrOpt('engine',
               help='Highest version of the engine RPC API to send (see '
                    'vmguard.engine.rpcapi.EngineAPI). Unset: the latest. '
                    'Set it to 1.3 on agents while engines of the previous '
                    'release still run: snapshots then go to the shared '
                    'engine topic instead of the per-partition ingest '
                    'queues (RPC API 1.4).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
