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


"""An engine process for the crash tests: resumes unfinished recoveries.

    python -m vmguard.tests.functional.nova.engine_process --config-file F

Runs the recovery executor over the ``nova`` back end until every
unfinished recovery is done, prints the final statuses as JSON and exits.
The test kills it (SIGKILL) in the middle and starts it again.
"""

import json
import sys

from oslo_log import log as logging

from vmguard import conf
from vmguard.compute import nova
from vmguard.engine import recovery


def main(argv):
    logging.register_options(conf.CONF)
    conf.CONF(argv[1:], project='vmguard')
    logging.setup(conf.CONF, 'vmguard')
    executor = recovery.RecoveryExecutor(driver=nova.NovaComputeDriver())
    try:
        statuses = executor.resume_unfinished(wait=True)
    finally:
        executor.stop()
    print('RESULT ' + json.dumps(statuses))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
