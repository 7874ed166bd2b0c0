# Shared by the tools/ scripts (sourced, not run).

VENV=${GEOFLOWS_VENV:-.venv}
TOOLS_VENV=${GEOFLOWS_TOOLS_VENV:-.tox/.tools}
PYTHON=${PYTHON:-python3}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

check_python() {
    command -v "$PYTHON" >/dev/null ||
        die "$PYTHON not found; install Python 3.10 or newer"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        die "geoflows needs Python 3.10 or newer ($("$PYTHON" --version))"
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null ||
        die "the Python venv module is missing (Debian: apt install python3-venv)"
}

# The machine's services the minicloud regions use (and the tests).
check_minicloud_services() {
    command -v gcc >/dev/null ||
        die "gcc is missing: the minicloud's venv builds the 'ovs' package (Debian: apt install gcc python3-dev)"
    "$PYTHON" - <<'PY' || die "PostgreSQL does not answer on 127.0.0.1:5432 (Debian: apt install postgresql; the minicloud and the tests connect as user postgres with trust auth, see doc/source/contributor/testing.rst)"
import socket
socket.create_connection(('127.0.0.1', 5432), timeout=3).close()
PY
    "$PYTHON" - <<'PY' || die "RabbitMQ does not answer on 127.0.0.1:5672 (Debian: apt install rabbitmq-server); the minicloud's Nova and Cinder use it"
import socket
socket.create_connection(('127.0.0.1', 5672), timeout=3).close()
PY
    command -v rabbitmqctl >/dev/null ||
        die "rabbitmqctl is not on the PATH (Debian: apt install rabbitmq-server); the minicloud makes a RabbitMQ vhost per region with it"
}

# Install Debian packages for a purpose, when we are root and have apt-get;
# otherwise stop with the command to run.  usage: apt_install WHY PKG...
apt_install() {
    local why=$1; shift
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        die "$why needs Debian packages: apt install $*"
    fi
    say "Installing $* (Debian packages) for $why"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
        { apt-get update -q >/dev/null &&
          apt-get install -y -q --no-install-recommends "$@" >/dev/null; } ||
        die "could not install $* with apt-get"
}

# The ZooKeeper and etcd servers of the conductor tests (they start their
# own on free ports; a service the packages may start on 2181 or 2379 is not
# used).  Installed from Debian's packages when missing and we are root.
ensure_jobboard_servers() {
    local missing=()
    [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null ||
        missing+=(zookeeperd)
    [ -x /usr/bin/etcd ] || missing+=(etcd-server)
    [ ${#missing[@]} -eq 0 ] && return 0
    apt_install "the conductor tests (ZooKeeper, etcd)" "${missing[@]}"
}

# qemu-img, which the minicloud's Cinder runs to create volumes from images
# and to upload volumes as qcow2 images; installed from Debian's qemu-utils
# when missing and we are root.
ensure_minicloud_tools() {
    command -v qemu-img >/dev/null && return 0
    apt_install "the minicloud's Cinder (qemu-img converts its images)" \
        qemu-utils
}

# Chromium and its WebDriver, in which the unit tests open the job report's
# HTML page (tests/unit/test_report_browser.py); installed from Debian's
# chromium and chromium-driver when missing and we are root.
ensure_browser() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    [ ${#missing[@]} -eq 0 ] && return 0
    apt_install "the job report's browser test (Chromium)" "${missing[@]}"
}

check_prerequisites() {
    check_python
    check_minicloud_services
    ensure_minicloud_tools
    "$PYTHON" - <<'PY' || die "Redis does not answer on 127.0.0.1:6379 (Debian: apt install redis-server); the conductor tests use it as their jobboard"
import socket
socket.create_connection(('127.0.0.1', 6379), timeout=3).close()
PY
    ensure_jobboard_servers
    ensure_browser
}

ensure_venv() {
    check_python
    if [ -f "$VENV" ]; then  # a redirect file some tool wrote, not a venv
        say "Replacing the file $VENV ($(head -c 200 "$VENV")) by a virtualenv"
        rm -f "$VENV"
    fi
    if [ ! -x "$VENV/bin/geoflows" ] || [ setup.cfg -nt "$VENV/.installed" ] ||
            [ requirements.txt -nt "$VENV/.installed" ]; then
        say "Installing geoflows into $VENV"
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e .
        touch "$VENV/.installed"
    fi
    export PATH="$PWD/$VENV/bin:$PATH"
}

ensure_tox() {
    if [ ! -x "$TOOLS_VENV/bin/tox" ]; then
        say "Installing tox into $TOOLS_VENV"
        "$PYTHON" -m venv "$TOOLS_VENV"
        "$TOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'tox>=4,<5'
    fi
}
