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

import warnings as _warnings

# eventlet is installed only because oslo.service lists it as a dependency;
# vmguard never imports or monkey-patches it. futurist probes for it with an
# import, which makes eventlet print its deprecation warning: silence that
# one warning so that operators do not think vmguard runs on eventlet.
_warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

from oslo_service import backend as _backend  # noqa: E402


def _select_threading_backend():
    try:
        _backend.init_backend(_backend.BackendType.THREADING)
    except _backend.exceptions.BackendAlreadySelected:
        pass


_select_threading_backend()

