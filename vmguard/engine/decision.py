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

"""A decision of the judgment core (SPEC.md section 2)."""

import hashlib

ACTIONS = ('reboot', 'evacuate', 'migrate_all', 'disable_node',
           'restart_service', 'escalate')
# Length of the incident key column (decisions.incident_key).
INCIDENT_KEY_MAX = 255


class Decision:
    """One decision line.

    ``incident_key`` is the same whoever computes the decision (it is made
    of the rule, the node, the cycle the incident began and what it is
    about), so that the database stores a decision exactly once even when
    two engines judge the same incident. ``evidence`` is a JSON-able dict
    with what made the decision: the host state of the cycle, the items
    that were not ok, the cycles involved.
    """

    __slots__ = ('node', 'cycle', 'action', 'vm', 'service', 'target',
                 'rule', 'reason', 'evidence', 'incident_key')

    def __init__(self, node, cycle, action, rule, reason, vm=None,
                 service=None, target=None, evidence=None,
                 incident_key=None):
        self.node = node
        self.cycle = cycle
        self.action = action
        self.vm = vm
        self.service = service
        self.target = target
        self.rule = rule
        self.reason = reason
        self.evidence = evidence or {}
        key = incident_key or ':'.join(
            str(p) for p in (rule, node, cycle, action, vm or service or ''))
        if len(key) > INCIDENT_KEY_MAX:
            # A long node name: keep the key unique and within its column.
            digest = hashlib.sha256(key.encode('utf-8')).hexdigest()
            key = key[:INCIDENT_KEY_MAX - 65] + '#' + digest
        self.incident_key = key

    def to_dict(self):
        """The SPEC.md decision object, keys in the documented order."""
        return {'node': self.node, 'cycle': self.cycle,
                'action': self.action, 'vm': self.vm,
                'service': self.service, 'target': self.target,
                'rule': self.rule, 'reason': self.reason}

    def __repr__(self):
        return '<Decision %s %s@%s %s vm=%s svc=%s target=%s>' % (
            self.rule, self.node, self.cycle, self.action, self.vm,
            self.service, self.target)
