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

"""Process start-up: parse config, set up logging."""

from oslo_log import log as logging

from vmguard.common import version
import vmguard.conf

CONF = vmguard.conf.CONF
LOG = logging.getLogger(__name__)


def prepare_service(argv, default_config_files=None, log_to_stderr=False):
    """Parse the command line and config files, set up logging.

    :param log_to_stderr: for commands whose stdout is their result
        (``vmguard-manage replay``): logs go to stderr unless a log file
        is configured.
    """
    if 'log_file' not in CONF:
        logging.register_options(CONF)
    if log_to_stderr:
        CONF.set_default('use_stderr', True)
    logging.set_defaults(default_log_levels=logging.get_default_log_levels()
                         + ['stevedore=WARN', 'alembic=WARN'])
    CONF(argv[1:], project='vmguard', version=version.version_string(),
         default_config_files=default_config_files)
    logging.setup(CONF, 'vmguard')
