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


"""vmguard-agent: the compute-node agent.

``vmguard-agent`` runs the cycle loop under oslo.service's launcher
(:mod:`vmguard.cmd.launcher`) until SIGTERM/SIGINT; SIGHUP re-reads the
configuration files.
``vmguard-agent --once --print`` collects one snapshot, prints it as
SPEC.md JSON and exits (nothing is sent); ``--once`` alone sends it.
"""

import json
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from vmguard.agent import manager as agent_manager
from vmguard.cmd import launcher
from vmguard.common import config as vmg_config
from vmguard.common import metrics
from vmguard.common import rpc

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

cli_opts = [
    cfg.BoolOpt('once', default=False,
                help='Collect one snapshot and exit.'),
    cfg.BoolOpt('print', default=False,
                help='With --once: print the snapshot as SPEC.md JSON on '
                     'stdout instead of sending it to the engine.'),
]


def main(argv=None):
    argv = sys.argv if argv is None else argv
    if 'once' not in CONF:
        CONF.register_cli_opts(cli_opts)
    # With --print, stdout carries the snapshot: logs go to stderr.
    vmg_config.prepare_service(argv, log_to_stderr='--print' in argv)
    manager = agent_manager.AgentManager(CONF)
    if CONF.once:
        try:
            snap = manager.collect()
            if CONF.print:
                sys.stdout.write(json.dumps(snap.to_dict(), sort_keys=True)
                                 + '\n')
                return 0
            sent = manager.send_snapshot(snap)
            if not sent:
                LOG.error('The engine is not reachable; snapshot of cycle '
                          '%s not sent', snap.cycle)
            return 0 if sent else 1
        finally:
            manager.stop()
            rpc.cleanup()

    # Under oslo.service's launcher: SIGTERM stops after the cycle in
    # hand (h12's agent_stop record is sent from AgentManager.stop());
    # SIGHUP applies the mutable [agent] timeouts and thresholds, read
    # from the configuration at each cycle.
    metrics.watch_agent(manager)
    metrics.serve(CONF, CONF.metrics.agent_port)
    rc = launcher.run(CONF, manager)
    hung = manager.hung_collectors()
    if hung:
        # A collector stuck in the kernel (a dead NFS server) would keep
        # the interpreter from exiting: its pool thread is joined at exit.
        LOG.warning('Collectors %s still hung; exiting without waiting',
                    ', '.join(hung))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


if __name__ == '__main__':
    sys.exit(main())
