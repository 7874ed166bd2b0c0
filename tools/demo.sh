#!/usr/bin/env bash
# The geoflows demo, on embedded defaults: install geoflows in .venv, start
# two real OpenStack regions on 127.0.0.1 (geoflows-minicloud: Keystone, and
# per region Nova, Placement, Cinder, Glance, Neutron), set up the three
# interconnects of etc/plans/minicloud.yaml between them and check them;
# deploy the sample VNFs in RegionOne, protect them at RegionTwo and take
# a checkpoint; then declare RegionOne lost and take the service over in
# RegionTwo by priority: the RTO and RPO per VNF, the DR site verified
# against the checkpoint; then give it back: reprotect (RegionTwo
# replicates to RegionOne), fail back (fresh VNFs and chain in RegionOne,
# checked, then RegionTwo drained and back to standby), both sites
# verified; stop the regions.
#
#   ./tools/demo.sh            (about 9 minutes the first time, 7 after)
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

say "Checking both sides against the plan"
run geoflows interconnect check --plan "$PLAN" -c state -c findings

say "The sample VNFs in RegionOne (hss hot, pgw warm, fw cold; a service chain)"
run geoflows-minicloud sample

say "Protecting them at RegionTwo (standbys for hss and pgw), one checkpoint"
run geoflows protect --plan "$PLAN" core -c state -c duration
run geoflows sync --plan "$PLAN" core -c state -c duration
run geoflows protection status --plan "$PLAN"
BEFORE_DISASTER=$(geoflows checkpoint list --plan "$PLAN" -f value -c ID | head -n 1)

say "A drill: the takeover rehearsed in an isolated copy in RegionTwo, then removed"
run geoflows drill --plan "$PLAN" core -c id -c state -c duration -c report -c verify
DRILL=$(geoflows job list -f value -c ID -c Operation | awk '$2 == "drill" {print $1; exit}')
run geoflows job report "$DRILL" --html "${GEOFLOWS_DEMO_REPORT:-drill-report.html}"
run geoflows drill list --all
run geoflows protection status --plan "$PLAN"

say "RegionOne is lost: what a takeover would take (predicted RTO)"
run geoflows takeover --plan "$PLAN" core --dry-run --disaster -c vnfs -c verdict

say "Disaster takeover in RegionTwo, by priority (RTO and RPO per VNF)"
run geoflows takeover --plan "$PLAN" core --disaster --confirm-primary-lost -c id -c state -c duration -c report -c verify

say "RegionTwo against the checkpoint it came from"
run geoflows protection verify --plan "$PLAN" core

say "RegionOne is back: RegionTwo replicates to it (reprotect, a first sync back)"
run geoflows reprotect --plan "$PLAN" core -c id -c state -c duration -c sync
run geoflows protection status --plan "$PLAN" --no-dr-site

say "Failback to RegionOne: fresh VNFs and chain there, checked; then RegionTwo drained, de-linked, on standby"
run geoflows failback --plan "$PLAN" core --drain-time 2 -c id -c state -c duration -c report -c sync

say "RegionOne against its checkpoint of before the disaster; RegionTwo's standbys"
run geoflows protection verify --plan "$PLAN" core --site east --checkpoint "$BEFORE_DISASTER"
run geoflows protection verify --plan "$PLAN" core

say "All the jobs of the demo"
run geoflows job list
