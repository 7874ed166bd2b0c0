"""Small process helpers for the minicloud services."""

import os
import random
import socket
import subprocess
import time

# Ports handed out by free_port in this process: a service binds its port
# seconds after it was chosen, so the same one must not be chosen twice.
_HANDED_OUT = set()
LOWEST_PORT = 10000


class ServiceError(Exception):
    """A service did not start or stop as asked."""


def ephemeral_range(path='/proc/sys/net/ipv4/ip_local_port_range'):
    """(low, high) of the ports the kernel gives to outgoing connections."""
    try:
        with open(path) as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port():
    """A TCP port on 127.0.0.1 that nothing uses now and none will take.

    Chosen outside the ephemeral range: a port from there (what binding port
    0 returns) can be taken by any outgoing connection (to PostgreSQL,
    RabbitMQ, Keystone...) in the seconds before the service binds it.
    """
    low, high = ephemeral_range()
    candidates = [port for port in range(LOWEST_PORT, 65536)
                  if not low <= port <= high and port not in _HANDED_OUT]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise ServiceError('no free TCP port on 127.0.0.1 outside the ephemeral '
                       'range %d-%d' % (low, high))


def spawn(argv, log_file, env=None):
    """Start ``argv`` detached from this process; return its pid."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=full_env,
                                start_new_session=True)
    return proc.pid


def read_pid(pid_file):
    try:
        with open(pid_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def is_alive(pid, marker):
    """True if ``pid`` runs and its command line contains ``marker``.

    The marker guards against a recycled pid that now belongs to another
    program; a zombie has an empty command line and counts as dead.
    """
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_for_line(log_file, prefix, pid, timeout, what):
    """Wait until a line of ``log_file`` starts with ``prefix``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            with open(log_file) as f:
                if any(line.startswith(prefix) for line in f):
                    return
        except OSError:
            pass
        if not is_alive(pid, ''):
            raise ServiceError('%s exited during start-up; last lines of %s:'
                               '\n%s' % (what, log_file, tail(log_file)))
        time.sleep(0.2)
    raise ServiceError('%s was not ready after %ds; see %s'
                       % (what, timeout, log_file))


def tail(path, lines=30):
    try:
        with open(path) as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return '(no log)'


def rss_mib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None
