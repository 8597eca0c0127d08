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

"""vmguard-api: serve the REST API with a threaded WSGI server.

The standard library's ``wsgiref`` server with one thread per request
(``socketserver.ThreadingMixIn``). For production scale, run
``vmguard.wsgi.api:application`` under uWSGI or mod_wsgi instead. Runs
under oslo.service's launcher (:mod:`vmguard.cmd.launcher`): SIGTERM stops
accepting and lets the requests in hand finish; SIGHUP re-reads the
configuration files (``debug``).
"""

import socketserver
import sys
import threading
from wsgiref import simple_server

from oslo_log import log as logging

from vmguard.api import deploy
from vmguard.cmd import launcher
from vmguard.common import config as vmg_config
import vmguard.conf

LOG = logging.getLogger(__name__)
CONF = vmguard.conf.CONF


class _RequestHandler(simple_server.WSGIRequestHandler):

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        LOG.info('%s %s', self.address_string(), format % args)

    def address_string(self):
        return self.client_address[0]


class ThreadingWSGIServer(socketserver.ThreadingMixIn,
                          simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # More than socketserver's 5: bursts of CLI/monitoring calls.
    request_queue_size = 128


def make_server(host, port, application):
    """A threaded WSGI server bound to (host, port); port 0 picks one."""
    return simple_server.make_server(host, port, application,
                                     server_class=ThreadingWSGIServer,
                                     handler_class=_RequestHandler)


class APIService:
    """The threaded WSGI server as a service of :mod:`.launcher`."""

    def __init__(self, server):
        self.server = server
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        host, port = self.server.server_address[:2]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={'poll_interval': 0.5},
            name='vmguard-api-server', daemon=True)
        self._thread.start()
        LOG.info('vmguard-api serving on http://%s:%s', host, port)

    def request_stop(self):
        self._stop.set()

    def wait(self, timeout=None):
        return self._stop.wait(timeout)

    def stop(self):
        # Stops accepting; requests in hand finish on their threads.
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()
        LOG.info('vmguard-api stopped')


def main(argv=None):
    argv = sys.argv if argv is None else argv
    vmg_config.prepare_service(argv)
    application = deploy.deploy(CONF)
    server = make_server(CONF.api.host_ip, CONF.api.port, application)
    return launcher.run(CONF, APIService(server))


if __name__ == '__main__':
    sys.exit(main())
