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

"""The collector seam: one driver per source of running info.

Collectors are loaded by stevedore from the ``vmguard.collectors`` entry
point namespace, named in ``[agent] collectors``. Every cycle the manager
calls :meth:`Collector.collect` of each enabled collector concurrently;
a collector that raises or overruns ``[agent] collector_timeout`` is
replaced for that cycle by :meth:`Collector.unavailable`.
"""

import abc
import dataclasses
import typing

from vmguard.objects import records


@dataclasses.dataclass
class Result:
    """What one collector found in one cycle.

    Items are the plain records of :mod:`vmguard.objects.records`.
    ``complete`` is False when the collector could not look (it failed or
    timed out): the manager then knows that an item missing from
    ``hardware`` was not looked for, rather than not found.
    """

    hardware: list = dataclasses.field(default_factory=list)
    external: list = dataclasses.field(default_factory=list)
    services: list = dataclasses.field(default_factory=list)
    vms: list = dataclasses.field(default_factory=list)
    vcpus_free: typing.Optional[int] = None
    ram_mb_free: typing.Optional[int] = None
    complete: bool = True


class Collector(abc.ABC):
    """Base class of the collector drivers."""

    #: Name of the driver in the vmguard.collectors namespace.
    name = None
    #: 'inband' or 'oob' for the collectors that read hardware
    #: identities; None for the others. The manager merges both views.
    identity_source = None

    def __init__(self, conf):
        self.conf = conf

    def start(self, event_sink):
        """Start background work (e.g. an event listener).

        :param event_sink: callable ``sink(uuid, event, reason, source)``
            to be called at once for crash-class VM events between
            cycles; the manager stamps node and cycle and casts it.
        """
        return None

    def stop(self):
        """Stop background work; idempotent."""
        return None

    @abc.abstractmethod
    def collect(self):
        """Look once and return a :class:`Result`. May raise."""

    def unavailable(self, reason):
        """The :class:`Result` of a cycle in which :meth:`collect` failed.

        :param reason: 'timeout' or 'error'.

        Default: nothing is reported (the items are unknown this cycle).
        Collectors whose items have a meaningful failed state (an
        unanswered storage probe) override this.
        """
        return Result(complete=False)


# Re-exported for the drivers.
HardwareItem = records.HardwareItem
ExternalItem = records.ExternalItem
ServiceState = records.ServiceState
VMInfo = records.VMInfo
