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

"""vmguard-manage: db sync | db version | db purge | replay TRACE."""

import json
import os
import sys

from oslo_config import cfg

from vmguard.common import config as vmg_config
from vmguard.common import context as vmg_context

CONF = cfg.CONF


def _ensure_sqlite_dir():
    url = CONF.database.connection or ''
    if url.startswith('sqlite:///'):
        path = url[len('sqlite:///'):]
        directory = os.path.dirname(path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)


class DBCommands:

    def sync(self):
        from vmguard.db import migration
        _ensure_sqlite_dir()
        migration.upgrade(CONF.command.revision)
        print('Database schema is at revision %s' % migration.version())
        return 0

    def version(self):
        from vmguard.db import migration
        print(migration.version())
        return 0

    def purge(self):
        from vmguard.db import api as db_api
        history_days = CONF.command.history_days
        decision_days = CONF.command.decision_days
        if history_days is None:
            history_days = CONF.retention.history_days
        if decision_days is None:
            decision_days = CONF.retention.decision_days
        counts = db_api.purge_by_age(vmg_context.get_admin_context(),
                                     history_days, decision_days)
        print(json.dumps(counts, sort_keys=True))
        return 0


def _replay():
    from vmguard.engine import replay
    return replay.main(CONF.command.trace, sys.stdout, sys.stderr,
                       segments=CONF.command.segments)


def add_command_parsers(subparsers):
    db = DBCommands()
    parser = subparsers.add_parser('db', help='Database management.')
    db_sub = parser.add_subparsers(dest='db_command')
    db_sub.required = True
    p = db_sub.add_parser('sync', help='Upgrade the schema to the latest '
                                       'version (or to --revision).')
    p.add_argument('--revision', default='head')
    p.set_defaults(func=db.sync)
    p = db_sub.add_parser('version', help='Print the schema revision.')
    p.set_defaults(func=db.version)
    p = db_sub.add_parser(
        'purge', help='Delete history older than the [retention] ages.')
    p.add_argument('--history-days', type=int, default=None,
                   help='Override [retention] history_days.')
    p.add_argument('--decision-days', type=int, default=None,
                   help='Override [retention] decision_days.')
    p.set_defaults(func=db.purge)

    parser = subparsers.add_parser(
        'replay', help='Run the judgment on a trace file (JSON lines of '
                       'snapshots and vm_event records) and print the '
                       'decisions as JSON lines. No broker, database or '
                       'Nova is needed. Exit status 3 when lines were '
                       'rejected.')
    parser.add_argument('trace', help='Trace file, "-" for stdin.')
    parser.add_argument(
        '--segments', metavar='FILE', default=None,
        help='Judge with these failover segments: a JSON file, either the '
             'body of GET /v1/segments or a list of {"name", '
             '"recovery_method", "hosts": [{"name", "reserved"}]}. '
             'Targets of decisions then stay inside the failed node\'s '
             'segment.')
    parser.set_defaults(func=_replay)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    CONF.register_cli_opt(cfg.SubCommandOpt(
        'command', title='Commands', help='Available commands',
        handler=add_command_parsers))
    # Run by an operator: logs go to stderr, results to stdout.
    vmg_config.prepare_service(argv, log_to_stderr=True)
    return CONF.command.func()


if __name__ == '__main__':
    sys.exit(main())

