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

"""``openstack vmguard notification create|list|show`` (notifications of
other monitors) and ``openstack vmguard node|vm recover`` (manual
recoveries); API microversion 1.3."""

import json

from osc_lib.command import command
from osc_lib import exceptions

from vmguard.cli.osc.v1 import common

NEEDS = '1.3'
TYPES = ('host_down', 'vm_crashed', 'process_down')
COLUMNS = ('id', 'type', 'node', 'vm', 'service', 'status', 'outcome',
           'created_at')
LONG_COLUMNS = COLUMNS + ('source', 'message', 'decisions')


def _decisions(item):
    return [{'uuid': d['uuid'], 'rule': d['rule'], 'action': d['action'],
             'vm': d['vm'], 'recovery': (d.get('recovery') or {}).get(
                 'status')} for d in item.get('decisions') or ()]


def _display(item):
    item = dict(item, decisions=_decisions(item))
    columns = tuple(sorted(item))
    return columns, tuple(item[c] for c in columns)


class CreateNotification(command.ShowOne):
    """Send vmguard a notification of another monitor (pacemaker, consul,
    ...). Posting the same --id again is harmless: vmguard acts once."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('type', metavar='<type>', choices=TYPES,
                            help='host_down, vm_crashed or process_down.')
        parser.add_argument('node', metavar='<node>',
                            help='The compute node it is about.')
        parser.add_argument(
            '--id', metavar='<id>', required=True, dest='notification_id',
            help='Your id of this notification (1-64 characters: letters, '
                 'digits, ._:@/+=-), e.g. "pacemaker-cmp-2-<epoch>". The '
                 'same id sent again is the same notification.')
        parser.add_argument('--vm', metavar='<uuid>',
                            help='vm_crashed: the crashed server.')
        parser.add_argument('--reason', metavar='<reason>',
                            help='vm_crashed: libvirt crash reason '
                                 '(panicked, crashed...).')
        parser.add_argument('--service', metavar='<service>',
                            help='process_down: the service that is down '
                                 '(nova-compute, libvirtd...).')
        parser.add_argument('--source', metavar='<source>',
                            help='Who says so (pacemaker, consul...).')
        parser.add_argument('--detail', metavar='<text>',
                            help='Free text kept with the notification.')
        parser.add_argument('--generated-at', metavar='<iso8601>',
                            help='When the monitor saw it.')
        return parser

    def take_action(self, parsed_args):
        client = common.client(self)
        client.require(NEEDS, 'notification create')
        body = {'id': parsed_args.notification_id, 'type': parsed_args.type,
                'node': parsed_args.node}
        for key in ('vm', 'reason', 'service', 'source', 'detail',
                    'generated_at'):
            value = getattr(parsed_args, key)
            if value is not None:
                body[key] = value
        item = client.post('/v1/notifications',
                           {'notification': body})['notification']
        return _display(item)


class ListNotification(command.Lister):
    """List notifications of other monitors with their outcome, newest
    first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--node', metavar='<node>',
                            help='Only notifications about this node.')
        parser.add_argument('--type', metavar='<type>', choices=TYPES,
                            help='Only notifications of this type.')
        parser.add_argument('--status', metavar='<status>',
                            help='Only notifications in this status (new, '
                                 'processing, accepted, ignored, error).')
        parser.add_argument('--long', action='store_true', default=False,
                            help='More columns.')
        common.add_pagination(parser, default_sort='desc')
        return parser

    def take_action(self, parsed_args):
        client = common.client(self)
        client.require(NEEDS, 'notification list')
        params = common.pagination_params(parsed_args)
        params.update(node=parsed_args.node, type=parsed_args.type,
                      status=parsed_args.status)
        items = client.list('/v1/notifications', 'notifications',
                            limit=parsed_args.limit, **params)
        columns = LONG_COLUMNS if parsed_args.long else COLUMNS
        rows = [common.row(dict(i, decisions=_decisions(i)), columns)
                for i in items]
        return columns, rows


class ShowNotification(command.ShowOne):
    """Show a notification, its decisions and their recoveries."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('notification_id', metavar='<id>',
                            help='The id its sender gave it.')
        return parser

    def take_action(self, parsed_args):
        client = common.client(self)
        client.require(NEEDS, 'notification show')
        item = client.get('/v1/notifications/%s' %
                          parsed_args.notification_id)['notification']
        return _display(item)


def _decision_display(decision):
    decision = dict(decision)
    decision['evidence'] = json.dumps(decision.get('evidence'),
                                      sort_keys=True)
    columns = tuple(sorted(decision))
    return columns, tuple(decision[c] for c in columns)


def _reason(parsed_args):
    reason = (parsed_args.reason or '').strip()
    if not reason:
        raise exceptions.CommandError('--reason must say why (it is '
                                      'recorded with the decision).')
    return reason


class RecoverNode(command.ShowOne):
    """Recover a node now: fence it through its BMC (power off confirmed),
    force its compute service down and evacuate its servers. Recorded as
    a decision with rule "manual" and your reason; maintenance and
    per-server protection still apply."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node', metavar='<node>', help='Node name.')
        parser.add_argument('--reason', metavar='<text>', required=True,
                            help='Why (recorded with the decision).')
        return parser

    def take_action(self, parsed_args):
        client = common.client(self)
        client.require(NEEDS, 'node recover')
        decision = client.post('/v1/nodes/%s/recover' % parsed_args.node,
                               {'reason': _reason(parsed_args)})['decision']
        return _decision_display(decision)


class RecoverVM(command.ShowOne):
    """Recover a server now: hard reboot it where it is or evacuate it.
    Recorded as a decision with rule "manual" and your reason."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('vm', metavar='<uuid>', help='Server UUID.')
        parser.add_argument('--reason', metavar='<text>', required=True,
                            help='Why (recorded with the decision).')
        parser.add_argument(
            '--action', metavar='<reboot|evacuate>',
            choices=('reboot', 'evacuate'),
            help='Default: reboot when its node is normal, evacuate '
                 'otherwise (as rules R1 and R3).')
        return parser

    def take_action(self, parsed_args):
        client = common.client(self)
        client.require(NEEDS, 'vm recover')
        body = {'reason': _reason(parsed_args)}
        if parsed_args.action:
            body['action'] = parsed_args.action
        decision = client.post('/v1/vms/%s/recover' % parsed_args.vm,
                               body)['decision']
        return _decision_display(decision)
