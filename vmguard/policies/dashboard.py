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

"""Policy rules of the reads made for the status page.

The page itself (``/dashboard`` and its static files) holds no data and
is public; everything it shows comes from ``/v1`` calls made with the
caller's token, under these rules and those of the routes it uses
(nodes, decisions, recoveries).
"""

from oslo_policy import policy

from vmguard.policies import base

TIMELINE = 'vmguard:dashboard:timeline'
CYCLE = 'vmguard:dashboard:cycle'

rules = [
    policy.DocumentedRuleDefault(
        name=TIMELINE,
        check_str=base.RULE_READER,
        description='Host-state periods of all nodes over a range of '
                    'cycles, with the decisions made in it (the timeline '
                    'of the status page). The caller must also pass '
                    'vmguard:nodes:list and vmguard:decisions:list.',
        operations=[{'method': 'GET', 'path': '/v1/dashboard/timeline'}],
    ),
    policy.DocumentedRuleDefault(
        name=CYCLE,
        check_str=base.RULE_READER,
        description='What was not ok on a node in one cycle. The caller '
                    'must also pass vmguard:nodes:show.',
        operations=[{'method': 'GET',
                     'path': '/v1/dashboard/nodes/{name}/cycles/{cycle}'}],
    ),
]


def list_rules():
    return rules
