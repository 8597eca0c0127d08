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

"""Options of vmguard for oslo-config-generator.

The list of modules is explicit on purpose: a new option group is added
here by hand, reviewers see it.
"""


from vmguard.conf import agent
from vmguard.conf import alerts
from vmguard.conf import api
from vmguard.conf import coordination
from vmguard.conf import database
from vmguard.conf import default
from vmguard.conf import engine
from vmguard.conf import metrics
from vmguard.conf import notifications
from vmguard.conf import nova
from vmguard.conf import recovery
from vmguard.conf import retention
from vmguard.conf import upgrade_levels

_MODULES = (default, agent, alerts, api, coordination, database, engine,
            metrics, nova, notifications, recovery, retention,
            upgrade_levels)


def list_opts():
    """Return a list of (group, options) for the sample config."""
    result = []
    for module in _MODULES:
        for group, options in module.list_opts().items():
            result.append((group, options))
    return result


def set_lib_defaults():
    """Defaults of library options that vmguard changes.

    Called by oslo-config-generator (``oslo.config.opts.defaults`` entry
    point) before it lists the options, so the sample shows vmguard's
    defaults.
    """
    database.set_opt_defaults()
