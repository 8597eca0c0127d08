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

"""Global operator settings: the dry-run switch (microversion 1.1)."""

from oslo_log import log as logging

from vmguard.api import microversion
from vmguard.api import util
from vmguard.api.schemas import settings as schema
from vmguard.db import api as db_api
from vmguard import policy
from vmguard.policies import settings as policies

LOG = logging.getLogger(__name__)


def _dry_run(context):
    value = db_api.setting_get(context, 'dry_run')
    config = util.CONF.recovery.dry_run
    return {
        # The API's setting (null: not set, the option applies).
        'dry_run': value,
        'config_dry_run': config,
        'effective': bool(config if value is None else value),
    }


@microversion.min_version('1.1')
def show_dry_run(req):
    context = util.context_of(req)
    policy.authorize(context, policies.SHOW)
    return util.json_response(_dry_run(context))


@microversion.min_version('1.1')
def set_dry_run(req):
    context = util.context_of(req)
    policy.authorize(context, policies.UPDATE)
    data = util.validate_body(req, schema.DRY_RUN)
    db_api.setting_set(context, 'dry_run', data['dry_run'])
    LOG.info('Global dry-run set to %s by user %s (request %s)',
             data['dry_run'], context.user_id, context.request_id)
    return util.json_response(_dry_run(context))
