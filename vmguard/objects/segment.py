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

"""Failover segments: the constants every layer shares.

A segment groups nodes that fail over among themselves (a rack, a storage
domain, an availability zone). Its recovery method says where the servers
of a failed node go:

* ``auto`` -- the segment's hosts that are not reserved;
* ``reserved_host`` -- only the segment's reserved hosts (spares kept
  disabled in Nova until a recovery first uses them);
* ``auto_priority`` -- the hosts that are not reserved first, then the
  reserved ones;
* ``rh_priority`` -- the reserved hosts first, then the others.

The two ``*_priority`` names read as Masakari's: the method named first
has priority.
"""

AUTO = 'auto'
RESERVED_HOST = 'reserved_host'
AUTO_PRIORITY = 'auto_priority'
RH_PRIORITY = 'rh_priority'

RECOVERY_METHODS = (AUTO, RESERVED_HOST, AUTO_PRIORITY, RH_PRIORITY)

# Which hosts of the segment are tried, tier after tier: True for the
# reserved hosts, False for the others.
TIERS = {
    AUTO: (False,),
    RESERVED_HOST: (True,),
    AUTO_PRIORITY: (False, True),
    RH_PRIORITY: (True, False),
}

NAME_MAX = 255
DESCRIPTION_MAX = 255
