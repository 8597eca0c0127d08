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

"""Physical hardware as the BMC sees it, over IPMI (pyghmi).

Every sensor of the BMC's SDR repository with its health (threshold and
discrete states as pyghmi evaluates them), the FRU inventory's serial
numbers as identities read out of band, and the size and newest entry of
the System Event Log as detail of a ``sel`` item.
"""

import threading

from oslo_log import log as logging
from pyghmi.ipmi import command as ipmi_command

from vmguard.agent.collectors import base

LOG = logging.getLogger(__name__)

# pyghmi.constants.Health is a bit mask: Ok 0, Warning 1, Critical 2,
# Failed 4.
_CRITICAL_BITS = 2 | 4
_WARNING_BITS = 1

_KINDS = {
    'Temperature': 'temperature', 'Fan': 'fan', 'Power Supply': 'psu',
    'Memory': 'memory', 'Voltage': 'voltage', 'Current': 'current',
    'Processor': 'cpu', 'Drive Bay': 'disk', 'Power Unit': 'power',
}

_SERIAL_KEYS = ('Board serial number', 'Product serial number',
                'Chassis serial number', 'Serial Number')


def sensor_health(bits):
    if bits & _CRITICAL_BITS:
        return 'critical'
    if bits & _WARNING_BITS:
        return 'warning'
    return 'ok'


class IPMICollector(base.Collector):
    """Sensors, FRU serials and SEL of the node's BMC."""

    name = 'ipmi'
    identity_source = 'oob'

    def __init__(self, conf):
        super().__init__(conf)
        if not conf.agent.ipmi_address:
            raise ValueError('[agent] ipmi_address is required by the ipmi '
                             'collector')
        self._lock = threading.Lock()
        self._cmd = None

    def _command(self):
        agent = self.conf.agent
        with self._lock:
            if self._cmd is None:
                self._cmd = ipmi_command.Command(
                    bmc=agent.ipmi_address, userid=agent.ipmi_username or '',
                    password=agent.ipmi_password or '',
                    port=agent.ipmi_port)
            return self._cmd

    def collect(self):
        try:
            return self._collect(self._command())
        except Exception:
            with self._lock:
                self._cmd = None  # new session next cycle
            raise

    def _collect(self, cmd):
        result = base.Result()
        hw = result.hardware
        for reading in cmd.get_sensor_data():
            if getattr(reading, 'unavailable', False):
                continue
            hw.append(base.HardwareItem(
                'ipmi:%s' % reading.name,
                _KINDS.get(reading.type, (reading.type or 'sensor').lower()),
                sensor_health(reading.health or 0),
                detail={'value': str(reading.value),
                        'units': str(reading.units or ''),
                        'states': ', '.join(reading.states or ()),
                        'source': 'ipmi'}))
        for fru_name, info in cmd.get_inventory():
            if not info:
                continue
            serial = next((str(info[k]).strip() for k in _SERIAL_KEYS
                           if info.get(k)), None)
            hw.append(base.HardwareItem(
                'fru:%s' % fru_name,
                'system' if fru_name == 'System' else 'fru', 'ok',
                identity=serial or None,
                identity_path='oob' if serial else 'none',
                detail={'source': 'ipmi'}))
        events = list(cmd.get_event_log())
        newest = events[-1] if events else {}
        hw.append(base.HardwareItem(
            'ipmi:sel', 'sel', 'ok',
            detail={'entries': str(len(events)),
                    'newest': '%s %s' % (newest.get('component', ''),
                                         newest.get('event', ''))
                    if newest else '',
                    'source': 'ipmi'}))
        return result
