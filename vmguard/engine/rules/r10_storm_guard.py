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

"""R10 storm guard (SPEC revision 2).

SPEC text: *when nodes open incidents of R4, R5, R6, R8 or R9 within
``storm_window`` [3] cycles, and one more would make their number exceed
max(``storm_min_nodes`` [3], ``storm_ratio`` [0.25] x nodes reporting),
that node's incident produces one ``escalate`` line (rule R10, ``vm``
null) instead of its ``migrate_all``/``disable_node``: a shared cause
(storage, network, broker) is not fixed by draining the cloud. The guard
ends when the window holds no new incident.*

The incident itself is opened (it is not repeated each cycle, and ends
as its rule says); the node is not disabled. A node already counted in
the window opens further incidents normally. Incidents escalated by the
guard count in the window too: the guard holds while incidents keep
coming and ends ``storm_window`` cycles after the last one.

Decision line: ``escalate``, ``vm`` null, rule R10; the reason names the
rule whose incident it replaces and the nodes counted.

With several engines each pipeline judges a share of the nodes: the
guard is the cloud's, not the share's. The engine gives the pipeline
(:meth:`~vmguard.engine.pipeline.Pipeline.set_peers`) the number of
nodes of the whole cloud and the openings the engines stored recently;
both count here. A share is not a sample of the cloud: hashed by name,
one engine may hold 7 of the 10 failed nodes while holding 23 of 50
nodes, 30 % of its share against 20 % of the cloud.
"""

from vmguard.engine import decision as dec
from vmguard.engine.rules import base


class StormGuard(base.Rule):

    name = 'R10'
    needs = ()

    def __init__(self, book):
        super().__init__(book)
        # (cycle, node) of the incident openings still in the window.
        self.openings = []
        self.latest = 0

    def limit(self):
        # Nodes reporting: the nodes the pipeline judges, or the cloud's
        # when engines share the nodes.
        reporting = len(self.book.p.nodes)
        peers = self.book.p.peers
        if peers is not None:
            reporting = max(reporting, peers.reporting)
        return max(self.t.storm_min_nodes, self.t.storm_ratio * reporting)

    def guards(self, st, rule, cycle, why, evidence, out, ident):
        """Note an incident opening; True when R10 replaced its lines."""
        window = self.t.storm_window
        self.latest = max(self.latest, cycle)
        openings = [(c, n) for c, n in self.openings
                    if c > self.latest - window]
        nodes = {n for c, n in openings if abs(c - cycle) < window}
        peers = self.book.p.peers
        if peers is not None:
            # Stored by any engine (this one's too: counted once a node).
            nodes.update(n for c, n in peers.openings
                         if abs(c - cycle) < window)
        openings.append((cycle, st.name))
        self.openings = openings
        if st.name in nodes:
            return False
        limit = self.limit()
        if len(nodes) + 1 <= limit:
            return False
        counted = sorted(nodes)
        base.emit(out, dec.Decision(
            st.name, cycle, 'escalate', self.name,
            'storm guard: %s incident on %s (%s) would make %d nodes with '
            'incidents within %d cycles (limit %g; already %s): not '
            'draining, escalate' % (
                rule, st.name, why, len(nodes) + 1, self.t.storm_window,
                limit, ', '.join(counted[:10]) +
                (', ...' if len(counted) > 10 else '')),
            evidence=dict(evidence, storm_nodes=counted, replaces=rule),
            incident_key='R10:%s:escalate' % ident))
        return True
