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

import json
import socket
import socketserver
import sys
import threading
from wsgiref import simple_server

from oslo_log import log as logging

from vmguard.api import deploy
from vmguard.api import readiness
from vmguard.cmd import launcher
from vmguard.common import config as vmg_config
import vmguard.conf

LOG = logging.getLogger(__name__)
CONF = vmguard.conf.CONF


class _RequestHandler(simple_server.WSGIRequestHandler):

    # [api] client_socket_timeout, set by make_server: socketserver makes
    # it the connection's idle timeout; handle() also makes it the time
    # the whole request may take to arrive.
    timeout = None

    def handle(self):
        timer = None
        if self.timeout:
            timer = threading.Timer(self.timeout, self._stop_reading)
            timer.daemon = True
            timer.start()
        try:
            super().handle()
        finally:
            if timer is not None:
                timer.cancel()

    def _stop_reading(self):
        # A request still arriving ends (reads see the end of the stream);
        # one already read is not affected (one request per connection).
        try:
            self.connection.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def send_error(self, code, message=None, explain=None):
        """The server's own errors (414, a malformed request line) in the
        OpenStack error format, as the application answers."""
        title = self.responses.get(code, ('Error',))[0]
        body = json.dumps({'errors': [{
            'status': code, 'title': title, 'detail': message or title,
            'code': 'vmguard.undefined_code', 'request_id': None}]}).encode()
        self.log_error('code %d, message %s', code, message)
        self.send_response(code, title)
        self.send_header('Connection', 'close')
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

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

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (TimeoutError, ConnectionError)):
            # A client that went silent or away: not a server error.
            LOG.info('%s: connection closed: %s', client_address[0], exc)
            return
        super().handle_error(request, client_address)


def make_server(host, port, application, timeout=None):
    """A threaded WSGI server bound to (host, port); port 0 picks one.

    :param timeout: seconds of client silence, and in all for a request
        to arrive, before the connection is closed (None: no limit).
    """
    handler = type('RequestHandler', (_RequestHandler,),
                   {'timeout': timeout})
    return simple_server.make_server(host, port, application,
                                     server_class=ThreadingWSGIServer,
                                     handler_class=handler)


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
    try:
        application = deploy.deploy(CONF)
    except readiness.NotConfigured as exc:
        LOG.error('vmguard-api cannot start: %s', exc)
        sys.stderr.write('vmguard-api cannot start: %s\n' % exc)
        return 1
    server = make_server(CONF.api.host_ip, CONF.api.port, application,
                         CONF.api.client_socket_timeout)
    return launcher.run(CONF, APIService(server))


if __name__ == '__main__':
    sys.exit(main())
