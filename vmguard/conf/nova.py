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

"""[nova] options: keystoneauth credentials to reach the Compute API."""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = cfg.OptGroup('nova', title='Nova (Compute API) client options')

opts = [
    cfg.StrOpt('region_name', help='Region of the Compute endpoint.'),
    cfg.StrOpt('valid_interfaces', default='internal',
               help='Endpoint interface to use (public, internal, admin).'),
    cfg.StrOpt('endpoint_override',
               help='Use this Compute endpoint instead of the catalog.'),
    cfg.StrOpt('api_version', default='2.95',
               help='Compute API microversion vmguard pins. 2.53 is the '
                    'minimum (force-down by service UUID); from 2.68 '
                    'evacuate has no force flag; from 2.95 an evacuated '
                    'server stays SHUTOFF and vmguard starts it again '
                    'when it was running.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def list_opts():
    return {GROUP: (opts
                    + ks_loading.get_session_conf_options()
                    + ks_loading.get_auth_common_conf_options()
                    + ks_loading.get_auth_plugin_conf_options('password'))}
