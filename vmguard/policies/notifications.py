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

"""Policy rules of the notifications of other monitors and of manual
recoveries."""

from oslo_policy import policy

from vmguard.policies import base

CREATE = 'vmguard:notifications:create'
LIST = 'vmguard:notifications:list'
SHOW = 'vmguard:notifications:show'
RECOVER_NODE = 'vmguard:nodes:recover'
RECOVER_VM = 'vmguard:vms:recover'

rules = [
    policy.DocumentedRuleDefault(
        name=CREATE,
        check_str=base.RULE_ADMIN,
        description='Send vmguard a notification of another monitor '
                    '(host_down, vm_crashed, process_down).',
        operations=[{'method': 'POST', 'path': '/v1/notifications'}],
    ),
    policy.DocumentedRuleDefault(
        name=LIST,
        check_str=base.RULE_READER,
        description='List notifications of other monitors with their '
                    'outcome.',
        operations=[{'method': 'GET', 'path': '/v1/notifications'}],
    ),
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.RULE_READER,
        description='Show a notification of another monitor with its '
                    'decisions and their recoveries.',
        operations=[{'method': 'GET', 'path': '/v1/notifications/{id}'}],
    ),
    policy.DocumentedRuleDefault(
        name=RECOVER_NODE,
        check_str=base.RULE_ADMIN,
        description='Recover a node now: fence it through its BMC and '
                    'evacuate its servers (a decision with rule manual).',
        operations=[{'method': 'POST', 'path': '/v1/nodes/{name}/recover'}],
    ),
    policy.DocumentedRuleDefault(
        name=RECOVER_VM,
        check_str=base.RULE_ADMIN,
        description='Recover a server now: hard reboot it where it is or '
                    'evacuate it (a decision with rule manual).',
        operations=[{'method': 'POST', 'path': '/v1/vms/{uuid}/recover'}],
    ),
]


def list_rules():
    return rules
