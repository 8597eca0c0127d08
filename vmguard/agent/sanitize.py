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

"""Names read from the system made valid text before they are sent.

The engine takes only printable Unicode text (:mod:`vmguard.objects.text`):
one NIC whose name is not UTF-8 (Python gives it surrogate-escaped) or one
serial number with a control byte would get the node's whole snapshot
rejected, every cycle, and the node would look silent. The agent escapes
every string of what it sends (ids, identities, kinds, names, states,
reasons, detail entries) with :func:`vmguard.objects.text.escape`, here,
once, where the snapshot is assembled: no collector can forget it. An
escaped value longer than its field holds (the bounds of
:mod:`vmguard.objects.records`) is cut to that length.

An item whose value was escaped is logged once (a warning the first time,
not each cycle).
"""

import logging

from vmguard.objects import records
from vmguard.objects import text

LOG = logging.getLogger(__name__)

#: Escaped items remembered so that each is logged once.
MAX_REMEMBERED = 4096

_is_text = text.is_text
R = records


def _escape(value, bound):
    """``value`` escaped, cut to ``bound`` characters when the escapes
    made it longer than its field holds (a value that was valid text is
    never cut here: the engine judges its length)."""
    return text.escape(value)[:bound]


def _clean(obj, fields):
    """Escape ``obj``'s string ``fields`` (name, bound) in place; the
    originals of those that changed, as {field: original}."""
    changed = None
    for field, bound in fields:
        value = getattr(obj, field)
        if value.__class__ is str and not _is_text(value):
            setattr(obj, field, _escape(value, bound))
            changed = changed or {}
            changed[field] = value
    return changed


def _clean_detail(item):
    detail = item.detail
    if not detail or detail.__class__ is not dict:
        return None
    if all(_is_text(k) and (v is None or v.__class__ is not str
                            or _is_text(v))
           for k, v in detail.items() if k.__class__ is str):
        return None
    changed = {}
    out = {}
    for k, v in detail.items():
        if k.__class__ is str and not _is_text(k):
            changed['detail key %s' % _escape(k, R.MAX_DETAIL_KEY)] = k
            k = _escape(k, R.MAX_DETAIL_KEY)
        if v.__class__ is str and not _is_text(v):
            changed['detail[%s]' % k] = v
            v = _escape(v, R.MAX_DETAIL_VALUE)
        out[k] = v
    item.detail = out
    return changed


# (field, bound) of each list of a snapshot; the first field names the item.
_FIELDS = (
    ('hardware', (('id', R.MAX_NAME), ('kind', R.MAX_KIND),
                  ('health', R.MAX_KIND), ('identity', R.MAX_NAME),
                  ('identity_path', R.MAX_KIND))),
    ('external', (('id', R.MAX_NAME), ('kind', R.MAX_KIND),
                  ('health', R.MAX_KIND))),
    ('services', (('name', R.MAX_SERVICE), ('state', R.MAX_KIND))),
    ('vms', (('uuid', R.MAX_UUID), ('state', R.MAX_KIND),
             ('reason', R.MAX_KIND), ('task_state', R.MAX_KIND))),
)
_EVENT_FIELDS = (('node', R.MAX_NAME), ('uuid', R.MAX_UUID),
                 ('event', R.MAX_KIND), ('reason', R.MAX_KIND),
                 ('source', R.MAX_SOURCE))


class Sanitizer:
    """Escapes what the agent sends; logs each escaped item once."""

    def __init__(self, max_remembered=MAX_REMEMBERED):
        self._logged = set()
        self._max = max_remembered
        #: Values escaped since the agent started.
        self.escaped = 0

    def _report(self, node, where, key, changed):
        self.escaped += len(changed)
        token = (where, key)
        if token in self._logged:
            return
        if len(self._logged) >= self._max:
            # Bounded memory: start over (an item may be logged again).
            self._logged.clear()
        self._logged.add(token)
        LOG.warning(
            'Node %s: %s item %s: %s not printable text, sent escaped '
            '(logged once)', records.printable(node), where,
            records.printable(key),
            ', '.join('%s %s' % (field, records.printable(orig))
                      for field, orig in sorted(changed.items())))

    def node(self, name):
        """The node's name (from the configuration) as valid text."""
        if name.__class__ is str and not _is_text(name):
            escaped = _escape(name, R.MAX_NAME)
            self._report(escaped, 'node', escaped, {'name': name})
            return escaped
        return name

    def snapshot(self, snap):
        """Escape ``snap`` (a ``records.Snapshot``) in place; return it."""
        snap.node = self.node(snap.node)
        for where, fields in _FIELDS:
            for item in getattr(snap, where):
                changed = _clean(item, fields)
                if where == 'hardware':
                    more = _clean_detail(item)
                    if more:
                        changed = changed or {}
                        changed.update(more)
                if changed:
                    key = getattr(item, fields[0][0])
                    self._report(snap.node, where, key, changed)
        return snap

    def event(self, rec):
        """Escape ``rec`` (a ``records.VMEvent``) in place; return it."""
        changed = _clean(rec, _EVENT_FIELDS)
        if changed:
            self._report(rec.node, 'vm_event', rec.uuid, changed)
        return rec
