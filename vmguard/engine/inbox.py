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

"""The engine's inbox: notifications of other monitors, manual recoveries.

The API stores what it receives and casts its id to the engine topic
(:meth:`vmguard.engine.rpcapi.EngineAPI.process_notification`,
``execute_decision``); it never acts itself. The engine that owns the
node (hash ring; the first engine forwards) runs it through the
judgment's own state, so that what another monitor says and what
vmguard's agents say make one incident, not two:

* ``host_down`` -- R9's incident of the node is opened (unless it is
  open already: then the notification is ``ignored``, the node is being
  recovered). Its ``migrate_all`` line (rule R9; R10's storm guard may
  replace it) is executed like any R9: Nova must report the compute
  down, the BMC must confirm the power off, then force-down and
  evacuation. The decision's incident key is the notification's, so a
  notification is decided once whatever is redelivered.
* ``vm_crashed`` -- a crash event of the VM in the clock's current
  cycle, exactly as an agent's libvirt event: paired with the node's
  host state of that cycle (R1 reboot, R2 escalate, R3 evacuate),
  waiting for that cycle's snapshot if needed. A node that never sent a
  snapshot has no host state: ``ignored``.
* ``process_down`` -- the service counts as down in the current cycle:
  R7 ``restart_service`` (host ``normal``, fewer than ``service_cycles``
  consecutive cycles down, the agent's count and the notifications'
  together), R8 ``disable_node`` + ``escalate`` from the
  ``service_cycles``-th on. Keys are R7's and R8's own: the agent's
  report of the same cycle makes the same decision, stored once.
* a manual recovery (``POST /v1/nodes/{name}/recover``, ``/v1/vms/
  {uuid}/recover``): the API stored the decision (rule ``manual``) and
  its pending recovery; the owner marks a node recovery as the node's R9
  incident (R9 does not fence it a second time) and submits it to the
  recovery executor.

What a cast lost (broker away, every engine down) is not lost: each
engine's periodic task takes the notifications still ``new`` and the
manual recoveries still ``pending`` of the nodes it owns.
"""

import datetime
import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils

from vmguard.common import exception
from vmguard.common import metrics
from vmguard.db import api as db_api
from vmguard.engine import decision as dec
from vmguard.engine.rules import base as rules_base
from vmguard.objects import records

LOG = logging.getLogger(__name__)

# A notification or manual recovery older than this (seconds) that no
# engine took is taken by the periodic task of the node's owner.
ORPHAN_AGE = 10.0


class Inbox:
    """What the API hands to the engine (one per engine)."""

    def __init__(self, engine):
        """:param engine: :class:`vmguard.engine.service.Engine`."""
        self.engine = engine
        # (node, service) -> cycles with a process_down notification.
        self._process_down = {}
        # Notifications this engine is processing now (uuids).
        self._busy = set()
        self._busy_lock = threading.Lock()

    # -- routing --------------------------------------------------------------

    def _forward(self, context, node, method, **kwargs):
        """Cast to the node's owner when that is another engine."""
        eng = self.engine
        owner = eng.coordinator.owner(node)
        if owner == eng.host or eng.api is None:
            return False
        cctxt = eng.api.client.prepare(server=owner, version='1.3')
        cctxt.cast(context, method, forwarded=True, **kwargs)
        LOG.debug('%s of node %s forwarded to engine %s', method, node,
                  owner)
        return True

    def notification(self, context, uuid, forwarded=False):
        """RPC: process the stored notification ``uuid``."""
        try:
            row = db_api.notification_get_by_uuid(context, uuid)
        except exception.NotificationNotFound:
            LOG.warning('Notification %s is not stored; ignored', uuid)
            return None
        if not forwarded and self._forward(
                context, row.node, 'process_notification',
                notification=uuid):
            return None
        return self.process(row)

    def decision(self, context, uuid, forwarded=False):
        """RPC: execute the stored manual decision ``uuid``."""
        try:
            row = db_api.decision_get_by_uuid(context, uuid)
        except exception.NotFound:
            LOG.warning('Decision %s is not stored; ignored', uuid)
            return None
        if not forwarded and self._forward(context, row.node,
                                           'execute_decision',
                                           decision=uuid):
            return None
        return self.execute(row)

    # -- notifications --------------------------------------------------------

    def process(self, row, now=None):
        """Take ``row`` (CAS) and decide it; returns its final status,
        or None when another engine has it."""
        with self._busy_lock:
            if row.uuid in self._busy:
                return None
            self._busy.add(row.uuid)
        try:
            return self._process(row, now)
        finally:
            with self._busy_lock:
                self._busy.discard(row.uuid)

    def _process(self, row, now):
        eng = self.engine
        now = time.time() if now is None else now
        row = db_api.notification_claim(eng.context, row.uuid, eng.host)
        if row is None:
            return None
        handler = {'host_down': self._host_down,
                   'vm_crashed': self._vm_crashed,
                   'process_down': self._process_down_}.get(row.type)
        try:
            if handler is None:
                raise ValueError('unknown notification type %r' % row.type)
            status, message, uuids, cycle = handler(row, now)
        except Exception as exc:
            LOG.exception('Notification %s (%s of %s) could not be '
                          'processed', row.client_id, row.type, row.node)
            status, message, uuids, cycle = (
                'error', '%s: %s' % (type(exc).__name__, exc), None, None)
        LOG.info('Notification %s (%s of node %s%s from %s): %s%s%s',
                 row.client_id, row.type, row.node,
                 ' vm %s' % row.vm if row.vm else
                 (' service %s' % row.service if row.service else ''),
                 row.source or 'unknown', status,
                 ' -- %s' % message if message else '',
                 ', decisions %s' % ', '.join(uuids) if uuids else '')
        db_api.notification_finish(eng.context, row.uuid, status,
                                   message=message, decisions=uuids,
                                   cycle=cycle)
        return status

    def _cycle(self, st, now):
        cycle = self.engine.pipeline.clock.cycle_for(st.name, now)
        if cycle is None:
            cycle = st.last_cycle or 0
        if st.last_cycle is not None:
            cycle = max(cycle, st.last_cycle)
        return cycle

    @staticmethod
    def _said(row):
        return 'notification %s from %s%s' % (
            row.client_id, row.source or 'another monitor',
            ' (%s)' % row.detail if row.detail else '')

    def _evidence(self, row, **more):
        evidence = {'notification': row.client_id,
                    'notification_uuid': row.uuid, 'source': row.source,
                    'generated_at': (row.generated_at.isoformat()
                                     if row.generated_at else None)}
        evidence.update(more)
        return evidence

    def _store(self, decisions):
        """Store decisions made under the engine's lock; their uuids."""
        eng = self.engine
        if not decisions:
            return []
        with eng._lock:
            judge_states = eng._judge_states(decisions)
        try:
            eng._store(decisions, judge_states=judge_states)
        except Exception:
            with eng._lock:
                eng.pipeline.undo(decisions)
            raise
        return db_api.notification_decision_uuids(
            eng.context, [d.incident_key for d in decisions])

    def _host_down(self, row, now):
        eng = self.engine
        pipeline = eng.pipeline
        out = []
        with eng._lock:
            st = pipeline._node(row.node)
            cycle = self._cycle(st, now)
            if 'R9' in st.incidents:
                known = db_api.notification_decision_uuids(
                    eng.context, ['notification:%s:migrate_all' % row.uuid])
                if known:
                    # Taken again after an engine stopped: its own.
                    return 'accepted', None, known, cycle
                return ('ignored', 'node %s is being recovered already: '
                        'its R9 incident is open since cycle %s'
                        % (row.node, st.incidents['R9']), None, cycle)
            pipeline.rules.open_incident(
                st, 'R9', cycle,
                'host_down %s: fence and evacuate' % self._said(row),
                self._evidence(row, last_cycle=st.last_cycle), out,
                actions=('migrate_all',))
            r9 = pipeline.rules.r9
            if r9 is not None:
                r9._mark(row.node, True)
            for d in out:
                d.incident_key = 'notification:%s:%s' % (row.uuid,
                                                         d.action)
        uuids = self._store(out)
        return 'accepted', None, uuids, cycle

    def _vm_crashed(self, row, now):
        eng = self.engine
        with eng._lock:
            st = eng.pipeline.nodes.get(row.node)
            if st is None or st.last_cycle is None:
                return ('ignored', 'node %s never sent a snapshot: a crash '
                        'is judged with its node\'s host state, which '
                        'vmguard does not know' % row.node, None, None)
            cycle = self._cycle(st, now)
            if row.vm in st.decided:
                return ('ignored', 'the crash of %s is decided already '
                        '(cycle %s)' % (row.vm, st.decided[row.vm]),
                        None, cycle)
        rec = records.parse_vm_event({
            'node': row.node, 'cycle': cycle, 'uuid': row.vm,
            'event': 'crashed', 'reason': row.reason or 'crashed',
            'source': 'notification'})
        decisions = eng.handle(rec, now)
        if decisions:
            uuids = db_api.notification_decision_uuids(
                eng.context, [d.incident_key for d in decisions])
            return 'accepted', None, uuids, cycle
        with eng._lock:
            waiting = rec.uuid in eng.pipeline.pending.get(
                (row.node, cycle), {})
        if waiting:
            return ('accepted', 'waiting for the snapshot of cycle %s to '
                    'pair the crash with the host state' % cycle, None,
                    cycle)
        return ('ignored', 'not judged a crash (a Nova task in progress, '
                'or decided already)', None, cycle)

    def _process_down_(self, row, now):
        eng = self.engine
        pipeline = eng.pipeline
        need = pipeline.t.service_cycles
        service = row.service
        out = []
        with eng._lock:
            st = pipeline.nodes.get(row.node)
            if st is None or st.last_cycle is None:
                return ('ignored', 'node %s never sent a snapshot: its '
                        'agent would restart the service' % row.node, None,
                        None)
            cycle = self._cycle(st, now)
            key = 'R8:%s' % service
            if key in st.incidents:
                return ('ignored', 'service %s of %s keeps failing: R8 '
                        'escalated it in cycle %s' % (
                            service, row.node, st.incidents[key]), None,
                        cycle)
            cycles = self._process_down.setdefault((row.node, service),
                                                   set())
            cycles.add(cycle)
            for old in [c for c in cycles if c <= cycle - need]:
                cycles.discard(old)
            run = 0
            while cycle - run in cycles:
                run += 1
            agent = ((st.data.get('services') or {}).get('down')
                     or {}).get(service, 0)
            if agent and cycle > st.last_cycle:
                agent += cycle - st.last_cycle
            count = max(run, agent)
            host_state = (st.assessment.host_state if st.assessment
                          else 'unknown')
            evidence = self._evidence(row, host_state=host_state,
                                      down_cycles=count)
            if count >= need:
                pipeline.rules.open_incident(
                    st, 'R8', cycle,
                    'process_down %s: service %s down for %d consecutive '
                    'cycles: restarts did not help' % (
                        self._said(row), service, count),
                    evidence, out, key=key, service=service,
                    actions=('disable_node', 'escalate'))
            elif host_state != 'normal':
                return ('ignored', 'host state of %s is %s: R7 restarts a '
                        'service only on a normal host (the host\'s own '
                        'rules judge it)' % (row.node, host_state), None,
                        cycle)
            else:
                rules_base.emit(out, dec.Decision(
                    row.node, cycle, 'restart_service', 'R7',
                    'process_down %s: service %s down for %d consecutive '
                    'cycle(s) while host normal: restart it (no '
                    'evacuation)' % (self._said(row), service, count),
                    service=service, evidence=evidence,
                    incident_key='R7:%s:%s:%s' % (row.node, service,
                                                  cycle)))
        uuids = self._store(out)
        return 'accepted', None, uuids, cycle

    # -- manual recoveries ----------------------------------------------------

    def execute(self, row):
        """Submit the manual decision ``row`` to the recovery executor
        (a node recovery first becomes the node's R9 incident)."""
        eng = self.engine
        if row.rule != 'manual':
            LOG.warning('Decision %s is not manual (rule %s); not run on '
                        'request', row.uuid, row.rule)
            return None
        if row.action == 'migrate_all' and row.vm is None:
            with eng._lock:
                st = eng.pipeline.nodes.get(row.node)
                marked = None
                if st is not None and 'R9' not in st.incidents:
                    st.incidents['R9'] = row.cycle
                    marked = [row]
                    r9 = eng.pipeline.rules.r9
                    if r9 is not None:
                        r9._mark(row.node, True)
                judge_states = eng._judge_states(marked) if marked else ()
            if judge_states:
                eng._store([], judge_states=judge_states)
        metrics.decision_stored(row)
        eng.notifier.decision(row)
        LOG.info('Manual decision %s (%s of %s%s, reason: %s) handed to '
                 'recovery', row.uuid, row.action, row.node,
                 ' vm %s' % row.vm if row.vm else '', row.reason)
        return eng.recovery.submit(row)

    # -- what a lost cast left ------------------------------------------------

    def sweep(self, now=None):
        """Take the unfinished notifications and the pending manual
        recoveries of this engine's nodes that no cast brought."""
        eng = self.engine
        before = timeutils.utcnow().replace(tzinfo=None)
        cutoff = before - datetime.timedelta(seconds=ORPHAN_AGE)
        done = 0
        for row in db_api.notification_list_unfinished(eng.context,
                                                       before=cutoff):
            if row.status == 'processing' and row.engine != eng.host:
                continue
            if not eng.coordinator.owns(row.node):
                continue
            LOG.info('Notification %s (%s of %s) taken by the periodic '
                     'task', row.client_id, row.type, row.node)
            self.process(row, now)
            done += 1
        for recovery, decision in db_api.recovery_list_unfinished(
                eng.context):
            if (decision.rule != 'manual' or recovery.status != 'pending'
                    or decision.created_at > cutoff
                    or not eng.coordinator.owns(decision.node)):
                continue
            LOG.info('Manual decision %s taken by the periodic task',
                     decision.uuid)
            self.execute(decision)
            done += 1
        return done
