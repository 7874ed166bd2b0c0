#!/usr/bin/env bash
# The geoflows demo, on embedded defaults: install geoflows in .venv, start
# two real OpenStack regions on 127.0.0.1 (geoflows-minicloud: Keystone, and
# per region Nova, Placement, Cinder, Glance, Neutron), set up the three
# interconnects of etc/plans/minicloud.yaml between them, check them, show
# the job, tear them down, stop the regions.
#
#   ./tools/demo.sh            (about 6 minutes the first time, 4 after)
#
# Needs Python 3.10+ with venv, gcc and the Python headers, PostgreSQL and
# RabbitMQ on 127.0.0.1, qemu-img (Debian: apt install python3-venv
# python3-dev gcc postgresql rabbitmq-server qemu-utils; qemu-utils is
# installed when missing and we are root), and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

check_python
check_minicloud_services
ensure_minicloud_tools
ensure_venv
PLAN=etc/plans/minicloud.yaml
DEMO_DIR=${GEOFLOWS_DEMO_DIR:-${TMPDIR:-/tmp}/geoflows-demo}
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
export GEOFLOWS_MINICLOUD_HOME=${GEOFLOWS_MINICLOUD_HOME:-$HOME/.cache/geoflows/minicloud}
export OS_DEFAULT__STATE_DIR="$DEMO_DIR/state"

say "Starting two OpenStack regions (the first run builds their venv)"
run geoflows-minicloud up
trap 'say "Stopping the regions"; geoflows-minicloud down' EXIT
export OS_CLIENT_CONFIG_FILE="$GEOFLOWS_MINICLOUD_HOME/clouds.yaml"

say "The plan"
run geoflows plan validate "$PLAN"

say "Setting up its interconnects (bgpvpn, ipsec, cell segments)"
run geoflows interconnect setup --plan "$PLAN" --progress -c id -c state -c duration -c resources
JOB=$(geoflows job list -f value -c ID --limit 1)

say "Checking both sides against the plan"
run geoflows interconnect check --plan "$PLAN" -c state -c findings

say "The job, step by step"
run geoflows job show "$JOB" -c id -c operation -c state -c duration -c steps

say "Tearing the interconnects down"
run geoflows interconnect teardown --plan "$PLAN" -c state -c duration

say "All the jobs of the demo"
run geoflows job list
