#!/bin/bash
# Main job of the README. For now: print the version, create the schema in
# a throw-away SQLite database and show its revision. The all-in-one demo
# (engine, agent and API on embedded defaults) replaces this later.
set -eu
set -o pipefail

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

cat > "$workdir/vmguard.conf" <<CONF
[DEFAULT]
state_path = $workdir
CONF

vmguard-manage --version
vmguard-manage --config-file "$workdir/vmguard.conf" db sync
vmguard-manage --config-file "$workdir/vmguard.conf" db version
