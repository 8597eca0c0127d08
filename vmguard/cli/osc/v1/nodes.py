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

"""``openstack vmguard node list|show|set``."""

from osc_lib.command import command
from osc_lib import exceptions

from vmguard.cli.osc.v1 import common

COLUMNS = ('name', 'host_state', 'last_cycle', 'disabled', 'maintenance',
           'dry_run')
LONG_COLUMNS = COLUMNS + ('disabled_reason', 'vcpus_free', 'ram_mb_free',
                          'last_report_at')


class ListNode(command.Lister):
    """List compute nodes with their latest host state."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--host-state', metavar='<state>',
            choices=['normal', 'degraded', 'failed', 'unknown'],
            help='Only nodes in this host state.')
        group = parser.add_mutually_exclusive_group()
        group.add_argument('--disabled', action='store_true', default=None,
                           help='Only nodes disabled by vmguard.')
        group.add_argument('--enabled', dest='disabled',
                           action='store_false',
                           help='Only nodes not disabled by vmguard.')
        parser.add_argument('--maintenance', action='store_true',
                            default=None,
                            help='Only nodes in maintenance.')
        parser.add_argument('--long', action='store_true', default=False,
                            help='More columns.')
        common.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params = common.pagination_params(parsed_args)
        params['host_state'] = parsed_args.host_state
        if parsed_args.disabled is not None:
            params['disabled'] = str(parsed_args.disabled).lower()
        if parsed_args.maintenance:
            params['maintenance'] = 'true'
        nodes = common.client(self).list('/v1/nodes', 'nodes',
                                         limit=parsed_args.limit, **params)
        columns = LONG_COLUMNS if parsed_args.long else COLUMNS
        return columns, [common.row(n, columns) for n in nodes]


def _node_display(node):
    node = dict(node)
    period = node.pop('host_state_period', None) or {}
    node['host_state_since_cycle'] = period.get('cycle_from')
    node['host_state_reason'] = period.get('reason')
    return tuple(sorted(node)), tuple(node[k] for k in sorted(node))


class ShowNode(command.ShowOne):
    """Show a node: host state and why, external items, services."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', metavar='<node>', help='Node name.')
        return parser

    def take_action(self, parsed_args):
        body = common.client(self).get('/v1/nodes/%s' % parsed_args.node)
        return _node_display(body['node'])


class SetNode(command.ShowOne):
    """Set the operator switches of a node."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', metavar='<node>', help='Node name.')
        maint = parser.add_mutually_exclusive_group()
        maint.add_argument(
            '--maintenance', dest='maintenance', action='store_true',
            default=None,
            help='Put the node in maintenance: vmguard takes no action on '
                 'it.')
        maint.add_argument(
            '--no-maintenance', dest='maintenance', action='store_false',
            help='Take the node out of maintenance.')
        parser.add_argument(
            '--enable', action='store_true', default=False,
            help='Undo the disable of vmguard (after a host fault was '
                 'repaired); it is a target for recoveries again.')
        dry = parser.add_mutually_exclusive_group()
        dry.add_argument('--dry-run', dest='dry_run', action='store_const',
                         const=True, default='unset',
                         help='Decide but take no action on this node.')
        dry.add_argument('--no-dry-run', dest='dry_run',
                         action='store_const', const=False,
                         help='Act on this node even if dry-run is on '
                              'globally.')
        dry.add_argument('--default-dry-run', dest='dry_run',
                         action='store_const', const=None,
                         help='Follow the global dry-run setting again.')
        return parser

    def take_action(self, parsed_args):
        client = common.client(self)
        path = '/v1/nodes/%s' % parsed_args.node
        if (parsed_args.maintenance is None and not parsed_args.enable
                and parsed_args.dry_run == 'unset'):
            raise exceptions.CommandError(
                'Nothing to set: give --maintenance, --no-maintenance, '
                '--enable or a dry-run option.')
        if parsed_args.maintenance is not None:
            client.put(path + '/maintenance',
                       {'maintenance': parsed_args.maintenance})
        if parsed_args.enable:
            client.put(path + '/enable', {})
        if parsed_args.dry_run != 'unset':
            client.put(path + '/dry-run', {'dry_run': parsed_args.dry_run})
        return _node_display(client.get(path)['node'])


STATE_COLUMNS = ('id', 'state', 'cycle_from', 'cycle_to', 'reason')


class ListNodeState(command.Lister):
    """List a node's host-state periods (per-cycle host state), newest
    first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', metavar='<node>', help='Node name.')
        parser.add_argument(
            '--cycle', metavar='<cycle>', type=int,
            help='Only the period covering this cycle: the host state of '
                 'that cycle and why.')
        parser.add_argument('--since-cycle', metavar='<cycle>', type=int,
                            help='Only periods from this cycle on.')
        common.add_pagination(parser, default_sort='desc')
        return parser

    def take_action(self, parsed_args):
        params = common.pagination_params(parsed_args)
        params.update(cycle=parsed_args.cycle,
                      since_cycle=parsed_args.since_cycle)
        states = common.client(self).list(
            '/v1/nodes/%s/states' % parsed_args.node, 'states',
            limit=parsed_args.limit, **params)
        columns = tuple(c for c in STATE_COLUMNS
                        if not states or c in states[0])
        return columns, [common.row(s, columns) for s in states]


HARDWARE_COLUMNS = ('id', 'kind', 'health', 'identity', 'identity_path',
                    'baseline_path', 'changed_cycle')


class ListNodeHardware(command.Lister):
    """List a node's hardware items as last seen (health, identity, the
    path it was read by and its baseline path)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', metavar='<node>', help='Node name.')
        parser.add_argument('--long', action='store_true', default=False,
                            help='Also first and gone cycles.')
        return parser

    def take_action(self, parsed_args):
        body = common.client(self).get(
            '/v1/nodes/%s/hardware' % parsed_args.node)
        columns = HARDWARE_COLUMNS
        if parsed_args.long:
            columns += ('first_cycle', 'gone_cycle')
        return columns, [common.row(h, columns) for h in body['hardware']]


CHANGE_COLUMNS = ('id', 'item', 'cycle', 'health', 'identity',
                  'identity_path', 'created_at')


class ListNodeHardwareHistory(command.Lister):
    """List a node's hardware changes (health, identity, identity path),
    newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', metavar='<node>', help='Node name.')
        parser.add_argument('--item', metavar='<item>',
                            help='Only this hardware item.')
        parser.add_argument('--since-cycle', metavar='<cycle>', type=int,
                            help='Only changes from this cycle on.')
        common.add_pagination(parser, default_sort='desc')
        return parser

    def take_action(self, parsed_args):
        params = common.pagination_params(parsed_args)
        params.update(item=parsed_args.item,
                      since_cycle=parsed_args.since_cycle)
        changes = common.client(self).list(
            '/v1/nodes/%s/hardware-changes' % parsed_args.node,
            'hardware_changes', limit=parsed_args.limit, **params)
        return CHANGE_COLUMNS, [common.row(c, CHANGE_COLUMNS)
                                for c in changes]
