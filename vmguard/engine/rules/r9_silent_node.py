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

"""R9 silent node.

SPEC row: *no snapshot from N for ``silent_cycles`` [3] consecutive
cycles while other nodes report (N last reported cycle k: the decision
belongs to cycle k + ``silent_cycles``)* -> ``migrate_all``, executed as:
fence N, then evacuate its VMs (the execution, with its proofs of death,
is the recovery's).

Revision 2, the clock: N is silent once the pipeline's clock
(:mod:`vmguard.engine.clock`) reaches k + ``silent_cycles`` -- in
``replay`` the median of the other nodes' latest accepted cycles, in the
engine wall-clock time // ``cycle_interval`` and also that much
wall-clock time since N's last snapshot (or since the intake resumed
after a pause of all nodes). A node whose agent sent ``agent_stop`` is
not silent until it reports again.

This is the only R9: ``replay`` and the engine both reach it through
``Pipeline.tick``/``Pipeline.process``; the service layer only feeds them
time and records.

Incident: opened once; ends after a cycle in which a snapshot of N came
in with N ``normal``. R10 may replace the line by one ``escalate``.
"""

from vmguard.engine.rules import base


class SilentNode(base.Rule):

    name = 'R9'
    needs = ()
    incident = True

    def check_all(self, now, out):
        p = self.book.p
        silent = self.t.silent_cycles
        clock = p.clock
        upper = clock.upper(now)
        if upper is None:
            return
        nodes = p.nodes
        # Cheap bound first: no node's clock is beyond ``upper``.
        for name in sorted(n for n, st in nodes.items()
                           if st.last_cycle is not None
                           and st.last_cycle + silent <= upper):
            st = nodes[name]
            k = st.last_cycle
            if st.stopped is not None or 'R9' in st.incidents:
                continue
            if clock.reached(name, k, k + silent, now):
                self.silent(st, clock.cycle_for(name, now), out)

    def silent(self, st, clock_cycle, out):
        k = st.last_cycle
        # Its old cycle says nothing about the time any more; it is no
        # target while silent.
        self.book.p.clock.forget(st.name)
        self._mark(st.name, True)
        cycle = k + self.t.silent_cycles
        self.book.open_incident(
            st, self.name, cycle,
            'no snapshot from %s since cycle %d (%d consecutive cycles '
            'missing) while other nodes report (clock at cycle %s): fence '
            'and evacuate' % (st.name, k, self.t.silent_cycles,
                              clock_cycle),
            {'last_cycle': k, 'clock_cycle': clock_cycle}, out,
            actions=('migrate_all',))

    def ended(self, st, a, key):
        # Called for a snapshot that came in with the node normal.
        self._mark(st.name, False)
        return True

    def _mark(self, node, silent):
        set_silent = getattr(self.book.p.directory, 'set_silent', None)
        if set_silent is not None:
            set_silent(node, silent)
