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


"""Merge of the in-band and out-of-band views of the node's hardware.

The same physical item (a disk, a NIC, a DIMM) can be read by the running
OS (sysfs, smartctl: identity path ``inband``) and by the BMC (Redfish,
IPMI: ``oob``). Both views are matched on the item's identity (serial
number, WWN, MAC; compared case-insensitively). The merged item:

* ``inband`` when the OS reads the identity (whether or not the BMC also
  does); it keeps the BMC's id when the BMC sees it too, since slot names
  are stable where OS device names are not;
* ``oob`` when only the BMC reads it -- the signal rule R5 watches (the OS
  losing a device the BMC still sees);
* ``none`` when the item is there but neither reads an identity.

When the in-band collector could not look this cycle (failed or timed
out), an item only the BMC reported keeps the path it had in the previous
cycle: a slow sysfs read must not look like a lost device.
"""

from vmguard.agent.collectors import base

_RANK = {'ok': 0, 'warning': 1, 'critical': 2}


def norm_identity(identity):
    return identity.strip().lower() if identity else None


def _worst(a, b):
    return a if _RANK[a] >= _RANK[b] else b


def merge_hardware(views, previous_paths=None):
    """Merge hardware items of several collectors.

    :param views: list of (identity_source, Result) where identity_source
        is 'inband', 'oob' or None (collector that reads no identities).
    :param previous_paths: {normalised identity: path} of the previous
        cycle.
    :returns: (items, paths) where paths maps each normalised identity to
        its path this cycle.
    """
    previous_paths = previous_paths or {}
    inband_enabled = any(src == 'inband' for src, _ in views)
    inband_complete = all(res.complete for src, res in views
                          if src == 'inband')
    inband = {}
    for src, res in views:
        if src != 'inband':
            continue
        for item in res.hardware:
            key = norm_identity(item.identity)
            if key:
                inband.setdefault(key, item)

    merged = []
    consumed = set()
    for src, res in views:
        if src != 'oob':
            continue
        for item in res.hardware:
            key = norm_identity(item.identity)
            if not key:
                merged.append(item)
                continue
            twin = inband.get(key)
            if twin is not None:
                consumed.add(key)
                detail = dict(twin.detail or {})
                detail.update(item.detail or {})
                detail['inband_id'] = twin.id
                merged.append(base.HardwareItem(
                    item.id, item.kind, _worst(item.health, twin.health),
                    identity=item.identity, identity_path='inband',
                    detail=detail))
            elif inband_enabled and not inband_complete:
                merged.append(base.HardwareItem(
                    item.id, item.kind, item.health, identity=item.identity,
                    identity_path=previous_paths.get(key, 'oob'),
                    detail=item.detail))
            else:
                merged.append(base.HardwareItem(
                    item.id, item.kind, item.health, identity=item.identity,
                    identity_path='oob', detail=item.detail))
    for src, res in views:
        if src == 'oob':
            continue
        for item in res.hardware:
            key = norm_identity(item.identity)
            if key and key in consumed:
                continue
            merged.append(item)

    # One line per item id: two drivers reporting the same id (IPMI and
    # Redfish on one BMC) collapse into the worst health.
    by_id = {}
    out = []
    for item in merged:
        seen = by_id.get(item.id)
        if seen is None:
            by_id[item.id] = item
            out.append(item)
        else:
            seen.health = _worst(seen.health, item.health)
    paths = {norm_identity(i.identity): i.identity_path for i in out
             if i.identity}
    return out, paths
