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

In: a listener on Nova's versioned notifications (``nova_object.*``
envelope), handled one at a time in the order the broker delivers them
(a single worker thread: Nova's per-instance order is kept).

* ``instance.*``: flavor size and task state (a VM in a Nova task is never
  judged crashed); an instance whose ``power_state`` is ``crashed`` is a
  crash event of the node the agents last saw it on. Where a VM runs is
  the agents' word: a notification's ``host`` is recorded only for a VM
  vmguard does not place yet. Task states expire after ``[notifications]
  task_state_ttl``; an ``.error`` (and ``compute_task.*.error``) ends the
  task; the ``.end`` of a live migration ends it whatever its (stale)
  payload says. ``instance.trigger_crash_dump`` puts the VM in the task
  ``trigger_crash_dump`` for ``crash_dump_grace`` seconds: the crash an
  operator asked for is not a crash.
* ``service.*`` of ``nova-compute``: disabled or forced-down computes
  (:class:`ComputeServices`, ``engine.nova_services``): not targets.
* Any other event type is ignored; a payload that is not understood is
  counted and logged, never raised.

Out: versioned notifications of vmguard on the notifications topic of
``[oslo_messaging_notifications]``: ``vmguard.decision.create``,
``vmguard.recovery.start``, ``vmguard.recovery.end`` and
``vmguard.recovery.error``, with the payloads of
:mod:`vmguard.objects.notification` (``vmguard_object.*`` envelope).
"""

import heapq
import threading
import time

from oslo_log import log as logging
import oslo_messaging as messaging

from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.objects import notification as payloads
from vmguard.objects import records

LOG = logging.getLogger(__name__)

# Nova operations (event type prefixes) during which a VM may look
# stopped, paused or gone: the task state to assume while they run when
# the payload carries none.
NOVA_OPERATIONS = {
    'instance.live_migration_pre': 'migrating',
    'instance.live_migration_post': 'migrating',
    'instance.live_migration_post_dest': 'migrating',
    'instance.live_migration_rollback': 'migrating',
    'instance.live_migration_rollback_dest': 'migrating',
    'instance.live_migration_abort': 'migrating',
    'instance.live_migration_force_complete': 'migrating',
    'instance.resize': 'resize_migrating',
    'instance.resize_prep': 'resize_prep',
    'instance.resize_finish': 'resize_finish',
    'instance.resize_confirm': 'resize_confirming',
    'instance.resize_revert': 'resize_reverting',
    'instance.rebuild': 'rebuilding',
    'instance.rebuild_scheduled': 'rebuilding',
    'instance.evacuate': 'rebuilding',
    'instance.power_off': 'powering-off',
    'instance.power_on': 'powering-on',
    'instance.shutdown': 'powering-off',
    'instance.reboot': 'rebooting',
    'instance.delete': 'deleting',
    'instance.soft_delete': 'deleting',
    'instance.restore': 'restoring',
    'instance.shelve': 'shelving',
    'instance.shelve_offload': 'shelving_offloading',
    'instance.unshelve': 'unshelving',
    'instance.suspend': 'suspending',
    'instance.resume': 'resuming',
    'instance.pause': 'pausing',
    'instance.unpause': 'unpausing',
    'instance.rescue': 'rescuing',
    'instance.unrescue': 'unrescuing',
    'instance.snapshot': 'image_snapshot',
    'instance.trigger_crash_dump': 'trigger_crash_dump',
}

# Operations whose last notification may carry the task state of the
# instance object the sender held before the operation finished elsewhere
# (the source host's live_migration_post.end says "migrating" after the
# destination finished): their .end ends the task.
ENDS_TASK = (
    'instance.live_migration_post',
    'instance.live_migration_post_dest',
    'instance.live_migration_rollback',
    'instance.live_migration_rollback_dest',
)

CRASH_DUMP = 'trigger_crash_dump'


def nova_data(obj):
    """The ``nova_object.data`` of a versioned payload, or None."""
    if isinstance(obj, dict) and isinstance(obj.get('nova_object.data'),
                                            dict):
        return obj['nova_object.data']
    return None


def _split(event_type):
    for suffix in ('.start', '.end', '.error'):
        if event_type.endswith(suffix):
            return event_type[:-len(suffix)], suffix[1:]
    return event_type, None


class ComputeServices:
    """nova-compute services as Nova's ``service.*`` notifications say.

    The target selector asks :meth:`unavailable` for the hosts that are
    not targets: disabled or forced down in Nova by anyone (an operator,
    another tool). Kept in memory per engine: every engine hears every
    notification; after a restart a host is known again at its next
    change.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._hosts = {}

    def update(self, host, disabled, forced_down, reason=None):
        with self._lock:
            self._hosts[host] = {'disabled': bool(disabled),
                                 'forced_down': bool(forced_down),
                                 'disabled_reason': reason}

    def delete(self, host):
        with self._lock:
            self._hosts.pop(host, None)

    def get(self, host):
        with self._lock:
            value = self._hosts.get(host)
            return dict(value) if value else None

    def unavailable(self):
        """Hosts whose nova-compute is disabled or forced down."""
        with self._lock:
            return {h for h, v in self._hosts.items()
                    if v['disabled'] or v['forced_down']}

    def is_target(self, host):
        return host not in self.unavailable()

    def guard(self, directory):
        """Leave the unavailable hosts out of ``directory.candidates()``
        (the target selector's view), whoever's selector runs."""
        candidates = directory.candidates

        def available():
            out = self.unavailable()
            return [i for i in candidates() if i.name not in out]
        directory.candidates = available


class NovaNotificationEndpoint:
    """Endpoint of the listener on Nova's versioned notifications."""

    filter_rule = messaging.NotificationFilter(
        event_type=r'^(instance|service|compute_task)\.')

    def __init__(self, engine, services=None, clock=time.monotonic,
                 views=None):
        """:param engine: :class:`vmguard.engine.service.Engine`.
        :param views: a :class:`vmguard.engine.recovery.views.ServerViews`
            given every instance payload (the recovery's view of Nova).
        """
        self.engine = engine
        self.services = services or ComputeServices()
        self.views = views
        self._clock = clock
        self._lock = threading.Lock()
        # uuid -> (task state, deadline); heap of (deadline, uuid)
        self._tasks = {}
        self._expiry = []
        self.stats = {'received': 0, 'rejected': 0, 'crashes': 0,
                      'task_states': 0, 'ignored': 0, 'expired': 0,
                      'services': 0}

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.handle(event_type, payload)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self.handle(event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.handle(event_type, payload)

    def handle(self, event_type, payload):
        with self._lock:
            self.stats['received'] += 1
            try:
                self._expire()
                self._handle(str(event_type), payload)
            except Exception as exc:
                self.stats['rejected'] += 1
                LOG.warning('Nova notification %s not handled: %s',
                            event_type, exc, exc_info=True)

    # -- task states ---------------------------------------------------------

    def task_state(self, uuid):
        """The task state vmguard holds for ``uuid`` (None: none)."""
        with self._lock:
            self._expire()
            entry = self._tasks.get(uuid)
            return entry[0] if entry else None

    def expire(self):
        """Forget the task states older than their time to live."""
        with self._lock:
            self._expire()

    def _expire(self):
        now = self._clock()
        while self._expiry and self._expiry[0][0] <= now:
            deadline, uuid = heapq.heappop(self._expiry)
            entry = self._tasks.get(uuid)
            if entry is None or entry[1] != deadline:
                continue  # replaced or cleared since
            del self._tasks[uuid]
            self.stats['expired'] += 1
            LOG.info('Nova task state %s of instance %s not confirmed '
                     'within its time to live; forgotten', entry[0], uuid)
            try:
                self.engine.nova_instance(uuid, None, {'task_state': None})
            except Exception:
                LOG.warning('Could not clear the task state of %s', uuid,
                            exc_info=True)

    def _remember(self, uuid, task_state):
        if not task_state:
            self._tasks.pop(uuid, None)
            return
        conf = self.engine.conf.notifications
        ttl = (conf.crash_dump_grace if task_state == CRASH_DUMP
               else conf.task_state_ttl)
        deadline = self._clock() + ttl
        self._tasks[uuid] = (task_state, deadline)
        heapq.heappush(self._expiry, (deadline, uuid))

    # -- handling ------------------------------------------------------------

    def _handle(self, event_type, payload):
        if event_type.startswith('service.'):
            return self._service(event_type, payload)
        if event_type.startswith('compute_task.'):
            return self._compute_task(event_type, payload)
        if not event_type.startswith('instance.'):
            self.stats['ignored'] += 1
            return
        data = nova_data(payload)
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
        if not isinstance(task_state, str):
            task_state = None
        operation, phase = _split(event_type)
        held = self._tasks.get(uuid)
        if phase == 'start' and task_state is None:
            task_state = NOVA_OPERATIONS.get(operation)
        elif phase == 'error' or (phase == 'end' and operation in ENDS_TASK):
            task_state = None
        elif (task_state is None and held and held[0] == CRASH_DUMP
              and event_type != 'instance.delete.end'):
            # The dump's grace outlives Nova's (task-less) notifications.
            task_state = CRASH_DUMP
        deleted = event_type == 'instance.delete.end'
        if deleted:
            task_state = None
        if not (task_state == CRASH_DUMP and held
                and operation != 'instance.trigger_crash_dump'):
            # Set, cleared, or confirmed (a new deadline); a carried
            # crash-dump grace keeps its own deadline.
            self._remember(uuid, task_state)
        if self.views is not None:
            self.views.notified(data, task_state, deleted=deleted)
        values = {'task_state': task_state}
        flavor = nova_data(data.get('flavor'))
        if flavor:
            if isinstance(flavor.get('vcpus'), int):
                values['vcpus'] = flavor['vcpus']
            if isinstance(flavor.get('memory_mb'), int):
                values['ram_mb'] = flavor['memory_mb']
        placed = self._placed_on(uuid)
        self.stats['task_states'] += 1
        # The agents' snapshots say where a VM runs; Nova's host only
        # places a VM no agent reported yet.
        self.engine.nova_instance(uuid, None if placed else host, values,
                                  deleted=deleted)
        if (data.get('power_state') == 'crashed' and not deleted
                and task_state is None and (placed or host)):
            node = placed or host
            self.stats['crashes'] += 1
            cycle = int(time.time() // self.engine.conf.engine.cycle_interval)
            event = records.VMEvent(node, cycle, uuid, 'crashed',
                                    'nova-power-state', 'nova')
            LOG.info('Nova reports instance %s on %s crashed (%s)', uuid,
                     node, event_type)
            self.engine.nova_crash(event)

    def _placed_on(self, uuid):
        try:
            _vm, node = db_api.vm_get(self.engine.context, uuid)
        except exception.NotFound:
            return None
        return node

    def _service(self, event_type, payload):
        data = nova_data(payload)
        if data is None or not isinstance(data.get('host'), str):
            self.stats['rejected'] += 1
            LOG.warning('Nova notification %s without a service payload; '
                        'ignored', event_type)
            return
        if data.get('binary') != 'nova-compute':
            self.stats['ignored'] += 1
            return
        self.stats['services'] += 1
        host = data['host']
        if event_type == 'service.delete':
            self.services.delete(host)
            return
        before = self.services.get(host)
        self.services.update(host, data.get('disabled'),
                             data.get('forced_down'),
                             data.get('disabled_reason'))
        after = self.services.get(host)
        if before != after:
            LOG.info('Nova compute service %s: disabled=%s (%s), '
                     'forced_down=%s', host, after['disabled'],
                     after['disabled_reason'], after['forced_down'])

    def _compute_task(self, event_type, payload):
        data = nova_data(payload)
        uuid = data.get('instance_uuid') if data else None
        if not isinstance(uuid, str) or not uuid:
            self.stats['rejected'] += 1
            LOG.warning('Nova notification %s without instance_uuid; '
                        'ignored', event_type)
            return
        if event_type.endswith('.error'):
            # The conductor failed the operation and reverted the task.
            self._remember(uuid, None)
            self.stats['task_states'] += 1
            self.engine.nova_instance(uuid, None, {'task_state': None})


class OrderedListener:
    """The notification listener, handling one message at a time.

    oslo.messaging hands each message to its executor's pool; with more
    than one worker two notifications of one instance can be handled in
    either order. One worker keeps the broker's order; a timer thread
    expires task states while no notification comes.
    """

    def __init__(self, listener, endpoint, interval=10.0):
        self.listener = listener
        self.endpoint = endpoint
        self._interval = interval
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self.listener.start(override_pool_size=1)
        self._stop.clear()
        self._thread = threading.Thread(target=self._expire_loop,
                                        name='vmguard-nova-task-expiry',
                                        daemon=True)
        self._thread.start()

    def _expire_loop(self):
        while not self._stop.wait(self._interval):
            self.endpoint.expire()

    def stop(self):
        self._stop.set()
        self.listener.stop()

    def wait(self):
        self.listener.wait()
        if self._thread is not None:
            self._thread.join(5)


def get_nova_listener(conf, engine, transport=None):
    """A notification listener on Nova's topic, own queue per engine.

    Also sets ``engine.nova_services`` (:class:`ComputeServices`) and
    keeps the computes Nova has disabled or forced down out of the
    engine's target candidates.
    """
    if transport is None:
        url = (conf.notifications.nova_transport_url
               or conf.oslo_messaging_notifications.transport_url
               or None)
        transport = messaging.get_notification_transport(conf, url=url)
    targets = [messaging.Target(topic=conf.notifications.nova_topic,
                                exchange=conf.notifications.nova_exchange)]
    services = getattr(engine, 'nova_services', None)
    if services is None:
        services = engine.nova_services = ComputeServices()
        directory = getattr(engine, 'directory', None)
        if directory is not None:
            services.guard(directory)
    endpoint = NovaNotificationEndpoint(
        engine, services, views=getattr(engine, 'server_views', None))
    pool = '%s.%s' % (conf.notifications.pool, conf.host)
    listener = messaging.get_notification_listener(
        transport, targets, [endpoint], executor='threading', pool=pool,
        allow_requeue=False)
    interval = min(10.0, conf.notifications.task_state_ttl / 4.0)
    return OrderedListener(listener, endpoint, interval), endpoint, transport


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
