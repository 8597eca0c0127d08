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


"""A real Nova 34 for the functional tests (tools/nova/novactl.py).

Started once per test process, or reused when one is already running
(started by ``tools/nova/novactl.py start`` or by another test process);
stopped at exit only by the process that started it. It cannot start ->
the tests FAIL with the reason (never skip). The starter is the
benchmarks' (:mod:`vmguard.bench.nova`): one Nova per process for both.
"""

from vmguard.bench import nova as bench_nova

NOVACTL = bench_nova.NOVACTL
NovaUnavailable = bench_nova.NovaUnavailable
novactl = bench_nova.novactl
real_nova = bench_nova.real_nova
