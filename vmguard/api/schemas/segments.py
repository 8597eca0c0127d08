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

"""JSON Schemas of the bodies of the failover segment routes."""

from vmguard.objects import segment as fields

# Printable text with a UTF-8 form (SPEC.md, "One validator"): no control
# characters, line separators or unpaired surrogates.
_TEXT = '^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff]*$'

NAME = {'type': 'string', 'minLength': 1, 'maxLength': fields.NAME_MAX,
        'pattern': _TEXT}
NODE = {'type': 'string', 'minLength': 1, 'maxLength': 255,
        'pattern': _TEXT}
METHOD = {'type': 'string', 'enum': list(fields.RECOVERY_METHODS)}
DESCRIPTION = {'type': ['string', 'null'],
               'maxLength': fields.DESCRIPTION_MAX, 'pattern': _TEXT}

HOST = {
    'type': 'object',
    'properties': {
        'name': NODE,
        'reserved': {'type': 'boolean'},
    },
    'required': ['name'],
    'additionalProperties': False,
}

CREATE = {
    'type': 'object',
    'properties': {
        'name': NAME,
        'recovery_method': METHOD,
        'description': DESCRIPTION,
        'hosts': {'type': 'array', 'items': HOST, 'maxItems': 10000},
    },
    'required': ['name', 'recovery_method'],
    'additionalProperties': False,
}

UPDATE = {
    'type': 'object',
    'properties': {
        'name': NAME,
        'recovery_method': METHOD,
        'description': DESCRIPTION,
    },
    'minProperties': 1,
    'additionalProperties': False,
}

HOST_UPDATE = {
    'type': 'object',
    'properties': {
        'reserved': {'type': 'boolean'},
    },
    'required': ['reserved'],
    'additionalProperties': False,
}
