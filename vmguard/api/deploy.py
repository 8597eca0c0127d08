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

"""Build the WSGI middleware stack of the REST API.

From the outside in: ``HTTPProxyToWSGI`` (behind TLS-terminating
proxies: with ``[oslo_middleware] enable_proxy_headers_parsing`` the
links the API returns use the scheme and host the client used),
``/healthcheck`` (oslo.middleware; database, broker and engine, see
:mod:`vmguard.api.healthcheck`; unauthenticated), request id, fault
wrapper (an unexpected exception becomes a 500 in the OpenStack error
format, logged with its request id), authentication (keystonemiddleware
or noauth), request context (401 without an identity), microversion,
then the route handler.

``etc/vmguard/api-paste.ini`` builds the same stack from the filter
factories below.
"""

from keystonemiddleware import auth_token
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_middleware import healthcheck as os_healthcheck
from oslo_middleware.healthcheck import opts as healthcheck_opts
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id

from vmguard.api import auth
from vmguard.api import handler
from vmguard.api import healthcheck
from vmguard.api import limits
from vmguard.api import readiness
from vmguard.api import microversion
from vmguard.api import util
import vmguard.conf
from vmguard import policy

LOG = logging.getLogger(__name__)


class FaultWrapper:
    """Turn any uncaught exception into a JSON 500; never leak a trace."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        try:
            return self.application(environ, start_response)
        except db_exc.DBConnectionError:
            LOG.exception('Database unreachable in %s %s (request %s)',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'),
                          environ.get(util.REQUEST_ID_ENVIRON))
            resp = util.error_response(
                environ, 503, 'The database is unreachable; retry later.',
                util.DB_UNAVAILABLE, {'Retry-After': '5'})
            return resp(environ, start_response)
        except Exception:
            LOG.exception('Unexpected error in %s %s (request %s)',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'),
                          environ.get(util.REQUEST_ID_ENVIRON))
            resp = util.error_response(
                environ, 500, 'An unexpected error occurred; the API log '
                'has the details under this request id.')
            return resp(environ, start_response)


def _keystone(application, conf):
    app = auth_token.AuthProtocol(application, {
        'oslo_config_config': conf,
        # Let vmguard answer 401 itself (its error format, public root).
        'delay_auth_decision': True,
    })
    return app


HEALTHCHECK_PATH = '/healthcheck'


class HealthcheckRouter:
    """``GET/HEAD /healthcheck`` to oslo.middleware's healthcheck
    application, every other path to the API."""

    def __init__(self, application, healthcheck_app):
        self.application = application
        self.healthcheck_app = healthcheck_app

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '').rstrip('/') == HEALTHCHECK_PATH:
            return self.healthcheck_app(environ, start_response)
        return self.application(environ, start_response)


def with_healthcheck(application, conf):
    """``/healthcheck`` beside ``application``; vmguard's backends unless
    ``[healthcheck] backends`` names others."""
    conf.register_opts(healthcheck_opts.HEALTHCHECK_OPTS, group='healthcheck')
    conf.set_default('backends', healthcheck.BACKENDS, group='healthcheck')
    checker = os_healthcheck.Healthcheck(None, {'oslo_config_config': conf})
    return HealthcheckRouter(application, checker)


def with_proxy_headers(application, conf):
    return http_proxy_to_wsgi.HTTPProxyToWSGI(application,
                                              {'oslo_config_config': conf})


def deploy(conf):
    """The WSGI application of vmguard-api, configured from ``conf``."""
    application = core(conf)
    application = with_healthcheck(application, conf)
    return with_proxy_headers(application, conf)


def core(conf):
    """The API without the outer proxy and healthcheck layers."""
    policy.init(conf)
    application = handler.Handler()
    application = microversion.MicroversionMiddleware(application)
    if conf.api.auth_strategy == 'keystone':
        # auth_token adds WWW-Authenticate to vmguard's 401 answers.
        application = auth.ContextMiddleware(application)
        application = _keystone(application, conf)
        readiness.check_keystone(conf)
    else:
        LOG.warning('[api] auth_strategy is noauth: identity headers are '
                    'trusted as sent. Never use this in production.')
        application = auth.ContextMiddleware(application)
        application = auth.NoAuthMiddleware(application)
    application = readiness.SchemaCheck(application)
    application = FaultWrapper(application)
    application = limits.BodySizeLimit(application,
                                       conf.api.max_request_body_size)
    application = request_id.RequestId(application)
    return application


def app_factory(global_config, **local_config):
    """paste.deploy application factory (etc/vmguard/api-paste.ini)."""
    return core(vmguard.conf.CONF)


def healthcheck_filter_factory(global_config, **local_config):
    return lambda app: with_healthcheck(app, vmguard.conf.CONF)


def proxy_filter_factory(global_config, **local_config):
    return lambda app: with_proxy_headers(app, vmguard.conf.CONF)
