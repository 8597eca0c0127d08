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

"""[database] options (oslo.db), with vmguard's SQLite default.

One option of vmguard's own joins oslo.db's group: ``wsrep_sync_wait``
for Galera clusters.
"""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_SQL_CONNECTION = 'sqlite:///$state_path/vmguard.sqlite'

opts = [
    cfg.IntOpt('wsrep_sync_wait', default=None, min=0, max=15,
               help='Galera only: value of the session variable '
                    'wsrep_sync_wait set on every new MySQL connection. '
                    '1 makes each read wait until the node has applied '
                    'every write the cluster committed before it, so that '
                    'an engine reading through HAProxy after a fail-over '
                    'sees its own last writes (a recovery it just stored, '
                    'a decision it just made). Unset: the server\'s '
                    'setting applies (0 by default). Do not set it '
                    'against a MySQL server without Galera.'),
]


def set_opt_defaults():
    # On the option objects themselves, not as a per-ConfigOpts default
    # (that one is dropped by ConfigOpts.reset()).
    cfg.set_defaults(db_options.database_opts,
                     connection=DEFAULT_SQL_CONNECTION)


def register_opts(conf):
    db_options.set_defaults(conf)
    set_opt_defaults()
    conf.register_opts(opts, group='database')


def list_opts():
    # oslo.db publishes its own options under the oslo.db namespace of the
    # generator (only the default differs, see opts.set_lib_defaults);
    # this is vmguard's own option of that group.
    return {'database': opts}
