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
_ENV = None
_ERROR = None


class NovaUnavailable(Exception):
    pass


def novactl(*args, timeout=120):
    res = subprocess.run([sys.executable, NOVACTL] + list(args),
                         capture_output=True, text=True, timeout=timeout)
    return res


def _stop():
    novactl('stop')


def real_nova():
    """The environment of the running test Nova (a dict, see novactl)."""
    global _ENV, _ERROR
    with _LOCK:
        if _ENV is not None:
            return _ENV
        if _ERROR is not None:
            raise NovaUnavailable(_ERROR)
        status = novactl('status')
        already = (status.returncode == 0 and
                   json.loads(status.stdout or '{}').get('healthy'))
        res = novactl('start', timeout=START_TIMEOUT)
        if res.returncode != 0:
            _ERROR = ('The real Nova these tests need could not be started '
                      'by %s start (exit %s). Install it with '
                      'tools/nova/install.sh (.ci/run does). Its '
                      'output:\n%s' % (NOVACTL, res.returncode,
                                       res.stderr[-6000:]))
            raise NovaUnavailable(_ERROR)
        _ENV = json.loads(res.stdout)
        if not already:
            atexit.register(_stop)
        return _ENV
