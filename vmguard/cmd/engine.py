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

"""vmguard-engine: RPC server, judgment, storage, recovery.

Runs until SIGTERM/SIGINT. Several engines may run side by side when
``[coordination] backend_url`` is set.
"""

import sys

from oslo_config import cfg

from vmguard.common import config as vmg_config
from vmguard.engine import service

CONF = cfg.CONF


def main(argv=None):
    argv = sys.argv if argv is None else argv
    vmg_config.prepare_service(argv)
    vmg_config.run_until_stopped(service.EngineService(CONF))
    return 0


if __name__ == '__main__':
    sys.exit(main())
