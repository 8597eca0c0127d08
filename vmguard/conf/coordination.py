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

"""[coordination] options: sharing nodes among several engines."""

from oslo_config import cfg

GROUP = cfg.OptGroup('coordination', title='Engine coordination (tooz)')

opts = [
    cfg.StrOpt('backend_url', secret=True,
               help='tooz backend URL, e.g. redis://127.0.0.1:6379 or '
                    'etcd3+http://127.0.0.1:2379. Unset: a single engine '
                    'owns every node.'),
    cfg.StrOpt('group', default='vmguard-engines',
               help='tooz group the engines join to share the nodes.'),
    cfg.FloatOpt('heartbeat_interval', default=1.0, min=0.1, max=60.0,
                 help='Seconds between tooz heartbeats.'),
    cfg.IntOpt('partitions', default=64, min=1, max=4096,
               help='Number of partitions of the hash ring (replicas per '
                    'member).'),
    cfg.FloatOpt('membership_timeout', default=10.0, min=1.0, max=600.0,
                 help='Seconds after its last heartbeat at which a dead '
                      'engine leaves the group, so that its nodes move to '
                      'the other engines (passed to the Redis backend as '
                      'its membership_timeout unless the URL sets it). A '
                      'node of a dead engine is judged again after at '
                      'most this plus [engine] periodic_interval.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
