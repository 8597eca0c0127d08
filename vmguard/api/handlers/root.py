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

"""Version discovery: ``GET /`` and ``GET /v1``."""

from vmguard.api import microversion
from vmguard.api import util


def _version(req):
    return {
        'id': 'v1.0',
        'min_version': microversion.min_version_string(),
        'max_version': microversion.max_version_string(),
        'status': 'CURRENT',
        'links': [{'rel': 'self', 'href': req.application_url + '/v1'}],
    }


def home(req):
    return util.json_response({'versions': [_version(req)]})


def v1(req):
    return util.json_response({'version': _version(req)})
