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

"""VM crash classification (SPEC.md section 1, "Details that matter")."""

from vmguard.engine.judges import base

_PAUSED_CRASH = frozenset(('ioerror', 'watchdog', 'crashed'))
_SHUTOFF_CRASH = frozenset(('crashed', 'failed'))


def is_crash(state, reason, task_state=None):
    """True when libvirt's state/reason is a crash.

    ``crashed`` (any reason); ``shutoff`` with reason ``crashed`` or
    ``failed``; ``paused`` with ``ioerror``, ``watchdog`` or ``crashed``.
    A VM in a Nova task (stop, migrate, rebuild, ...) is never crashed,
    nor is a purposeful stop (``shutoff/shutdown``, ``shutoff/destroyed``).
    Event names use ``stopped``/``suspended`` for shutoff/paused too.
    """
    if task_state:
        return False
    if state == 'crashed':
        return True
    if state == 'shutoff' or state == 'stopped':
        return reason in _SHUTOFF_CRASH
    if state == 'paused' or state == 'suspended':
        return reason in _PAUSED_CRASH
    return False


class VMCrashJudge(base.Judge):
    """Lists the VMs of the snapshot that are crashed, and those that are
    not (which re-arms their crash detection). Nova task states known to
    the pipeline are in the context's ``tasks`` ({uuid: task_state})."""

    name = 'vm_crash'

    def __init__(self, context, tasks=None):
        super().__init__(context)
        if tasks is not None:
            self.context.tasks = tasks

    @property
    def tasks(self):
        return self.context.tasks

    def judge(self, snapshot, data, assessment):
        tasks = self.tasks
        prev = assessment.previous
        if assessment.same_vms and prev is not None and not tasks:
            assessment.crashed = prev.crashed
            assessment.not_crashed = prev.not_crashed
            return
        crashed = []
        ok = []
        for vm in snapshot.vms:
            state = vm.state
            if state == 'running' or state == 'blocked':
                ok.append(vm.uuid)
                continue
            task = vm.task_state or (tasks.get(vm.uuid) if tasks else None)
            if is_crash(state, vm.reason, task):
                crashed.append(vm)
            else:
                ok.append(vm.uuid)
        assessment.crashed = crashed
        assessment.not_crashed = ok
