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

"""R9 execution: act on a silent node only once its death is confirmed.

SPEC Revision 2, "R9 acts only on a confirmed death". Silence makes the
decision; executing it needs independent proof, in this order, each step
recorded as a recovery action of the node (``server`` = node name) with
its evidence in ``detail``:

1. ``check_compute`` -- Nova reports the node's nova-compute service down
   (its own heartbeat; waited for up to ``[recovery]
   compute_down_timeout``). Still up: the recovery escalates "agent
   silent, compute alive" and touches nothing.
2. ``power_off`` -- the node's fencer (``[recovery] fencers``) asks its
   BMC for a hard power off. No BMC: the ``none`` fencer refuses unless
   ``[recovery] fence_without_bmc``; refused -> escalate, nothing touched.
3. ``power_off_confirm`` -- the BMC reports the power off (within
   ``[recovery] fence_timeout``); not confirmed -> escalate.
4. ``force_down`` -- the compute service is forced down in Nova.
5. the servers are evacuated (the executor's migrate_all).

A step recorded ``done`` by an earlier attempt (an engine that died) is
not run again.

A manual node recovery (rule ``manual``, ``POST /v1/nodes/{name}/
recover``) is fenced the same way, except that step 1 records what Nova
says without waiting for it: the operator's word is the proof of death.
The BMC's confirmation of the power off is still required.
"""

import json
import time

from oslo_log import log as logging

from vmguard.compute import fencing
from vmguard import conf
from vmguard.db import api as db_api

LOG = logging.getLogger(__name__)
CONF = conf.CONF

STEP_CHECK = 'check_compute'
STEP_POWER_OFF = 'power_off'
STEP_CONFIRM = 'power_off_confirm'
STEP_FORCE_DOWN = 'force_down'


class FencingFlow:
    """R9's steps, mixed into :class:`RecoveryExecutor` (which provides
    ``driver``, ``fencers``, ``_call``, ``_issue`` and ``_sleep``)."""

    def _step(self, run, node, key):
        """The recorded step row, and whether an earlier attempt already
        finished it."""
        row, _created = db_api.recovery_action_create(
            run.context, run.recovery.id, node, key,
            detail=json.dumps({}))
        return row, row.status == 'done'

    def _end_step(self, run, row, status, **evidence):
        evidence.setdefault('at_s', run.elapsed())
        return db_api.recovery_action_update(
            run.context, row.id, status=status,
            detail=json.dumps(evidence, default=str))

    def _mass_failure(self, run):
        nodes = db_api.node_list(run.context)
        cycles = [n.last_cycle for n in nodes if n.last_cycle is not None]
        if not nodes or not cycles:
            return None
        newest = max(cycles)
        silent = [n.name for n in nodes
                  if n.last_cycle is None or
                  n.last_cycle <= newest - CONF.engine.silent_cycles]
        ratio = len(silent) / len(nodes)
        if ratio > CONF.recovery.mass_failure_ratio:
            return ('mass failure guard: %d of %d nodes silent at once (%s); '
                    'not fencing or evacuating' % (
                        len(silent), len(nodes), ', '.join(sorted(silent))))
        return None

    def _check_compute_down(self, run, node, asserted=False):
        """Step 1. Returns None when Nova says down, else why not.

        :param asserted: an operator asked for the recovery (rule
            ``manual``): the node is dead on the operator's word; what
            Nova says is recorded as evidence, not waited for.
        """
        row, done = self._step(run, node, STEP_CHECK)
        if done:
            return None
        if asserted:
            service = self._call(self.driver.get_service, node)
            self._end_step(run, row, 'done', nova_state=service.state,
                           nova_status=service.status,
                           forced_down=service.forced_down,
                           nova_updated_at=service.updated_at,
                           verdict='dead on the operator\'s word')
            LOG.info('Recovery %s: operator says %s is dead (Nova reports '
                     'its nova-compute %s)', run.recovery.uuid, node,
                     service.state)
            return None
        timeout = CONF.recovery.compute_down_timeout
        deadline = time.monotonic() + timeout
        while True:
            service = self._call(self.driver.get_service, node)
            evidence = {'nova_state': service.state,
                        'nova_status': service.status,
                        'forced_down': service.forced_down,
                        'nova_updated_at': service.updated_at}
            if service.is_down:
                self._end_step(run, row, 'done', **evidence)
                LOG.info('Recovery %s: Nova reports nova-compute of %s down '
                         '(last heartbeat %s)', run.recovery.uuid, node,
                         service.updated_at)
                return None
            if time.monotonic() >= deadline:
                break
            self._sleep(min(CONF.recovery.poll_interval,
                            max(0.0, deadline - time.monotonic())))
        self._end_step(run, row, 'failed', waited_s=timeout,
                       verdict='compute alive', **evidence)
        return ('agent silent, compute alive: Nova reports nova-compute of '
                '%s up (last heartbeat %s, waited %ss); nothing fenced or '
                'evacuated' % (node, service.updated_at, timeout))

    def _power_off(self, run, node):
        """Steps 2 and 3. Returns None once the BMC confirmed the power
        off, else why the node could not be fenced."""
        fencer = self.fencers.for_node(node)
        if fencer is None:
            return ('no fencer of [recovery] fencers (%s) can fence %s'
                    % (', '.join(CONF.recovery.fencers), node))
        evidence = dict(getattr(fencer, 'evidence', lambda n: {})(node)
                        or {'fencer': type(fencer).__name__})
        row, done = self._step(run, node, STEP_POWER_OFF)
        if not done:
            try:
                evidence['power_state_before'] = self._power_state(fencer,
                                                                   node)
                fencer.power_off(node)
            except fencing.FencingRefused as exc:
                self._end_step(run, row, 'rejected', error=str(exc),
                               **evidence)
                return '%s; servers untouched' % exc
            except fencing.FencingError as exc:
                self._end_step(run, row, 'failed', error=str(exc),
                               **evidence)
                return str(exc)
            self._end_step(run, row, 'done', **evidence)
        row, done = self._step(run, node, STEP_CONFIRM)
        if done:
            return None
        started = time.monotonic()
        timeout = CONF.recovery.fence_timeout
        confirmed = fencer.wait_off(node, timeout)
        evidence['waited_s'] = round(time.monotonic() - started, 3)
        if not confirmed:
            evidence['power_state'] = self._power_state(fencer, node)
            self._end_step(run, row, 'failed', **evidence)
            return ('BMC of %s did not confirm the power off within %ss'
                    % (node, timeout))
        evidence['power_state'] = fencing.POWER_OFF
        self._end_step(run, row, 'done', **evidence)
        LOG.info('Recovery %s: node %s is powered off (confirmed by %s)',
                 run.recovery.uuid, node, evidence.get('fencer'))
        return None

    @staticmethod
    def _power_state(fencer, node):
        getter = getattr(fencer, 'power_state', None)
        if getter is None:
            return None
        try:
            return getter(node)
        except fencing.FencingError as exc:
            return 'unknown (%s)' % exc

    def _fence(self, run, node, asserted=False):
        """R9 steps 1-4. Returns None or why the node was not fenced
        (then nothing after the failing step was done).

        :param asserted: see :meth:`_check_compute_down`.
        """
        why = self._check_compute_down(run, node, asserted)
        if why:
            return why
        why = self._power_off(run, node)
        if why:
            return 'fencing failed: %s' % why
        self._issue(run, node, STEP_FORCE_DOWN, None, None,
                    lambda rid: self.driver.force_down_service(node, rid),
                    detail={'after': STEP_CONFIRM})
        return None

