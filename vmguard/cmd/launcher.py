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

"""Run a vmguard daemon under oslo.service's launcher (threading backend).

The daemons (``vmguard-agent``, ``vmguard-engine``, ``vmguard-api``) run
in one process each, their service wrapped as an
:class:`oslo_service.service.ServiceBase` and launched by
oslo.service's in-process :class:`~oslo_service.service.Launcher` with
``restart_method='mutate'``. Signals:

* ``SIGTERM``/``SIGINT``: graceful stop. The service's ``stop()`` runs to
  its end (the engine stops taking messages, finishes the record in hand,
  flushes its writer and recoveries; the agent finishes its cycle), bounded
  by ``[DEFAULT] graceful_shutdown_timeout`` (oslo.service's option), after
  which the process exits with status 1.
* ``SIGHUP``: the configuration files are read again and the options
  marked mutable take effect (``Launcher.restart()`` ->
  ``ConfigOpts.mutate_config_files()``, then each service's ``reset()``):
  oslo.log's ``debug``, the engine's thresholds. The process keeps
  running; an immutable option that changed is logged and ignored.

oslo.service's ``ServiceLauncher`` (cotyledon) is not used: it forks a
worker, restarts it on SIGHUP and signals its whole process group.
"""

import os
import signal
import threading

from oslo_log import log as logging
from oslo_service import opts as service_opts
from oslo_service import service as os_service

from vmguard.common import rpc

LOG = logging.getLogger(__name__)


class DaemonService(os_service.ServiceBase):
    """One vmguard service as oslo.service sees it.

    ``service`` has ``start()``, ``request_stop()`` (signal-safe),
    ``wait(timeout) -> bool`` (True once a stop was requested) and
    ``stop()`` (graceful: returns when the work in hand is finished).
    ``on_reset`` is called after a SIGHUP re-read the configuration.
    """

    def __init__(self, service, on_reset=None):
        super().__init__()
        self.service = service
        self.on_reset = on_reset
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()
        self.failed = threading.Event()

    def start(self):
        try:
            self.service.start()
        except Exception:
            LOG.exception('%s failed to start', type(self.service).__name__)
            self.failed.set()

    def stop(self, graceful=True):
        with self._stop_lock:
            if self._stopped.is_set():
                return
            self.service.request_stop()
            try:
                self.service.stop()
            finally:
                self._stopped.set()

    def wait(self):
        self._stopped.wait()

    def reset(self):
        if self.on_reset is not None:
            self.on_reset()


def run(conf, service, on_reset=None):
    """Launch ``service`` and block until it has stopped.

    Returns 0, or 1 when the service failed to start.

    Signal handlers only set flags: the main thread does the work.
    """
    service_opts.register_service_opts(conf)
    daemon = DaemonService(service, on_reset=on_reset)
    launcher = os_service.Launcher(conf, restart_method='mutate')
    stopping = threading.Event()
    reload_wanted = threading.Event()

    def _terminate(signum, _frame):
        LOG.info('Signal %s received; stopping gracefully', signum)
        service.request_stop()
        stopping.set()

    def _hangup(_signum, _frame):
        reload_wanted.set()

    def _alarm(_signum, _frame):
        LOG.error('Graceful stop took longer than %ss '
                  '(graceful_shutdown_timeout); exiting now',
                  conf.graceful_shutdown_timeout)
        os._exit(1)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGHUP, _hangup)
    signal.signal(signal.SIGALRM, _alarm)
    launcher.launch_service(daemon)
    try:
        while not stopping.wait(0.5):
            if service.wait(0) or daemon.failed.is_set():
                break  # stopped by itself, or could not start
            if reload_wanted.is_set():
                reload_wanted.clear()
                LOG.info('SIGHUP: reading the configuration files again')
                try:
                    launcher.restart()
                    LOG.debug('Configuration files read again (debug '
                              'logging on)')
                except Exception:
                    LOG.exception('Reloading the configuration failed; '
                                  'running on with the previous one')
    finally:
        if conf.graceful_shutdown_timeout:
            signal.alarm(conf.graceful_shutdown_timeout)
        launcher.stop()
        launcher.wait()
        signal.alarm(0)
        rpc.cleanup()
    if daemon.failed.is_set():
        return 1
    LOG.info('Stopped')
    return 0
