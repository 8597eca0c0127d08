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

"""Service components: nova-compute, libvirtd, ovs-vswitchd, ... (R7, R8)."""

from vmguard.engine.judges import base


class ServiceJudge(base.Judge):
    """Counts consecutive cycles each service is ``stopped``/``failed``.

    State: ``{"down": {service: consecutive down cycles}}``.
    """

    name = 'services'

    def judge(self, snapshot, data, assessment):
        down = data.get('down')
        if down and data.get('cycle') != snapshot.cycle - 1:
            # A cycle without a snapshot breaks "consecutive".
            data['down'] = down = {}
        data['cycle'] = snapshot.cycle
        new = {}
        for svc in snapshot.services:
            if svc.state != 'running':
                new[svc.name] = (down.get(svc.name, 0) if down else 0) + 1
        if new:
            assessment.services_down = new
        if new or down:
            data['down'] = new
