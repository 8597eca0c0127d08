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

"""[database] options (oslo.db), with vmguard's SQLite default."""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_SQL_CONNECTION = 'sqlite:///$state_path/vmguard.sqlite'


def set_opt_defaults():
    # On the option objects themselves, not as a per-ConfigOpts default
    # (that one is dropped by ConfigOpts.reset()).
    cfg.set_defaults(db_options.database_opts,
                     connection=DEFAULT_SQL_CONNECTION)


def register_opts(conf):
    db_options.set_defaults(conf)
    set_opt_defaults()


def list_opts():
    # oslo.db publishes its own options under the oslo.db namespace of the
    # generator; only the default differs, see opts.set_lib_defaults.
    return {}
