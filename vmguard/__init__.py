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

import sys as _sys

# eventlet is installed only because oslo.service lists it as a dependency;
# vmguard never runs on it. futurist probes for it at import time
# (``try: import eventlet``), which imports and initialises eventlet (and
# prints its deprecation warning). In vmguard's processes an import of
# eventlet fails, as if it were not installed, from here on: the probe
# finds none and futurist uses threads only. A process that imported
# eventlet before vmguard keeps it.


class _EventletBlocker:
    """A meta path finder refusing eventlet and its submodules."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == 'eventlet' or name.startswith('eventlet.'):
            raise ModuleNotFoundError(
                'vmguard runs without eventlet', name=name)
        return None


if 'eventlet' not in _sys.modules and not any(
        type(f).__name__ == '_EventletBlocker' for f in _sys.meta_path):
    _sys.meta_path.insert(0, _EventletBlocker())

from oslo_service import backend as _backend  # noqa: E402


def _select_threading_backend():
    try:
        _backend.init_backend(_backend.BackendType.THREADING)
    except _backend.exceptions.BackendAlreadySelected:
        pass


_select_threading_backend()

