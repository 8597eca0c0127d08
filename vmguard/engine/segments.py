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

"""Target selection inside failover segments.

:class:`SegmentMap` says, for a failed node, which nodes may receive its
servers and in which order of tiers (:data:`vmguard.objects.segment.TIERS`):

* a node of a segment fails over only inside its segment: ``auto`` to the
  hosts that are not reserved, ``reserved_host`` to the reserved hosts
  only, ``auto_priority`` / ``rh_priority`` both, in that order;
* a node outside any segment keeps the cloud-wide pool, minus every
  segment's reserved hosts (spares are never used for others).

:class:`SegmentSelector` wraps any target selector
(``[engine] target_selector``): within a tier the wrapped selector ranks
the eligible nodes (:func:`vmguard.engine.targets.eligible`), tiers are
concatenated. The pipeline holds one (its map refreshed from the
database by the engine, or read from ``vmguard-manage replay --segments
FILE``); the recovery builds the map from the database for every server
it places.
"""

import json

from vmguard.objects import segment as fields


class SegmentFileError(ValueError):
    """A segment map file that cannot be used (message says why)."""


class SegmentMap:
    """node -> (segment, method); reserved hosts per segment."""

    def __init__(self, segments=()):
        self.segment_of = {}
        self.method = {}
        self.members = {}
        self.reserved = {}
        self.all_reserved = set()
        for segment in segments:
            name = segment['name']
            self.method[name] = segment['recovery_method']
            self.members[name] = set()
            self.reserved[name] = set()
            for host in segment.get('hosts') or ():
                self.segment_of[host['name']] = name
                self.members[name].add(host['name'])
                if host.get('reserved'):
                    self.reserved[name].add(host['name'])
                    self.all_reserved.add(host['name'])

    def __bool__(self):
        return bool(self.method)

    def tiers(self, source):
        """Node sets to try in order for ``source``'s servers; ``None``
        in a tier means "every node but the reserved hosts"."""
        segment = self.segment_of.get(source)
        if segment is None:
            return [None]
        reserved = self.reserved[segment]
        others = self.members[segment] - reserved
        return [reserved if want_reserved else others
                for want_reserved in fields.TIERS[self.method[segment]]]

    def is_reserved(self, node):
        return node in self.all_reserved

    def reserved_of(self, source, node):
        """Is ``node`` a reserved host of ``source``'s segment?"""
        segment = self.segment_of.get(source)
        return segment is not None and node in self.reserved[segment]

    def describe(self, source):
        segment = self.segment_of.get(source)
        if segment is None:
            return None
        return segment, self.method[segment]


class _TierView:
    """A directory restricted to some nodes (reserve goes through)."""

    def __init__(self, directory, allowed, excluded):
        self._directory = directory
        self._allowed = allowed
        self._excluded = excluded

    def candidates(self):
        for info in self._directory.candidates():
            if self._allowed is not None:
                if info.name in self._allowed:
                    yield info
            elif info.name not in self._excluded:
                yield info

    def reserve(self, name, vcpus, ram_mb):
        self._directory.reserve(name, vcpus, ram_mb)


class SegmentSelector:
    """A target selector that keeps targets inside the source's segment.

    :param selector: the wrapped :class:`~vmguard.engine.targets.
        TargetSelector`.
    :param segments: a :class:`SegmentMap` (replace ``segments`` to
        refresh it).
    """

    def __init__(self, selector, segments=None):
        self.selector = selector
        self.segments = segments or SegmentMap()

    def select(self, directory, source, vcpus, ram_mb, limit=None):
        segments = self.segments
        if not segments:
            return self.selector.select(directory, source, vcpus, ram_mb,
                                        limit)
        names = []
        for tier in segments.tiers(source):
            view = _TierView(directory, tier, segments.all_reserved)
            want = None if limit is None else limit - len(names)
            for name in self.selector.select(view, source, vcpus, ram_mb,
                                             want):
                if name not in names:
                    names.append(name)
            if limit is not None and len(names) >= limit:
                break
        return names


def _check(condition, message):
    if not condition:
        raise SegmentFileError(message)


def parse(data):
    """Validate a segment map (the API's ``GET /v1/segments`` shape with
    hosts, or a bare list) and return its segments as plain data."""
    if isinstance(data, dict):
        data = data.get('segments')
    _check(isinstance(data, list), 'expected a list of segments or '
           '{"segments": [...]}')
    seen_segments = set()
    seen_nodes = {}
    out = []
    for index, segment in enumerate(data):
        where = 'segment #%d' % (index + 1)
        _check(isinstance(segment, dict), '%s: not an object' % where)
        name = segment.get('name')
        _check(isinstance(name, str) and 0 < len(name) <= fields.NAME_MAX,
               '%s: "name" must be a string of 1 to %d characters'
               % (where, fields.NAME_MAX))
        where = 'segment %s' % name
        _check(name not in seen_segments, '%s: listed twice' % where)
        seen_segments.add(name)
        method = segment.get('recovery_method')
        _check(method in fields.RECOVERY_METHODS,
               '%s: "recovery_method" must be one of %s'
               % (where, ', '.join(fields.RECOVERY_METHODS)))
        hosts = segment.get('hosts', [])
        _check(isinstance(hosts, list), '%s: "hosts" must be a list' % where)
        clean = []
        for host in hosts:
            if isinstance(host, str):
                host = {'name': host}
            _check(isinstance(host, dict) and isinstance(
                host.get('name'), str) and host['name'],
                '%s: a host must be a node name or {"name": ..., '
                '"reserved": ...}' % where)
            reserved = host.get('reserved', False)
            _check(isinstance(reserved, bool),
                   '%s: host %s: "reserved" must be true or false'
                   % (where, host['name']))
            _check(host['name'] not in seen_nodes,
                   '%s: node %s is already in segment %s' % (
                       where, host['name'], seen_nodes.get(host['name'])))
            seen_nodes[host['name']] = name
            clean.append({'name': host['name'], 'reserved': reserved})
        out.append({'name': name, 'recovery_method': method,
                    'hosts': clean})
    return out


def load_file(path):
    """A :class:`SegmentMap` from a JSON file; SegmentFileError if bad."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as exc:
        raise SegmentFileError('cannot read %s: %s' % (path, exc)) from exc
    try:
        data = json.loads(raw.decode('utf-8-sig'))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SegmentFileError('%s is not JSON: %s' % (path, exc)) from exc
    try:
        return SegmentMap(parse(data))
    except SegmentFileError as exc:
        raise SegmentFileError('%s: %s' % (path, exc)) from exc
