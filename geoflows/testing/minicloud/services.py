"""One OpenStack service process of a minicloud region, and its record.

A service is started in a session of its own, so that stopping it stops its
children too (gunicorn workers, privsep helpers); its pid and how to
recognise it are recorded in the region's state, so that ``down`` stops
only what ``up`` started, even from another process.
"""

import os
import signal
import time
import urllib.error
import urllib.request

from geoflows.testing.minicloud import process


class Service(object):
    """``argv`` run from ``cwd`` with ``env``, logging to ``log_file``."""

    def __init__(self, region, name, argv, log_file, env=None, cwd=None,
                 url=None, pid=None):
        self.region = region
        self.name = name
        self.argv = list(argv)
        self.log_file = log_file
        self.env = dict(env or {})
        self.cwd = cwd
        self.url = url
        self.pid = pid

    @property
    def marker(self):
        """What the service's command line holds (guards recycled pids)."""
        return self.argv[1] if len(self.argv) > 1 else self.argv[0]

    def start(self):
        full_env = dict(os.environ)
        full_env.update(self.env)
        full_env.setdefault('PYTHONWARNINGS', 'ignore')
        cwd = os.getcwd()
        try:
            if self.cwd:
                os.chdir(self.cwd)
            self.pid = process.spawn(self.argv, self.log_file, full_env)
        finally:
            os.chdir(cwd)
        return self.pid

    def is_running(self):
        return self.pid is not None and process.is_alive(self.pid,
                                                         self.marker)

    def stop(self, timeout=30):
        """SIGTERM the service's session, SIGKILL what is left after it."""
        if self.pid is None:
            return
        try:
            pgid = os.getpgid(self.pid)
        except ProcessLookupError:
            return
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            process._reap(self.pid)
            time.sleep(0.2)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process._reap(self.pid)

    def wait_ready(self, deadline):
        """Wait until the service answers (an API) or runs (a worker)."""
        while time.monotonic() < deadline:
            if not self.is_running():
                raise process.ServiceError(
                    '%s %s exited during start-up; last lines of %s:\n%s'
                    % (self.region, self.name, self.log_file,
                       process.tail(self.log_file)))
            if self.url is None or answers(self.url):
                return
            time.sleep(0.3)
        raise process.ServiceError('%s %s did not answer on %s in time; see '
                                   '%s' % (self.region, self.name, self.url,
                                           self.log_file))

    def to_dict(self):
        return {'region': self.region, 'name': self.name, 'argv': self.argv,
                'log_file': self.log_file, 'url': self.url, 'pid': self.pid}

    @classmethod
    def from_dict(cls, data):
        return cls(data['region'], data['name'], data['argv'],
                   data['log_file'], url=data.get('url'), pid=data.get('pid'))

    def status(self):
        alive = self.is_running()
        return {'name': self.region, 'service': self.name,
                'url': self.url or '-', 'pid': self.pid if alive else None,
                'state': 'running' if alive else 'stopped',
                'rss_mib': process.rss_mib(self.pid) if alive else None,
                'log': self.log_file}


def _group_alive(pgid):
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        # fields: state ppid pgrp ...; a zombie is as good as gone.
        if int(fields[2]) == pgid and fields[0] != 'Z':
            return True
    return False


def answers(url):
    """Whether an HTTP server answers ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=3):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def pss_mib(pids, marker=None):
    """Proportional set size of ``pids`` and their children, in MiB.

    With ``marker``, also of every process whose command line holds it
    (the PostgreSQL backends that serve the region's databases).
    """
    wanted = set(pids)
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    total = 0
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                pgrp = int(f.read().rsplit(')', 1)[1].split()[2])
            if int(entry) not in wanted and pgrp not in groups:
                if not marker:
                    continue
                with open('/proc/%s/cmdline' % entry, 'rb') as f:
                    if marker.encode() not in f.read():
                        continue
            with open('/proc/%s/smaps_rollup' % entry) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total // 1024
