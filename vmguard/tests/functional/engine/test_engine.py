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

"""Agents' casts -> RabbitMQ -> engine -> decisions in MariaDB.

The engine runs in-process (``EngineService``) on a topic of its own;
"agents" cast with :class:`vmguard.engine.rpcapi.EngineAPI`. Poison
messages are published raw on the same topic; Nova's versioned
notifications are published in Nova's format on an exchange ``nova``.
"""

import collections
import json
import time

import kombu
from oslo_config import cfg
import oslo_messaging as messaging
from oslo_utils import uuidutils

from vmguard.common import context as vmg_context
from vmguard.common import exception
from vmguard.common import rpc
from vmguard.db import api as db_api
from vmguard.engine import ingest
from vmguard.engine import rpcapi
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional import base
from vmguard.tests.unit.engine import streams


def wait_for(predicate, timeout=30.0, interval=0.1, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s'
                         % (timeout, what))


class _Collector:
    """Test listener for vmguard's own notifications."""

    def __init__(self):
        self.events = collections.defaultdict(list)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.events[event_type].append(payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.events[event_type].append(payload)


class EngineFunctionalTestCase(base.FunctionalTestCase):

    # Recoveries skipped (dry run) unless a test case runs them.
    DRY_RUN = True

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        self.db = self.mariadb()
        objects.register_all()
        suffix = uuidutils.generate_uuid(dashed=False)[:10]
        # Building transports registers oslo.messaging's options.
        messaging.get_rpc_transport(self.conf, url=self.url).cleanup()
        messaging.get_notification_transport(self.conf,
                                             url=self.url).cleanup()
        self.topic = 'vmguard-engine-ft-%s' % suffix
        self.nova_topic = 'versioned_notifications_ft_%s' % suffix
        self.vmg_topic = 'vmguard_notifications_ft_%s' % suffix
        self.flags(transport_url=self.url, host='engine-ft-%s' % suffix)
        self.flags(group='oslo_messaging_notifications',
                   driver=['messagingv2'], topics=[self.vmg_topic])
        # R9 also needs silent_cycles * cycle_interval seconds of silence.
        # One node per rule: five incidents within three cycles would be
        # an R10 storm (revision 2), tested on its own.
        self.flags(group='engine', topic=self.topic, max_reboots=1,
                   periodic_interval=1, cycle_interval=1,
                   storm_min_nodes=100)
        self.flags(group='notifications', nova_topic=self.nova_topic,
                   nova_exchange='nova')
        self.flags(group='recovery', dry_run=self.DRY_RUN,
                   compute_driver='fake', poll_interval=0.05,
                   retry_interval=0.0)
        self.configure()
        self.addCleanup(rpc.cleanup)
        self.svc = service.EngineService(self.conf)
        self.addCleanup(ingest.delete_queues, self.conf)
        self.svc.start()
        self.addCleanup(self.svc.stop)
        self.agents = rpcapi.EngineAPI(self.conf)
        self.ctx = vmg_context.get_admin_context()

    def configure(self):
        """Options of a test class, set before the engine starts."""

    def cast(self, data):
        self.agents.report_snapshot(
            self.ctx, snapshot_obj.Snapshot.from_json_dict(data))

    def decisions(self):
        return db_api.decision_list(self.context)

    def cast_stream(self):
        """The rule stream; then every node but r9 goes on reporting for
        silent_cycles + 1 cycles of wall-clock time (R9 needs the others
        reporting, SPEC revision 2)."""
        for _cycle, snaps in streams.rule_stream():
            for data in snaps:
                self.cast(data)
        interval = self.conf.engine.cycle_interval
        first = streams.CYCLES + 1
        for cycle in range(first, first + self.conf.engine.silent_cycles + 2):
            time.sleep(interval)
            for node in streams.NODES:
                if node != 'r9':
                    self.cast(streams.next_snapshot(node, cycle))

    def wait_decisions(self, expected, timeout=30):
        def done():
            got = streams.counted(self.decisions())
            return got if sum(got.values()) >= sum(expected.values()) \
                else None
        try:
            return wait_for(done, timeout, what='decisions %s' % expected)
        except AssertionError:
            return streams.counted(self.decisions())


class TestRulesEndToEnd(EngineFunctionalTestCase):

    def test_every_rule_through_the_broker(self):
        transport = messaging.get_notification_transport(self.conf)
        self.addCleanup(transport.cleanup)
        collector = _Collector()
        listener = messaging.get_notification_listener(
            transport, [messaging.Target(topic=self.vmg_topic)],
            [collector], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        self.cast_stream()
        got = self.wait_decisions(streams.EXPECTED)
        self.assertEqual(streams.EXPECTED, got)
        rows = self.decisions()
        r5 = [r for r in rows if r.rule == 'R5' and
              r.action == 'migrate_all'][0]
        self.assertEqual('oob', r5.evidence['identity_lost'][0]['path'])
        self.assertEqual('inband',
                         r5.evidence['identity_lost'][0]['baseline'])
        # Every decision is notified once; its recovery ran (dry run:
        # skipped) and its start and end were notified.
        total = sum(streams.EXPECTED.values())
        wait_for(lambda: len(collector.events['vmguard.recovery.end'])
                 >= total, what='recovery end notifications')
        created = collector.events['vmguard.decision.create']
        self.assertEqual(total, len(created))
        self.assertEqual(
            {r.uuid for r in rows},
            {p['vmguard_object.data']['uuid'] for p in created})
        self.assertEqual('DecisionPayload',
                         created[0]['vmguard_object.name'])
        self.assertEqual(total,
                         len(collector.events['vmguard.recovery.start']))
        self.assertEqual(
            {'skipped'},
            {p['vmguard_object.data']['status']
             for p in collector.events['vmguard.recovery.end']})


class _AgentStandIn:
    """The RPC endpoint of r7's and r8's agents (the agent side of
    restart_service has its own tests): it reports the service running
    again, and records what it was asked."""

    target = messaging.Target(version='1.0')

    def __init__(self, node, asked):
        self.node = node
        self.asked = asked

    def restart_service(self, context, service):
        self.asked.append((self.node, service))
        return {'service': service, 'restarted': True, 'running': True,
                'state': 'running', 'detail': ''}


class TestRecoveryEndToEnd(EngineFunctionalTestCase):
    """Each rule's recovery, run on the ``fake`` compute back end: agents'
    casts -> RabbitMQ -> engine -> MariaDB -> recovery executor."""

    DRY_RUN = False
    FINAL = ('succeeded', 'escalated', 'failed', 'skipped')

    def configure(self):
        # R9 (revision 2): Nova says r9's compute is down (set below);
        # no BMC here, another fencing is declared to exist.
        self.flags(group='recovery', fence_without_bmc=True,
                   compute_down_timeout=5, restart_confirm_timeout=20)
        self.flags(group='agent', topic='vmguard-agent-ft-%s'
                   % uuidutils.generate_uuid(dashed=False)[:10])
        self.restarts = []
        transport = messaging.get_rpc_transport(self.conf, url=self.url)
        self.addCleanup(transport.cleanup)
        for node in ('r7', 'r8'):
            server = messaging.get_rpc_server(
                transport, messaging.Target(topic=self.conf.agent.topic,
                                            server=node),
                [_AgentStandIn(node, self.restarts)], executor='threading')
            server.start()
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)

    def setUp(self):
        super().setUp()
        self.driver = self.svc.engine.recovery.executor.driver
        for node in streams.NODES:
            self.driver.add_host(node, state='down' if node == 'r9'
                                 else 'up')
            self.driver.add_server(streams.vm_uuid(node), node, vcpus=2,
                                   ram_mb=2048)

    def _recoveries(self):
        out = {}
        for row in self.decisions():
            rec = db_api.recovery_get_by_decision(self.context, row.id)
            out[(row.node, row.rule, row.action)] = (rec.status, row)
        return out

    def test_every_rule_recovered_on_the_fake_back_end(self):
        self.cast_stream()
        self.assertEqual(streams.EXPECTED,
                         self.wait_decisions(streams.EXPECTED))
        recoveries = wait_for(
            lambda: (lambda r: r if all(s in self.FINAL for s, _ in
                                        r.values()) else None)(
                self._recoveries()), timeout=60, what='recoveries ended')
        status = {k: v[0] for k, v in recoveries.items()}
        calls = self.driver.calls

        def called(method, *args):
            return [c for c in calls if c[0] == method
                    and c[1:1 + len(args)] == args]

        vm = streams.vm_uuid
        # R1: the crashed VM rebooted in place, nothing else touched.
        self.assertEqual('succeeded', status[('r1', 'R1', 'reboot')])
        self.assertEqual(1, len(called('reboot_server', vm('r1'))))
        # R2: the second crash of r2's VM escalated, no second reboot.
        self.assertEqual('escalated', status[('r2', 'R2', 'escalate')])
        self.assertEqual(1, len(called('reboot_server', vm('r2'))))
        # R3: the crashed VM moved off the degraded host to a target.
        self.assertEqual('succeeded', status[('r3', 'R3', 'evacuate')])
        self.assertIn(self.driver.servers[vm('r3')].host, streams.TARGETS)
        # R4, R5, R6: every VM moved, the compute service disabled.
        for node, rule in (('r4', 'R4'), ('r5', 'R5'), ('r6', 'R6')):
            self.assertEqual('succeeded',
                             status[(node, rule, 'migrate_all')], node)
            self.assertEqual('succeeded',
                             status[(node, rule, 'disable_node')], node)
            self.assertTrue(called('live_migrate_server', vm(node)), node)
            self.assertIn(self.driver.servers[vm(node)].host,
                          streams.TARGETS)
            self.assertEqual(1, len(called('disable_service', node)))
        # R7: the restart asked of the agent over the broker, succeeded
        # on its answer that the service runs again.
        self.assertEqual('succeeded',
                         status[('r7', 'R7', 'restart_service')])
        self.assertIn(('r7', 'libvirtd'), self.restarts)
        # R8: disabled and escalated; never an evacuation.
        self.assertEqual('succeeded', status[('r8', 'R8', 'disable_node')])
        self.assertEqual('escalated', status[('r8', 'R8', 'escalate')])
        self.assertEqual(1, len(called('disable_service', 'r8')))
        self.assertEqual('r8', self.driver.servers[vm('r8')].host)
        # R9: Nova says r9's compute is down; fenced (compute service
        # forced down), then evacuated.
        self.assertIn(status[('r9', 'R9', 'migrate_all')], self.FINAL)
        self.assertTrue(called('force_down_service', 'r9'))
        self.assertTrue(called('evacuate_server', vm('r9')))
        self.assertEqual('succeeded', status[('r9', 'R9', 'migrate_all')])
        # Untouched: the healthy nodes' VMs.
        for node in streams.TARGETS + ('r7',):
            self.assertEqual(node, self.driver.servers[vm(node)].host)


class TestDecideAndStoreOnMariaDB(base.FunctionalTestCase):
    """A crash is decided only once its decision is stored: a record
    whose values MariaDB refuses is a counted rejection, and a later valid
    record of the same crash is decided."""

    def setUp(self):
        super().setUp()
        self.db = self.mariadb()
        objects.register_all()
        self.engine = service.Engine(self.conf)

    def handle(self, data, mutate=None):
        rec = records.parse_snapshot(data)
        if mutate is not None:
            mutate(rec)
        return self.engine.handle(rec)

    def test_refused_crash_is_decided_by_the_next_valid_record(self):
        uuid = streams.vm_uuid('x')
        crashed = [(uuid, 'crashed', 'panicked')]
        self.handle(streams.snapshot('ok-1', 1))
        self.handle(streams.snapshot('x', 1, vms=[(uuid, 'running', None)]))

        def lone_surrogate(rec):
            rec.vms[0].reason = 'panic\ud800'
        self.assertEqual([], self.handle(streams.snapshot('x', 2,
                                                          vms=crashed),
                                         lone_surrogate))
        self.assertEqual(1, self.engine.rejected)
        self.assertEqual([], db_api.decision_list(self.context))
        self.assertEqual(1, db_api.node_get(self.context, 'x').last_cycle)
        self.handle(streams.snapshot('x', 3, vms=crashed))
        rows = db_api.decision_list(self.context)
        self.assertEqual([('R1', 'reboot', uuid, 3)],
                         [(r.rule, r.action, r.vm, r.cycle) for r in rows])
        self.assertEqual('pending', db_api.recovery_get_by_decision(
            self.context, rows[0].id).status)


class TestAgentStopThroughTheBroker(EngineFunctionalTestCase):
    """RPC 1.2 ``report_agent_stop`` cast over RabbitMQ (the client
    method is the agent's, in engine/rpcapi.py)."""

    def _last_cycle(self, node):
        try:
            return db_api.node_get(self.context, node).last_cycle
        except exception.NodeNotFound:
            return None

    def test_clean_stop_is_stored_and_not_silence(self):
        client = rpc.get_client(messaging.Target(topic=self.topic,
                                                 version='1.2'))
        for cycle in (1, 2):
            self.cast(streams.snapshot('calm', cycle))
            self.cast(streams.snapshot('ok-1', cycle))
        wait_for(lambda: self._last_cycle('calm') == 2,
                 what='snapshots stored')
        client.prepare(version='1.2').cast(self.ctx, 'report_agent_stop',
                                           node='calm', cycle=2)
        client.prepare(version='1.2').cast(self.ctx, 'report_agent_stop',
                                           node='calm', cycle='two')
        wait_for(lambda: (db_api.engine_judge_state_get(
            self.context, 'calm')[0] or {}).get('stopped') == 2,
            what='clean stop stored')
        wait_for(lambda: self.svc.manager.stats['rejected_agent_stop'] == 1,
                 what='bad stop rejected')
        # ok-1 reports on for silent_cycles + 1 cycles of wall time.
        for cycle in range(3, 3 + self.conf.engine.silent_cycles + 2):
            time.sleep(self.conf.engine.cycle_interval)
            self.cast(streams.snapshot('ok-1', cycle))
        wait_for(lambda: self._last_cycle('ok-1') == cycle,
                 what='ok-1 stored')
        self.svc.run_periodic_once()
        self.assertEqual([], self.decisions())


class TestPoison(EngineFunctionalTestCase):

    def _raw_publish(self, bodies):
        with kombu.Connection(self.url.replace('rabbit://', 'amqp://')) \
                as conn:
            exchange = kombu.Exchange('openstack', type='topic',
                                      durable=False)
            producer = conn.Producer(serializer='json')
            for body, content_type in bodies:
                producer.publish(body, exchange=exchange,
                                 routing_key=self.topic,
                                 content_type=content_type,
                                 content_encoding='utf-8')

    def test_poison_messages_are_dropped_good_ones_kept(self):
        raw_client = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=self.topic))
        good = snapshot_obj.Snapshot.from_json_dict(
            streams.snapshot('p-good', 1)).obj_to_primitive()
        wrong_type = json.loads(json.dumps(good))
        wrong_type['vmguard_object.data']['node'] = 'p-bad-type'
        wrong_type['vmguard_object.data']['cycle'] = 'forty-two'
        unknown = json.loads(json.dumps(good))
        unknown['vmguard_object.data']['node'] = 'p-bad-version'
        unknown['vmguard_object.version'] = '7.0'
        for cycle in range(1, 9):
            self.cast(streams.snapshot('p-good', cycle,
                                       health='critical' if cycle == 8
                                       else 'ok'))
            if cycle == 2:
                raw_client.cast({}, 'report_snapshot', snapshot=wrong_type)
                raw_client.cast({}, 'report_snapshot', snapshot=unknown)
                raw_client.cast({}, 'report_snapshot', snapshot='garbage')
                raw_client.cast({}, 'report_snapshot', nope=1)
                raw_client.cast({}, 'no_such_method', snapshot=good)
            if cycle == 4:
                self._raw_publish([
                    ('{"not": "an oslo message"}', 'application/json'),
                    ('\x00\x01 not json at all', 'application/json'),
                    ('[1, 2, 3]', 'application/json')])
        expected = collections.Counter({
            ('p-good', 'R4', 'migrate_all'): 1,
            ('p-good', 'R4', 'disable_node'): 1})
        self.assertEqual(expected, self.wait_decisions(expected))
        wait_for(lambda: self.svc.manager.stats['rejected'] >= 6,
                 what='rejections counted')
        stats = self.svc.stats()
        self.assertGreaterEqual(stats['rejected_snapshot'], 3)
        self.assertGreaterEqual(stats['rejected_message'], 3)
        node = db_api.node_get(self.context, 'p-good')
        self.assertEqual(8, node.last_cycle)
        names = {n.name for n in db_api.node_list(self.context)}
        self.assertNotIn('p-bad-type', names)
        self.assertNotIn('p-bad-version', names)


class TestNovaNotifications(EngineFunctionalTestCase):

    def _nova_notifier(self):
        nova_conf = cfg.ConfigOpts()
        nova_conf([], project='nova')
        # The first transport registers the options on Nova's config.
        messaging.get_notification_transport(nova_conf,
                                             url=self.url).cleanup()
        nova_conf.set_override('control_exchange', 'nova')
        transport = messaging.get_notification_transport(nova_conf,
                                                         url=self.url)
        self.addCleanup(transport.cleanup)
        return messaging.Notifier(transport, driver='messagingv2',
                                  topics=[self.nova_topic],
                                  publisher_id='nova-compute:cmp-n1')

    @staticmethod
    def _payload(uuid, host, task_state=None, power_state='running',
                 state='active'):
        return {
            'nova_object.name': 'InstanceUpdatePayload',
            'nova_object.namespace': 'nova',
            'nova_object.version': '2.0',
            'nova_object.data': {
                'uuid': uuid, 'host': host, 'node': host,
                'state': state, 'power_state': power_state,
                'task_state': task_state, 'display_name': 'vm',
                'tenant_id': 'p', 'user_id': 'u',
                'flavor': {
                    'nova_object.name': 'FlavorPayload',
                    'nova_object.namespace': 'nova',
                    'nova_object.version': '1.4',
                    'nova_object.data': {'flavorid': 'f1', 'vcpus': 4,
                                         'memory_mb': 8192, 'root_gb': 10,
                                         'name': 'm1.large'}}}}

    def test_task_state_host_flavor_and_crash(self):
        notifier = self._nova_notifier()
        ctxt = {'request_id': 'req-%s' % uuidutils.generate_uuid()}
        migrating = uuidutils.generate_uuid()
        crashed = uuidutils.generate_uuid()
        cycle = int(time.time() // self.conf.engine.cycle_interval)
        notifier.info(ctxt, 'instance.live_migration_pre.start',
                      self._payload(migrating, 'cmp-n1',
                                    task_state='migrating'))
        notifier.info(ctxt, 'instance.update', {'garbage': True})
        wait_for(lambda: self.svc.nova_endpoint.stats['task_states'] >= 1,
                 what='task state from Nova')
        vm, node = db_api.vm_get(self.context, migrating)
        self.assertEqual(('cmp-n1', 'migrating', 4, 8192),
                         (node, vm.task_state, vm.vcpus, vm.ram_mb))
        # The migrating VM looks crashed on its host: not judged crashed.
        for c in (cycle, cycle + 1):
            self.cast(streams.snapshot('cmp-n2', c))
            self.cast(streams.snapshot('cmp-n1', c, vms=[
                (migrating, 'paused', 'crashed')]))
        wait_for(lambda: db_api.node_get(self.context,
                                         'cmp-n1').last_cycle == cycle + 1,
                 what='snapshots stored')
        self.assertEqual([], self.decisions())
        # Nova's own crash signal is a crash event of the VM's host.
        notifier.info(ctxt, 'instance.update',
                      self._payload(crashed, 'cmp-n1',
                                    power_state='crashed', state='error'))
        expected = collections.Counter({('cmp-n1', 'R1', 'reboot'): 1})
        self.assertEqual(expected, self.wait_decisions(expected))
        row = self.decisions()[0]
        self.assertEqual(crashed, row.vm)
        self.assertEqual('event', row.evidence['seen_by'])
        events = db_api.vm_event_list(self.context, uuid=crashed)
        self.assertEqual([('nova', 'crashed')],
                         [(e.source, e.event) for e in events])
        self.assertEqual(1, self.svc.nova_endpoint.stats['rejected'])
        # Migration over: the source's post.end still says "migrating"
        # and names the source; the task ends all the same.
        notifier.info(ctxt, 'instance.live_migration_post.end',
                      self._payload(migrating, 'cmp-n1',
                                    task_state='migrating'))
        wait_for(lambda: db_api.vm_get(self.context, migrating)[0]
                 .task_state is None, what='task ended')
        # Where it runs is the agents' word, not the notification's.
        self.assertEqual('cmp-n1', db_api.vm_get(self.context, migrating)[1])
        self.cast(streams.snapshot('cmp-n1', cycle + 2))
        self.cast(streams.snapshot('cmp-n2', cycle + 2, vms=[
            (migrating, 'running', None)]))
        wait_for(lambda: db_api.vm_get(self.context,
                                       migrating)[1] == 'cmp-n2',
                 what='new host from the agent')
        notifier.info(ctxt, 'instance.delete.end',
                      self._payload(migrating, 'cmp-n2',
                                    state='deleted'))
        wait_for(lambda: not db_api.vm_list(self.context, node='cmp-n2'),
                 what='deleted instance gone')

    def test_order_kept_per_instance_and_service_update(self):
        notifier = self._nova_notifier()
        ctxt = {'request_id': 'req-%s' % uuidutils.generate_uuid()}
        uuid = uuidutils.generate_uuid()
        endpoint = self.svc.nova_endpoint
        seen = []
        handle = endpoint._handle

        def recording(event_type, payload):
            if event_type == 'instance.update':
                seen.append(payload['nova_object.data']['display_name'])
            return handle(event_type, payload)
        endpoint._handle = recording
        sent = []
        for i in range(120):
            payload = self._payload(uuid, 'cmp-n1', task_state=(
                'migrating' if i % 2 else 'rebooting'))
            payload['nova_object.data']['display_name'] = 'seq-%03d' % i
            sent.append('seq-%03d' % i)
            notifier.info(ctxt, 'instance.update', payload)
        wait_for(lambda: len(seen) >= len(sent), what='all notifications')
        self.assertEqual(sent, seen)
        self.assertEqual('migrating', endpoint.task_state(uuid))
        self.assertEqual('migrating',
                         db_api.vm_get(self.context, uuid)[0].task_state)
        # An operator disables a compute in Nova: not a target any more.
        notifier.info(ctxt, 'service.update', {
            'nova_object.name': 'ServiceStatusPayload',
            'nova_object.namespace': 'nova', 'nova_object.version': '1.1',
            'nova_object.data': {
                'host': 'cmp-n3', 'binary': 'nova-compute',
                'topic': 'compute', 'disabled': True,
                'disabled_reason': 'hw repair', 'forced_down': False,
                'report_count': 9, 'version': 66,
                'last_seen_up': '2026-11-29T05:00:00Z',
                'uuid': uuidutils.generate_uuid()}})
        wait_for(lambda: 'cmp-n3' in self.svc.engine.nova_services
                 .unavailable(), what='service.update consumed')
        cycle = int(time.time() // self.conf.engine.cycle_interval)
        for node in ('cmp-n3', 'cmp-n4'):
            self.cast(streams.snapshot(node, cycle))
        directory = self.svc.engine.directory
        wait_for(lambda: 'cmp-n4' in directory.nodes, what='snapshots')
        self.assertIn('cmp-n3', directory.nodes)
        names = {i.name for i in directory.candidates()}
        self.assertIn('cmp-n4', names)
        self.assertNotIn('cmp-n3', names)
