"""Named locks shared by every process that uses the same state store.

A running job holds ``job:<id>`` and one lock per resource it works on
(``interconnect:<plan>/<name>``) for as long as it runs.  The operating
system or the database releases them when the process dies, even by
SIGKILL, which is how ``geoflows job`` tells a live job from one whose
controller crashed.

* SQLite state store (one machine): ``flock`` on files beside the database.
* PostgreSQL: session advisory locks.  MySQL: ``GET_LOCK``.  Both live on a
  connection held open for the life of the lock.
"""

import fcntl
import hashlib
import os


def _key(name):
    """A stable signed 64-bit key for ``name``."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], 'big', signed=True)


class Lock(object):

    def __init__(self, name, release):
        self.name = name
        self._release = release

    def release(self):
        if self._release is not None:
            release, self._release = self._release, None
            release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


class FileLocks(object):

    def __init__(self, directory):
        self.directory = directory

    def try_acquire(self, name):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, hashlib.sha256(
            name.encode()).hexdigest()[:32] + '.lock')
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, name.encode())

        def release():
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return Lock(name, release)


class DatabaseLocks(object):

    _SQL = {
        'postgresql': ('SELECT pg_try_advisory_lock(:key)',
                       'SELECT pg_advisory_unlock(:key)'),
        'mysql': ('SELECT GET_LOCK(:name, 0)', 'SELECT RELEASE_LOCK(:name)'),
    }

    def __init__(self, engine, dialect):
        # Imported here: commands that only read a SQLite store's file
        # locks do without SQLAlchemy (see geoflows.queries).
        import sqlalchemy as sa

        self.engine = engine
        self.acquire_sql, self.release_sql = (
            sa.text(sql) for sql in self._SQL[dialect])

    def try_acquire(self, name):
        params = {'key': _key(name),
                  'name': 'geoflows-' + hashlib.sha256(
                      name.encode()).hexdigest()[:40]}
        conn = self.engine.connect()
        try:
            got = conn.execute(self.acquire_sql, params).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return None

        def release():
            try:
                conn.execute(self.release_sql, params)
                conn.commit()
            finally:
                conn.close()
        return Lock(name, release)


def sqlite_locks_dir(path):
    """The directory of the lock files of the SQLite state store ``path``."""
    return os.path.join(os.path.dirname(os.path.abspath(path)), 'locks')


def for_store(store):
    """The lock service that matches ``store``'s database."""
    if store.dialect == 'sqlite':
        return FileLocks(sqlite_locks_dir(store.engine.url.database))
    return DatabaseLocks(store.engine, store.dialect)
