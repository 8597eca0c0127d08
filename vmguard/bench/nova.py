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

"""A real Nova 34 (tools/nova/novactl.py of a source checkout).

Started once per process, or reused when one is already running (started
by ``tools/nova/novactl.py start`` or by another process); stopped at exit
only by the process that started it. Used by the end-to-end benchmark and
by the functional tests (their ``nova.fixtures``), which FAIL with the
reason when it cannot start (never skip).
"""

import atexit
import json
import os
import subprocess
import sys
import threading

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
NOVACTL = os.path.join(REPO, 'tools', 'nova', 'novactl.py')
START_TIMEOUT = 400

_LOCK = threading.Lock()
#: Per mode (False: the normal test Nova; True: its libvirt mode).
_ENV = {}
_ERROR = {}


class NovaUnavailable(Exception):
    pass


def novactl(*args, timeout=120, libvirt=False):
    """Run novactl; ``libvirt``: in its libvirt mode (a Nova of its own
    with one compute on Nova's stock libvirt driver, see
    tools/nova/libvirt_mode.py)."""
    env = dict(os.environ)
    if libvirt:
        env['VMGUARD_NOVA_LIBVIRT'] = '1'
    else:
        env.pop('VMGUARD_NOVA_LIBVIRT', None)
    res = subprocess.run([sys.executable, NOVACTL] + list(args),
                         capture_output=True, text=True, timeout=timeout,
                         env=env)
    return res


def _stop(libvirt):
    novactl('stop', libvirt=libvirt)


def real_nova(libvirt=False):
    """The environment of the running test Nova (a dict, see novactl).

    ``libvirt``: the libvirt mode's Nova (its environment has a
    ``libvirt`` entry: host, flavor, image, console log template).
    """
    with _LOCK:
        if libvirt in _ENV:
            return _ENV[libvirt]
        if libvirt in _ERROR:
            raise NovaUnavailable(_ERROR[libvirt])
        status = novactl('status', libvirt=libvirt)
        already = (status.returncode == 0 and
                   json.loads(status.stdout or '{}').get('healthy'))
        res = novactl('start', timeout=START_TIMEOUT, libvirt=libvirt)
        if res.returncode != 0:
            _ERROR[libvirt] = (
                'The real Nova these tests need could not be started by '
                '%s start%s (exit %s). Install it with '
                'tools/nova/install.sh%s (.ci/run does). Its output:\n%s'
                % (NOVACTL, ' (VMGUARD_NOVA_LIBVIRT=1)' if libvirt else '',
                   res.returncode, ' --libvirt' if libvirt else '',
                   res.stderr[-6000:]))
            raise NovaUnavailable(_ERROR[libvirt])
        _ENV[libvirt] = json.loads(res.stdout)
        if not already:
            atexit.register(_stop, libvirt)
        return _ENV[libvirt]
