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

"""Identity paths of hardware items (R5).

Each item with an identity (serial, WWN, MAC) has a *baseline path*: the
best path its identity was read through while the item was healthy
(``inband`` better than ``oob`` better than ``none``). When the same item
(same id, same identity) is read through a worse path than its baseline in
each of the last ``identity_cycles`` consecutive cycles, the OS is losing a
device that the BMC still sees: the finding goes to
``assessment.identity_lost``.

A *different* identity in the same slot is a replacement: the new identity
and its path become the baseline; it is not a fault. A path that flaps
(oob, inband, oob) restarts the count each time it is back on baseline.

State: ``{"items": {id: [identity, baseline path, cycles off baseline,
first cycle off baseline]}}``.
"""

from vmguard.engine.judges import base

_RANK = {'inband': 2, 'oob': 1, 'none': 0, None: 0}


class IdentityPathJudge(base.Judge):

    name = 'identity'

    def judge(self, snapshot, data, assessment):
        items = data.get('items')
        cycle = snapshot.cycle
        if data.get('off') and data.get('cycle') != cycle - 1:
            # A cycle without a snapshot breaks "consecutive".
            for entry in items.values():
                entry[2] = 0
                entry[3] = None
            data['off'] = 0
        data['cycle'] = cycle
        if items is None:
            items = data['items'] = {}
        elif assessment.same_hardware and not data.get('off'):
            # Same items as last cycle and none off its baseline path.
            return
        need = self.thresholds.identity_cycles
        rank = _RANK
        off = 0
        for item in snapshot.hardware:
            identity = item.identity
            if identity is None:
                continue
            path = item.identity_path
            entry = items.get(item.id)
            if entry is None:
                items[item.id] = [identity, path, 0, None]
                continue
            if entry[0] != identity:
                assessment.identity_changes.append(
                    {'id': item.id, 'change': 'replaced',
                     'old_identity': entry[0], 'identity': identity,
                     'path': path, 'cycle': cycle})
                entry[0] = identity
                entry[1] = path
                entry[2] = 0
                entry[3] = None
                continue
            baseline = entry[1]
            if path == baseline:
                if entry[2]:
                    entry[2] = 0
                    entry[3] = None
                continue
            if rank[path] > rank[baseline]:
                # Read better than ever before: a new baseline, if healthy.
                if entry[2]:
                    entry[2] = 0
                    entry[3] = None
                if item.health == 'ok':
                    assessment.identity_changes.append(
                        {'id': item.id, 'change': 'baseline',
                         'old_path': baseline, 'path': path,
                         'cycle': cycle})
                    entry[1] = path
                continue
            # Read through a worse path than the baseline.
            if not entry[2]:
                entry[3] = cycle
                assessment.identity_changes.append(
                    {'id': item.id, 'change': 'path_lost',
                     'identity': identity, 'baseline': baseline,
                     'path': path, 'cycle': cycle})
            entry[2] += 1
            off += 1
            if entry[2] >= need:
                assessment.identity_lost.append(
                    {'id': item.id, 'kind': item.kind, 'identity': identity,
                     'path': path, 'baseline': baseline,
                     'cycles': entry[2], 'since': entry[3]})
        data['off'] = off
