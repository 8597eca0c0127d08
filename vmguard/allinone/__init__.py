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

"""The parts of ``vmguard-allinone`` (:mod:`vmguard.cmd.allinone`).

* :mod:`.nodes` -- simulated compute nodes: a libvirt test driver node
  XML, a sysfs tree and a Redfish BMC (sushy-static) each, and the fake
  compute back end whose actions they follow;
* :mod:`.redfish` -- the project's Redfish mockup (``redfish_mockup/``)
  and ``sushy-static`` serving a copy of it (also used by the end-to-end
  benchmark and the agent's functional tests);
* :mod:`.engine` -- the engine the demo runs (the real engine service, or
  the stand-in used when it does not start) and its SQLite set-up;
* :mod:`.report` -- the table of what vmguard saw, decided and did.
"""
