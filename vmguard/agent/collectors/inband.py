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

"""Physical hardware as the running OS sees it (identity path ``inband``).

Reads a sysfs tree (``[agent] sysfs_root``, so tests can point it at a
prepared tree):

* EDAC memory controllers: per DIMM correctable/uncorrectable error
  counters (``devices/system/edac/mc/mc*/dimm*``);
* NICs with a device behind them (``class/net/*/device``): MAC address
  as identity, carrier and operstate as detail;
* block devices with a device behind them (``class/block/*/device``):
  serial number or WWN as identity; ``smartctl --json`` health when the
  binary is present;
* hwmon temperature inputs against their max/crit thresholds, and alarm
  flags.
"""

import glob
import json
import os
import shutil
import subprocess

from oslo_log import log as logging

from vmguard.agent.collectors import base

LOG = logging.getLogger(__name__)


def _read(path):
    """Content of a sysfs attribute, stripped, or None if unreadable."""
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace').strip()
    except OSError:
        # Missing, or unreadable in this state (carrier of a down link
        # gives EINVAL).
        return None


def _read_int(path):
    value = _read(path)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def smart_health(doc):
    """(health, serial) from ``smartctl --json -H -i`` output (a dict)."""
    serial = doc.get('serial_number') or None
    status = doc.get('smart_status') or {}
    if status.get('passed') is False:
        return 'critical', serial
    return 'ok', serial


class InbandCollector(base.Collector):
    """sysfs (EDAC, NICs, block devices, hwmon) and smartctl."""

    name = 'inband'
    identity_source = 'inband'

    def __init__(self, conf):
        super().__init__(conf)
        self._root = conf.agent.sysfs_root

    def _path(self, *parts):
        return os.path.join(self._root, *parts)

    def collect(self):
        self._root = self.conf.agent.sysfs_root
        if not os.path.isdir(os.path.join(self._root, 'class')):
            # Not a sysfs: the OS view cannot be read at all this cycle,
            # which is not the same as "no devices".
            raise OSError('%s is not a sysfs tree' % self._root)
        result = base.Result()
        hw = result.hardware
        hw.extend(self._edac())
        hw.extend(self._nics())
        hw.extend(self._disks())
        hw.extend(self._hwmon())
        return result

    def _edac(self):
        items = []
        threshold = self.conf.agent.edac_ce_warning
        for mc in sorted(glob.glob(self._path('devices/system/edac/mc/mc*'))):
            dimms = sorted(glob.glob(os.path.join(mc, 'dimm*')))
            for dimm in dimms:
                label = _read(os.path.join(dimm, 'dimm_label'))
                corr = _read_int(os.path.join(dimm, 'dimm_ce_count')) or 0
                uncorr = _read_int(os.path.join(dimm, 'dimm_ue_count')) or 0
                dimm_id = label or '%s/%s' % (os.path.basename(mc),
                                              os.path.basename(dimm))
                if uncorr > 0:
                    health = 'critical'
                elif corr >= threshold:
                    health = 'warning'
                else:
                    health = 'ok'
                items.append(base.HardwareItem(
                    'dimm:%s' % dimm_id, 'memory', health,
                    detail={'ce_count': str(corr), 'ue_count': str(uncorr),
                            'source': 'edac'}))
            if not dimms:
                # Older kernels: counters per memory controller only.
                corr = _read_int(os.path.join(mc, 'ce_count')) or 0
                uncorr = _read_int(os.path.join(mc, 'ue_count')) or 0
                health = ('critical' if uncorr > 0 else
                          'warning' if corr >= threshold else 'ok')
                items.append(base.HardwareItem(
                    'memctl:%s' % os.path.basename(mc), 'memory', health,
                    detail={'ce_count': str(corr), 'ue_count': str(uncorr),
                            'source': 'edac'}))
        return items

    def _nics(self):
        items = []
        for dev in sorted(glob.glob(self._path('class/net/*'))):
            if not os.path.exists(os.path.join(dev, 'device')):
                continue  # virtual: lo, bridges, veth, taps
            name = os.path.basename(dev)
            mac = _read(os.path.join(dev, 'address'))
            carrier = _read(os.path.join(dev, 'carrier'))
            operstate = _read(os.path.join(dev, 'operstate'))
            items.append(base.HardwareItem(
                'nic:%s' % name, 'nic', 'ok',
                identity=mac.lower() if mac else None,
                identity_path='inband' if mac else 'none',
                detail={'carrier': carrier, 'operstate': operstate,
                        'source': 'sysfs'}))
        return items

    def _disks(self):
        items = []
        smartctl = shutil.which(self.conf.agent.smartctl_path)
        for dev in sorted(glob.glob(self._path('class/block/*'))):
            if (not os.path.exists(os.path.join(dev, 'device'))
                    or os.path.exists(os.path.join(dev, 'partition'))):
                continue  # partitions, loop, dm, ram, zram
            name = os.path.basename(dev)
            serial = (_read(os.path.join(dev, 'device', 'serial'))
                      or _read(os.path.join(dev, 'device', 'wwid'))
                      or _read(os.path.join(dev, 'wwid')))
            health = 'ok'
            detail = {'source': 'sysfs'}
            if smartctl:
                smart = self._smart(smartctl, name)
                if smart is not None:
                    health, smart_serial = smart
                    serial = serial or smart_serial
                    detail['smart'] = health
            items.append(base.HardwareItem(
                'disk:%s' % name, 'disk', health, identity=serial or None,
                identity_path='inband' if serial else 'none',
                detail=detail))
        return items

    def _smart(self, smartctl, name):
        try:
            proc = subprocess.run(
                [smartctl, '--json', '-H', '-i', '/dev/%s' % name],
                capture_output=True, timeout=self.conf.agent.command_timeout,
                check=False)
            return smart_health(json.loads(proc.stdout or b'{}'))
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            LOG.warning('smartctl on /dev/%s failed: %s', name, exc)
            return None

    def _hwmon(self):
        items = []
        for mon in sorted(glob.glob(self._path('class/hwmon/hwmon*'))):
            chip = _read(os.path.join(mon, 'name')) or os.path.basename(mon)
            for inp in sorted(glob.glob(os.path.join(mon, 'temp*_input'))):
                sensor = os.path.basename(inp)[:-len('_input')]
                value = _read_int(inp)
                if value is None:
                    continue
                label = _read(os.path.join(mon, sensor + '_label')) or sensor
                crit = _read_int(os.path.join(mon, sensor + '_crit'))
                high = _read_int(os.path.join(mon, sensor + '_max'))
                alarm = _read_int(os.path.join(mon, sensor + '_alarm'))
                if crit is not None and value >= crit:
                    health = 'critical'
                elif (high is not None and value >= high) or alarm:
                    health = 'warning'
                else:
                    health = 'ok'
                items.append(base.HardwareItem(
                    'temp:%s/%s' % (chip, label), 'temperature', health,
                    detail={'millicelsius': str(value), 'source': 'hwmon'}))
        return items
