"""The jobboard: where jobs wait for a conductor (Taskflow jobboards).

A posting carries only what a conductor needs to find the job in the shared
state store::

    details = {'geoflows': {'job_id': ..., 'action': 'run' | 'resume' |
                            'revert', 'attempts': <the job's attempts when
                            it was posted>}}

and the job's logbook (by name and uuid, as Taskflow does).  The job itself
(its plan, units, steps, state) lives in the state store, which every
controller shares; the board only decides who runs it.
"""

import contextlib
import logging

from oslo_utils import netutils
from taskflow import exceptions as tf_exc
from taskflow.jobs import backends
from taskflow.persistence import models

from geoflows import exceptions
from geoflows import text

LOG = logging.getLogger(__name__)

ACTIONS = ('run', 'resume', 'revert')
DEFAULT_PORTS = {'redis': 6379, 'zookeeper': 2181, 'etcd': 2379}
# Backends whose claims take an expiry (ZooKeeper's lapse with the session).
EXPIRING_CLAIMS = ('redis', 'etcd')


def _host_port(value, backend):
    try:
        host, port = netutils.parse_host_port(value.strip(),
                                              DEFAULT_PORTS[backend])
    except ValueError:  # a port that is not a number, "[::1" ...
        host = port = None
    if not host or not host.isprintable() or port is None or \
            not 0 < port < 65536:
        raise exceptions.ConfigError(
            '[jobboard] hosts: %s is not HOST:PORT (a port from 1 to 65535)'
            % text.escape(repr(value[:100])))
    return host, port


def _join(host_port):
    host, port = host_port
    return '%s:%d' % (netutils.escape_ipv6(host), port)


def board_conf(group):
    """(backend name, Taskflow jobboard conf) from the [jobboard] group."""
    backend = group.backend
    hosts = [_host_port(h, backend) for h in group.hosts if h.strip()]
    if not hosts:
        raise exceptions.ConfigError('[jobboard] hosts is empty; set the '
                                     'address of the %s server' % backend)
    if backend == 'redis':
        host, port = hosts[0]
        conf = {'host': host, 'port': port, 'db': group.redis_db,
                'namespace': group.name.encode(),
                'socket_timeout': 10.0, 'socket_connect_timeout': 5.0,
                'retry_on_timeout': True, 'health_check_interval': 30}
        if group.username:
            conf['username'] = group.username
        if group.password:
            conf['password'] = group.password
        if group.redis_sentinel:
            conf['sentinel'] = group.redis_sentinel
            conf['sentinel_fallbacks'] = [_join(hp) for hp in hosts[1:]]
    elif backend == 'zookeeper':
        conf = {'hosts': ','.join(_join(hp) for hp in hosts),
                'path': '/geoflows/%s' % group.name,
                # The claim is an ephemeral node: it lapses with the session.
                'timeout': float(group.claim_expiry)}
    else:  # etcd
        host, port = hosts[0]
        conf = {'host': host, 'port': port, 'path': group.name,
                'ttl': group.claim_expiry}
    return backend, conf


def describe(group):
    """Where the board is, for messages (never the password)."""
    return '%s board %r at %s' % (group.backend, group.name,
                                  ', '.join(group.hosts))


def fetch(group, name, persistence=None):
    """An unconnected Taskflow jobboard for the [jobboard] group."""
    backend, conf = board_conf(group)
    try:
        return backends.fetch(name, dict(conf, board=backend),
                              persistence=persistence)
    except ImportError as e:
        raise exceptions.ConfigError(
            'the %s jobboard needs a package that is not installed (%s); '
            'install it with "pip install geoflows[%s]"'
            % (backend, e, backend))


# Taskflow's ZooKeeper board checks the server's version with the "envi"
# four-letter command, which ZooKeeper 3.5 and later refuse unless allowed.
_ZK_VERSION_REFUSED = 'Unable to fetch useable server version'


def connect(board, group):
    """Connect ``board``; a clear error naming it if it is out of reach."""
    try:
        board.connect()
    except tf_exc.JobFailure as e:
        cause = e.__cause__ or e
        if group.backend == 'zookeeper' and _ZK_VERSION_REFUSED in str(cause):
            raise exceptions.ConfigError(
                'the %s answers but does not tell its version: allow the '
                '"envi" command on every ZooKeeper server '
                '(4lw.commands.whitelist=srvr,envi in zoo.cfg), then start '
                'again' % describe(group))
        raise exceptions.ConfigError(
            'cannot reach the %s: %s; check [jobboard] hosts and that the '
            'server runs' % (describe(group), cause))


@contextlib.contextmanager
def connected(group, name, persistence=None):
    """A connected jobboard, closed on exit."""
    board = fetch(group, name, persistence)
    connect(board, group)
    try:
        yield board
    finally:
        try:
            board.close()
        except Exception:  # closing must not hide what happened inside
            LOG.debug('closing the jobboard failed', exc_info=True)


def post(board, job, action='run', notify=None):
    """Post ``job`` (a :class:`geoflows.jobs.Job`) for a conductor.

    ``notify`` says whom the conductor tells the job's outcome (see
    geoflows.mistral.notify_target); it must hold no secret.
    Returns the posting (a Taskflow job).
    """
    if action not in ACTIONS:
        raise ValueError('unknown action %r' % action)
    details = {'geoflows': {'job_id': job.id, 'action': action,
                            'attempts': job.attempts}}
    if notify:
        details['geoflows']['notify'] = notify
    book = models.LogBook(job.operation, uuid=job.id)
    return board.post('%s %s of plan %s' % (action, job.operation,
                                            job.plan_name),
                      book=book, details=details)


def posting_of(posting):
    """The geoflows details of a posting, or None if it is not one."""
    details = (posting.details or {}).get('geoflows')
    if not isinstance(details, dict) or \
            not isinstance(details.get('job_id'), str) or \
            details.get('action') not in ACTIONS or \
            not isinstance(details.get('attempts'), int):
        return None
    return details
