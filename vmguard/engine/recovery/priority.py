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

"""Restart priority: the order in which a node's servers are moved.

``vmguard:priority`` -- an integer in the server's metadata or its
flavor's extra specs, read from Nova with the server at recovery time
(like ``vmguard:protect``, see :mod:`vmguard.engine.recovery.guards`).
The server's metadata wins over its flavor; no value (or one that is not
an integer, logged) is 0. Higher first.

``migrate_all`` moves the servers of a node in waves of one priority,
highest first: a wave starts when every move of the waves before it has
ended (succeeded or failed), so that a higher-priority server never waits
for a slot or a target's capacity behind a lower one. Within a wave the
larger servers (RAM, then vCPUs) are issued first, while the targets
still have room; ties by server id.
"""

import itertools

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

PRIORITY_KEY = 'vmguard:priority'
DEFAULT = 0


def _value(server, source, values):
    value = (values or {}).get(PRIORITY_KEY)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        LOG.warning('Server %s: %s %s=%r is not an integer; ignored',
                    server.id, source, PRIORITY_KEY, value)
        return None


def priority(server):
    """The restart priority of ``server`` (as read from Nova)."""
    for source, values in (('metadata', server.metadata),
                           ('flavor extra spec', server.flavor_extra_specs)):
        value = _value(server, source, values)
        if value is not None:
            return value
    return DEFAULT


def waves(items, server_of=lambda item: item):
    """Split ``items`` into waves: [(priority, [items])], highest priority
    first, each wave largest servers first."""
    keyed = sorted(
        items, key=lambda item: (-priority(server_of(item)),
                                 -(server_of(item).ram_mb or 0),
                                 -(server_of(item).vcpus or 0),
                                 server_of(item).id))
    return [(prio, list(group)) for prio, group in itertools.groupby(
        keyed, key=lambda item: priority(server_of(item)))]
