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

from oslo_config import cfg

from vmguard.conf import agent
from vmguard.conf import alerts
from vmguard.conf import api
from vmguard.conf import coordination
from vmguard.conf import database
from vmguard.conf import default
from vmguard.conf import engine
from vmguard.conf import metrics
from vmguard.conf import notifications
from vmguard.conf import nova
from vmguard.conf import recovery
from vmguard.conf import retention
from vmguard.conf import upgrade_levels

CONF = cfg.CONF

default.register_opts(CONF)
agent.register_opts(CONF)
alerts.register_opts(CONF)
api.register_opts(CONF)
coordination.register_opts(CONF)
database.register_opts(CONF)
engine.register_opts(CONF)
metrics.register_opts(CONF)
notifications.register_opts(CONF)
nova.register_opts(CONF)
recovery.register_opts(CONF)
retention.register_opts(CONF)
upgrade_levels.register_opts(CONF)
