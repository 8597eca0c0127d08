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

"""Fencing a silent node through its BMC (Redfish, via sushy).

Powering a node off before its servers are evacuated makes sure a host that
only *looks* dead (lost network, hung agent) cannot keep writing to the
shared disks of servers that are being rebuilt elsewhere.
"""

import time

from oslo_log import log as logging

from vmguard.common import exception
from vmguard import conf

LOG = logging.getLogger(__name__)
CONF = conf.CONF


class FencingError(exception.VmguardException):
    msg_fmt = 'Fencing of %(node)s failed: %(reason)s'


class RedfishFencer:
    """Powers nodes off through the Redfish URLs of ``[recovery]
    bmc_redfish``."""

    def __init__(self, systems=None, username=None, password=None,
                 verify=None, sleep=time.sleep):
        self._systems = (dict(CONF.recovery.bmc_redfish)
                         if systems is None else dict(systems))
        self._username = (CONF.recovery.bmc_username
                          if username is None else username)
        self._password = (CONF.recovery.bmc_password
                          if password is None else password)
        self._verify = CONF.recovery.bmc_verify if verify is None else verify
        self._sleep = sleep
        self._clients = {}

    def configured(self, node):
        return node in self._systems

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
        """Ask the BMC to force the node off (idempotent)."""
        import sushy

        try:
            system = self._system(node)
            if system.power_state == sushy.PowerState.OFF:
                LOG.info('Node %s is already powered off', node)
                return
            LOG.warning('Fencing node %s: forcing it off through its BMC',
                        node)
            system.reset_system(sushy.ResetType.FORCE_OFF)
        except sushy.exceptions.SushyError as exc:
            raise FencingError(node=node, reason=exc) from exc

    def wait_off(self, node, timeout):
        """Return True once the BMC reports the node off, False on
        timeout."""
        import sushy

        deadline = time.monotonic() + timeout
        while True:
            try:
                system = self._system(node)
                if system.power_state == sushy.PowerState.OFF:
                    return True
            except sushy.exceptions.SushyError as exc:
                LOG.warning('BMC of %s did not answer: %s', node, exc)
            if time.monotonic() >= deadline:
                return False
            self._sleep(min(1.0, max(0.0, deadline - time.monotonic())))
