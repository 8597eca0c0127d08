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

Scope: the configured ComputerSystem, the chassis it links
(``Links.Chassis``) and, of other chassis (a blade enclosure's), only the
power supplies and fans the node's chassis name in ``Links.PoweredBy`` /
``Links.CooledBy``. Other blades and the enclosure's other parts are never
read.

Read: the system; ``Processors``; ``Memory``; ``Storage`` (controllers
inline or as a ``Controllers`` collection, ``Drives`` optional) or, when
the system has no ``Storage``, ``SimpleStorage``; physical
``EthernetInterfaces`` (not virtual/VLAN interfaces, not the interfaces of
a manager's host interface); per chassis ``PowerSubsystem`` (else legacy
``Power``) and ``ThermalSubsystem`` (``Fans``, ``ThermalMetrics``; else
legacy ``Thermal``).

sushy opens the session and the connector; the resources are read as JSON
through that connector with tolerant accessors, because sushy's resource
classes refuse schema-valid documents that leave out optional properties
(a ``Storage`` without ``Drives``).

``Status`` is mapped by :func:`map_status` (the table is in
doc/source/redfish.rst). A resource that cannot be read or parsed makes
only its own items unknown: the items it gave before are reported with
their last values and ``detail.state = "unknown"`` plus the error. An item
seen before and now gone (or ``Absent``) is reported ``warning`` with
``detail.state = "missing"`` until it comes back or the agent restarts.
"""

import threading

from oslo_log import log as logging
import sushy
from sushy import connector as sushy_connector

from vmguard.agent.collectors import base

LOG = logging.getLogger(__name__)

_HEALTH = {'OK': 'ok', 'Warning': 'warning', 'Critical': 'critical'}
_RANK = {'ok': 0, 'warning': 1, 'critical': 2}
# Present, working or deliberately idle: health as the BMC says.
_WORKING = ('Enabled', 'StandbyOffline', 'StandbySpare', 'Quiesced',
            'InTest', 'Starting', 'Updating', 'Deferring', None)


def _worst(*values):
    return max(values, key=lambda h: _RANK[h])


def map_status(status, was_enabled=False):
    """SPEC health of a Redfish ``Status``, or None: not reported.

    :param status: the ``Status`` object (dict) or None.
    :param was_enabled: the item was seen working before.
    :returns: ``(health, state)``; health None when the item is not
        reported (``Absent``).
    """
    status = status if isinstance(status, dict) else {}
    state = status.get('State')
    healths = [_HEALTH.get(status.get(k)) for k in ('Health', 'HealthRollup')]
    healths = [h for h in healths if h]
    given = _worst(*healths) if healths else None
    if state == 'Absent':
        return None, state
    if state == 'UnavailableOffline':
        # Present but not available: a fault unless the BMC says worse.
        return _worst(given or 'warning', 'warning'), state
    if state == 'Disabled':
        if given is not None:
            return given, state
        # Disabled from the start is configuration; turned off while we
        # watched is a device that went away.
        return ('warning' if was_enabled else 'ok'), state
    if state not in _WORKING:
        LOG.debug('Unknown Redfish Status.State %s', state)
    return given or 'ok', state


def _link(doc, name):
    value = doc.get(name) if isinstance(doc, dict) else None
    if isinstance(value, dict):
        value = value.get('@odata.id')
    return value if isinstance(value, str) and value else None


def _links(doc, name):
    links = doc.get('Links') if isinstance(doc, dict) else None
    value = links.get(name) if isinstance(links, dict) else None
    if not isinstance(value, list):
        return []
    return [v['@odata.id'] for v in value
            if isinstance(v, dict) and isinstance(v.get('@odata.id'), str)]


def _members(doc):
    return [m['@odata.id'] for m in doc.get('Members') or []
            if isinstance(m, dict) and isinstance(m.get('@odata.id'), str)]


def _text(value):
    return value.strip() or None if isinstance(value, str) else None


def _last(path):
    return path.rstrip('/').rsplit('/', 1)[-1]


class _Cycle:
    """What one collection cycle read: documents, items, failures."""

    def __init__(self, get):
        self._get = get
        self._docs = {}
        self.items = {}
        self.origins = {}
        self.failed = {}

    def get(self, path):
        path, _sep, fragment = path.partition('#')
        if path not in self._docs:
            doc = self._get(path)
            if not isinstance(doc, dict):
                raise ValueError('%s is not a JSON object' % path)
            self._docs[path] = doc
        doc = self._docs[path]
        for part in [p for p in fragment.split('/') if p]:
            doc = doc[int(part)] if isinstance(doc, list) else doc[part]
        if not isinstance(doc, dict):
            raise ValueError('%s#%s is not a JSON object' % (path, fragment))
        return doc

    def guarded(self, origin, func, *args):
        """Run ``func``; a failure marks ``origin`` unreadable."""
        try:
            func(*args)
        except Exception as exc:
            self.failed[origin] = '%s: %s' % (type(exc).__name__, exc)


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
        self._connector = None
        # item id -> (HardwareItem, origin, was_enabled) of earlier cycles
        self._known = {}
        self._errors = {}

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
            root = self._connect()
            cycle = _Cycle(self._get)
            self._collect(root, cycle)
        except Exception:
            with self._lock:
                self._root = None  # new session next cycle
            raise
        return self._result(cycle)

    # -- walking -------------------------------------------------------------

    def _add(self, cycle, origin, item_id, kind, status, serial=None,
             detail=None):
        known = self._known.get(item_id)
        health, state = map_status(status, known is not None and known[2])
        if health is None:
            return  # Absent: reported missing below if it was seen before
        serial = _text(serial)
        detail = dict(detail or {}, source='redfish')
        if state and state != 'Enabled':
            detail['state'] = state
        item = base.HardwareItem(item_id, kind, health, identity=serial,
                                 identity_path='oob' if serial else 'none',
                                 detail=detail)
        cycle.items[item_id] = item
        cycle.origins[item_id] = (origin, state in ('Enabled', None))

    def _collect(self, root, cycle):
        system_path = self._system_path(root, cycle)
        system = cycle.get(system_path)
        self._add(cycle, system_path, 'system', 'system',
                  system.get('Status'), system.get('SerialNumber'))
        sections = [('Processors', self._processors),
                    ('Memory', self._memory),
                    ('EthernetInterfaces', self._nics)]
        if _link(system, 'Storage'):
            sections.append(('Storage', self._storage))
        elif _link(system, 'SimpleStorage'):
            sections.append(('SimpleStorage', self._simple_storage))
        for name, walk in sections:
            path = _link(system, name)
            if path:
                cycle.guarded(path, walk, cycle, system, path)
        chassis = self._chassis_paths(cycle, system, system_path)
        for path in chassis:
            cycle.guarded(path, self._chassis, cycle, path, chassis)

    def _system_path(self, root, cycle):
        wanted = self.conf.agent.redfish_system_id
        if wanted:
            if wanted.startswith('/'):
                return wanted
            return '%s/%s' % (root.get_system_collection().path.rstrip('/'),
                              wanted)
        collection = _link(cycle.get('/redfish/v1/'), 'Systems')
        members = _members(cycle.get(collection or '/redfish/v1/Systems'))
        if len(members) != 1:
            raise ValueError('The BMC has %d systems; set [agent] '
                             'redfish_system_id' % len(members))
        return members[0]

    def _chassis_paths(self, cycle, system, system_path):
        paths = _links(system, 'Chassis')
        if paths:
            return paths
        # No link from the system: the chassis that claim it.
        collection = _link(cycle.get('/redfish/v1/'), 'Chassis')
        found = []
        for path in _members(cycle.get(collection or '/redfish/v1/Chassis')):
            if system_path.rstrip('/') in [
                    p.rstrip('/') for p in _links(cycle.get(path),
                                                  'ComputerSystems')]:
                found.append(path)
        return found

    def _each(self, cycle, path, func):
        """``func(cycle, member_path, doc)`` per member, each guarded."""
        for member in _members(cycle.get(path)):
            cycle.guarded(member, lambda m=member: func(cycle, m,
                                                        cycle.get(m)))

    def _processors(self, cycle, system, path):
        def one(cycle, member, doc):
            slot = doc.get('Socket') or doc.get('Id') or _last(member)
            kind = 'cpu'
            if doc.get('ProcessorType') not in (None, 'CPU', 'Core'):
                kind = 'accelerator'  # GPU, FPGA, DSP: PCIe devices
                slot = doc.get('Id') or _last(member)
            self._add(cycle, member, '%s:%s' % (kind, slot), kind,
                      doc.get('Status'), doc.get('SerialNumber'),
                      {'model': doc.get('Model')})
        self._each(cycle, path, one)

    def _memory(self, cycle, system, path):
        def one(cycle, member, doc):
            slot = doc.get('DeviceLocator') or doc.get('Id') or _last(member)
            self._add(cycle, member, 'dimm:%s' % slot, 'memory',
                      doc.get('Status'), doc.get('SerialNumber'))
        self._each(cycle, path, one)

    def _storage(self, cycle, system, path):
        def one(cycle, member, doc):
            sid = doc.get('Id') or _last(member)
            self._add(cycle, member, 'storage:%s' % sid, 'storage',
                      doc.get('Status'))
            for ctl in doc.get('StorageControllers') or []:
                if isinstance(ctl, dict):
                    cid = ctl.get('MemberId') or ctl.get('Name') or '0'
                    self._add(cycle, member,
                              'storage:%s/%s' % (sid, cid), 'storage',
                              ctl.get('Status'), ctl.get('SerialNumber'),
                              {'model': ctl.get('Model')})
            controllers = _link(doc, 'Controllers')
            if controllers and not doc.get('StorageControllers'):
                def ctl_one(cycle, cpath, cdoc):
                    cid = cdoc.get('Id') or _last(cpath)
                    self._add(cycle, cpath, 'storage:%s/%s' % (sid, cid),
                              'storage', cdoc.get('Status'),
                              cdoc.get('SerialNumber'),
                              {'model': cdoc.get('Model')})
                cycle.guarded(controllers, self._each, cycle, controllers,
                              ctl_one)
            for drive in [_link({'d': d}, 'd')
                          for d in doc.get('Drives') or []]:
                if drive:
                    cycle.guarded(drive, self._drive, cycle, drive)
        self._each(cycle, path, one)

    def _drive(self, cycle, path):
        doc = cycle.get(path)
        self._add(cycle, path, 'disk:%s' % (doc.get('Id') or _last(path)),
                  'disk', doc.get('Status'), doc.get('SerialNumber'),
                  {'model': doc.get('Model')})

    def _simple_storage(self, cycle, system, path):
        def one(cycle, member, doc):
            sid = doc.get('Id') or _last(member)
            self._add(cycle, member, 'storage:%s' % sid, 'storage',
                      doc.get('Status'))
            for dev in doc.get('Devices') or []:
                if isinstance(dev, dict) and dev.get('Name'):
                    self._add(cycle, member,
                              'disk:%s/%s' % (sid, dev['Name']), 'disk',
                              dev.get('Status'), None,
                              {'model': dev.get('Model')})
        self._each(cycle, path, one)

    def _host_interface_nics(self, cycle, system):
        """EthernetInterfaces that are a manager's host interface."""
        found = set()
        for manager in _links(system, 'ManagedBy'):
            try:
                hi = _link(cycle.get(manager), 'HostInterfaces')
                for member in _members(cycle.get(hi)) if hi else []:
                    nics = _link(cycle.get(member), 'HostEthernetInterfaces')
                    if nics:
                        found.update(p.rstrip('/')
                                     for p in _members(cycle.get(nics)))
            except Exception as exc:
                LOG.debug('Host interfaces of %s unreadable: %s', manager,
                          exc)
        return found

    def _nics(self, cycle, system, path):
        host_nics = self._host_interface_nics(cycle, system)

        def one(cycle, member, doc):
            if member.rstrip('/') in host_nics:
                return  # the BMC's own channel to the host OS
            if doc.get('EthernetInterfaceType') not in (None, 'Physical'):
                return  # virtual (VLAN, team, ...) interfaces
            vlan = doc.get('VLAN') if isinstance(doc.get('VLAN'),
                                                 dict) else {}
            if vlan.get('VLANEnable') and _links(doc, 'RelatedInterfaces'):
                return  # a VLAN over another interface
            mac = (_text(doc.get('PermanentMACAddress'))
                   or _text(doc.get('MACAddress')))
            self._add(cycle, member,
                      'nic:%s' % (doc.get('Id') or _last(member)), 'nic',
                      doc.get('Status'), mac.lower() if mac else None)
        self._each(cycle, path, one)

    def _chassis(self, cycle, path, scope):
        doc = cycle.get(path)
        cid = doc.get('Id') or _last(path)
        self._add(cycle, path, 'chassis:%s' % cid, 'chassis',
                  doc.get('Status'), doc.get('SerialNumber'))
        power = _link(doc, 'PowerSubsystem')
        if power:
            cycle.guarded(power, self._power_subsystem, cycle, cid, power)
        elif _link(doc, 'Power'):
            cycle.guarded(_link(doc, 'Power'), self._power, cycle, cid,
                          _link(doc, 'Power'))
        thermal = _link(doc, 'ThermalSubsystem')
        if thermal:
            cycle.guarded(thermal, self._thermal_subsystem, cycle, cid,
                          thermal)
        elif _link(doc, 'Thermal'):
            cycle.guarded(_link(doc, 'Thermal'), self._thermal, cycle, cid,
                          _link(doc, 'Thermal'))
        inside = tuple(p.rstrip('/') + '/' for p in scope)
        for kind, name in (('psu', 'PoweredBy'), ('fan', 'CooledBy')):
            for link in _links(doc, name):
                if not link.split('#')[0].startswith(inside):
                    cycle.guarded(link, self._shared, cycle, kind, link)

    def _shared(self, cycle, kind, link):
        """A PSU or fan of another chassis (an enclosure's) that powers
        or cools this node."""
        owner = link.split('/redfish/v1/Chassis/', 1)[-1].split('/', 1)[0]
        doc = cycle.get(link)
        if '#' in link:
            name = doc.get('MemberId') or doc.get('Name') or _last(link)
            if kind == 'fan':
                name = doc.get('Name') or doc.get('FanName') or name
        else:
            name = doc.get('Id') or _last(link)
        self._add(cycle, link, '%s:%s/%s' % (kind, owner, name), kind,
                  doc.get('Status'), doc.get('SerialNumber'))

    def _power(self, cycle, cid, path):
        for psu in cycle.get(path).get('PowerSupplies') or []:
            if isinstance(psu, dict):
                self._add(cycle, path, 'psu:%s/%s' % (
                    cid, psu.get('MemberId') or psu.get('Name')), 'psu',
                    psu.get('Status'), psu.get('SerialNumber'))

    def _power_subsystem(self, cycle, cid, path):
        psus = _link(cycle.get(path), 'PowerSupplies')
        if psus:
            def one(cycle, member, doc):
                self._add(cycle, member, 'psu:%s/%s' % (
                    cid, doc.get('Id') or _last(member)), 'psu',
                    doc.get('Status'), doc.get('SerialNumber'))
            self._each(cycle, psus, one)

    def _thermal(self, cycle, cid, path):
        doc = cycle.get(path)
        for fan in doc.get('Fans') or []:
            if isinstance(fan, dict):
                name = (fan.get('Name') or fan.get('FanName')
                        or fan.get('MemberId'))
                self._add(cycle, path, 'fan:%s/%s' % (cid, name), 'fan',
                          fan.get('Status'), None,
                          {'reading': str(fan.get('Reading'))})
        for temp in doc.get('Temperatures') or []:
            if isinstance(temp, dict):
                name = temp.get('Name') or temp.get('MemberId')
                self._add(cycle, path, 'temp:%s/%s' % (cid, name),
                          'temperature', temp.get('Status'), None,
                          {'celsius': str(temp.get('ReadingCelsius'))})

    def _thermal_subsystem(self, cycle, cid, path):
        doc = cycle.get(path)
        fans = _link(doc, 'Fans')
        if fans:
            def one(cycle, member, fan):
                speed = fan.get('SpeedPercent')
                reading = speed.get('Reading') if isinstance(speed,
                                                             dict) else None
                self._add(cycle, member, 'fan:%s/%s' % (
                    cid, fan.get('Id') or _last(member)), 'fan',
                    fan.get('Status'), fan.get('SerialNumber'),
                    {'reading': str(reading)})
            cycle.guarded(fans, self._each, cycle, fans, one)
        metrics = _link(doc, 'ThermalMetrics')
        if metrics:
            cycle.guarded(metrics, self._thermal_metrics, cycle, cid,
                          metrics)

    def _thermal_metrics(self, cycle, cid, path):
        for reading in cycle.get(path).get(
                'TemperatureReadingsCelsius') or []:
            if isinstance(reading, dict):
                source = reading.get('DataSourceUri')
                source = source if isinstance(source, str) and source \
                    else None
                # One unreadable sensor makes only its reading unknown.
                cycle.guarded(source or path, self._temperature, cycle, cid,
                              source or path, reading, source)

    def _temperature(self, cycle, cid, origin, reading, source):
        status = None
        name = reading.get('DeviceName')
        if source:
            # The Sensor carries the health the reading lacks.
            sensor = cycle.get(source)
            status = sensor.get('Status')
            name = name or sensor.get('Id') or _last(source)
        self._add(cycle, origin, 'temp:%s/%s' % (cid, name), 'temperature',
                  status, None, {'celsius': str(reading.get('Reading'))})

    # -- the result ----------------------------------------------------------

    def _result(self, cycle):
        result = base.Result()
        for origin, error in cycle.failed.items():
            if self._errors.get(origin) != error:
                LOG.warning('Redfish resource %s unreadable; its items are '
                            'unknown this cycle: %s', origin, error)
        self._errors = dict(cycle.failed)
        failed = tuple(cycle.failed)
        known = {}
        for item_id, item in cycle.items.items():
            origin, enabled = cycle.origins[item_id]
            was = self._known.get(item_id)
            known[item_id] = (item, origin, enabled or bool(was and was[2]))
            result.hardware.append(item)
        for item_id, (item, origin, was_enabled) in self._known.items():
            if item_id in known:
                continue
            error = next((cycle.failed[f] for f in failed
                          if origin == f or origin.startswith(
                              f.rstrip('/') + '/')), None)
            if error is not None:
                # Not read this cycle: unknown, last values kept (its
                # identity still pairs it with the OS's view of it).
                detail = dict(item.detail or {}, state='unknown',
                              error=error)
                carried = base.HardwareItem(
                    item.id, item.kind, item.health,
                    identity=item.identity,
                    identity_path=item.identity_path, detail=detail)
            else:
                LOG.warning('Redfish item %s (%s) is gone', item_id,
                            item.kind)
                carried = base.HardwareItem(
                    item.id, item.kind, 'warning', identity=None,
                    identity_path='none',
                    detail={'source': 'redfish', 'state': 'missing'})
            known[item_id] = (item if error is not None else carried,
                              origin, was_enabled)
            result.hardware.append(carried)
        self._known = known
        return result
