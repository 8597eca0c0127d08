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

"""Payloads of vmguard's versioned notifications (what crosses the bus)."""

from oslo_versionedobjects import fields

from vmguard.objects import base as objects_base


@objects_base.VmguardObjectRegistry.register
class DecisionPayload(objects_base.VmguardObject):
    """Payload of ``vmguard.decision.create``."""

    # Version 1.0: initial version
    VERSION = '1.0'

    fields = {
        'uuid': fields.StringField(),
        'incident_key': fields.StringField(),
        'node': fields.StringField(),
        'cycle': fields.IntegerField(),
        'action': fields.StringField(),
        'vm': fields.StringField(nullable=True),
        'service': fields.StringField(nullable=True),
        'target': fields.StringField(nullable=True),
        'rule': fields.StringField(),
        'reason': fields.StringField(),
        'engine': fields.StringField(nullable=True),
    }

    @classmethod
    def from_row(cls, row):
        return cls(uuid=row.uuid, incident_key=row.incident_key,
                   node=row.node, cycle=row.cycle, action=row.action,
                   vm=row.vm, service=row.service, target=row.target,
                   rule=row.rule, reason=row.reason, engine=row.engine)


@objects_base.VmguardObjectRegistry.register
class RecoveryPayload(objects_base.VmguardObject):
    """Payload of ``vmguard.recovery.start``/``.end``/``.error``."""

    # Version 1.0: initial version
    VERSION = '1.0'

    fields = {
        'decision': fields.ObjectField('DecisionPayload'),
        'status': fields.StringField(nullable=True),
        'error': fields.StringField(nullable=True),
    }


@objects_base.VmguardObjectRegistry.register
class AlertPayload(objects_base.VmguardObject):
    """Payload of ``vmguard.alert``: an escalation, or a recovery that
    gave up, that a person must look at."""

    # Version 1.0: initial version
    VERSION = '1.0'

    fields = {
        'decision': fields.ObjectField('DecisionPayload'),
        'recovery': fields.StringField(),
        'status': fields.StringField(),
        'message': fields.StringField(nullable=True),
    }
