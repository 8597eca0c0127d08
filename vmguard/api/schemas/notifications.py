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

"""JSON Schemas of the notifications of other monitors and of the manual
recoveries.

A notification is validated twice: the envelope (``type`` first, so
that a wrong type is named as such), then the schema of its type, which
admits only that type's fields.
"""

TYPES = ['host_down', 'vm_crashed', 'process_down']

# Printable text: no control characters (names are compared byte for
# byte and end up in logs).
_TEXT = '^[^\\x00-\\x1f\\x7f]*$'
CLIENT_ID = {'type': 'string', 'minLength': 1, 'maxLength': 64,
             'pattern': '^[A-Za-z0-9][A-Za-z0-9._:@/+=-]*$'}
NODE = {'type': 'string', 'minLength': 1, 'maxLength': 255,
        'pattern': _TEXT}
UUID = {'type': 'string',
        'pattern': '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   '[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'}
SERVICE = {'type': 'string', 'minLength': 1, 'maxLength': 64,
           'pattern': _TEXT}
# libvirt's reason names in lower case (SPEC section 2).
CRASH_REASON = {'type': 'string', 'pattern': '^[a-z][a-z_]{0,31}$'}
SOURCE = {'type': 'string', 'minLength': 1, 'maxLength': 64,
          'pattern': _TEXT}
DETAIL = {'type': 'string', 'maxLength': 1000}
# ISO 8601; parsed by the handler (a clear 400 when it is not a date).
GENERATED_AT = {'type': 'string', 'minLength': 1, 'maxLength': 64}
REASON = {'type': 'string', 'minLength': 1, 'maxLength': 255,
          'pattern': '^[^\\x00-\\x1f\\x7f]*[^\\x00-\\x20\\x7f][^\\x00-'
                     '\\x1f\\x7f]*$'}

_COMMON = {
    'id': CLIENT_ID,
    'type': {'type': 'string', 'enum': TYPES},
    'node': NODE,
    'source': SOURCE,
    'detail': DETAIL,
    'generated_at': GENERATED_AT,
}

ENVELOPE = {
    'type': 'object',
    'properties': {
        'notification': {
            'type': 'object',
            'properties': {'type': {'type': 'string', 'enum': TYPES}},
            'required': ['id', 'type', 'node'],
        },
    },
    'required': ['notification'],
    'additionalProperties': False,
}


def _of_type(required=(), **fields):
    properties = dict(_COMMON)
    properties.update(fields)
    return {
        'type': 'object',
        'properties': properties,
        'required': ['id', 'type', 'node'] + list(required),
        'additionalProperties': False,
    }


BY_TYPE = {
    'host_down': _of_type(),
    'vm_crashed': _of_type(('vm',), vm=UUID, reason=CRASH_REASON),
    'process_down': _of_type(('service',), service=SERVICE),
}

RECOVER_NODE = {
    'type': 'object',
    'properties': {'reason': REASON},
    'required': ['reason'],
    'additionalProperties': False,
}

RECOVER_VM = {
    'type': 'object',
    'properties': {
        'reason': REASON,
        'action': {'type': 'string', 'enum': ['reboot', 'evacuate']},
    },
    'required': ['reason'],
    'additionalProperties': False,
}
