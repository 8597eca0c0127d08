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

"""Base rules the others are built from."""

from oslo_policy import policy

RULE_ADMIN = 'rule:admin_api'
RULE_READER = 'rule:reader_api'

rules = [
    policy.RuleDefault(
        'admin_api', 'role:admin',
        description='Operators of vmguard: may read and change everything.'),
    # Not "role:reader" alone: Keystone gives every member of a project
    # the implied reader role of that project, and vmguard's data is the
    # whole cloud's (every node, serial number, VM and decision).
    policy.RuleDefault(
        'reader_api', 'role:admin or (role:reader and system_scope:all)',
        description='May read what vmguard knows and did about the whole '
                    'cloud, change nothing: the admin role, or the reader '
                    'role of a system-scoped token. The reader role of a '
                    'project (which Keystone implies for every project '
                    'member) is not enough.'),
]


def list_rules():
    return rules
