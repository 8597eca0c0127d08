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

"""``openstack vmguard dry-run show|set``: the global dry-run switch."""

from osc_lib.command import command

from vmguard.cli.osc.v1 import common

COLUMNS = ('dry_run', 'config_dry_run', 'effective')


class ShowDryRun(command.ShowOne):
    """Show the global dry-run switch (API setting, option, effective)."""

    def take_action(self, parsed_args):
        api = common.client(self)
        api.require('1.1', 'The global dry-run switch')
        body = api.get('/v1/dry-run')
        return COLUMNS, common.row(body, COLUMNS)


class SetDryRun(command.ShowOne):
    """Switch dry-run on or off for every node without its own switch."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument('--on', dest='dry_run', action='store_const',
                           const=True,
                           help='Decide and record, take no action.')
        group.add_argument('--off', dest='dry_run', action='store_const',
                           const=False, help='Take actions.')
        group.add_argument('--default', dest='dry_run',
                           action='store_const', const=None,
                           help='Remove the API setting: [recovery] '
                                'dry_run of the configuration applies.')
        return parser

    def take_action(self, parsed_args):
        api = common.client(self)
        api.require('1.1', 'The global dry-run switch')
        body = api.put('/v1/dry-run', {'dry_run': parsed_args.dry_run})
        return COLUMNS, common.row(body, COLUMNS)
