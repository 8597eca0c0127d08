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

"""Target node selection for ``evacuate`` and ``migrate_all``.

Candidates come from a *directory*: any object with ``candidates()``
returning :class:`NodeInfo` items and ``reserve(name, vcpus, ram_mb)``.
The pipeline keeps an in-memory one fed by the snapshots it judges; the
engine may plug one backed by the database so that nodes judged by other
engines are candidates too.

A node is eligible when it is not the source node, its latest host state
is ``normal``, none of its external items is ``failed``, vmguard has not
disabled it, and its free vCPUs and RAM fit the VM. The default selector
takes the one with the most free RAM, ties broken by node name.
"""

import abc
import heapq


class NodeInfo:
    __slots__ = ('name', 'host_state', 'external_failed', 'disabled',
                 'vcpus_free', 'ram_mb_free')

    def __init__(self, name, host_state='unknown', external_failed=False,
                 disabled=False, vcpus_free=None, ram_mb_free=None):
        self.name = name
        self.host_state = host_state
        self.external_failed = external_failed
        self.disabled = disabled
        self.vcpus_free = vcpus_free
        self.ram_mb_free = ram_mb_free


class MemoryDirectory:
    """Latest state of every node the pipeline has judged."""

    def __init__(self):
        self.nodes = {}

    def update(self, name, host_state, external_failed, vcpus_free,
               ram_mb_free):
        info = self.nodes.get(name)
        if info is None:
            self.nodes[name] = NodeInfo(name, host_state, external_failed,
                                        False, vcpus_free, ram_mb_free)
            return
        info.host_state = host_state
        info.external_failed = external_failed
        info.vcpus_free = vcpus_free
        info.ram_mb_free = ram_mb_free

    def set_disabled(self, name, disabled):
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name)
        info.disabled = disabled

    def forget(self, name):
        self.nodes.pop(name, None)

    def candidates(self):
        return self.nodes.values()

    def reserve(self, name, vcpus, ram_mb):
        """Account a placed VM until the target's next snapshot."""
        info = self.nodes.get(name)
        if info is not None and info.vcpus_free is not None:
            info.vcpus_free -= vcpus
            info.ram_mb_free -= ram_mb


class TargetSelector(abc.ABC):

    @abc.abstractmethod
    def select(self, directory, source, vcpus, ram_mb, limit=None):
        """Return the names of eligible targets, best first.

        :param limit: return at most this many (all when None).
        """


def eligible(info, source, vcpus, ram_mb):
    return (info.name != source and info.host_state == 'normal'
            and not info.external_failed and not info.disabled
            and info.vcpus_free is not None
            and info.ram_mb_free is not None
            and info.vcpus_free >= vcpus and info.ram_mb_free >= ram_mb)


class MostFreeRamSelector(TargetSelector):
    """Most free RAM first; ties by node name."""

    def select(self, directory, source, vcpus, ram_mb, limit=None):
        ranked = [(-i.ram_mb_free, i.name) for i in directory.candidates()
                  if eligible(i, source, vcpus, ram_mb)]
        if limit is None:
            ranked.sort()
        else:
            # A thousand candidates, three wanted: no full sort.
            ranked = heapq.nsmallest(limit, ranked)
        return [name for _free, name in ranked]
