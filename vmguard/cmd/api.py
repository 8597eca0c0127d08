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
``vmguard.wsgi.api:application`` under uWSGI or mod_wsgi instead.
"""

import signal
import socketserver
import sys
import threading
from wsgiref import simple_server

from oslo_log import log as logging

from vmguard.api import deploy
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


def main(argv=None):
    argv = sys.argv if argv is None else argv
    vmg_config.prepare_service(argv)
    application = deploy.deploy(CONF)
    server = make_server(CONF.api.host_ip, CONF.api.port, application)
    host, port = server.server_address[:2]
    LOG.info('vmguard-api serving on http://%s:%s', host, port)

    def _stop(signum, frame):
        LOG.info('vmguard-api stopping on signal %s', signum)
        # shutdown() waits for serve_forever(): call it from a thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
