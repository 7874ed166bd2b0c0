#!/usr/bin/env bash
# Run geoflows' tests: style, unit tests, and the functional tests against
# two real OpenStack regions started by geoflows-minicloud and the machine's
# PostgreSQL, RabbitMQ and Redis; then build the docs.
#
#   ./tools/run-tests.sh                  everything (about 40 minutes on 2 cores)
#   ./tools/run-tests.sh -e py3           only the unit tests (tox args)
#
# Needs Python 3.10+ with venv, gcc and the Python headers, PostgreSQL on
# 127.0.0.1:5432 accepting user postgres, RabbitMQ on 127.0.0.1:5672 with
# rabbitmqctl, Redis on 127.0.0.1:6379, qemu-img (Debian: apt install
# python3-venv python3-dev gcc postgresql rabbitmq-server redis-server
# qemu-utils chromium chromium-driver), and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib.sh

check_prerequisites
ensure_tox
# The job report's browser test fails rather than skips without Chromium.
export GEOFLOWS_TEST_BROWSER=1
if [ $# -eq 0 ]; then
    set -- -e pep8,py3,functional,docs
fi
run "$TOOLS_VENV/bin/tox" "$@"
