#!/bin/bash
# What the tests need outside Python, run by tox before the tests
# (commands_pre of py3, unit and functional): the README's test command
# "pip install tox && tox -e py3", run as root on a fresh Debian 12, gets
# everything from here. .ci/run only runs that command.
#
#   tools/ci-setup.sh            system packages, services (RabbitMQ,
#                                MariaDB, Redis), the test Nova, then
#                                libvirt-python in tox's environment
#   tools/ci-setup.sh --unit     system packages and libvirt-python only
#
# Idempotent and quick when everything is there. As a non-root user it
# installs nothing system-wide: it names what is missing and goes on (the
# tests then fail with a clear message for the missing service).
set -eu
set -o pipefail

cd "$(dirname "$0")/.."

MODE=${1:-all}
PYTHON=${PYTHON:-python}

log() {
    echo "[ci-setup] $*"
}

# --- system packages (bindep.txt, profile "test") ----------------------------
APT_PACKAGES="libvirt-dev pkg-config libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 busybox-static cpio kmod iproute2 openipmi"
# libvirt-python's compiler and headers; the test Nova's virtualenv.
APT_PACKAGES="$APT_PACKAGES gcc python3-dev python3-venv"
# etc/'s checks: logrotate runs the shipped file; systemd-analyze verifies
# the units.
APT_PACKAGES="$APT_PACKAGES logrotate systemd"
# The status page's browser tests (headless Chromium + ChromeDriver).
APT_PACKAGES="$APT_PACKAGES chromium chromium-driver"
# The clustered-services tests (tools/clusters): Galera with rsync state
# transfer behind HAProxy, etcd.
APT_PACKAGES="$APT_PACKAGES galera-4 rsync haproxy etcd-server etcd-client"
# The test Nova's libvirt mode (stock LibvirtDriver): qemu-img.
APT_PACKAGES="$APT_PACKAGES qemu-utils"
# The test guest's QEMU guest agent (tools/qemu-test-env.sh copies qemu-ga
# and its libraries into the guest's initramfs).
APT_PACKAGES="$APT_PACKAGES qemu-guest-agent"
if [ "$MODE" = all ]; then
    # The services the functional tests use, when not already running
    # (a machine may run them from elsewhere, e.g. containers).
    command -v rabbitmq-server >/dev/null 2>&1 || \
        APT_PACKAGES="$APT_PACKAGES rabbitmq-server"
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || \
        APT_PACKAGES="$APT_PACKAGES mariadb-server"
    command -v redis-server >/dev/null 2>&1 || \
        APT_PACKAGES="$APT_PACKAGES redis-server"
fi
missing=""
if command -v dpkg >/dev/null 2>&1; then
    for pkg in $APT_PACKAGES; do
        if ! dpkg -s "$pkg" >/dev/null 2>&1; then
            missing="$missing $pkg"
        fi
    done
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        log "installing:$missing"
        apt-get update -q
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $missing
    else
        log "not root: not installing:$missing (see bindep.txt)"
    fi
fi

# --- libvirt-python (the vmguard[libvirt] extra) ------------------------------
# Not in tox's deps: it builds against libvirt's headers, which the step
# above has just installed.
if ! "$PYTHON" -c 'import libvirt' 2>/dev/null; then
    log "installing libvirt-python (vmguard[libvirt])"
    "$PYTHON" -m pip install -q 'libvirt-python>=9.0.0'
fi

if [ "$MODE" = --unit ]; then
    exit 0
fi

# --- services ----------------------------------------------------------------
answers() {
    (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null
}

wait_port() {
    local port=$1 name=$2 i
    for i in $(seq 1 60); do
        if answers "$port"; then
            return 0
        fi
        sleep 1
    done
    log "$name did not come up on port $port"
    return 1
}

if [ "$(id -u)" -ne 0 ]; then
    log "not root: not starting services nor installing the test Nova"
    exit 0
fi

if ! answers 5672; then
    log "starting RabbitMQ"
    rabbitmq-server -detached || true
fi
if ! answers 3306; then
    log "starting MariaDB"
    if [ ! -d /var/lib/mysql/mysql ]; then
        mariadb-install-db --user=mysql >/dev/null
    fi
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    # Its own pidfile: --exec alone matches any other mariadbd running
    # (a test Galera cluster's nodes) and then starts none.
    start-stop-daemon --start --oknodo --background \
        --pidfile /run/vmguard-test-mariadbd.pid --make-pidfile \
        --exec /usr/sbin/mariadbd -- --user=mysql
fi
if ! answers 6379; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
        --appendonly no
fi
wait_port 5672 RabbitMQ
wait_port 3306 MariaDB
wait_port 6379 Redis
# RabbitMQ accepts TCP before its application is up.
for _ in $(seq 1 60); do
    if rabbitmqctl -q status >/dev/null 2>&1; then
        break
    fi
    sleep 1
done
# The tests log in over TCP as root without a password (guest/guest for
# RabbitMQ, its default). Debian's MariaDB gives root unix-socket login
# only: add a password-less TCP login, once.
if ! "$PYTHON" -c "import pymysql; pymysql.connect(host='127.0.0.1', user='root').close()" 2>/dev/null; then
    log "allowing MariaDB root over TCP without password (test machine)"
    mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
fi

# --- the test Nova (Nova 34 + Placement 16, own virtualenv) ------------------
# The tests start the Nova processes themselves (tools/nova/novactl.py).
log "installing the test Nova (tools/nova/install.sh)"
tools/nova/install.sh --libvirt
