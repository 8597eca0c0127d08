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

"""[metrics] options: the Prometheus endpoints of the engine and agent."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'metrics', title='Prometheus metrics',
    help='vmguard-engine and vmguard-agent serve Prometheus metrics '
         '(text format, GET /metrics) on a port of their own. A port '
         'that cannot be bound is logged; the daemon runs on without '
         'metrics.')

opts = [
    cfg.BoolOpt('enabled', default=True,
                help='Serve the metrics endpoint.'),
    cfg.HostAddressOpt('host_ip', default='0.0.0.0',
                       help='Address the metrics endpoint listens on.'),
    cfg.PortOpt('engine_port', default=9791,
                help='Port of vmguard-engine\'s metrics endpoint (0: any '
                     'free port, logged).'),
    cfg.PortOpt('agent_port', default=9792,
                help='Port of vmguard-agent\'s metrics endpoint (0: any '
                     'free port, logged).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
