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

"""Physical hardware as the BMC sees it, over Redfish (sushy).

System and chassis health, power supplies, fans and temperatures, memory
DIMMs, storage drives and network interfaces, each with its serial number
(or MAC) when the BMC has one. The BMC reads identities out of band: the
manager's merge with the in-band view decides the final identity path.
"""

import threading

from oslo_log import log as logging
import sushy
from sushy import connector as sushy_connector

from vmguard.agent.collectors import base

LOG = logging.getLogger(__name__)

_HEALTH = {'OK': 'ok', 'Warning': 'warning', 'Critical': 'critical'}
_SKIPPED_STATES = ('Absent',)


def _health(status):
    """SPEC.md health of a sushy StatusField or a raw Status dict."""
    if status is None:
        return 'ok'
    if isinstance(status, dict):
        value = status.get('Health')
    else:
        value = status.health
        value = getattr(value, 'value', value)
    return _HEALTH.get(value, 'ok')


def _state(status):
    if status is None:
        return None
    if isinstance(status, dict):
        return status.get('State')
    value = status.state
    return getattr(value, 'value', value)


def _item(item_id, kind, status, serial, detail=None):
    serial = (serial or '').strip() or None
    return base.HardwareItem(item_id, kind, _health(status), identity=serial,
                             identity_path='oob' if serial else 'none',
                             detail=detail)


class RedfishCollector(base.Collector):
    """Hardware inventory and health from the node's BMC."""

    name = 'redfish'
    identity_source = 'oob'

    def __init__(self, conf):
        super().__init__(conf)
        agent = conf.agent
        if not agent.redfish_address:
            raise ValueError('[agent] redfish_address is required by the '
                             'redfish collector')
        self._lock = threading.Lock()
        self._root = None

    def _connect(self):
        agent = self.conf.agent
        with self._lock:
            if self._root is None:
                conn = sushy_connector.Connector(
                    agent.redfish_address, username=agent.redfish_username,
                    password=agent.redfish_password,
                    verify=agent.redfish_verify,
                    default_request_timeout=agent.redfish_timeout,
                    # One attempt per cycle: the next cycle is the retry.
                    server_side_retries=1,
                    connect_timeout=agent.redfish_timeout)
                self._connector = conn
                self._root = sushy.Sushy(
                    agent.redfish_address, username=agent.redfish_username,
                    password=agent.redfish_password,
                    verify=agent.redfish_verify, connector=conn)
            return self._root

    def _get(self, path):
        return self._connector.get(path).json()

    def collect(self):
        try:
            return self._collect(self._connect())
        except Exception:
            with self._lock:
                self._root = None  # new session next cycle
            raise

    def _collect(self, root):
        result = base.Result()
        hw = result.hardware
        system_id = self.conf.agent.redfish_system_id
        if not system_id:
            members = root.get_system_collection().members_identities
            if len(members) != 1:
                raise ValueError('The BMC has %d systems; set [agent] '
                                 'redfish_system_id' % len(members))
            system_id = members[0]
        system = root.get_system(system_id)
        hw.append(_item('system', 'system', system.status,
                        system.serial_number))
        hw.extend(self._memory(system))
        hw.extend(self._drives(system))
        hw.extend(self._nics(system))
        for chassis in root.get_chassis_collection().get_members():
            hw.extend(self._chassis(chassis))
        return result

    def _memory(self, system):
        link = (system.json.get('Memory') or {}).get('@odata.id')
        if not link:
            return []
        items = []
        for member in self._get(link).get('Members', []):
            doc = self._get(member['@odata.id'])
            status = doc.get('Status') or {}
            if _state(status) in _SKIPPED_STATES:
                continue
            slot = doc.get('DeviceLocator') or doc.get('Id')
            items.append(_item('dimm:%s' % slot, 'memory', status,
                               doc.get('SerialNumber'),
                               {'source': 'redfish'}))
        return items

    def _drives(self, system):
        if not system.json.get('Storage'):
            return []
        items = []
        for storage in system.storage.get_members():
            for drive in storage.drives:
                if _state(drive.status) in _SKIPPED_STATES:
                    continue
                items.append(_item('disk:%s' % drive.identity, 'disk',
                                   drive.status, drive.serial_number,
                                   {'source': 'redfish',
                                    'model': drive.model}))
        return items

    def _nics(self, system):
        if not system.json.get('EthernetInterfaces'):
            return []
        items = []
        for nic in system.ethernet_interfaces.get_members():
            if _state(nic.status) in _SKIPPED_STATES:
                continue
            mac = (nic.mac_address or '').lower() or None
            items.append(_item('nic:%s' % nic.identity, 'nic', nic.status,
                               mac, {'source': 'redfish'}))
        return items

    def _chassis(self, chassis):
        cid = chassis.identity
        items = [_item('chassis:%s' % cid, 'chassis', chassis.status,
                       chassis.serial_number)]
        if chassis.json.get('Power'):
            for psu in chassis.power.power_supplies:
                if _state(psu.status) in _SKIPPED_STATES:
                    continue
                items.append(_item('psu:%s/%s' % (cid, psu.identity), 'psu',
                                   psu.status, psu.serial_number,
                                   {'source': 'redfish'}))
        if chassis.json.get('Thermal'):
            thermal = chassis.thermal
            for fan in thermal.fans:
                if _state(fan.status) in _SKIPPED_STATES:
                    continue
                items.append(base.HardwareItem(
                    'fan:%s/%s' % (cid, fan.name or fan.identity), 'fan',
                    _health(fan.status),
                    detail={'reading': str(fan.reading)}))
            for temp in thermal.temperatures:
                if _state(temp.status) in _SKIPPED_STATES:
                    continue
                items.append(base.HardwareItem(
                    'temp:%s/%s' % (cid, temp.name or temp.identity),
                    'temperature', _health(temp.status),
                    detail={'celsius': str(temp.reading_celsius)}))
        return items
