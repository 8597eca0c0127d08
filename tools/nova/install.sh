#!/bin/bash
# Install Nova 34 and Placement 16 into their own virtualenv, apart from
# vmguard's (Nova's pins must not leak into it). Idempotent: a venv that
# already has the pinned versions is left alone.
#
#   tools/nova/install.sh [--libvirt] [VENV]
#                                     (default VENV: $VMGUARD_NOVA_VENV or
#                                      /opt/vmguard-nova-venv)
#
# --libvirt (or VMGUARD_NOVA_LIBVIRT=1) also installs what the libvirt mode
# of novactl.py needs: libvirt-python in Nova's venv (built against the
# machine's libvirt: Debian libvirt-dev, pkg-config, gcc) and qemu-img
# (Debian qemu-utils).
set -eu
set -o pipefail

LIBVIRT=${VMGUARD_NOVA_LIBVIRT:-0}
if [ "${1:-}" = "--libvirt" ]; then
    LIBVIRT=1
    shift
fi

install_libvirt_mode() {
    if ! command -v qemu-img >/dev/null 2>&1; then
        echo "[nova] installing qemu-utils (qemu-img)"
        apt-get install -y -q qemu-utils >/dev/null
    fi
    if ! "$VENV/bin/python" -c "import libvirt" 2>/dev/null; then
        echo "[nova] installing libvirt-python into $VENV"
        "$VENV/bin/pip" install -q libvirt-python
    fi
}

NOVA_VERSION=34.0.0
PLACEMENT_VERSION=16.0.0
VENV=${1:-${VMGUARD_NOVA_VENV:-/opt/vmguard-nova-venv}}
PYTHON=${VMGUARD_NOVA_PYTHON:-python3}

CHECK="import sys; from importlib import metadata as m; "
CHECK+="m.version('gunicorn'); m.version('PyMySQL'); "
CHECK+="sys.exit(0 if (m.version('nova'), m.version('openstack-placement'))"
CHECK+=" == tuple(sys.argv[1:3]) else 1)"
if [ -x "$VENV/bin/python" ] && \
        "$VENV/bin/python" -c "$CHECK" "$NOVA_VERSION" "$PLACEMENT_VERSION" \
        2>/dev/null; then
    echo "[nova] $VENV already has nova $NOVA_VERSION," \
        "placement $PLACEMENT_VERSION"
    case "$LIBVIRT" in 1|true|yes) install_libvirt_mode ;; esac
    exit 0
fi

echo "[nova] installing nova $NOVA_VERSION and placement" \
    "$PLACEMENT_VERSION into $VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
"$VENV/bin/pip" install -q "nova==$NOVA_VERSION" \
    "openstack-placement==$PLACEMENT_VERSION" gunicorn PyMySQL
case "$LIBVIRT" in 1|true|yes) install_libvirt_mode ;; esac
echo "[nova] done"
