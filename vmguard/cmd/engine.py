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

Runs under oslo.service's launcher (:mod:`vmguard.cmd.launcher`) until
SIGTERM/SIGINT, which stop it gracefully (the record in hand is finished
and stored); SIGHUP re-reads the configuration files and applies the
mutable ``[engine]`` thresholds and ``debug``. Several engines may run
side by side when ``[coordination] backend_url`` is set.
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging
from oslo_messaging.rpc import dispatcher as rpc_dispatcher

from vmguard.cmd import launcher
from vmguard.common import config as vmg_config
from vmguard.common import metrics
from vmguard.engine import service

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

#: [engine] options marked mutable: the judges and rules read them from
#: the pipeline's Thresholds object at each use, updated in place.
MUTABLE_THRESHOLDS = ('max_reboots', 'reboot_window', 'identity_cycles',
                      'external_cycles', 'service_cycles', 'silent_cycles')


def apply_thresholds(conf, engine_service):
    """Copy the mutable thresholds into the running pipeline."""
    engine = engine_service.engine
    if engine is None:
        return {}
    thresholds = engine.pipeline.t
    changed = {}
    for name in MUTABLE_THRESHOLDS:
        value = getattr(conf.engine, name)
        if getattr(thresholds, name) != value:
            changed[name] = value
            setattr(thresholds, name, value)
    if changed:
        LOG.info('Thresholds now in force: %s', changed)
    return changed


def enable_rpc_ping(conf):
    """oslo.messaging's ping endpoint (``oslo_rpc_server_ping``) on the
    engine's RPC server: /healthcheck's engine check calls it."""
    # Registered by oslo.messaging's RPCDispatcher only when it is built;
    # its list_opts() imports every driver (and eventlet through them).
    conf.register_opts(rpc_dispatcher._dispatcher_opts)
    conf.set_default('rpc_ping_enabled', True)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    vmg_config.prepare_service(argv)
    enable_rpc_ping(CONF)
    engine_service = service.EngineService(CONF)
    metrics.watch_engine(engine_service)
    metrics.serve(CONF, CONF.metrics.engine_port)
    return launcher.run(
        CONF, engine_service,
        on_reset=lambda: apply_thresholds(CONF, engine_service))


if __name__ == '__main__':
    sys.exit(main())
