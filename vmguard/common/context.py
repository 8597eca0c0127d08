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

"""Request context of vmguard (oslo.context + oslo.db enginefacade)."""

from oslo_context import context as o_context
from oslo_db.sqlalchemy import enginefacade


@enginefacade.transaction_context_provider
class RequestContext(o_context.RequestContext):
    """Security context and request information, with a DB session."""

    def to_policy_values(self):
        values = super().to_policy_values()
        return values


def get_admin_context():
    return RequestContext(is_admin=True, overwrite=False)
