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

"""Fencing a silent node: power it off and have its BMC confirm it.

Powering a node off before its servers are evacuated makes sure a host that
only *looks* dead (lost network, hung agent) cannot keep writing to the
shared disks of servers that are being rebuilt elsewhere (SPEC Revision 2,
"R9 acts only on a confirmed death").

One small ABC, :class:`Fencer`, with drivers loaded by stevedore from the
``vmguard.fencers`` namespace, in the order of ``[recovery] fencers``; the
first one that has the node configured fences it:

* ``redfish`` -- sushy, the node's system URL in ``[recovery] bmc_redfish``;
* ``ipmi`` -- pyghmi, the node's BMC address in ``[recovery] bmc_ipmi``;
* ``none`` -- every node; refuses to fence unless ``[recovery]
  fence_without_bmc`` says that another fencing exists (then it records
  that it relied on it).
"""

import abc
import threading
import time

from oslo_log import log as logging
import stevedore

from vmguard.common import exception
from vmguard import conf

LOG = logging.getLogger(__name__)
CONF = conf.CONF
NAMESPACE = 'vmguard.fencers'

POWER_ON = 'on'
POWER_OFF = 'off'


class FencingError(exception.VmguardException):
    msg_fmt = 'Fencing of %(node)s failed: %(reason)s'


class FencingRefused(FencingError):
    """The fencer will not fence this node (e.g. no BMC)."""

    msg_fmt = 'Fencing of %(node)s refused: %(reason)s'


class Fencer(abc.ABC):
    """Powers a node off through an out-of-band path."""

    #: entry point name, recorded as evidence of each fencing step.
    name = None

    def __init__(self, sleep=time.sleep):
        self._sleep = sleep

    @abc.abstractmethod
    def configured(self, node):
        """True when this fencer can fence ``node``."""

    @abc.abstractmethod
    def power_off(self, node):
        """Ask for a hard power off (idempotent); raise FencingError."""

    @abc.abstractmethod
    def power_state(self, node):
        """The power state the BMC reports: POWER_ON, POWER_OFF, or
        another string it answered; raise FencingError without an
        answer."""

    def wait_off(self, node, timeout):
        """Return True once the BMC reports the node off, False on
        timeout (the BMC not answering counts as not confirmed)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.power_state(node) == POWER_OFF:
                    return True
            except FencingError as exc:
                LOG.warning('BMC of %s did not answer: %s', node, exc)
            if time.monotonic() >= deadline:
                return False
            self._sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def evidence(self, node):
        """What to record about the node's BMC (no secrets)."""
        return {'fencer': self.name}


class RedfishFencer(Fencer):
    """Powers nodes off through the Redfish URLs of ``[recovery]
    bmc_redfish`` (sushy)."""

    name = 'redfish'

    def __init__(self, systems=None, username=None, password=None,
                 verify=None, sleep=time.sleep):
        super().__init__(sleep=sleep)
        self._systems = (dict(CONF.recovery.bmc_redfish)
                         if systems is None else dict(systems))
        self._username = (CONF.recovery.bmc_username
                          if username is None else username)
        self._password = (CONF.recovery.bmc_password
                          if password is None else password)
        self._verify = CONF.recovery.bmc_verify if verify is None else verify
        self._clients = {}

    def configured(self, node):
        return node in self._systems

    def evidence(self, node):
        return {'fencer': self.name, 'bmc': self._systems.get(node)}

    def _system(self, node):
        import sushy

        url = self._systems[node]
        root, sep, path = url.partition('/redfish/v1')
        if not sep:
            raise FencingError(node=node, reason='not a Redfish system URL: '
                               '%s' % url)
        client = self._clients.get(root)
        if client is None:
            client = sushy.Sushy(root + '/redfish/v1',
                                 username=self._username,
                                 password=self._password,
                                 verify=self._verify)
            self._clients[root] = client
        return client.get_system('/redfish/v1' + path)

    def power_off(self, node):
        import sushy

        try:
            system = self._system(node)
            if system.power_state == sushy.PowerState.OFF:
                LOG.info('Node %s is already powered off', node)
                return
            LOG.warning('Fencing node %s: forcing it off through its '
                        'Redfish BMC', node)
            system.reset_system(sushy.ResetType.FORCE_OFF)
        except sushy.exceptions.SushyError as exc:
            raise FencingError(node=node, reason=exc) from exc

    def power_state(self, node):
        import sushy

        try:
            state = self._system(node).power_state
        except sushy.exceptions.SushyError as exc:
            raise FencingError(node=node, reason=exc) from exc
        if state == sushy.PowerState.OFF:
            return POWER_OFF
        if state == sushy.PowerState.ON:
            return POWER_ON
        return str(state)


class IPMIFencer(Fencer):
    """Powers nodes off through the IPMI BMCs of ``[recovery] bmc_ipmi``
    (pyghmi, IPMI 2.0 over LAN)."""

    name = 'ipmi'

    def __init__(self, bmcs=None, username=None, password=None,
                 sleep=time.sleep):
        super().__init__(sleep=sleep)
        self._bmcs = (dict(CONF.recovery.bmc_ipmi) if bmcs is None
                      else dict(bmcs))
        self._username = (CONF.recovery.bmc_username
                          if username is None else username)
        self._password = (CONF.recovery.bmc_password
                          if password is None else password)
        self._lock = threading.Lock()
        self._commands = {}

    def configured(self, node):
        return node in self._bmcs

    def evidence(self, node):
        return {'fencer': self.name, 'bmc': self._bmcs.get(node)}

    def _address(self, node):
        value = self._bmcs[node]
        host, sep, port = value.rpartition(':')
        if sep and port.isdigit() and not host.endswith(':'):
            return host.strip('[]'), int(port)
        return value.strip('[]'), 623

    def _command(self, node):
        from pyghmi.ipmi import command as ipmi_command

        with self._lock:
            cmd = self._commands.get(node)
            if cmd is None:
                host, port = self._address(node)
                # pyghmi keeps one session per BMC: one Command per node,
                # dropped after an error so that the next call logs in
                # again.
                cmd = ipmi_command.Command(
                    bmc=host, userid=self._username or '',
                    password=self._password or '', port=port)
                self._commands[node] = cmd
            return cmd

    def _run(self, node, fn):
        from pyghmi import exceptions as ipmi_exc

        try:
            return fn(self._command(node))
        except (ipmi_exc.PyghmiException, OSError) as exc:
            with self._lock:
                self._commands.pop(node, None)
            raise FencingError(node=node, reason=exc) from exc

    def power_off(self, node):
        def off(cmd):
            if cmd.get_power().get('powerstate') == POWER_OFF:
                LOG.info('Node %s is already powered off', node)
                return
            LOG.warning('Fencing node %s: forcing it off through its IPMI '
                        'BMC', node)
            cmd.set_power('off')
        self._run(node, off)

    def power_state(self, node):
        return self._run(node, lambda cmd: cmd.get_power().get('powerstate'))


class NoneFencer(Fencer):
    """For nodes without a BMC: fences only when the operator declared
    that another fencing exists (``[recovery] fence_without_bmc``)."""

    name = 'none'

    def configured(self, node):
        return True

    def evidence(self, node):
        return {'fencer': self.name,
                'fence_without_bmc': CONF.recovery.fence_without_bmc}

    def power_off(self, node):
        if not CONF.recovery.fence_without_bmc:
            raise FencingRefused(
                node=node, reason='no BMC configured and [recovery] '
                'fence_without_bmc is false')
        LOG.warning('Node %s has no BMC: relying on the fencing the '
                    'operator declared ([recovery] fence_without_bmc)', node)

    def power_state(self, node):
        if CONF.recovery.fence_without_bmc:
            return POWER_OFF
        raise FencingRefused(node=node, reason='no BMC configured')


class FencerSet:
    """The fencers of ``[recovery] fencers`` in order; the first that has
    a node configured fences it."""

    def __init__(self, fencers):
        self.fencers = list(fencers)

    def for_node(self, node):
        for fencer in self.fencers:
            if fencer.configured(node):
                return fencer
        return None


def load_fencers(names=None):
    """Load the fencers named in ``[recovery] fencers`` (stevedore)."""
    names = list(CONF.recovery.fencers if names is None else names)
    fencers = []
    for name in names:
        try:
            mgr = stevedore.DriverManager(NAMESPACE, name,
                                          invoke_on_load=True)
        except Exception as exc:
            raise exception.DriverLoadError(namespace=NAMESPACE, name=name,
                                            reason=exc) from exc
        fencers.append(mgr.driver)
    return FencerSet(fencers)


def as_fencer_set(fencer):
    """A :class:`FencerSet` from a set, one fencer, or None (config)."""
    if fencer is None:
        return load_fencers()
    if isinstance(fencer, FencerSet):
        return fencer
    return FencerSet([fencer, NoneFencer()])
