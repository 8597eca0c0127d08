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

"""vmguard: instance high availability for OpenStack.

vmguard never runs on eventlet. oslo.service (pulled in by oslo.messaging)
defaults to its eventlet backend; select the threading backend before
anything imports it.
"""

from oslo_service import backend as _backend


def _select_threading_backend():
    try:
        _backend.init_backend(_backend.BackendType.THREADING)
    except _backend.exceptions.BackendAlreadySelected:
        pass


_select_threading_backend()
