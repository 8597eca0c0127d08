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

"""Policy rules of the recoveries routes."""

from oslo_policy import policy

from vmguard.policies import base

LIST = 'vmguard:recoveries:list'
SHOW = 'vmguard:recoveries:show'

rules = [
    policy.DocumentedRuleDefault(
        name=LIST,
        check_str=base.RULE_READER,
        description='List recoveries and their status.',
        operations=[{'method': 'GET', 'path': '/v1/recoveries'}],
    ),
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.RULE_READER,
        description='Show a recovery with the Nova actions it issued.',
        operations=[{'method': 'GET', 'path': '/v1/recoveries/{uuid}'}],
    ),
]


def list_rules():
    return rules
