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

"""External hardware: shared storage and uplinks (R3, R6)."""

from vmguard.engine.judges import base


class ExternalJudge(base.Judge):
    """Counts consecutive cycles each external item is ``failed``.

    ``degraded`` is not failed and resets the count. State:
    ``{"streak": {item id: consecutive failed cycles}}``.
    """

    name = 'external'

    def judge(self, snapshot, data, assessment):
        streak = data.get('streak')
        if streak and data.get('cycle') != snapshot.cycle - 1:
            # A cycle without a snapshot breaks "consecutive".
            data['streak'] = streak = {}
        data['cycle'] = snapshot.cycle
        external = snapshot.external
        if not external:
            if streak:
                data['streak'] = {}
            return
        new = {}
        failed = []
        for item in external:
            if item.health == 'failed':
                failed.append(item.id)
                new[item.id] = (streak.get(item.id, 0) if streak else 0) + 1
        if failed:
            assessment.external_failed = failed
            assessment.external_streaks = new
        if new or streak:
            data['streak'] = new
