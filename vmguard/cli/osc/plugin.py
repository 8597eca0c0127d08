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

"""python-openstackclient plugin of vmguard (``openstack vmguard ...``).

Loaded through the ``openstack.cli.extension`` entry point; its commands
are the ``openstack.vmguard.v1`` entry points.
"""

from osc_lib import utils

from vmguard.cli.osc import client

API_NAME = 'vmguard'
API_VERSION_OPTION = 'os_vmguard_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'vmguard.cli.osc.client.Client'}
NOAUTH_SYSTEM_SCOPES = ('all', 'none')
DEFAULT_NOAUTH_SYSTEM_SCOPE = 'all'


def make_client(instance):
    """Build the vmguard API client from the OSC client manager."""
    return client.Client.from_client_manager(instance)


def build_option_parser(parser):
    parser.add_argument(
        '--os-vmguard-api-version',
        metavar='<vmguard-api-version>',
        default=utils.env('OS_VMGUARD_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='vmguard API major version, default=%s '
             '(Env: OS_VMGUARD_API_VERSION)' % DEFAULT_API_VERSION)
    parser.add_argument(
        '--os-vmguard-noauth-roles',
        metavar='<roles>',
        default=utils.env('OS_VMGUARD_NOAUTH_ROLES', default='admin'),
        help='With --os-auth-type none only: the roles sent in X-Roles to '
             'an API that runs with [api] auth_strategy = noauth, comma '
             'separated (Env: OS_VMGUARD_NOAUTH_ROLES, default: admin).')
    parser.add_argument(
        '--os-vmguard-noauth-system-scope',
        metavar='<scope>',
        choices=NOAUTH_SYSTEM_SCOPES,
        default=utils.env('OS_VMGUARD_NOAUTH_SYSTEM_SCOPE',
                          default=DEFAULT_NOAUTH_SYSTEM_SCOPE),
        help='With --os-auth-type none only: "all" sends '
             '"OpenStack-System-Scope: all", as a system-scoped Keystone '
             'token would, so that a reader role may read (the API lets '
             'readers read only with system scope); "none" sends no '
             'scope, as a project-scoped token (Env: '
             'OS_VMGUARD_NOAUTH_SYSTEM_SCOPE, default: %s).'
             % DEFAULT_NOAUTH_SYSTEM_SCOPE)
    return parser
