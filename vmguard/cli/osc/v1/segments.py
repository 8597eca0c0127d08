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

"""``openstack vmguard segment ...``: failover segments and their hosts."""

import urllib.parse

from osc_lib.command import command
from osc_lib import exceptions

from vmguard.cli.osc.v1 import common
from vmguard.objects import segment as fields

VERSION = '1.3'
WHAT = 'Failover segments'
COLUMNS = ('name', 'recovery_method', 'hosts', 'reserved_hosts')
LONG_COLUMNS = ('uuid',) + COLUMNS + ('description', 'updated_at')
SHOW_COLUMNS = ('uuid', 'name', 'recovery_method', 'description', 'hosts',
                'reserved_hosts', 'activated_hosts', 'created_at',
                'updated_at')
HOST_COLUMNS = ('name', 'reserved', 'activated_at', 'activated_reason')


def _api(command_):
    api = common.client(command_)
    api.require(VERSION, WHAT)
    return api


def _path(segment, *rest):
    parts = ['v1', 'segments', segment] + list(rest)
    return '/' + '/'.join(urllib.parse.quote(p, safe='') for p in parts)


def _flat(segment):
    hosts = segment.get('hosts') or []
    item = dict(segment)
    item['hosts'] = [h['name'] for h in hosts]
    item['reserved_hosts'] = [h['name'] for h in hosts if h['reserved']]
    item['activated_hosts'] = [h['name'] for h in hosts
                               if h.get('activated_at')]
    return item


def _show(segment):
    return SHOW_COLUMNS, common.row(_flat(segment), SHOW_COLUMNS)


def _method_argument(parser, required):
    parser.add_argument(
        '--recovery-method', metavar='<method>', required=required,
        choices=fields.RECOVERY_METHODS,
        help='Where the servers of a failed node of the segment go: '
             'auto (its hosts that are not reserved), reserved_host (its '
             'reserved hosts only), auto_priority (not reserved first, '
             'then reserved), rh_priority (reserved first, then the '
             'others).')


class ListSegment(command.Lister):
    """List failover segments."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--recovery-method', metavar='<method>',
                            choices=fields.RECOVERY_METHODS,
                            help='Only segments with this recovery method.')
        parser.add_argument('--long', action='store_true', default=False,
                            help='More columns.')
        common.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params = common.pagination_params(parsed_args)
        params['recovery_method'] = parsed_args.recovery_method
        segments = _api(self).list('/v1/segments', 'segments',
                                   limit=parsed_args.limit, **params)
        columns = LONG_COLUMNS if parsed_args.long else COLUMNS
        return columns, [common.row(_flat(s), columns) for s in segments]


class ShowSegment(command.ShowOne):
    """Show a failover segment and its hosts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segment', metavar='<segment>',
                            help='Segment name or uuid.')
        return parser

    def take_action(self, parsed_args):
        return _show(_api(self).get(_path(parsed_args.segment))['segment'])


class CreateSegment(command.ShowOne):
    """Create a failover segment: nodes that fail over among themselves."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>', help='Segment name.')
        _method_argument(parser, required=True)
        parser.add_argument('--description', metavar='<text>',
                            help='What the segment is (a rack, a storage '
                                 'domain...).')
        parser.add_argument('--host', metavar='<node>', action='append',
                            default=[], dest='hosts',
                            help='A node of the segment (repeat).')
        parser.add_argument('--reserved-host', metavar='<node>',
                            action='append', default=[], dest='reserved',
                            help='A reserved host of the segment: a spare '
                                 'kept disabled in Nova, enabled by vmguard '
                                 'when a recovery first uses it (repeat).')
        return parser

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name,
                'recovery_method': parsed_args.recovery_method,
                'hosts': [{'name': n, 'reserved': False}
                          for n in parsed_args.hosts]
                + [{'name': n, 'reserved': True}
                   for n in parsed_args.reserved]}
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        return _show(_api(self).post('/v1/segments', body)['segment'])


class SetSegment(command.ShowOne):
    """Rename a failover segment or change its recovery method or
    description."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segment', metavar='<segment>',
                            help='Segment name or uuid.')
        parser.add_argument('--name', metavar='<name>', help='New name.')
        _method_argument(parser, required=False)
        parser.add_argument('--description', metavar='<text>',
                            help='New description ("" to clear it).')
        return parser

    def take_action(self, parsed_args):
        body = {}
        if parsed_args.name is not None:
            body['name'] = parsed_args.name
        if parsed_args.recovery_method is not None:
            body['recovery_method'] = parsed_args.recovery_method
        if parsed_args.description is not None:
            body['description'] = parsed_args.description or None
        if not body:
            raise exceptions.CommandError(
                'Nothing to set: give --name, --recovery-method or '
                '--description.')
        return _show(_api(self).patch(_path(parsed_args.segment),
                                      body)['segment'])


class DeleteSegment(command.Command):
    """Delete failover segments (their nodes stay, outside any segment)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segments', metavar='<segment>', nargs='+',
                            help='Segment name or uuid.')
        return parser

    def take_action(self, parsed_args):
        api = _api(self)
        failed = []
        for segment in parsed_args.segments:
            try:
                api.delete(_path(segment))
            except exceptions.CommandError as exc:
                failed.append('%s: %s' % (segment, exc))
        if failed:
            raise exceptions.CommandError('; '.join(failed))


class ListSegmentHost(command.Lister):
    """List the hosts of a failover segment."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segment', metavar='<segment>',
                            help='Segment name or uuid.')
        return parser

    def take_action(self, parsed_args):
        body = _api(self).get(_path(parsed_args.segment, 'hosts'))
        return HOST_COLUMNS, [common.row(h, HOST_COLUMNS)
                              for h in body['hosts']]


class AddSegmentHost(command.ShowOne):
    """Add a node to a failover segment (a node is in one segment at
    most)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segment', metavar='<segment>',
                            help='Segment name or uuid.')
        parser.add_argument('node', metavar='<node>', help='Node name.')
        parser.add_argument('--reserved', action='store_true',
                            default=False,
                            help='A reserved host: keep it disabled in '
                                 'Nova; vmguard enables it when a recovery '
                                 'first uses it.')
        return parser

    def take_action(self, parsed_args):
        body = _api(self).post(_path(parsed_args.segment, 'hosts'),
                               {'name': parsed_args.node,
                                'reserved': parsed_args.reserved})
        return HOST_COLUMNS, common.row(body['host'], HOST_COLUMNS)


class SetSegmentHost(command.ShowOne):
    """Make a host of a failover segment reserved or not."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segment', metavar='<segment>',
                            help='Segment name or uuid.')
        parser.add_argument('node', metavar='<node>', help='Node name.')
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument('--reserved', dest='reserved',
                           action='store_true', default=None,
                           help='Reserved host (again): vmguard enables it '
                                'in Nova when a recovery next uses it.')
        group.add_argument('--no-reserved', dest='reserved',
                           action='store_false',
                           help='An ordinary host of the segment.')
        return parser

    def take_action(self, parsed_args):
        body = _api(self).patch(
            _path(parsed_args.segment, 'hosts', parsed_args.node),
            {'reserved': parsed_args.reserved})
        return HOST_COLUMNS, common.row(body['host'], HOST_COLUMNS)


class RemoveSegmentHost(command.Command):
    """Remove a node from a failover segment."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segment', metavar='<segment>',
                            help='Segment name or uuid.')
        parser.add_argument('node', metavar='<node>', help='Node name.')
        return parser

    def take_action(self, parsed_args):
        _api(self).delete(_path(parsed_args.segment, 'hosts',
                                parsed_args.node))
