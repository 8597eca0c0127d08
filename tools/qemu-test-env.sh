#!/bin/bash
# Prepare the real-QEMU environment of vmguard's agent functional tests.
#
#   tools/qemu-test-env.sh [CACHE_DIR]
#
# Idempotent; safe to run concurrently (flock). It:
#  1. checks the Debian packages are there (CI installs them: .ci/run
#     APT_PACKAGES);
#  2. builds, once, a guest kernel and a busybox initramfs in CACHE_DIR
#     (default /var/cache/vmguard-test): the kernel is a Debian
#     linux-image package fetched with `apt-get download`; the initramfs
#     loads pvpanic-mmio (guest panic -> libvirt CRASHED/PANICKED),
#     i6300esb (watchdog) and virtio_blk, then acts on the kernel command
#     line argument vmguard.test=watchdog|ioerror; and a second initramfs,
#     initrd-agent.img, the same plus the QEMU guest agent (the host's
#     qemu-ga, Debian qemu-guest-agent, with the shared libraries it
#     loads, and virtio_console), started on the virtio-serial port
#     org.qemu.guest_agent.0 when the domain has it;
#  3. configures and starts virtlogd and libvirtd (system instance, QEMU
#     run as root without a security driver: these test machines have no
#     KVM and no AppArmor/SELinux profiles for QEMU), under
#     tools/subreaper.py (QEMU processes reaped as soon as they exit).
# On success it prints KEY=VALUE lines: KERNEL, INITRD, CACHE, and
# INITRD_AGENT when the host has qemu-ga.
set -eu
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-${VMGUARD_TEST_CACHE:-/var/cache/vmguard-test}}
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

log() {
    echo "[qemu-test-env] $*" >&2
}

for bin in qemu-system-x86_64 libvirtd virtlogd busybox cpio depmod; do
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ] \
            && [ ! -x "/bin/$bin" ]; then
        log "missing $bin: install libvirt-daemon libvirt-daemon-driver-qemu" \
            "libvirt-clients qemu-system-x86 busybox-static cpio kmod"
        exit 2
    fi
done

# --- 1. guest kernel and initramfs -------------------------------------------
QEMU_GA=$(command -v qemu-ga 2>/dev/null || true)
[ -n "$QEMU_GA" ] || [ ! -x /usr/sbin/qemu-ga ] || QEMU_GA=/usr/sbin/qemu-ga
if [ -z "$QEMU_GA" ]; then
    log "qemu-ga missing (Debian qemu-guest-agent): no test guest with" \
        "the QEMU guest agent"
fi

module_files() {
    # module_files MODDIR MODULE: the module's file and its dependencies',
    # dependencies first (modules.dep paths).
    awk -v m="/$2.ko" '
        { name = $1; sub(":$", "", name) }
        index(name, m) && (substr(name, length(name) - length(m) + 1) \
            == m || index(name, m ".")) {
            for (i = NF; i >= 2; i--) print $i
            print name
            exit
        }' "$1/modules.dep"
}

copy_modules() {
    # copy_modules MODDIR ROOT FILE...: uncompressed into ROOT/mods, their
    # names appended to ROOT/mods/order (each once).
    local moddir=$1 root=$2 mod base
    shift 2
    for mod in "$@"; do
        base=$(basename "$mod")
        base=${base%.xz}
        base=${base%.zst}
        if grep -qx "$base" "$root/mods/order"; then
            continue
        fi
        base=$(basename "$mod")
        cp "$moddir/$mod" "$root/mods/$base"
        case "$base" in
            *.xz) xz -d "$root/mods/$base"; base=${base%.xz} ;;
            *.zst) zstd -q -d --rm "$root/mods/$base"; base=${base%.zst} ;;
        esac
        echo "$base" >> "$root/mods/order"
    done
}

build_guest() {
    local work pkg deb kver moddir mod dep
    work=$(mktemp -d "$CACHE/build.XXXXXX")
    chmod 755 "$work"  # apt-get download runs as _apt
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$pkg" ]; then
        log "cannot resolve linux-image-amd64 (run apt-get update)"
        return 1
    fi
    log "fetching $pkg"
    (cd "$work" && apt-get download -q "$pkg" >/dev/null)
    deb=$(ls "$work"/*.deb)
    dpkg-deb -x "$deb" "$work/k"
    kver=$(ls "$work/k/lib/modules")
    moddir="$work/k/lib/modules/$kver"
    depmod -b "$work/k" "$kver"

    mkdir -p "$work/rd/bin" "$work/rd/dev" "$work/rd/proc" "$work/rd/sys" \
        "$work/rd/mods"
    cp "$(command -v busybox || echo /bin/busybox)" "$work/rd/bin/busybox"
    : > "$work/rd/mods/order"
    for mod in pvpanic-mmio i6300esb virtio_pci virtio_blk; do
        dep=$(module_files "$moddir" "$mod")
        if [ -z "$dep" ]; then
            log "module $mod not found in $kver"
            return 1
        fi
        # shellcheck disable=SC2086
        copy_modules "$moddir" "$work/rd" $dep
    done

    cat > "$work/rd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /mods/order); do
    case "$m" in
        i6300esb.ko) insmod "/mods/$m" heartbeat=1 ;;
        *) insmod "/mods/$m" ;;
    esac
done
echo 1 > /proc/sys/kernel/unknown_nmi_panic
# initrd-agent.img: the QEMU guest agent on its virtio-serial port when
# the domain has one (a virtio console device, ID 3; the host announces
# its ports shortly after virtio_console loads).
if [ -x /bin/qemu-ga ] \
        && grep -qx 0x0003 /sys/bus/virtio/devices/*/device 2>/dev/null; then
    for _ in $(seq 1 50); do
        for port in /sys/class/virtio-ports/*; do
            [ "$(cat "$port/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] \
                || continue
            /bin/qemu-ga -m virtio-serial -p "/dev/${port##*/}" -d \
                -f /run/qemu-ga.pid -t /run && echo VMGUARD-AGENT
            break 2
        done
        sleep 0.1
    done
fi
echo VMGUARD-READY
case " $(cat /proc/cmdline) " in
    *" vmguard.test=watchdog "*)
        # Open the watchdog and never feed it again: QEMU's i6300esb
        # fires about two heartbeats later.
        echo x > /dev/watchdog
        ;;
    *" vmguard.test=ioerror "*)
        # The disk lives on a tiny tmpfs on the host: writing past its
        # space fails with ENOSPC and error_policy='stop' pauses the VM.
        dd if=/dev/urandom of=/dev/vda bs=1M count=48 oflag=direct
        ;;
esac
while true; do sleep 3600; done
INIT
    chmod +x "$work/rd/init"
    (cd "$work/rd" && find . | cpio -o -H newc --quiet | gzip -1) \
        > "$work/initrd.img"
    if [ -n "$QEMU_GA" ]; then
        dep=$(module_files "$moddir" virtio_console)
        if [ -z "$dep" ] && ! grep -q /virtio_console.ko \
                "$moddir/modules.builtin"; then
            log "module virtio_console not found in $kver"
            return 1
        fi
        # shellcheck disable=SC2086
        copy_modules "$moddir" "$work/rd" $dep
        mkdir -p "$work/rd/run" "$work/rd/tmp" "$work/rd/var"
        ln -s ../run "$work/rd/var/run"
        cp "$QEMU_GA" "$work/rd/bin/qemu-ga"
        for lib in $(ldd "$QEMU_GA" \
                | awk '/=> \// {print $3} /^[[:space:]]+\// {print $1}'); do
            mkdir -p "$work/rd$(dirname "$lib")"
            cp -L "$lib" "$work/rd$lib"
        done
        (cd "$work/rd" && find . | cpio -o -H newc --quiet | gzip -1) \
            > "$work/initrd-agent.img"
        mv "$work/initrd-agent.img" "$CACHE/initrd-agent.img"
    fi
    cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
    mv "$work/vmlinuz" "$CACHE/vmlinuz"
    mv "$work/initrd.img" "$CACHE/initrd.img"
    echo "$kver${QEMU_GA:+ qemu-ga}" > "$CACHE/guest.stamp"
    log "guest kernel $kver and initramfs ready in $CACHE"
}

if [ ! -s "$CACHE/guest.stamp" ] || [ ! -s "$CACHE/vmlinuz" ] \
        || [ ! -s "$CACHE/initrd.img" ] \
        || { [ -n "$QEMU_GA" ] && { [ ! -s "$CACHE/initrd-agent.img" ] \
             || ! grep -q qemu-ga "$CACHE/guest.stamp"; }; }; then
    build_guest
fi

# --- 2. libvirtd -----------------------------------------------------------------
# The daemons must inherit neither the lock nor the caller's pipes.
flock -u 9
exec 9>&-
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null \
    || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin \
        libvirt-qemu
mkdir -p /etc/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt
QEMU_CONF=/etc/libvirt/qemu.conf
if ! grep -q '^# vmguard-test' "$QEMU_CONF" 2>/dev/null; then
    cat >> "$QEMU_CONF" <<'CONF'
# vmguard-test: QEMU as root, no security driver (test machines only).
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
CONF
fi
if ! virsh -q -c qemu:///system version >/dev/null 2>&1; then
    # Either may already run: a second instance exits on its pid file.
    # Under tools/subreaper.py, which reaps the QEMU processes libvirtd
    # daemonizes as soon as they exit (as systemd does on a compute host;
    # a PID 1 that reaps late makes every domain destroy seconds longer).
    # shellcheck disable=SC2016
    setsid python3 "$HERE/subreaper.py" sh -c \
        'virtlogd -d || true; libvirtd -d || true' \
        </dev/null >/dev/null 2>&1 &
fi
for _ in $(seq 1 100); do
    if virsh -q -c qemu:///system version >/dev/null 2>&1; then
        echo "KERNEL=$CACHE/vmlinuz"
        echo "INITRD=$CACHE/initrd.img"
        if [ -s "$CACHE/initrd-agent.img" ]; then
            echo "INITRD_AGENT=$CACHE/initrd-agent.img"
        fi
        echo "CACHE=$CACHE"
        exit 0
    fi
    sleep 0.1
done
log "libvirtd did not answer on qemu:///system"
exit 1
