#!/usr/bin/env python3
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

"""Run a command as a child subreaper that reaps every orphan at once.

    python3 tools/subreaper.py COMMAND [ARG...]

tools/qemu-test-env.sh starts virtlogd and libvirtd under it. libvirtd
daemonizes the QEMU processes it starts, so they are reparented to the
nearest subreaper, else to PID 1. On a compute host PID 1 (systemd) reaps
them as soon as they exit; some test machines' PID 1 reaps orphans only
every couple of seconds. Until its zombie is reaped, libvirt takes a
destroyed QEMU for alive (it polls ``kill(pid, 0)`` every 0.2 s), so each
``virDomainDestroy`` -- the first step of Nova's hard reboot -- lasted
about 2 s longer than on a real host. Under this process the daemons and
their QEMU processes are reaped as on a real host.

Stdlib only. Exits when it has no children left.
"""

import ctypes
import errno
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv):
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write('subreaper: prctl(PR_SET_CHILD_SUBREAPER): %s\n'
                         % os.strerror(ctypes.get_errno()))
        return 1
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    status = 0
    while True:
        try:
            child, code = os.wait()
        except ChildProcessError:
            return status
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        if child == pid:
            status = os.waitstatus_to_exitcode(code)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
