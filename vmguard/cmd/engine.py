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

import signal
import sys

from oslo_config import cfg
from oslo_log import log as logging

from vmguard.common import config as vmg_config
from vmguard.common import rpc
from vmguard.engine import service

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    vmg_config.prepare_service(argv)
    engine = service.EngineService(CONF)

    def _terminate(signum, _frame):
        LOG.info('Signal %s received; stopping', signum)
        engine.request_stop()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    engine.start()
    try:
        while not engine.wait(1.0):
            pass
    finally:
        engine.stop()
        rpc.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
