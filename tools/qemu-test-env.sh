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
#     line argument vmguard.test=watchdog|ioerror;
#  3. configures and starts virtlogd and libvirtd (system instance, QEMU
#     run as root without a security driver: these test machines have no
#     KVM and no AppArmor/SELinux profiles for QEMU).
# On success it prints KEY=VALUE lines: KERNEL, INITRD, CACHE.
set -eu
set -o pipefail

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
        dep=$(awk -v m="/$mod.ko" '
            { name = $1; sub(":$", "", name) }
            index(name, m) && (substr(name, length(name) - length(m) + 1) \
                == m || index(name, m ".")) {
                for (i = NF; i >= 2; i--) print $i
                print name
                exit
            }' "$moddir/modules.dep")
        if [ -z "$dep" ]; then
            log "module $mod not found in $kver"
            return 1
        fi
        echo "$dep" >> "$work/rd/mods/order.all"
    done
    awk '!seen[$0]++' "$work/rd/mods/order.all" | while read -r mod; do
        local base
        base=$(basename "$mod")
        cp "$moddir/$mod" "$work/rd/mods/$base"
        case "$base" in
            *.xz) xz -d "$work/rd/mods/$base"; base=${base%.xz} ;;
            *.zst) zstd -q -d --rm "$work/rd/mods/$base"; base=${base%.zst} ;;
        esac
        echo "$base" >> "$work/rd/mods/order"
    done
    rm -f "$work/rd/mods/order.all"

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
    cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
    mv "$work/vmlinuz" "$CACHE/vmlinuz"
    mv "$work/initrd.img" "$CACHE/initrd.img"
    echo "$kver" > "$CACHE/guest.stamp"
    log "guest kernel $kver and initramfs ready in $CACHE"
}

if [ ! -s "$CACHE/guest.stamp" ] || [ ! -s "$CACHE/vmlinuz" ] \
        || [ ! -s "$CACHE/initrd.img" ]; then
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
    virtlogd -d </dev/null >/dev/null 2>&1 || true
    libvirtd -d </dev/null >/dev/null 2>&1 || true
fi
for _ in $(seq 1 100); do
    if virsh -q -c qemu:///system version >/dev/null 2>&1; then
        echo "KERNEL=$CACHE/vmlinuz"
        echo "INITRD=$CACHE/initrd.img"
        echo "CACHE=$CACHE"
        exit 0
    fi
    sleep 0.1
done
log "libvirtd did not answer on qemu:///system"
exit 1
