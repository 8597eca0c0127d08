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

"""[api] options: the REST API service."""

from oslo_config import cfg

GROUP = cfg.OptGroup('api', title='REST API options')

opts = [
    cfg.HostAddressOpt('host_ip', default='127.0.0.1',
                       help='Address the API listens on.'),
    cfg.PortOpt('port', default=8788, help='Port the API listens on.'),
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=[('keystone', 'keystonemiddleware authtoken'),
                        ('noauth', 'trust X-Roles/X-Project-Id headers; '
                                   'for tests and the all-in-one demo '
                                   'only')],
               help='How API requests are authenticated.'),
    cfg.IntOpt('max_limit', default=1000, min=1, max=100000,
               help='Largest page size a list request may ask for.'),
    cfg.IntOpt('max_request_body_size', default=114688, min=1024,
               max=64 * 1024 * 1024,
               help='Largest request body, in bytes, the API reads. A '
                    'larger body is answered 413 without being read (or, '
                    'sent without a Content-Length, without reading past '
                    'the limit). vmguard\'s own bodies are a few hundred '
                    'bytes.'),
    cfg.IntOpt('client_socket_timeout', default=60, min=1, max=3600,
               help='vmguard-api (the built-in server) closes a '
                    'connection on which the client sends nothing for this '
                    'many seconds, and a request whose line, headers and '
                    'body take longer than this in all to arrive: a client '
                    'that sends half a request and waits cannot hold a '
                    'thread forever.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
