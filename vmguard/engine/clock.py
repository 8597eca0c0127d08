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

"""The clock of the judgment (SPEC revision 2, "The clock and bad cycles").

A record whose cycle is more than ``max_cycle_skew`` cycles ahead of the
clock is rejected as bad input. R9 judges node N silent once the clock
reaches k + ``silent_cycles`` (k: N's last cycle). Two clocks, one
interface, chosen by who runs the pipeline:

* :class:`TraceClock` (``replay``): for a record of node N, the median
  of the latest accepted cycles of the *other* nodes (for an even count
  the mean of the two middle ones); no other node yet: no clock
  (accepted). One node with a wrong clock can neither fence the others
  nor stall its own rules. A node judged silent (R9) or whose agent
  stopped cleanly leaves the clock until it reports again: its old cycle
  says nothing about the time.
* :class:`WallClock` (the engine): wall-clock time // ``cycle_interval``.
  R9 also needs that much wall-clock time since N's last snapshot (and
  since the intake resumed after a pause of all nodes: after a broker
  restart the agents' backlogs arrive one agent after the other), while
  other nodes report (some node reported that long after N).

The clocks hold only the cycles of accepted snapshots (crash events and
``agent_stop`` records are checked against the clock but do not move it).
"""

import bisect


class TraceClock:
    """Median of the other nodes' latest accepted cycles."""

    wall = False

    def __init__(self, thresholds):
        self.t = thresholds
        self.latest = {}     # node -> latest accepted cycle
        self.cycles = []     # the same values, sorted

    def cycle_for(self, node, now=None):
        """The clock for a record of ``node`` (None: no other node)."""
        cycles = self.cycles
        n = len(cycles)
        mine = self.latest.get(node)
        if mine is None:
            if not n:
                return None
            half = n // 2
            if n % 2:
                return cycles[half]
            low, high = cycles[half - 1], cycles[half]
            return low if low == high else (low + high) / 2
        # The median of ``cycles`` without one copy of ``mine``.
        n -= 1
        if not n:
            return None
        skip = bisect.bisect_left(cycles, mine)
        half = n // 2
        high = cycles[half] if half < skip else cycles[half + 1]
        if n % 2:
            return high
        i = half - 1
        low = cycles[i] if i < skip else cycles[i + 1]
        return low if low == high else (low + high) / 2

    def mark(self, now=None):
        """Changes whenever the clock of some node may have moved (the
        pipeline then checks R9 and waiting crash events)."""
        cycles = self.cycles
        if not cycles:
            return None
        # Any node's clock is the median of these without one value: it
        # moves only when one of the middle ones moves (or the latest,
        # for two nodes).
        last = len(cycles) - 1
        mid = last // 2
        return (cycles[max(mid - 1, 0)], cycles[mid],
                cycles[min(mid + 1, last)], cycles[last])

    def upper(self, now=None):
        """No node's clock is beyond this (None: no clock at all)."""
        cycles = self.cycles
        if not cycles:
            return None
        return cycles[min((len(cycles) - 1) // 2 + 1, len(cycles) - 1)]

    def observe(self, node, cycle, now=None):
        """A snapshot (or agent_stop) of ``node`` was accepted."""
        old = self.latest.get(node)
        if old is not None:
            if cycle <= old:
                return
            cycles = self.cycles
            del cycles[bisect.bisect_left(cycles, old)]
        self.latest[node] = cycle
        bisect.insort(self.cycles, cycle)

    def adopt(self, node, cycle, now=None):
        if cycle is not None:
            self.observe(node, cycle, now)

    def forget(self, node):
        old = self.latest.pop(node, None)
        if old is not None:
            del self.cycles[bisect.bisect_left(self.cycles, old)]

    def reached(self, node, last, cycle, now=None):
        """Has the clock for ``node`` (last cycle ``last``) reached
        ``cycle``?"""
        clock = self.cycle_for(node)
        return clock is not None and clock >= cycle


class WallClock:
    """Wall-clock time // cycle_interval, and wall time since a report."""

    wall = True

    def __init__(self, thresholds):
        self.t = thresholds
        self.arrivals = {}       # node -> time of its latest snapshot
        self.intake_last = None
        self.intake_resumed = None

    def cycle_for(self, node, now):
        if now is None:
            return None
        return int(now // self.t.cycle_interval)

    def mark(self, now=None):
        return self.cycle_for(None, now)

    def upper(self, now=None):
        return self.cycle_for(None, now)

    def observe(self, node, cycle, now):
        if now is None:
            return
        self.arrivals[node] = now
        pause = 2 * self.t.cycle_interval
        if self.intake_last is None or now - self.intake_last > pause:
            # No node at all reported for two cycles: the pause was the
            # engine's or the broker's; silence counts from now.
            self.intake_resumed = now
        if self.intake_last is None or now > self.intake_last:
            self.intake_last = now

    def adopt(self, node, cycle, now):
        """A node taken over from another engine (or the database): its
        silence counts from the take-over."""
        if now is not None:
            self.arrivals.setdefault(node, now)

    def forget(self, node):
        self.arrivals.pop(node, None)

    def reached(self, node, last, cycle, now):
        if now is None or self.cycle_for(node, now) < cycle:
            return False
        since = self.arrivals.get(node)
        resumed = self.intake_resumed
        if since is None or (resumed is not None and resumed > since):
            since = resumed
        if since is None:
            return True
        limit = (cycle - last) * self.t.cycle_interval
        # Silent for that long, while other nodes report (a node reported
        # that long after it): when all go quiet, the pause is not N's.
        return (now - since >= limit and self.intake_last is not None
                and self.intake_last - since >= limit)
