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

"""The libvirt mode of the test Nova (``VMGUARD_NOVA_LIBVIRT=1``).

Stdlib only, used by ``novactl.py``. Next to the fake computes, one more
nova-compute (``VMGUARD_NOVA_LIBVIRT_HOST``, default ``lv-1``) runs Nova's
stock ``libvirt.LibvirtDriver`` on the machine's libvirtd
(``qemu:///system``, ``virt_type = qemu``: TCG). Its servers are real
QEMU guests made by Nova (no panic device): the test guest of
``tools/qemu-test-env.sh`` (a Debian kernel, a busybox initramfs that
prints ``VMGUARD-READY``), served by the Glance stand-in as three images:
kernel (``aki``), ramdisk (``ari``) and a small raw root disk whose
``kernel_id``/``ramdisk_id``/``os_command_line`` properties make Nova
boot them directly. Two more images when the machine has ``qemu-ga``
(Debian qemu-guest-agent): the guest with the QEMU guest agent
(:data:`AGENT_RAMDISK_IMAGE`, ``initrd-agent.img``) and its root disk
:data:`AGENT_DISK_IMAGE` with ``hw_qemu_guest_agent=yes``, for which Nova
adds the agent's virtio-serial channel.

The mode has its own run directory, ports, databases and RabbitMQ vhost
(defaults below), so it runs beside the normal test Nova and never
replaces it. What it needs beyond the normal one (``install.sh
--libvirt`` installs it): libvirt-python in Nova's virtualenv, qemu-img
(Debian ``qemu-utils``), libvirtd with QEMU (``qemu-test-env.sh``).
Privileged helpers run as root: ``[workarounds] disable_rootwrap`` and
privsep's helper command without sudo.

Servers for this compute: ``networks: none``, flavor :data:`FLAVOR`, image
:data:`DISK_IMAGE`, and ``availability_zone: "nova:lv-1"`` (a forced
host; without it the scheduler may also pick a fake compute, and a
server meant for a fake compute may land here).
"""

import json
import os
import subprocess

ENABLED = os.environ.get('VMGUARD_NOVA_LIBVIRT', '').lower() in (
    '1', 'true', 'yes')
HOST = os.environ.get('VMGUARD_NOVA_LIBVIRT_HOST', 'lv-1')

#: Defaults of novactl's settings in this mode (its environment
#: variables still win).
DEFAULTS = {
    'VMGUARD_NOVA_DIR': '/tmp/vmguard-nova-libvirt',
    'VMGUARD_NOVA_PORT_BASE': '18800',
    'VMGUARD_NOVA_DB_PREFIX': 'vmguard_nova_lv',
    'VMGUARD_NOVA_VHOST': 'vmguard_nova_lv',
    'VMGUARD_NOVA_COMPUTES': '2',
}

FLAVOR = 'vmguard-lv'
KERNEL_IMAGE = '6d0c1f7e-5b1a-4c59-9d1e-7a0e00000001'
RAMDISK_IMAGE = '6d0c1f7e-5b1a-4c59-9d1e-7a0e00000002'
DISK_IMAGE = '6d0c1f7e-5b1a-4c59-9d1e-7a0e00000003'
AGENT_RAMDISK_IMAGE = '6d0c1f7e-5b1a-4c59-9d1e-7a0e00000004'
AGENT_DISK_IMAGE = '6d0c1f7e-5b1a-4c59-9d1e-7a0e00000005'
#: The guest's kernel command line (as vmguard/bench/qemu.py's guests):
#: serial console, no reboot after a panic, panic on an NMI.
CMDLINE = ('console=ttyS0 panic=0 unknown_nmi_panic=1 quiet '
           'vmguard.test=idle')
QEMU_ENV = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                        'qemu-test-env.sh')

COMPUTE_CONF = """[DEFAULT]
host = {host}
state_path = {run}/state/{host}
instances_path = {run}/state/{host}/instances
compute_driver = libvirt.LibvirtDriver
# Unique among the machine's domains (other test runs, other Novas).
instance_name_template = vmguard-lv-%(uuid)s
[libvirt]
virt_type = qemu
connection_uri = qemu:///system
cpu_mode = none
inject_partition = -2
# Raw instance disks (no qcow2 overlay on a cached base): a hard reboot
# then reads the disks' sizes from the file system instead of running
# `qemu-img info` three times (each through a new Python interpreter,
# oslo.concurrency's prlimit) before it starts the domain again.
images_type = flat
[workarounds]
disable_rootwrap = true
[nova_sys_admin]
helper_command = {helper}
[os_brick_privileged]
helper_command = {helper}
"""


def default(name, fallback):
    """novactl's setting ``name``: the environment, else this mode's
    default when the mode is on, else ``fallback``."""
    if name in os.environ:
        return os.environ[name]
    if ENABLED:
        return DEFAULTS.get(name, fallback)
    return fallback


def instances_path(run):
    return os.path.join(run, 'state', HOST, 'instances')


def console_log(run, server_id):
    """Nova's console log of one server of the libvirt compute."""
    return os.path.join(instances_path(run), server_id, 'console.log')


def check_requirements(venv):
    """Raise RuntimeError naming what this mode misses."""
    python = os.path.join(venv, 'bin', 'python')
    res = subprocess.run([python, '-c', 'import libvirt'],
                         capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError('libvirt-python is missing from Nova\'s '
                           'virtualenv %s: run tools/nova/install.sh '
                           '--libvirt' % venv)
    if subprocess.run(['sh', '-c', 'command -v qemu-img'],
                      capture_output=True).returncode:
        raise RuntimeError('qemu-img is missing (Debian package qemu-utils):'
                           ' run tools/nova/install.sh --libvirt')


def compute_conf(run, venv, config_files):
    helper = ' '.join([os.path.join(venv, 'bin', 'privsep-helper')] + [
        '--config-file %s' % path for path in config_files])
    return COMPUTE_CONF.format(host=HOST, run=run, helper=helper)


def prepare_images(run):
    """Build (once, cached) the test guest and write the Glance stand-in's
    catalogue; return the catalogue's path."""
    res = subprocess.run(['bash', QEMU_ENV], capture_output=True, text=True,
                         timeout=900)
    if res.returncode:
        raise RuntimeError('tools/qemu-test-env.sh failed (%s): %s'
                           % (res.returncode, res.stderr[-2000:]))
    env = dict(line.split('=', 1) for line in res.stdout.split()
               if '=' in line)
    images = os.path.join(run, 'images')
    os.makedirs(images, exist_ok=True)
    disk = os.path.join(images, 'root.raw')
    with open(disk, 'wb') as f:
        f.truncate(1024 * 1024)  # the guest lives in its initramfs
    catalogue = {
        KERNEL_IMAGE: {'name': 'vmguard-guest-kernel',
                       'path': env['KERNEL'], 'disk_format': 'aki',
                       'container_format': 'aki'},
        RAMDISK_IMAGE: {'name': 'vmguard-guest-ramdisk',
                        'path': env['INITRD'], 'disk_format': 'ari',
                        'container_format': 'ari'},
        DISK_IMAGE: {'name': 'vmguard-guest', 'path': disk,
                     'disk_format': 'raw', 'container_format': 'bare',
                     'properties': {'kernel_id': KERNEL_IMAGE,
                                    'ramdisk_id': RAMDISK_IMAGE,
                                    'os_command_line': CMDLINE}},
    }
    if env.get('INITRD_AGENT'):
        catalogue[AGENT_RAMDISK_IMAGE] = {
            'name': 'vmguard-guest-agent-ramdisk',
            'path': env['INITRD_AGENT'], 'disk_format': 'ari',
            'container_format': 'ari'}
        catalogue[AGENT_DISK_IMAGE] = {
            'name': 'vmguard-guest-agent', 'path': disk,
            'disk_format': 'raw', 'container_format': 'bare',
            'properties': {'kernel_id': KERNEL_IMAGE,
                           'ramdisk_id': AGENT_RAMDISK_IMAGE,
                           'os_command_line': CMDLINE,
                           'hw_qemu_guest_agent': 'yes'}}
    path = os.path.join(run, 'images.json')
    with open(path, 'w') as f:
        json.dump(catalogue, f)
    return path


def catalogue_current(run):
    """The Glance stand-in's catalogue has the guest-agent images if
    the machine has qemu-ga (installed since the catalogue was written:
    the stand-in must start again with them)."""
    try:
        with open(os.path.join(run, 'images.json')) as f:
            catalogue = json.load(f)
    except (OSError, ValueError):
        return False
    has_ga = subprocess.run(
        ['sh', '-c', 'command -v qemu-ga || test -x /usr/sbin/qemu-ga'],
        capture_output=True).returncode == 0
    return AGENT_DISK_IMAGE in catalogue or not has_ga


def destroy_domains():
    """Destroy and undefine the domains this mode's compute left."""
    res = subprocess.run(['virsh', '-q', '-c', 'qemu:///system', 'list',
                          '--all', '--name'], capture_output=True, text=True)
    for name in res.stdout.split():
        if name.startswith('vmguard-lv-'):
            for cmd in ('destroy', 'undefine'):
                subprocess.run(['virsh', '-q', '-c', 'qemu:///system', cmd,
                                name], capture_output=True)


def flavor_body():
    return {'flavor': {'name': FLAVOR, 'id': FLAVOR, 'vcpus': 1,
                       'ram': 256, 'disk': 1}}


def environment(run):
    """What novactl's environment adds in this mode (``agent_image``:
    None when the machine has no qemu-ga)."""
    agent_image = None
    try:
        with open(os.path.join(run, 'images.json')) as f:
            if AGENT_DISK_IMAGE in json.load(f):
                agent_image = AGENT_DISK_IMAGE
    except (OSError, ValueError):
        pass
    return {'host': HOST, 'flavor': FLAVOR, 'image': DISK_IMAGE,
            'agent_image': agent_image,
            'availability_zone': 'nova:%s' % HOST,
            'instances_path': instances_path(run),
            'console_log': os.path.join(instances_path(run), '{uuid}',
                                        'console.log'),
            'libvirt_uri': 'qemu:///system'}
