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

"""Host running state of a cycle from the node's own hardware."""

from vmguard.engine.judges import base


class HostHardwareJudge(base.Judge):
    """normal (all ok), degraded (some warning), failed (some critical),
    unknown (no hardware info in the snapshot)."""

    name = 'host_hardware'

    def judge(self, snapshot, data, assessment):
        hardware = snapshot.hardware
        prev = assessment.previous
        if assessment.same_hardware and prev is not None:
            assessment.host_state = prev.host_state
            assessment.not_ok = prev.not_ok
            return
        if not hardware:
            assessment.host_state = 'unknown'
            return
        not_ok = None
        worst = 'ok'
        for item in hardware:
            health = item.health
            if health != 'ok':
                if not_ok is None:
                    not_ok = []
                not_ok.append((item.id, item.kind, health))
                if health == 'critical':
                    worst = 'critical'
                elif worst == 'ok':
                    worst = 'warning'
        if not_ok is None:
            assessment.host_state = 'normal'
            return
        assessment.not_ok = not_ok
        assessment.host_state = ('failed' if worst == 'critical'
                                 else 'degraded')
