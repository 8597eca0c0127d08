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

"""``openstack vmguard vm list|show``: VMs as the agents last saw them."""

from osc_lib.command import command

from vmguard.cli.osc.v1 import common

COLUMNS = ('uuid', 'node', 'state', 'reason', 'task_state')
LONG_COLUMNS = COLUMNS + ('vcpus', 'ram_mb', 'changed_cycle', 'updated_at')


class ListVM(command.Lister):
    """List VMs: node, libvirt state and reason, Nova task."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--node', metavar='<node>',
                            help='Only VMs of this node.')
        parser.add_argument('--state', metavar='<state>',
                            help='Only VMs in this libvirt state (running, '
                                 'crashed, paused, shutoff...).')
        parser.add_argument('--long', action='store_true', default=False,
                            help='More columns.')
        common.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params = common.pagination_params(parsed_args)
        params.update(node=parsed_args.node, state=parsed_args.state)
        vms = common.client(self).list('/v1/vms', 'vms',
                                       limit=parsed_args.limit, **params)
        columns = LONG_COLUMNS if parsed_args.long else COLUMNS
        return columns, [common.row(vm, columns) for vm in vms]


class ShowVM(command.ShowOne):
    """Show one VM."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('vm', metavar='<uuid>', help='VM UUID.')
        return parser

    def take_action(self, parsed_args):
        vm = common.client(self).get('/v1/vms/%s' % parsed_args.vm)['vm']
        columns = tuple(sorted(vm))
        return columns, tuple(vm[c] for c in columns)
