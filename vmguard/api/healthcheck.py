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

"""Backends of oslo.middleware's ``/healthcheck`` for vmguard-api.

Entry points in the ``oslo.middleware.healthcheck`` namespace, named in
``[healthcheck] backends`` (vmguard's default: all three):

* ``vmguard_database`` -- ``SELECT 1`` on ``[database] connection``;
* ``vmguard_broker`` -- an AMQP login to every RabbitMQ host of
  ``[DEFAULT] transport_url``;
* ``vmguard_engine`` -- an RPC call of oslo.messaging's ping endpoint
  (``oslo_rpc_server_ping``, enabled by ``vmguard-engine``) on
  ``[engine] topic``: some engine takes messages and answers within
  :data:`ENGINE_TIMEOUT` seconds.

``/healthcheck`` answers 200 when all pass, 503 otherwise; the reason of
each backend is in the body (``detailed`` adds more, for operators only).
"""

import threading

import kombu
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_middleware.healthcheck import pluginbase
import sqlalchemy as sa

from vmguard.db.sqlalchemy import api as db_impl

LOG = logging.getLogger(__name__)

BACKENDS = ['vmguard_database', 'vmguard_broker', 'vmguard_engine']
ENGINE_TIMEOUT = 5
BROKER_TIMEOUT = 3


_lock = threading.Lock()
_transport = None


def _rpc_transport(conf):
    """One RPC transport per process (it also registers transport_url)."""
    global _transport
    with _lock:
        if _transport is None:
            _transport = messaging.get_rpc_transport(conf)
        return _transport


def _result(available, reason, details=None):
    return pluginbase.HealthcheckResult(available=available, reason=reason,
                                        details=details)


class DatabaseCheck(pluginbase.HealthcheckBaseExtension):

    def healthcheck(self, server_port):
        try:
            with db_impl.get_engine().connect() as conn:
                conn.execute(sa.text('SELECT 1'))
        except Exception as exc:
            LOG.warning('Healthcheck: database unreachable: %s', exc)
            return _result(False, 'database unreachable',
                           type(exc).__name__)
        return _result(True, 'database OK')


class BrokerCheck(pluginbase.HealthcheckBaseExtension):

    def healthcheck(self, server_port):
        _rpc_transport(self.oslo_conf)
        url = messaging.TransportURL.parse(self.oslo_conf,
                                           self.oslo_conf.transport_url)
        if url.transport not in (None, 'rabbit', 'amqp'):
            return _result(True, 'broker %s not checked' % url.transport)
        hosts = url.hosts or [messaging.TransportHost()]
        down = []
        for host in hosts:
            conn = kombu.Connection(
                hostname=host.hostname or 'localhost',
                port=host.port or 5672, userid=host.username or 'guest',
                password=host.password or 'guest',
                virtual_host=url.virtual_host or '/',
                connect_timeout=BROKER_TIMEOUT)
            try:
                conn.connect()
            except Exception as exc:
                LOG.warning('Healthcheck: broker %s:%s unreachable: %s',
                            host.hostname, host.port, exc)
                down.append('%s:%s' % (host.hostname, host.port or 5672))
            finally:
                conn.release()
        if down:
            return _result(False, 'broker unreachable', ', '.join(down))
        return _result(True, 'broker OK')


class EngineCheck(pluginbase.HealthcheckBaseExtension):

    def _client(self):
        target = messaging.Target(topic=self.oslo_conf.engine.topic,
                                  version='1.0')
        return messaging.get_rpc_client(_rpc_transport(self.oslo_conf),
                                        target, timeout=ENGINE_TIMEOUT)

    def healthcheck(self, server_port):
        try:
            answer = self._client().call({}, 'oslo_rpc_server_ping')
        except messaging.MessagingTimeout:
            return _result(False, 'no engine answered',
                           'topic %s' % self.oslo_conf.engine.topic)
        except Exception as exc:
            LOG.warning('Healthcheck: engine ping failed: %s', exc)
            return _result(False, 'engine unreachable', type(exc).__name__)
        if answer != 'pong':
            return _result(False, 'engine answered %r' % (answer,))
        return _result(True, 'engine OK')
