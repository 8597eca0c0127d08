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

"""Policy rules of the failover segment routes."""

from oslo_policy import policy

from vmguard.policies import base

LIST = 'vmguard:segments:list'
SHOW = 'vmguard:segments:show'
CREATE = 'vmguard:segments:create'
UPDATE = 'vmguard:segments:update'
DELETE = 'vmguard:segments:delete'
HOST_ADD = 'vmguard:segments:host:add'
HOST_UPDATE = 'vmguard:segments:host:update'
HOST_REMOVE = 'vmguard:segments:host:remove'

rules = [
    policy.DocumentedRuleDefault(
        name=LIST,
        check_str=base.RULE_READER,
        description='List failover segments.',
        operations=[{'method': 'GET', 'path': '/v1/segments'}],
    ),
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.RULE_READER,
        description='Show a failover segment and its hosts.',
        operations=[{'method': 'GET', 'path': '/v1/segments/{segment}'},
                    {'method': 'GET',
                     'path': '/v1/segments/{segment}/hosts'}],
    ),
    policy.DocumentedRuleDefault(
        name=CREATE,
        check_str=base.RULE_ADMIN,
        description='Create a failover segment.',
        operations=[{'method': 'POST', 'path': '/v1/segments'}],
    ),
    policy.DocumentedRuleDefault(
        name=UPDATE,
        check_str=base.RULE_ADMIN,
        description='Rename a failover segment or change its recovery '
                    'method or description.',
        operations=[{'method': 'PATCH', 'path': '/v1/segments/{segment}'}],
    ),
    policy.DocumentedRuleDefault(
        name=DELETE,
        check_str=base.RULE_ADMIN,
        description='Delete a failover segment (its nodes stay, outside '
                    'any segment).',
        operations=[{'method': 'DELETE',
                     'path': '/v1/segments/{segment}'}],
    ),
    policy.DocumentedRuleDefault(
        name=HOST_ADD,
        check_str=base.RULE_ADMIN,
        description='Add a node (reserved or not) to a failover segment.',
        operations=[{'method': 'POST',
                     'path': '/v1/segments/{segment}/hosts'}],
    ),
    policy.DocumentedRuleDefault(
        name=HOST_UPDATE,
        check_str=base.RULE_ADMIN,
        description='Make a host of a failover segment reserved or not.',
        operations=[{'method': 'PATCH',
                     'path': '/v1/segments/{segment}/hosts/{node}'}],
    ),
    policy.DocumentedRuleDefault(
        name=HOST_REMOVE,
        check_str=base.RULE_ADMIN,
        description='Remove a node from a failover segment.',
        operations=[{'method': 'DELETE',
                     'path': '/v1/segments/{segment}/hosts/{node}'}],
    ),
]


def list_rules():
    return rules
