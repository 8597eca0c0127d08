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

"""Policy rules of the nodes routes."""

from oslo_policy import policy

from vmguard.policies import base

LIST = 'vmguard:nodes:list'
SHOW = 'vmguard:nodes:show'
UPDATE = 'vmguard:nodes:update'

rules = [
    policy.DocumentedRuleDefault(
        name=LIST,
        check_str=base.RULE_READER,
        description='List compute nodes and their latest host state.',
        operations=[{'method': 'GET', 'path': '/v1/nodes'}],
    ),
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.RULE_READER,
        description='Show a node, its host-state periods, hardware items '
                    'and their identity-path history.',
        operations=[
            {'method': 'GET', 'path': '/v1/nodes/{name}'},
            {'method': 'GET', 'path': '/v1/nodes/{name}/states'},
            {'method': 'GET', 'path': '/v1/nodes/{name}/hardware'},
            {'method': 'GET', 'path': '/v1/nodes/{name}/hardware-changes'},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=UPDATE,
        check_str=base.RULE_ADMIN,
        description='Change the operator switches of a node: maintenance, '
                    'enable (undo the disable of vmguard), dry-run.',
        operations=[
            {'method': 'PUT', 'path': '/v1/nodes/{name}/maintenance'},
            {'method': 'PUT', 'path': '/v1/nodes/{name}/enable'},
            {'method': 'PUT', 'path': '/v1/nodes/{name}/dry-run'},
        ],
    ),
]


def list_rules():
    return rules
