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

"""[notifications] options: Nova's notifications in, vmguard's out."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'notifications', title='Notifications',
    help='The engine listens to Nova\'s versioned notifications (instance '
         'flavor and task state; power state "crashed"; compute services '
         'disabled or forced down) and emits '
         'its own versioned notifications for decisions and recoveries '
         'through [oslo_messaging_notifications].')

opts = [
    cfg.BoolOpt('nova_listener', default=True,
                help='Listen to Nova\'s versioned notifications.'),
    cfg.StrOpt('nova_transport_url', secret=True,
               help='Transport URL of the bus Nova sends its '
                    'notifications to (e.g. another RabbitMQ virtual '
                    'host). Unset: [oslo_messaging_notifications] '
                    'transport_url, then [DEFAULT] transport_url.'),
    cfg.StrOpt('nova_topic', default='versioned_notifications',
               help='Topic of Nova\'s versioned notifications (Nova\'s '
                    '[notifications] versioned_notifications_topics).'),
    cfg.StrOpt('nova_exchange', default='nova',
               help='Control exchange Nova publishes its notifications '
                    'on.'),
    cfg.StrOpt('pool', default='vmguard-engine',
               help='Listener pool prefix. Every engine consumes from its '
                    'own queue "<pool>.<host>" so that each one sees every '
                    'notification (the task states it needs for the nodes '
                    'it owns), without taking them from other consumers '
                    'of the topic.'),
    cfg.IntOpt('task_state_ttl', default=1800, min=60, max=86400,
               help='Seconds a Nova task state learnt from a notification '
                    'is trusted. Nova sends a notification at every task '
                    'state change; a task state not confirmed or cleared '
                    'within this time (a lost or out-of-order .end, an '
                    'error path that sends nothing) is forgotten, so the '
                    'VM is judged again.'),
    cfg.IntOpt('crash_dump_grace', default=900, min=0, max=86400,
               help='Seconds after Nova\'s instance.trigger_crash_dump '
                    'during which the VM is in the task "trigger_crash_dump":'
                    ' the crash an operator asked for (an NMI, then the '
                    'guest\'s kdump and reboot) is not judged a crash.'),
    cfg.BoolOpt('emit', default=True,
                help='Emit vmguard\'s own versioned notifications '
                     '(vmguard.decision.create, vmguard.recovery.start, '
                     '.end, .error). The driver and topics are those of '
                     '[oslo_messaging_notifications]; with its driver '
                     'unset nothing is sent.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
