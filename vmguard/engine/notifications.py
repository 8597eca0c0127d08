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

"""Notifications: Nova's in, vmguard's own out.

In: a listener on Nova's versioned notifications (``instance.*`` with the
``nova_object.*`` envelope). It keeps instance -> host, flavor size and
task state current (a VM in a Nova task is never judged crashed) and turns
an instance whose ``power_state`` is ``crashed`` into a crash event of its
host, judged like the agents' events.

Out: versioned notifications of vmguard on the notifications topic of
``[oslo_messaging_notifications]``: ``vmguard.decision.create``,
``vmguard.recovery.start``, ``vmguard.recovery.end`` and
``vmguard.recovery.error``, with the payloads of
:mod:`vmguard.objects.notification` (``vmguard_object.*`` envelope).
"""

import time

from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard.common import context as vmg_context
from vmguard.common import rpc
from vmguard.objects import notification as payloads
from vmguard.objects import records

LOG = logging.getLogger(__name__)

# Nova operations (event type prefixes) during which a VM may look
# stopped, paused or gone: the task state to assume while they run when
# the payload carries none.
NOVA_OPERATIONS = {
    'instance.live_migration_pre': 'migrating',
    'instance.live_migration_post': 'migrating',
    'instance.live_migration_rollback': 'migrating',
    'instance.live_migration_abort': 'migrating',
    'instance.resize': 'resize_migrating',
    'instance.resize_prep': 'resize_prep',
    'instance.resize_finish': 'resize_finish',
    'instance.resize_confirm': 'resize_confirming',
    'instance.resize_revert': 'resize_reverting',
    'instance.rebuild': 'rebuilding',
    'instance.evacuate': 'rebuilding',
    'instance.power_off': 'powering-off',
    'instance.shutdown': 'powering-off',
    'instance.reboot': 'rebooting',
    'instance.delete': 'deleting',
    'instance.soft_delete': 'deleting',
    'instance.shelve': 'shelving',
    'instance.shelve_offload': 'shelving_offloading',
    'instance.unshelve': 'unshelving',
    'instance.suspend': 'suspending',
    'instance.pause': 'pausing',
    'instance.rescue': 'rescuing',
    'instance.snapshot': 'image_snapshot',
}


def _data(obj):
    if isinstance(obj, dict) and isinstance(obj.get('nova_object.data'),
                                            dict):
        return obj['nova_object.data']
    return None


class NovaNotificationEndpoint:
    """Endpoint of the listener on Nova's versioned notifications."""

    filter_rule = messaging.NotificationFilter(event_type=r'^instance\.')

    def __init__(self, engine):
        """:param engine: :class:`vmguard.engine.service.Engine`."""
        self.engine = engine
        self.stats = {'received': 0, 'rejected': 0, 'crashes': 0,
                      'task_states': 0}

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.handle(event_type, payload)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self.handle(event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.handle(event_type, payload)

    def handle(self, event_type, payload):
        self.stats['received'] += 1
        try:
            self._handle(event_type, payload)
        except Exception as exc:
            self.stats['rejected'] += 1
            LOG.warning('Nova notification %s not handled: %s',
                        event_type, exc, exc_info=True)

    def _handle(self, event_type, payload):
        data = _data(payload)
        uuid = data.get('uuid') if data else None
        if not isinstance(uuid, str) or not uuid:
            self.stats['rejected'] += 1
            LOG.warning('Nova notification %s without an instance '
                        'payload (nova_object.data.uuid); ignored',
                        event_type)
            return
        host = data.get('host')
        host = host if isinstance(host, str) and host else None
        task_state = data.get('task_state') or None
        phase = None
        operation = event_type
        for suffix in ('.start', '.end', '.error'):
            if event_type.endswith(suffix):
                operation = event_type[:-len(suffix)]
                phase = suffix[1:]
        if phase == 'start' and task_state is None:
            task_state = NOVA_OPERATIONS.get(operation)
        deleted = event_type == 'instance.delete.end'
        if deleted:
            task_state = None
        values = {'task_state': task_state}
        flavor = _data(data.get('flavor'))
        if flavor:
            if isinstance(flavor.get('vcpus'), int):
                values['vcpus'] = flavor['vcpus']
            if isinstance(flavor.get('memory_mb'), int):
                values['ram_mb'] = flavor['memory_mb']
        self.stats['task_states'] += 1
        self.engine.nova_instance(uuid, host, values, deleted=deleted)
        if data.get('power_state') == 'crashed' and host and not deleted:
            self.stats['crashes'] += 1
            cycle = int(time.time() // self.engine.conf.engine.cycle_interval)
            event = records.VMEvent(host, cycle, uuid, 'crashed',
                                    'nova-power-state', 'nova')
            LOG.info('Nova reports instance %s on %s crashed (%s)', uuid,
                     host, event_type)
            self.engine.nova_crash(event)


def get_nova_listener(conf, engine, transport=None):
    """A notification listener on Nova's topic, own queue per engine."""
    if transport is None:
        url = (conf.notifications.nova_transport_url
               or conf.oslo_messaging_notifications.transport_url
               or None)
        transport = messaging.get_notification_transport(conf, url=url)
    targets = [messaging.Target(topic=conf.notifications.nova_topic,
                                exchange=conf.notifications.nova_exchange)]
    endpoint = NovaNotificationEndpoint(engine)
    pool = '%s.%s' % (conf.notifications.pool, conf.host)
    listener = messaging.get_notification_listener(
        transport, targets, [endpoint], executor='threading', pool=pool,
        allow_requeue=False)
    return listener, endpoint, transport


# --- vmguard's own notifications ---------------------------------------------

class Notifier:
    """Emits vmguard's versioned notifications; never raises."""

    def __init__(self, conf, publisher_id):
        self.enabled = conf.notifications.emit
        self._notifier = None
        if self.enabled and rpc.NOTIFIER is not None:
            self._notifier = rpc.get_notifier(publisher_id)

    def _emit(self, priority, event_type, payload):
        if self._notifier is None:
            return
        try:
            getattr(self._notifier, priority)(
                vmg_context.get_admin_context(), event_type, payload)
        except Exception:
            LOG.warning('Could not emit notification %s', event_type,
                        exc_info=True)

    def decision(self, row):
        self._emit('info', 'vmguard.decision.create',
                   payloads.DecisionPayload.from_row(row))

    def recovery(self, row, phase, status=None, error=None):
        payload = payloads.RecoveryPayload(
            decision=payloads.DecisionPayload.from_row(row),
                                  status=status, error=error)
        priority = 'error' if phase == 'error' else 'info'
        self._emit(priority, 'vmguard.recovery.%s' % phase, payload)
