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

"""Policy rules of the settings routes."""

from oslo_policy import policy

from vmguard.policies import base

SHOW = 'vmguard:settings:show'
UPDATE = 'vmguard:settings:update'

rules = [
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.RULE_READER,
        description='Show the global dry-run switch.',
        operations=[{'method': 'GET', 'path': '/v1/dry-run'}],
    ),
    policy.DocumentedRuleDefault(
        name=UPDATE,
        check_str=base.RULE_ADMIN,
        description='Change the global dry-run switch.',
        operations=[{'method': 'PUT', 'path': '/v1/dry-run'}],
    ),
]


def list_rules():
    return rules
