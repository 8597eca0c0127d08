#!/bin/bash
# Main job of the README (tox -e demo): the all-in-one demo. Starts the
# engine side, three simulated compute nodes with their agents (libvirt
# test driver, sysfs tree, Redfish BMC each) and, with --serve, the REST
# API; injects faults in phases and prints what vmguard saw, decided and
# did. Exits 0 when every expected decision came. Extra arguments are
# passed on (e.g. tox -e demo -- --serve).
set -eu
set -o pipefail

vmguard-manage --version
exec vmguard-allinone "$@"
