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

"""JSON Schemas of the bodies of the node routes."""

MAINTENANCE = {
    'type': 'object',
    'properties': {
        'maintenance': {'type': 'boolean'},
    },
    'required': ['maintenance'],
    'additionalProperties': False,
}

# Enable takes no parameters; an empty object (or no body at all).
ENABLE = {
    'type': 'object',
    'properties': {},
    'additionalProperties': False,
}

# null: follow the global setting again.
DRY_RUN = {
    'type': 'object',
    'properties': {
        'dry_run': {'type': ['boolean', 'null']},
    },
    'required': ['dry_run'],
    'additionalProperties': False,
}
