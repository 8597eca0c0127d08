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

"""Policy rules of vmguard's REST API, in code.

Everything is admin-only by default; the ``reader`` role (and admin) may
use the read-only routes. Operators override rules in ``policy.yaml``
(``oslopolicy-sample-generator --namespace vmguard`` prints them all).
"""

import itertools

from vmguard.policies import base
from vmguard.policies import dashboard
from vmguard.policies import decisions
from vmguard.policies import events
from vmguard.policies import nodes
from vmguard.policies import notifications
from vmguard.policies import recoveries
from vmguard.policies import segments
from vmguard.policies import settings
from vmguard.policies import vms


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        nodes.list_rules(),
        vms.list_rules(),
        events.list_rules(),
        decisions.list_rules(),
        recoveries.list_rules(),
        settings.list_rules(),
        dashboard.list_rules(),
        segments.list_rules(),
        notifications.list_rules(),
    ))
