"""The machine's PostgreSQL and RabbitMQ, as the OpenStack regions use them.

Every run of the minicloud has a run id; each region gets its own databases
(``gfmc_<run>_<region>_<service>``) and its own RabbitMQ vhost
(``gfmc_<run>_<region>``), so that two runs on one machine never collide,
and ``down`` drops exactly what ``up`` made.
"""

import os
import re
import shutil
import socket
import subprocess

from geoflows.testing.minicloud import process

PG_HOST, PG_PORT, PG_USER = '127.0.0.1', 5432, 'postgres'
RABBIT_HOST, RABBIT_PORT = '127.0.0.1', 5672
RABBIT_USER, RABBIT_PASSWORD = 'guest', 'guest'

PREFIX = 'gfmc_'
_NAME = re.compile(r'^[a-z0-9_]+$')

MISSING = (
    'the minicloud regions need PostgreSQL on %s:%d (user %s, trust '
    'authentication on 127.0.0.1), RabbitMQ on %s:%d (guest/guest, '
    'rabbitmqctl on the PATH, run as root) and qemu-img (Cinder converts and '
    'inspects images with it); %s.  On Debian: apt install postgresql '
    'rabbitmq-server qemu-utils, then allow "host all postgres 127.0.0.1/32 '
    'trust" in pg_hba.conf')


def _listening(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False


def check():
    """Raise ServiceError saying what to install when a server is missing."""
    problems = []
    if not _listening(PG_HOST, PG_PORT):
        problems.append('nothing listens on %s:%d' % (PG_HOST, PG_PORT))
    if not _listening(RABBIT_HOST, RABBIT_PORT):
        problems.append('nothing listens on %s:%d' % (RABBIT_HOST,
                                                      RABBIT_PORT))
    if not shutil.which('rabbitmqctl'):
        problems.append('rabbitmqctl is not on the PATH')
    if not shutil.which('qemu-img'):
        problems.append('qemu-img is not on the PATH')
    if problems:
        raise process.ServiceError(MISSING % (
            PG_HOST, PG_PORT, PG_USER, RABBIT_HOST, RABBIT_PORT,
            '; '.join(problems)))


def _check_name(name):
    if not _NAME.match(name):
        raise ValueError('invalid database or vhost name %r' % name)
    return name


def database_name(run_id, region, service):
    return _check_name('%s%s_%s_%s' % (PREFIX, run_id, region.lower(),
                                       service))


def vhost_name(run_id, region):
    return _check_name('%s%s_%s' % (PREFIX, run_id, region.lower()))


def database_url(name):
    return 'postgresql+psycopg2://%s@%s:%d/%s' % (PG_USER, PG_HOST, PG_PORT,
                                                  name)


def transport_url(vhost):
    return 'rabbit://%s:%s@%s:%d/%s' % (RABBIT_USER, RABBIT_PASSWORD,
                                        RABBIT_HOST, RABBIT_PORT, vhost)


def _psql(python, sql):
    """Run ``sql`` on the postgres database with the services' psycopg2."""
    code = ('import psycopg2, sys\n'
            'c = psycopg2.connect(host=%r, port=%d, user=%r, '
            'dbname="postgres")\n'
            'c.autocommit = True\n'
            'cur = c.cursor()\n'
            'for s in sys.argv[1:]:\n'
            '    cur.execute(s)\n'
            'print("\\n".join(r[0] for r in (cur.fetchall() if '
            'cur.description else [])))\n' % (PG_HOST, PG_PORT, PG_USER))
    out = subprocess.run([python, '-c', code] + list(sql),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise process.ServiceError('PostgreSQL on %s:%d refused %s: %s' % (
            PG_HOST, PG_PORT, '; '.join(sql), out.stderr.strip()[-500:]))
    return out.stdout.split()


# PostgreSQL ends the sessions of the regions' databases that stay idle
# this long: the services' pools reconnect on their next checkout (oslo.db
# pings first), and an idle minicloud holds few of the server's
# connections (max_connections is 100 by default, for every user of the
# machine).  From PostgreSQL 14 on.
IDLE_SESSION_TIMEOUT = '30s'


def create_databases(python, names):
    statements = (['DROP DATABASE IF EXISTS %s WITH (FORCE)'
                   % _check_name(n) for n in names] +
                  ['CREATE DATABASE %s' % n for n in names])
    if int(_psql(python, ['SHOW server_version_num'])[0]) >= 140000:
        statements += ["ALTER DATABASE %s SET idle_session_timeout = '%s'"
                       % (n, IDLE_SESSION_TIMEOUT) for n in names]
    _psql(python, statements)


def drop_databases(python, names):
    if names:
        _psql(python, ['DROP DATABASE IF EXISTS %s WITH (FORCE)'
                       % _check_name(n) for n in names])


def _rabbitmqctl(*args):
    out = subprocess.run(['rabbitmqctl', '-q'] + list(args),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise process.ServiceError('rabbitmqctl %s failed: %s' % (
            ' '.join(args), (out.stderr or out.stdout).strip()[-500:]))
    return out.stdout


def create_vhost(name):
    _rabbitmqctl('add_vhost', _check_name(name))
    _rabbitmqctl('set_permissions', '-p', name, RABBIT_USER, '.*', '.*',
                 '.*')


def delete_vhost(name):
    try:
        _rabbitmqctl('delete_vhost', _check_name(name))
    except process.ServiceError as e:
        if 'does not exist' not in str(e) and 'no_such_vhost' not in str(e):
            raise


def env_without_proxies():
    """The services talk to 127.0.0.1 only: no proxy may intercept it."""
    env = dict(os.environ)
    for key in list(env):
        if key.lower() in ('http_proxy', 'https_proxy', 'all_proxy'):
            del env[key]
    env['no_proxy'] = env['NO_PROXY'] = '127.0.0.1,localhost'
    return env
