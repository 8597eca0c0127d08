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

"""Identity paths of hardware items (R5, SPEC revision 2).

Paths are ranked ``inband`` > ``oob`` > ``none``. Each item with an
identity (serial, WWN, MAC) has a *baseline path*, taken only from a
reading whose ``health`` is ``ok``; a healthy reading through a *better*
path becomes the new baseline (an OS that finished enumerating a disk is
no fault). When the same item (same id, same identity) is read through a
*worse* path than its baseline in each of the last ``identity_cycles``
consecutive cycles, the OS is losing a device that the BMC still sees:
the finding goes to ``assessment.identity_lost``. An item not yet read
healthy has no baseline and counts nothing.

A *different* identity in the same slot is a replacement: the new
identity (and its path, when read healthy) become the baseline; it is not
a fault. A path that flaps (oob, inband, oob) restarts the count each time
it is back on baseline.

This judge's state is the one definition of the baseline: the persister
stores it (:func:`baselines`) as the API's ``baseline_path``.

State: ``{"items": {id: [identity, baseline path or None, cycles off
baseline, first cycle off baseline]}}``.
"""

from vmguard.engine.judges import base

NAME = 'identity'
RANK = {'inband': 2, 'oob': 1, 'none': 0, None: 0}


def baselines(judge_state):
    """{item id: baseline path} from a node's exported judge state."""
    try:
        items = judge_state['data'][NAME]['items']
    except (KeyError, TypeError):
        return None
    return {item_id: entry[1] for item_id, entry in items.items()}


class IdentityPathJudge(base.Judge):

    name = NAME

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
            # The very readings of last cycle, none off its baseline:
            # nothing can change (an item without a baseline is still
            # read unhealthy).
            return
        need = self.thresholds.identity_cycles
        rank = RANK
        off = 0
        for item in snapshot.hardware:
            identity = item.identity
            if identity is None:
                continue
            path = item.identity_path
            healthy = item.health == 'ok'
            entry = items.get(item.id)
            if entry is None or entry[0] != identity:
                if entry is not None:
                    assessment.identity_changes.append(
                        {'id': item.id, 'change': 'replaced',
                         'old_identity': entry[0], 'identity': identity,
                         'path': path, 'cycle': cycle})
                items[item.id] = [identity, path if healthy else None,
                                  0, None]
                continue
            baseline = entry[1]
            if baseline is None:
                if healthy:
                    entry[1] = path
                    assessment.identity_changes.append(
                        {'id': item.id, 'change': 'baseline',
                         'old_path': None, 'path': path, 'cycle': cycle})
                continue
            if path == baseline:
                if entry[2]:
                    entry[2] = 0
                    entry[3] = None
                continue
            if rank[path] > rank[baseline]:
                # Read better than the baseline: no fault; a healthy
                # reading becomes the new baseline.
                if entry[2]:
                    entry[2] = 0
                    entry[3] = None
                if healthy:
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
        assessment.identity_off = off
