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

"""Versioned RPC payloads: the snapshot and the crash event.

Agents build these and cast them; the engine receives them through the
serializer and turns them into :mod:`vmguard.objects.records` records with
``to_record()``. ``from_json_dict`` builds one from the SPEC.md JSON form
after validating it with the same checks ``replay`` applies, so a record
the engine accepts is exactly a record ``replay`` accepts.
"""

from oslo_versionedobjects import fields

from vmguard.objects import base
from vmguard.objects import records


class _Convertible:
    # Record class and its attribute names, set by subclasses.
    _record_cls = None

    @classmethod
    def from_record(cls, rec):
        obj = cls()
        for name in cls.fields:
            value = getattr(rec, name)
            if value is not None:
                setattr(obj, name, value)
        return obj

    def to_record(self):
        kwargs = {name: getattr(self, name) if self.obj_attr_is_set(name)
                  else None for name in self.fields}
        return self._record_cls(**kwargs)


@base.VmguardObjectRegistry.register
class HardwareItem(_Convertible, base.VmguardObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    _record_cls = records.HardwareItem

    fields = {
        'id': fields.StringField(),
        'kind': fields.StringField(),
        'health': fields.EnumField(sorted(records.HARDWARE_HEALTH)),
        'identity': fields.StringField(nullable=True),
        'identity_path': fields.EnumField(sorted(records.IDENTITY_PATHS),
                                          nullable=True),
        'detail': fields.DictOfNullableStringsField(nullable=True),
    }


@base.VmguardObjectRegistry.register
class ExternalItem(_Convertible, base.VmguardObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    _record_cls = records.ExternalItem

    fields = {
        'id': fields.StringField(),
        'kind': fields.StringField(),
        'health': fields.EnumField(sorted(records.EXTERNAL_HEALTH)),
    }


@base.VmguardObjectRegistry.register
class ServiceState(_Convertible, base.VmguardObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    _record_cls = records.ServiceState

    fields = {
        'name': fields.StringField(),
        'state': fields.EnumField(sorted(records.SERVICE_STATES)),
    }


@base.VmguardObjectRegistry.register
class VMInfo(_Convertible, base.VmguardObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    _record_cls = records.VMInfo

    fields = {
        'uuid': fields.StringField(),
        'state': fields.EnumField(sorted(records.VM_STATES)),
        'reason': fields.StringField(nullable=True),
        'vcpus': fields.NonNegativeIntegerField(),
        'ram_mb': fields.NonNegativeIntegerField(),
        'task_state': fields.StringField(nullable=True),
    }


@base.VmguardObjectRegistry.register
class Snapshot(base.VmguardObject):
    """One node, one collection cycle (SPEC.md section 2)."""

    # Version 1.0: initial version
    VERSION = '1.0'

    fields = {
        'node': fields.StringField(),
        'cycle': fields.NonNegativeIntegerField(),
        'collected_at': fields.StringField(nullable=True),
        'hardware': fields.ListOfObjectsField('HardwareItem'),
        'external': fields.ListOfObjectsField('ExternalItem'),
        'services': fields.ListOfObjectsField('ServiceState'),
        'vcpus_free': fields.NonNegativeIntegerField(nullable=True),
        'ram_mb_free': fields.NonNegativeIntegerField(nullable=True),
        'vms': fields.ListOfObjectsField('VMInfo'),
    }

    @classmethod
    def from_record(cls, rec):
        return cls(
            node=rec.node, cycle=rec.cycle, collected_at=rec.collected_at,
            hardware=[HardwareItem.from_record(h) for h in rec.hardware],
            external=[ExternalItem.from_record(e) for e in rec.external],
            services=[ServiceState.from_record(s) for s in rec.services],
            vcpus_free=rec.vcpus_free, ram_mb_free=rec.ram_mb_free,
            vms=[VMInfo.from_record(v) for v in rec.vms])

    @classmethod
    def from_json_dict(cls, data):
        """Validate the SPEC.md JSON form and build the object.

        :raises: InvalidRecord naming the offending field.
        """
        return cls.from_record(records.parse_snapshot(data))

    def to_record(self):
        return records.Snapshot(
            self.node, self.cycle, self.collected_at,
            [h.to_record() for h in self.hardware],
            [e.to_record() for e in self.external],
            [s.to_record() for s in self.services],
            self.vcpus_free, self.ram_mb_free,
            [v.to_record() for v in self.vms])

    def to_json_dict(self):
        return self.to_record().to_dict()


@base.VmguardObjectRegistry.register
class VMEvent(_Convertible, base.VmguardObject):
    """A crash event that arrived between cycles."""

    # Version 1.0: initial version
    VERSION = '1.0'
    _record_cls = records.VMEvent

    fields = {
        'node': fields.StringField(),
        'cycle': fields.NonNegativeIntegerField(),
        'uuid': fields.StringField(),
        'event': fields.StringField(),
        'reason': fields.StringField(nullable=True),
        'source': fields.StringField(nullable=True),
    }

    @classmethod
    def from_json_dict(cls, data):
        return cls.from_record(records.parse_vm_event(data))

    def to_json_dict(self):
        return self.to_record().to_dict()
