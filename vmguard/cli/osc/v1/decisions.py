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

"""``openstack vmguard decision|recovery|event ...``."""

from osc_lib.command import command

from vmguard.cli.osc.v1 import common

ACTIONS = ['reboot', 'evacuate', 'migrate_all', 'disable_node',
           'restart_service', 'escalate']
DECISION_COLUMNS = ('uuid', 'node', 'cycle', 'rule', 'action', 'vm',
                    'service', 'target', 'recovery_status', 'reason')
RECOVERY_COLUMNS = ('uuid', 'status', 'node', 'cycle', 'rule', 'action',
                    'vm', 'target', 'attempts', 'error')
EVENT_COLUMNS = ('id', 'node', 'cycle', 'vm', 'event', 'reason', 'source',
                 'created_at')


def _add_filters(parser):
    parser.add_argument('--node', metavar='<node>', help='Only this node.')
    parser.add_argument('--rule', metavar='<rule>',
                        help='Only this rule (R1 ... R10, or manual).')
    parser.add_argument('--action', metavar='<action>', choices=ACTIONS,
                        help='Only this action.')
    parser.add_argument('--since', metavar='<ISO 8601>',
                        help='Only items created at or after this time.')


def _filters(parsed_args):
    params = common.pagination_params(parsed_args)
    params.update(node=parsed_args.node, rule=parsed_args.rule,
                  action=parsed_args.action, since=parsed_args.since)
    return params


def _flat_decision(decision):
    item = dict(decision)
    recovery = item.get('recovery') or {}
    item['recovery_status'] = recovery.get('status')
    item['recovery_uuid'] = recovery.get('uuid')
    return item


class ListDecision(command.Lister):
    """List the decisions of the judgment."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_filters(parser)
        parser.add_argument('--vm', metavar='<uuid>', help='Only this VM.')
        common.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params = _filters(parsed_args)
        params['vm'] = parsed_args.vm
        decisions = common.client(self).list(
            '/v1/decisions', 'decisions', limit=parsed_args.limit, **params)
        return DECISION_COLUMNS, [
            common.row(_flat_decision(d), DECISION_COLUMNS)
            for d in decisions]


class ShowDecision(command.ShowOne):
    """Show a decision with its rule, reason, evidence and recovery."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('decision', metavar='<uuid>',
                            help='Decision UUID.')
        return parser

    def take_action(self, parsed_args):
        body = common.client(self).get('/v1/decisions/%s'
                                       % parsed_args.decision)
        item = _flat_decision(body['decision'])
        del item['recovery']
        keys = tuple(sorted(item))
        return keys, tuple(item[k] for k in keys)


def _flat_recovery(recovery):
    item = dict(recovery)
    decision = item.pop('decision')
    for key in ('node', 'cycle', 'rule', 'action', 'vm', 'service',
                'target', 'reason'):
        item[key] = decision.get(key)
    item['decision_uuid'] = decision.get('uuid')
    return item


class ListRecovery(command.Lister):
    """List recoveries (the execution of decisions) and their status."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_filters(parser)
        parser.add_argument(
            '--status', metavar='<status>',
            choices=['pending', 'running', 'succeeded', 'failed',
                     'skipped', 'escalated', 'cancelled'],
            help='Only recoveries in this status.')
        common.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params = _filters(parsed_args)
        params['status'] = parsed_args.status
        recoveries = common.client(self).list(
            '/v1/recoveries', 'recoveries', limit=parsed_args.limit,
            **params)
        return RECOVERY_COLUMNS, [
            common.row(_flat_recovery(r), RECOVERY_COLUMNS)
            for r in recoveries]


class ShowRecovery(command.ShowOne):
    """Show a recovery with the Nova actions it issued."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('recovery', metavar='<uuid>',
                            help='Recovery UUID.')
        return parser

    def take_action(self, parsed_args):
        body = common.client(self).get('/v1/recoveries/%s'
                                       % parsed_args.recovery)
        item = _flat_recovery(body['recovery'])
        keys = tuple(sorted(item))
        return keys, tuple(item[k] for k in keys)


class ListEvent(command.Lister):
    """List VM crash events (libvirt lifecycle, Nova notifications)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--node', metavar='<node>',
                            help='Only this node.')
        parser.add_argument('--vm', metavar='<uuid>', help='Only this VM.')
        parser.add_argument('--since', metavar='<ISO 8601>',
                            help='Only events received at or after this '
                                 'time.')
        common.add_pagination(parser)
        return parser

    def take_action(self, parsed_args):
        params = common.pagination_params(parsed_args)
        params.update(node=parsed_args.node, vm=parsed_args.vm,
                      since=parsed_args.since)
        events = common.client(self).list(
            '/v1/events', 'events', limit=parsed_args.limit, **params)
        return EVENT_COLUMNS, [common.row(e, EVENT_COLUMNS) for e in events]
