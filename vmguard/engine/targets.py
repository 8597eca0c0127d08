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

A node is eligible (:func:`eligible`, the one definition, used by the
pipeline and by the recovery) when it is not the source node, its latest
host state is ``normal``, none of its external items is ``failed``,
vmguard has not disabled it, it is not in maintenance, it is not judged
silent (R9), and its known free vCPUs and RAM fit the VM. The default
selector takes the one with the most free RAM, ties broken by node name.

:func:`database_directory` builds a directory from the database, for the
recovery (which places VMs one by one after the decision).
"""

import abc
import heapq

import stevedore

from vmguard.common import exception
from vmguard.db import api as db_api
from vmguard.engine import segments as segments_mod

SELECTOR_NAMESPACE = 'vmguard.target_selectors'


def load_selector(name):
    """The target selector named (``[engine] target_selector``)."""
    try:
        return stevedore.DriverManager(SELECTOR_NAMESPACE, name,
                                       invoke_on_load=True).driver
    except Exception as exc:
        raise exception.DriverLoadError(
            namespace=SELECTOR_NAMESPACE, name=name, reason=exc) from exc


class NodeInfo:
    __slots__ = ('name', 'host_state', 'external_failed', 'disabled',
                 'vcpus_free', 'ram_mb_free', 'maintenance', 'silent')

    def __init__(self, name, host_state='unknown', external_failed=False,
                 disabled=False, vcpus_free=None, ram_mb_free=None,
                 maintenance=False, silent=False):
        self.name = name
        self.host_state = host_state
        self.external_failed = external_failed
        self.disabled = disabled
        self.vcpus_free = vcpus_free
        self.ram_mb_free = ram_mb_free
        self.maintenance = maintenance
        self.silent = silent


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

    def set_silent(self, name, silent):
        """Judged silent (R9) or reporting again."""
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name)
        info.silent = silent

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


class DbDirectory(MemoryDirectory):
    """Target candidates: this engine's nodes as judged, the others as
    stored by their engines (refreshed periodically from the database)."""

    def __init__(self):
        super().__init__()
        self.local = set()

    def update(self, name, host_state, external_failed, vcpus_free,
               ram_mb_free):
        self.local.add(name)
        super().update(name, host_state, external_failed, vcpus_free,
                       ram_mb_free)

    def forget(self, name):
        self.local.discard(name)
        super().forget(name)

    def refresh(self, summaries):
        for s in summaries:
            name = s['name']
            maintenance = bool(s.get('maintenance'))
            if name in self.local:
                # Maintenance is the operator's, whoever judges the node.
                self.nodes[name].maintenance = maintenance
                continue
            old = self.nodes.get(name)
            self.nodes[name] = NodeInfo(
                name, s['host_state'], s['external_failed'], s['disabled'],
                s['vcpus_free'], s['ram_mb_free'], maintenance,
                old.silent if old is not None else False)


class TargetSelector(abc.ABC):

    @abc.abstractmethod
    def select(self, directory, source, vcpus, ram_mb, limit=None):
        """Return the names of eligible targets, best first.

        :param limit: return at most this many (all when None).
        """


def eligible(info, source, vcpus, ram_mb):
    """The one target rule (SPEC section 1 and revision 2)."""
    return (info.name != source and info.host_state == 'normal'
            and not info.external_failed and not info.disabled
            and not info.maintenance and not info.silent
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


def database_directory(context, reserved=None):
    """A :class:`MemoryDirectory` of every stored node.

    :param reserved: {node: (vcpus, ram_mb)} placed and not yet seen in
        the node's reported capacity (subtracted).
    """
    summaries = {s['name']: s for s in db_api.engine_node_summaries(
        context)}
    directory = MemoryDirectory()
    reserved = reserved or {}
    for node in db_api.node_list(context):
        summary = summaries.get(node.name) or {}
        used = reserved.get(node.name, (0, 0))
        state = node.judge_state if isinstance(node.judge_state,
                                               dict) else {}
        directory.nodes[node.name] = NodeInfo(
            node.name, node.host_state,
            bool(summary.get('external_failed')), bool(node.disabled),
            None if node.vcpus_free is None else node.vcpus_free - used[0],
            None if node.ram_mb_free is None
            else node.ram_mb_free - used[1],
            maintenance=bool(node.maintenance),
            silent='R9' in (state.get('incidents') or {}))
    return directory


def recovery_targets(context, selector, source, vcpus, ram_mb,
                     exclude=(), reserved=None, first=None, segments=None):
    """Eligible targets for one VM the recovery places, best first.

    ``first`` (the decision's target) leads when it is still eligible and
    in the first tier of the source's failover segment (``segments``, a
    :class:`vmguard.engine.segments.SegmentMap`; the selector is wrapped
    in a :class:`~vmguard.engine.segments.SegmentSelector`).
    """
    directory = database_directory(context, reserved)
    for name in exclude:
        directory.nodes.pop(name, None)
    segments = segments or segments_mod.SegmentMap()
    names = segments_mod.SegmentSelector(selector, segments).select(
        directory, source, vcpus, ram_mb)
    first_tier = segments.tiers(source)[0]
    if first in names and (first_tier is None or first in first_tier):
        names = [first] + [n for n in names if n != first]
    return names
