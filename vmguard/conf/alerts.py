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

"""[alerts] options: how an escalation reaches a person."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'alerts', title='Alerts',
    help='Every escalation and every recovery that gives up (status '
         'escalated or failed) produces a vmguard.alert versioned '
         'notification (see [notifications] emit) and, when webhook_url '
         'is set, an HTTP POST of a JSON document to it.')

opts = [
    cfg.URIOpt('webhook_url', schemes=['http', 'https'],
               help='URL that receives each alert as an HTTP POST with a '
                    'JSON body (e.g. an Alertmanager/Prometheus webhook '
                    'adapter, a chat or paging gateway). Unset: no POST.'),
    cfg.FloatOpt('webhook_timeout', default=5.0, min=0.1, max=120.0,
                 help='Seconds one POST may take (connect and answer).'),
    cfg.IntOpt('webhook_retries', default=3, min=0, max=20,
               help='Retries of a POST that got no answer or a 5xx/429 '
                    'answer, with exponential backoff. A 4xx answer is '
                    'not retried. The alert is always logged.'),
    cfg.FloatOpt('webhook_retry_interval', default=1.0, min=0.0,
                 max=300.0,
                 help='Seconds before the first retry of a POST; doubled '
                      'for each further retry.'),
    cfg.BoolOpt('webhook_verify', default=True,
                help='Verify the TLS certificate of an https webhook.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
