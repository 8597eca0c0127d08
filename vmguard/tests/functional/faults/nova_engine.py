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

"""Base of the fault scenarios with a real Nova and a real engine process.

* Nova: the test Nova 34 of tools/nova (``real_nova()``; three fake-driver
  computes cmp-1..cmp-3), with the helpers of the recovery tests
  (servers, hosts put back, instance actions).
* Engine: ``vmguard-engine`` as a process (:class:`daemons.Daemon`) on a
  topic of its own, over RabbitMQ and the test's MariaDB database, with
  the ``nova`` recovery back end; SIGKILLed or restarted by the test.
* Agents: a publisher thread casts one snapshot per node and cycle (cycle
  numbers go up by one every :attr:`CYCLE` seconds) in the SPEC.md form,
  with the test's servers as the node's VMs. :meth:`crash` makes servers
  look crashed for a few cycles, :meth:`fail_host` makes a node's
  hardware critical.
"""

import collections
import os
import re
import threading

import fixtures
import oslo_messaging as messaging
from oslo_utils import uuidutils
from keystoneauth1 import exceptions as ksa_exc
from testtools import content

from vmguard.common import context as vmg_context
from vmguard.db import api as db_api
from vmguard.engine import rpcapi
from vmguard import objects
from vmguard.objects import snapshot as snapshot_obj
from vmguard.tests.functional.faults import daemons
from vmguard.tests.functional.nova import base as nova_base
from vmguard.tests.functional.nova import test_recovery
from vmguard.tests.unit.engine import streams

FINAL = ('succeeded', 'failed', 'escalated', 'skipped', 'cancelled')


class Collector:
    """Listener for vmguard's own notifications."""

    def __init__(self):
        self.events = collections.defaultdict(list)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.events[event_type].append(payload)

    error = info


class NovaEngineFaultTestCase(test_recovery.NovaRecoveryTestCase):

    CYCLE = 0.5           # seconds between two cycles of the publisher
    FIRST_CYCLE = 101     # the recovery tests' nodes stand at cycle 100

    def setUp(self):
        super().setUp()
        self.url = self.require_rabbitmq()
        objects.register_all()
        suffix = uuidutils.generate_uuid(dashed=False)[:10]
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.topic = 'vmguard-engine-fault-%s' % suffix
        self.vmg_topic = 'vmguard_notifications_fault_%s' % suffix
        self.engine_host = 'engine-fault-%s' % suffix
        self.flags(group='engine', topic=self.topic)
        self.transport = messaging.get_rpc_transport(self.conf,
                                                     url=self.url)
        self.addCleanup(self.transport.cleanup)
        self.api = rpcapi.EngineAPI(self.conf, transport=self.transport)
        self.ctx = vmg_context.get_admin_context()
        self._lock = threading.Lock()
        self._vms = {host: {} for host in self.hosts}  # uuid -> [state, n]
        self._health = {host: 'ok' for host in self.hosts}
        self.cycle = self.FIRST_CYCLE
        self.engines = []
        self.recovery_options = {}

    # --- the engine process ---------------------------------------------

    def engine_config(self, **recovery):
        options = {'compute_driver': 'nova', 'max_concurrent': 2,
                   'poll_interval': 0.2, 'retry_interval': 0.5,
                   'retries': 3, 'action_timeout': 120}
        options.update(recovery)
        return daemons.write_config(
            os.path.join(self.tmp, 'engine.conf'), {
                'DEFAULT': {'transport_url': self.url,
                            'host': self.engine_host},
                'database': {'connection': self.db.url},
                'engine': {'topic': self.topic, 'cycle_interval': 1,
                           'periodic_interval': 1,
                           # The publisher stands for every agent; the
                           # scenarios are not about silent nodes.
                           'silent_cycles': 100},
                'notifications': {'nova_listener': False},
                'oslo_messaging_notifications': {
                    'driver': 'messagingv2', 'topics': self.vmg_topic},
                'nova': {'auth_type': 'none',
                         'endpoint_override': self.env['endpoint']},
                'recovery': options,
            })

    def start_engine(self, config):
        n = len(self.engines) + 1
        engine = daemons.Daemon(
            'engine', config, os.path.join(self.tmp, 'engine-%d.log' % n))
        self.engines.append(engine)
        self.addCleanup(engine.kill)
        self.addCleanup(self._attach_log, engine, n)
        engine.start()
        daemons.wait_for(lambda: 'started on topic' in engine.log_tail(
            200000), 60, what='vmguard-engine %d to start' % n,
            alive=(engine,))
        return engine

    def _attach_log(self, engine, n):
        self.addDetail('engine-%d-log' % n,
                       content.text_content(engine.log_tail(30000)))

    def engine_log_count(self, pattern):
        regex = re.compile(pattern)
        return sum(len(regex.findall(e.log_tail(10 ** 7)))
                   for e in self.engines)

    def listen(self):
        """Collect vmguard's notifications (the engines emit them)."""
        transport = messaging.get_notification_transport(self.conf,
                                                         url=self.url)
        self.addCleanup(transport.cleanup)
        collector = Collector()
        listener = messaging.get_notification_listener(
            transport, [messaging.Target(topic=self.vmg_topic)],
            [collector], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        return collector

    # --- the agents -------------------------------------------------------

    def place(self, host, server_ids):
        with self._lock:
            for server_id in server_ids:
                self._vms[host][server_id] = ['running', 0]

    def crash(self, host, server_ids, cycles=2):
        """The servers look crashed for ``cycles`` cycles, then running
        again (rebooted)."""
        with self._lock:
            for server_id in server_ids:
                self._vms[host][server_id] = ['crashed', cycles]

    def fail_host(self, host):
        with self._lock:
            self._health[host] = 'critical'

    def start_publishing(self):
        stop = threading.Event()
        thread = threading.Thread(target=self._publish, args=(stop,),
                                  daemon=True, name='fault-agents')
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(stop.set)

    def _publish(self, stop):
        while not stop.is_set():
            with self._lock:
                snaps = []
                for host in self.hosts:
                    vms = []
                    for uuid, entry in sorted(self._vms[host].items()):
                        state = entry[0]
                        vms.append((uuid, state, 'panicked'
                                    if state == 'crashed' else 'booted'))
                        if state == 'crashed':
                            entry[1] -= 1
                            if entry[1] <= 0:
                                entry[0] = 'running'
                    snaps.append(streams.snapshot(
                        host, self.cycle, health=self._health[host],
                        vms=vms))
                self.cycle += 1
            for data in snaps:
                try:
                    self.api.report_snapshot(
                        self.ctx, snapshot_obj.Snapshot.from_json_dict(data))
                except Exception:
                    pass  # an agent buffers; here the cycle is just lost
            stop.wait(self.CYCLE)

    # --- what vmguard and Nova did ----------------------------------------

    def decisions(self):
        return db_api.decision_list(self.context)

    def recoveries(self):
        return [db_api.recovery_get_by_decision(self.context, d.id)
                for d in self.decisions()]

    def wait_decisions(self, count, timeout=60):
        return daemons.wait_for(
            lambda: (len(self.decisions()) >= count and self.decisions()),
            timeout, what='%d decisions' % count, alive=self.running())

    def wait_recoveries_final(self, count, timeout=180):
        def done():
            recs = self.recoveries()
            if len(recs) >= count and all(r.status in FINAL for r in recs):
                return recs
            return None
        return daemons.wait_for(done, timeout, interval=0.3,
                                what='%d recoveries to end' % count,
                                alive=self.running())

    def running(self):
        return [e for e in self.engines if e.running()]

    def action_rows(self):
        rows = []
        for rec in self.recoveries():
            rows.extend(db_api.recovery_action_list(self.context, rec.id))
        return rows

    def nova_actions(self, server_id, skip=('create', 'stop')):
        """Nova's own record (os-instance-actions) of a server."""
        return [a.action for a in
                self.driver.list_instance_actions(server_id)
                if a.action not in skip]

    def wait_nova_api(self, timeout=120):
        """Until Nova's API answers again (after start-service).

        Only "cannot connect yet" and non-200 answers mean "not yet": any
        other error is a bug of the test and fails at once.
        """
        last = []

        def answers():
            try:
                resp = self.compute.request('/servers', 'GET',
                                            microversion=nova_base.VERSION,
                                            raise_exc=False)
            except (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout,
                    ksa_exc.DiscoveryFailure, ksa_exc.EndpointNotFound,
                    ksa_exc.RetriableConnectionFailure) as exc:
                last[:] = [exc]
                return False
            last[:] = [resp.status_code, resp.text[:300]]
            return resp.status_code == 200
        try:
            return daemons.wait_for(answers, timeout, interval=0.5,
                                    what="Nova's API to answer again")
        except AssertionError as exc:
            raise AssertionError('%s (last answer: %r)' % (exc, last)) from exc
