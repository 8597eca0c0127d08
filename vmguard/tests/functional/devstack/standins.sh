#!/bin/bash
# Stand-ins of the DevStack functions and variables vmguard's plugin
# uses, for vmguard/tests/functional/devstack/test_plugin.py. Each records
# its call in $CALLS; iniset writes real ini files (Python configparser),
# is_service_enabled reads $ENABLED_SERVICES as DevStack does (comma
# list, any of the names given).

CALLS=${CALLS:?}
record() {
    echo "$*" >> "$CALLS"
}

is_service_enabled() {
    local name
    for name in "$@"; do
        if [[ ,${ENABLED_SERVICES}, =~ ,${name}, ]]; then
            return 0
        fi
    done
    return 1
}
enable_service() {
    local name
    for name in "$@"; do
        if ! is_service_enabled "$name"; then
            ENABLED_SERVICES+=",$name"
        fi
    done
}
define_plugin() { record "define_plugin $*"; }
trueorfalse() {
    local default=$1 name=$2
    local value=${!name:-$default}
    case ${value,,} in
        1|yes|true|on) echo True ;;
        *) echo False ;;
    esac
}
iniset() {
    python3 - "$@" <<'PY'
import configparser, sys
path, section, key, value = sys.argv[1:5]
conf = configparser.RawConfigParser(strict=False)
conf.optionxform = str
conf.read(path)
if section != 'DEFAULT' and not conf.has_section(section):
    conf.add_section(section)
conf.set(section, key, value)
with open(path, 'w') as f:
    conf.write(f)
PY
}
echo_summary() { record "summary $*"; }
setup_develop() { record "setup_develop $*"; }
pip_install() { record "pip_install $*"; }
get_python_exec_prefix() { echo "${STANDIN_BIN:?}"; }
get_transport_url() { echo "rabbit://stackrabbit:secret@10.0.0.1:5672/"; }
get_notification_url() { echo "rabbit://stackrabbit:secret@10.0.0.1:5672/"; }
database_connection_url() {
    echo "mysql+pymysql://root:secret@10.0.0.1/$1?charset=utf8"
}
recreate_database() { record "recreate_database $*"; }
create_service_user() { record "create_service_user $*"; }
get_or_create_service() { record "get_or_create_service $*"; }
get_or_create_endpoint() { record "get_or_create_endpoint $*"; }
get_or_create_role() { record "get_or_create_role $*"; }
configure_keystone_authtoken_middleware() {
    iniset "$1" keystone_authtoken auth_type password
    record "configure_keystone_authtoken_middleware $*"
}
run_process() { record "run_process $1 | $2 | ${3:-} ${4:-}"; }
stop_process() { record "stop_process $*"; }
start_tls_proxy() { record "start_tls_proxy $*"; }
wait_for_service() { record "wait_for_service $*"; return 0; }
die() { record "die $*"; exit 1; }
sudo() {
    # install -d -o USER DIRS... : create the directories, ignore owner.
    if [[ "$1" == install ]]; then
        shift
        local args=()
        while [[ $# -gt 0 ]]; do
            case $1 in
                -d) shift ;;
                -o) shift 2 ;;
                *) args+=("$1"); shift ;;
            esac
        done
        mkdir -p "${args[@]}"
    else
        record "sudo $*"
    fi
}
hostname() { echo "${STANDIN_HOSTNAME:-cmp-1}"; }
