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

"""What the real test Nova sends, consumed by the engine's listener.

The Nova of tools/nova emits versioned notifications (messagingv2,
``notify_on_state_change = vm_and_task_state``) on its own RabbitMQ
vhost. An in-process engine listens there (its own pool queue) and
judges snapshots cast by "agents" (the test) over vmguard's own topic;
its recoveries go to that Nova. Run under ``flock /tmp/vmguard-nova.lock``.
"""

import threading
import time

import oslo_messaging as messaging
from oslo_utils import uuidutils

from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.common import rpc
from vmguard.compute import nova
from vmguard.db import api as db_api
from vmguard.engine import recovery
from vmguard.engine import rpcapi
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional import base
from vmguard.tests.functional.nova import base as nova_base
from vmguard.tests.functional.nova import fixtures as nova_fixtures
from vmguard.tests.unit.engine import streams

VERSION = nova_base.VERSION


def wait_for(predicate, timeout=60.0, interval=0.2, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s'
                         % (timeout, what))


class NovaNotificationsTestCase(nova_base.NovaApiMixin,
                                base.FunctionalTestCase):

    WAIT_TIMEOUT = 90
    SERVER_PREFIX = 'vmguard-nn'

    def setUp(self):
        super().setUp()
        try:
            self.env = nova_fixtures.real_nova()
        except nova_fixtures.NovaUnavailable as exc:
            self.fail(str(exc))
        url = self.require_rabbitmq()
        self.db = self.mariadb()
        objects.register_all()
        suffix = uuidutils.generate_uuid(dashed=False)[:10]
        # Building transports registers oslo.messaging's options.
        messaging.get_rpc_transport(self.conf, url=url).cleanup()
        messaging.get_notification_transport(self.conf, url=url).cleanup()
        self.addCleanup(rpc.cleanup)
        self.flags(transport_url=url, host='engine-nn-%s' % suffix)
        self.flags(group='engine', topic='vmguard-engine-nn-%s' % suffix,
                   periodic_interval=1, cycle_interval=1)
        self.flags(group='notifications', nova_listener=True,
                   nova_transport_url=self.env['transport_url'],
                   nova_exchange=self.env['notifications']['exchange'],
                   nova_topic=self.env['notifications']['topic'],
                   pool='vmguard-nn-%s' % suffix, emit=False)
        self.flags(group='nova', auth_type='none',
                   endpoint_override=self.env['endpoint'])
        self.flags(group='recovery', poll_interval=0.2, retry_interval=0.5,
                   action_timeout=120, retries=3)
        self.driver = nova.NovaComputeDriver()
        self.compute = self.driver.connection.compute
        executor = recovery.RecoveryExecutor(driver=self.driver,
                                             owner=self.conf.host)
        self.addCleanup(executor.stop)
        self.svc = service.EngineService(self.conf,
                                         recovery_executor=executor)
        self.svc.start()
        self.addCleanup(self.svc.stop)
        self.agents = rpcapi.EngineAPI(self.conf)
        self.ctx = vmg_context.get_admin_context()
        # What the listener handled, per instance, in order.
        self.events = {}
        self._events_lock = threading.Lock()
        endpoint = self.svc.nova_endpoint
        handle = endpoint._handle

        def recording(event_type, payload):
            data = payload.get('nova_object.data') if isinstance(
                payload, dict) else None
            uuid = None
            if isinstance(data, dict):
                uuid = data.get('uuid') or data.get('instance_uuid')
            if uuid:
                with self._events_lock:
                    self.events.setdefault(uuid, []).append(
                        (event_type, data.get('host'),
                         data.get('task_state')))
            return handle(event_type, payload)
        endpoint._handle = recording
        self.hosts = self.env['hosts']
        self.cycle = int(time.time() // self.conf.engine.cycle_interval)

    # --- Nova ---------------------------------------------------------------

    def _action(self, server_id, body):
        self._nova('POST', '/servers/%s/action' % server_id, body)

    def _reboots(self, server_id):
        return [a for a in self.driver.list_instance_actions(server_id)
                if a.action == 'reboot']

    def _compute_service(self, host):
        return self.driver.get_service(host)

    def _force_down(self, host):
        svc = self._compute_service(host)
        self._nova('PUT', '/os-services/%s' % svc.id, {'forced_down': True})
        self.addCleanup(self._back_up, host)

    def _back_up(self, host):
        """Restart a forced-down nova-compute (it then cleans up what was
        evacuated from it) and force it up again."""
        svc = self._compute_service(host)
        if svc.forced_down:
            nova_fixtures.novactl('stop-service', 'compute-%s' % host)
            res = nova_fixtures.novactl('start-service', 'compute-%s' % host)
            self.assertEqual(0, res.returncode, res.stderr)
            wait_for(lambda: self.compute.request(
                '/os-services/%s' % svc.id, 'PUT',
                json={'forced_down': False}, microversion=VERSION,
                raise_exc=False).status_code == 200, timeout=90,
                interval=1, what='%s forced up' % host)
        wait_for(lambda: self._compute_service(host).state == 'up',
                 timeout=90, what='%s up' % host)

    # --- vmguard ------------------------------------------------------------

    def _seen(self, uuid):
        with self._events_lock:
            return list(self.events.get(uuid, ()))

    def _wait_event(self, uuid, event_type):
        wait_for(lambda: any(e[0] == event_type for e in self._seen(uuid)),
                 what='%s of %s' % (event_type, uuid))

    def _types(self, uuid):
        return [e[0] for e in self._seen(uuid)]

    def _cast_cycle(self, placement):
        """One cycle of every host's snapshot; ``placement``: host ->
        [(uuid, state, reason)]."""
        self.cycle = max(self.cycle + 1, int(
            time.time() // self.conf.engine.cycle_interval))
        for host in self.hosts:
            self.agents.report_snapshot(
                self.ctx, snapshot_obj.Snapshot.from_json_dict(
                    streams.snapshot(host, self.cycle,
                                     vms=placement.get(host, ()))))
        wait_for(lambda: all(self._stored_cycle(h) >= self.cycle
                             for h in self.hosts),
                 what='cycle %s stored' % self.cycle)

    def _stored_cycle(self, host):
        """The last cycle stored of ``host``; 0 before its first (the node
        row is created with it)."""
        try:
            return db_api.node_get(self.context, host).last_cycle or 0
        except exception.NodeNotFound:
            return 0

    def _task(self, uuid):
        return self.svc.nova_endpoint.task_state(uuid)

    def _placed(self, uuid):
        return db_api.vm_get(self.context, uuid)[1]


class TestNovaSends(NovaNotificationsTestCase):

    def test_reboot_and_stop_start(self):
        server = self._server('cmp-1')
        self._wait_event(server, 'instance.create.end')
        self._action(server, {'reboot': {'type': 'SOFT'}})
        self._wait_server(server, 'ACTIVE')
        self._wait_event(server, 'instance.reboot.end')
        types = self._types(server)
        self.assertLess(types.index('instance.reboot.start'),
                        types.index('instance.reboot.end'))
        # Nova's task states went through the listener and are over.
        self.assertIn('rebooting', [e[2] for e in self._seen(server)])
        self.assertIsNone(self._task(server))
        self._action(server, {'os-stop': None})
        self._wait_server(server, 'SHUTOFF')
        self._wait_event(server, 'instance.power_off.end')
        self._action(server, {'os-start': None})
        self._wait_server(server, 'ACTIVE')
        self._wait_event(server, 'instance.power_on.end')
        types = self._types(server)
        self.assertLess(types.index('instance.power_off.start'),
                        types.index('instance.power_on.end'))
        self.assertIsNone(self._task(server))
        self.assertIsNone(db_api.vm_get(self.context, server)[0].task_state)
        self.assertEqual(0, self.svc.nova_endpoint.stats['rejected'])

    def test_crash_after_live_migration_is_r1_rebooted_once(self):
        server = self._server('cmp-1')
        self._cast_cycle({'cmp-1': [(server, 'running', None)]})
        self.assertEqual('cmp-1', self._placed(server))
        self._action(server, {'os-migrateLive': {
            'host': 'cmp-2', 'block_migration': 'auto'}})
        self._wait_server(server, 'ACTIVE', 'cmp-2')
        self._wait_event(server, 'instance.live_migration_post.end')
        self._wait_event(server, 'instance.live_migration_post_dest.end')
        types = self._types(server)
        self.assertLess(types.index('instance.live_migration_pre.start'),
                        types.index('instance.live_migration_post.end'))
        # Whatever the last notification said, no task is left, and the
        # VM is where the agents last saw it until they say otherwise.
        self.assertIsNone(self._task(server))
        self.assertEqual('cmp-1', self._placed(server))
        self._cast_cycle({'cmp-2': [(server, 'running', None)]})
        self.assertEqual('cmp-2', self._placed(server))
        before = len(self._reboots(server))
        # The guest crashes on its new host, the host is healthy: R1.
        for _ in range(3):
            self._cast_cycle({'cmp-2': [(server, 'crashed', 'panicked')]})
        rows = wait_for(lambda: [r for r in db_api.decision_list(
            self.context) if r.vm == server] or None, what='decision')
        self.assertEqual([('cmp-2', 'R1', 'reboot')],
                         [(r.node, r.rule, r.action) for r in rows])
        wait_for(lambda: len(self._reboots(server)) > before,
                 what='the hard reboot in Nova')
        self._wait_server(server, 'ACTIVE', 'cmp-2')
        self._wait_event(server, 'instance.reboot.end')
        self._cast_cycle({'cmp-2': [(server, 'crashed', 'panicked')]})
        self.assertEqual(before + 1, len(self._reboots(server)))
        self.assertEqual(1, len([r for r in db_api.decision_list(
            self.context) if r.vm == server]))

    def test_views_follow_nova_and_spare_the_read_before_a_reboot(self):
        """Issue 19: Nova's instance notifications keep the recovery's
        view of a server (metadata included); a crash of a server the view
        says may be rebooted goes to Nova without a GET first, and one the
        view says to leave alone is read again (and left alone)."""
        views = self.svc.engine.server_views
        kept = self._server('cmp-1')
        opted_out = self._server('cmp-1')
        self._cast_cycle({'cmp-1': [(kept, 'running', None),
                                    (opted_out, 'running', None)]})
        self._nova('POST', '/servers/%s/metadata' % opted_out,
                   {'metadata': {'vmguard:protect': 'false'}})
        # The metadata update is an instance.update of the real Nova.

        def opted_out_in_view():
            held = views.fresh(opted_out, 60)
            if held and held[0].metadata.get('vmguard:protect') == 'false':
                return held[0]
            return None
        view = wait_for(opted_out_in_view,
                        what='the metadata update in the view')
        self.assertEqual('active', view.vm_state)
        held = views.fresh(kept, 60)
        self.assertIsNotNone(held, 'no view of a server Nova notified')
        self.assertEqual(('active', None, {}),
                         (held[0].vm_state, held[0].task_state,
                          held[0].metadata))
        calls = []
        lock = threading.Lock()

        def recorded(name, fn):
            def call(server_id, *args, **kwargs):
                if threading.current_thread() is not threading.main_thread():
                    with lock:
                        calls.append((name, server_id))
                return fn(server_id, *args, **kwargs)
            return call
        self.driver.get_server = recorded('get', self.driver.get_server)
        self.driver.reboot_server = recorded('reboot',
                                             self.driver.reboot_server)
        before = len(self._reboots(kept))
        for _ in range(3):
            self._cast_cycle({'cmp-1': [(kept, 'crashed', 'panicked'),
                                        (opted_out, 'crashed', 'panicked')]})
        wait_for(lambda: len(self._reboots(kept)) > before,
                 what='the hard reboot in Nova')

        def decisions():
            rows = {r.vm: r for r in db_api.decision_list(self.context)
                    if r.vm in (kept, opted_out)}
            return rows if len(rows) == 2 else None
        rows = wait_for(decisions, what='two decisions')

        def skipped():
            rec = db_api.recovery_get_by_decision(self.context,
                                                  rows[opted_out].id)
            return rec if rec.status == 'skipped' else None
        rec = wait_for(skipped, what='the opted-out recovery skipped')
        self.assertEqual('not protected', rec.error)
        with lock:
            of_kept = [c[0] for c in calls if c[1] == kept]
            of_out = [c[0] for c in calls if c[1] == opted_out]
        self.assertEqual('reboot', of_kept[0], of_kept)
        self.assertEqual(['get'], of_out)
        self.assertEqual(before + 1, len(self._reboots(kept)))
        self._wait_server(kept, 'ACTIVE', 'cmp-1')

    def test_crash_dump_through_nova_is_not_a_crash(self):
        server = self._server('cmp-1')
        self._cast_cycle({'cmp-1': [(server, 'running', None)]})
        before = len(self._reboots(server))
        self._action(server, {'trigger_crash_dump': None})
        self._wait_event(server, 'instance.trigger_crash_dump.end')
        self.assertEqual('trigger_crash_dump', self._task(server))
        # The guest panics on the NMI as asked; the agents see it.
        for _ in range(3):
            self._cast_cycle({'cmp-1': [(server, 'crashed', 'panicked')]})
        self.assertEqual([], [r for r in db_api.decision_list(self.context)
                              if r.vm == server])
        self.assertEqual(before, len(self._reboots(server)))

    def test_cold_migration_confirm_and_revert(self):
        server = self._server('cmp-1')
        self._action(server, {'migrate': {'host': 'cmp-2'}})
        self._wait_server(server, 'VERIFY_RESIZE', 'cmp-2')
        self._wait_event(server, 'instance.resize_finish.end')
        self._action(server, {'confirmResize': None})
        self._wait_server(server, 'ACTIVE', 'cmp-2')
        self._wait_event(server, 'instance.resize_confirm.end')
        self.assertIsNone(self._task(server))
        self._action(server, {'migrate': {'host': 'cmp-3'}})
        self._wait_server(server, 'VERIFY_RESIZE', 'cmp-3')
        self._action(server, {'revertResize': None})
        self._wait_server(server, 'ACTIVE', 'cmp-2')
        self._wait_event(server, 'instance.resize_revert.end')
        types = self._types(server)
        for event_type in ('instance.resize_prep.start',
                           'instance.resize.start',
                           'instance.resize_finish.end',
                           'instance.resize_revert.start'):
            self.assertIn(event_type, types)
        self.assertIsNone(self._task(server))
        self.assertIsNone(db_api.vm_get(self.context, server)[0].task_state)
        self.assertEqual(0, self.svc.nova_endpoint.stats['rejected'])

    def test_forced_down_evacuate_and_service_update(self):
        server = self._server('cmp-3')
        services = self.svc.engine.nova_services
        self._force_down('cmp-3')
        # Nova's API announces it: cmp-3 is no target any more.
        wait_for(lambda: 'cmp-3' in services.unavailable(),
                 what='service.update of cmp-3')
        self.assertTrue(services.get('cmp-3')['forced_down'])
        self._action(server, {'evacuate': {'host': 'cmp-1'}})
        # Microversion 2.95: an evacuated server stays stopped.
        self._wait_server(server, 'SHUTOFF', 'cmp-1')
        self._wait_event(server, 'instance.evacuate')
        self._wait_event(server, 'instance.rebuild.end')
        self.assertIsNone(self._task(server))
        self.assertEqual(0, self.svc.nova_endpoint.stats['rejected'])
        self._back_up('cmp-3')
        wait_for(lambda: 'cmp-3' not in services.unavailable(),
                 what='service.update of cmp-3 forced up')

    def test_rebuild_and_a_failed_migration(self):
        server = self._server('cmp-1')
        self._action(server, {'rebuild': {'imageRef': self.env['image']}})
        self._wait_server(server, 'ACTIVE', 'cmp-1')
        self._wait_event(server, 'instance.rebuild.end')
        self.assertIn('rebuilding', [e[2] for e in self._seen(server)])
        self.assertIsNone(self._task(server))
        # An error path: an operator disabled cmp-2 (Nova says so, it is
        # no target any more); a migration there fails in the conductor.
        svc = self._compute_service('cmp-2')
        self._nova('PUT', '/os-services/%s' % svc.id,
                   {'status': 'disabled', 'disabled_reason': 'repair'})
        self.addCleanup(self._nova, 'PUT', '/os-services/%s' % svc.id,
                        {'status': 'enabled'})
        services = self.svc.engine.nova_services
        wait_for(lambda: 'cmp-2' in services.unavailable(),
                 what='service.update of cmp-2')
        self.assertEqual('repair', services.get('cmp-2')['disabled_reason'])
        self._action(server, {'migrate': {'host': 'cmp-2'}})
        self._wait_event(server, 'compute_task.migrate_server.error')
        self._wait_server(server, 'ACTIVE', 'cmp-1')
        wait_for(lambda: self._task(server) is None, what='no task left')
        self.assertIsNone(db_api.vm_get(self.context, server)[0].task_state)
        self._nova('PUT', '/os-services/%s' % svc.id, {'status': 'enabled'})
        wait_for(lambda: 'cmp-2' not in services.unavailable(),
                 what='service.update of cmp-2 enabled')
