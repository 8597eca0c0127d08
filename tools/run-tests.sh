#!/bin/bash
# The README's test command (tox -e py3) runs this.
#
# With no argument: every unit and functional test in parallel, except the
# fault suite (vmguard/tests/functional/faults), which then runs alone and
# serially because it restarts services the other tests share (RabbitMQ,
# MariaDB, Nova's API). Its table is printed at the end. Both runs go into
# one stestr run (--combine), so "stestr last" shows them together.
#
# "--functional": the same for the functional tests only.
# Other arguments: "stestr run ARGS" (a regex, --serial, ...).
set -u

# Also, alone: the test that restarts libvirtd (the QEMU guests of other
# tests lose their libvirt connection), and the stock-Nova guest test
# (Nova's libvirt driver refuses to start while qemu:///system holds
# domains of other tests).
FAULTS='^vmguard\.tests\.functional\.(faults\.|agent\.test_qemu\.TestLibvirtdRestart\.|nova\.test_stock_guest\.)'
SELECT=""

if [ "${1:-}" = "--functional" ]; then
    SELECT='^vmguard\.tests\.functional\.'
elif [ $# -gt 0 ]; then
    exec stestr run "$@"
fi

python tools/fault_table.py --reset
# shellcheck disable=SC2086
stestr run --exclude-regex "$FAULTS" $SELECT
parallel_rc=$?
stestr run --combine --serial "$FAULTS"
faults_rc=$?
python tools/fault_table.py
if [ "$parallel_rc" -ne 0 ] || [ "$faults_rc" -ne 0 ]; then
    exit 1
fi
exit 0
