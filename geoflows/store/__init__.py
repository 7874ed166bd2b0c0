"""The geoflows state store: jobs, their steps, and allocations.

SQLite (the default, a file under the state directory, no server needed),
PostgreSQL or MySQL, by SQLAlchemy URL.  One store serves the Taskflow
engines (through :mod:`geoflows.store.taskflow_backend`), the job records
and the pools geoflows allocates from.

Durability on SQLite: WAL journal with ``synchronous=NORMAL``.  A committed
write is in the WAL file (the operating system's cache) when the commit
returns, so it survives a crash of the geoflows process (SIGKILL, OOM); only
a crash of the whole machine may lose the last commits, and never corrupts
the file.  Writers take the lock at ``BEGIN IMMEDIATE`` so that concurrent
steps queue (busy timeout) instead of failing with "database is locked".
"""

import contextlib
import datetime
import json
import os
import threading

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from geoflows import exceptions
from geoflows import queries
from geoflows import secrets
from geoflows.store import tables
from geoflows.store import writer
from geoflows import text


def utcnow():
    """Now, in UTC without a time zone (as the store's datetimes are)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def default_url(state_dir):
    return 'sqlite:///%s' % queries.default_path(state_dir)


def safe_url(url):
    """The URL with its password hidden, escaped and cut, for messages."""
    try:
        shown = text.escape(sa.engine.make_url(url).render_as_string(
            hide_password=True))
    except (sa_exc.ArgumentError, ValueError):
        return '<unparsable URL>'
    if len(shown) > 200:
        shown = '%s... (%d characters)' % (shown[:200], len(shown))
    return shown


def _sqlite_engines(url):
    path = url.database
    if not path or path == ':memory:' or 'mode=memory' in path:
        # Jobs must outlive the process that runs them.
        raise exceptions.ConfigError(
            'the state store cannot be an in-memory SQLite database: jobs '
            'must survive the process; use sqlite:///PATH')
    if '\x00' in path:
        raise exceptions.ConfigError(
            'the state store path holds a NUL character ([state] '
            'connection)')
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        shown = text.escape(directory)
        if len(shown) > 200:
            shown = '%s... (%d characters)' % (shown[:200], len(shown))
        raise exceptions.ConfigError(
            'cannot create the directory %s of the state store: %s'
            % (shown, e.strerror or e))

    def make(immediate):
        engine = sa.create_engine(
            url, connect_args={'timeout': 60, 'check_same_thread': False},
            pool_size=8, max_overflow=56)

        @sa.event.listens_for(engine, 'connect')
        def _on_connect(dbapi_conn, record):
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute('PRAGMA journal_mode=WAL')
            cursor.execute('PRAGMA synchronous=NORMAL')
            cursor.close()

        @sa.event.listens_for(engine, 'begin')
        def _on_begin(conn):
            conn.exec_driver_sql('BEGIN IMMEDIATE' if immediate
                                 else 'BEGIN')
        return engine
    return make(True), make(False)


class StateStore(object):
    """Access to one state store; thread-safe, one per process is enough."""

    def __init__(self, url):
        self.url = url
        try:
            parsed = sa.engine.make_url(url)
        except (sa_exc.ArgumentError, ValueError):  # ValueError: the port
            raise exceptions.ConfigError(
                'the state store URL %r is not a SQLAlchemy URL ([state] '
                'connection)' % safe_url(url))
        self.dialect = parsed.get_backend_name()
        try:
            if self.dialect == 'sqlite':
                self.engine, self.read_engine = _sqlite_engines(parsed)
            else:
                # READ COMMITTED: MySQL's default (REPEATABLE READ) takes
                # gap locks that make concurrent step writes deadlock.
                self.engine = sa.create_engine(
                    parsed, pool_pre_ping=True, pool_size=8,
                    max_overflow=56, isolation_level='READ COMMITTED')
                self.read_engine = self.engine
        except sa_exc.NoSuchModuleError:
            if self.dialect in ('postgresql', 'mysql', 'sqlite'):
                raise exceptions.ConfigError(
                    'the state store URL %s names the database driver %r, '
                    'which is not installed; for PostgreSQL install '
                    'psycopg2-binary (postgresql+psycopg2://...), for MySQL '
                    'PyMySQL (mysql+pymysql://...)'
                    % (safe_url(url), parsed.drivername))
            raise exceptions.ConfigError(
                'the state store URL %s names an unknown database type %r; '
                'use sqlite:///PATH, postgresql+psycopg2://... or '
                'mysql+pymysql://...' % (safe_url(url), parsed.drivername))
        except ImportError as e:
            raise exceptions.ConfigError(
                'the state store %s needs a database driver that is not '
                'installed (%s); for PostgreSQL install psycopg2-binary, '
                'for MySQL PyMySQL' % (safe_url(url), e))
        except (sa_exc.ArgumentError, ValueError, TypeError) as e:
            # Arguments of the URL the driver refuses.
            raise exceptions.ConfigError(
                'the state store URL %s cannot be used ([state] '
                'connection): %s' % (safe_url(url),
                                     secrets.mask(str(e))[:300]))
        self._writes = 0
        self._writes_lock = threading.Lock()
        self._upgraded = False
        self._writer = writer.Writer(self.engine)

    # -- lifecycle -------------------------------------------------------

    def upgrade(self):
        """Create the tables if needed (idempotent)."""
        if self._upgraded:
            return
        try:
            with self.engine.begin() as conn:
                tables.metadata.create_all(conn)
                if conn.execute(sa.select(tables.schema_info)).first() \
                        is None:
                    conn.execute(tables.schema_info.insert(),
                                 {'version': tables.SCHEMA_VERSION})
        except sa_exc.OperationalError as e:
            raise exceptions.ConfigError(
                'cannot open the state store %s: %s' % (
                    safe_url(self.url), e.orig or e))
        self._upgraded = True

    def ping(self):
        with self.read_engine.connect() as conn:
            conn.execute(sa.text('SELECT 1'))

    def close(self):
        self._writer.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    def taskflow_backend(self):
        # Imported on first use: reading jobs needs no Taskflow.
        from geoflows.store import taskflow_backend as backend_mod

        return backend_mod.Backend(self)

    def count_write(self, count=1):
        with self._writes_lock:
            self._writes += count

    def write(self, fn):
        """Run ``fn(conn)`` in a committed transaction; return its result.

        Writes made at the same time share a transaction (group commit, see
        :mod:`geoflows.store.writer`); the call returns once it committed.
        """
        return self._writer.write(fn)

    def execute(self, statements):
        """Run prepared ``[(statement, values), ...]``, committed."""
        self._writer.execute(statements)

    @property
    def writes(self):
        """State changes written since this object was made."""
        return self._writes

    @property
    def commits(self):
        """Transactions the group-commit writer committed."""
        return self._writer.commits

    # -- jobs ------------------------------------------------------------

    def create_job(self, job_id, operation, plan_name, plan_digest, spec,
                   state, mode='run'):
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(tables.jobs.insert(), {
                'id': job_id, 'operation': operation,
                'plan_name': plan_name, 'plan_digest': plan_digest,
                'state': state, 'mode': mode, 'created_at': now,
                'updated_at': now, 'abort_requested': None, 'attempts': 0,
                'spec': json.dumps(spec)})
        self.count_write()

    def update_job(self, job_id, **fields):
        if 'result' in fields:
            fields['result'] = json.dumps(fields['result'])
        if fields.get('error'):
            from geoflows import secrets
            fields['error'] = secrets.mask(fields['error'])
        fields['updated_at'] = utcnow()
        with self.engine.begin() as conn:
            conn.execute(tables.jobs.update().where(
                tables.jobs.c.id == job_id), fields)
        self.count_write()

    def get_job(self, job_id):
        """The job whose id is ``job_id`` or starts with it."""
        jobs = tables.jobs
        with self.read_engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(
                jobs.c.id == job_id)).first()
            if row is None and len(job_id) >= 4:
                rows = conn.execute(sa.select(jobs).where(
                    jobs.c.id.startswith(job_id, autoescape=True))
                ).fetchmany(2)
                if len(rows) > 1:
                    raise exceptions.JobError(
                        'job id prefix %r is ambiguous; give more of the id'
                        % job_id)
                row = rows[0] if rows else None
        if row is None:
            raise exceptions.JobNotFound(job_id)
        return _job_from_row(row)

    def abort_requested(self, job_id):
        """How an operator asked job ``job_id`` to stop, or None."""
        jobs = tables.jobs
        with self.read_engine.connect() as conn:
            return conn.execute(sa.select(jobs.c.abort_requested).where(
                jobs.c.id == job_id)).scalar()

    def list_jobs(self, states=None, limit=None):
        jobs = tables.jobs
        query = sa.select(jobs).order_by(jobs.c.created_at.desc())
        if states:
            query = query.where(jobs.c.state.in_(states))
        if limit:
            query = query.limit(limit)
        with self.read_engine.connect() as conn:
            return [_job_from_row(row) for row in conn.execute(query)]

    def job_steps(self, job_id, names=None, data=True):
        """Every step of a job, with its unit (flow) name, as dicts.

        ``names``: only the steps of these names; ``data``: with their
        recorded data (results, failures), which most of a large job's
        bytes are.
        """
        flows, steps = tables.flows, tables.steps
        query = sa.select(
            flows.c.name.label('unit'), flows.c.state.label('unit_state'),
            steps.c.name, steps.c.atom_type, steps.c.state,
            steps.c.intention, steps.c.started_at, steps.c.finished_at,
            steps.c.revert_started_at, steps.c.revert_finished_at,
            *([steps.c.data] if data else [])).select_from(
                flows.join(steps, steps.c.flow_uuid == flows.c.uuid)).where(
                flows.c.book_uuid == job_id)
        if names is not None:
            query = query.where(steps.c.name.in_(sorted(names)))
        with self.read_engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- route targets -----------------------------------------------------

    def allocate_route_target(self, owner, job_id, asn, first, last,
                              exclude=()):
        """Allocate a value of ``asn:first..last`` to ``owner``.

        Returns ``(value, job_id)`` where ``job_id`` is the job that made
        the allocation: an owner keeps its value until it is released.
        """
        for _attempt in range(5):
            try:
                with self.engine.connect() as conn:
                    with self._allocation_turn(conn):
                        value, holder, made = self._allocate(
                            conn, owner, job_id, asn, first, last, exclude)
                if made:
                    self.count_write()
                return value, holder
            except sa_exc.IntegrityError:
                continue  # another store user took that value: pick again
        raise exceptions.AllocationError(
            'could not allocate a route target for %s after 5 attempts '
            '(heavy contention on the pool)' % owner)

    @contextlib.contextmanager
    def _allocation_turn(self, conn):
        """Make allocations take turns.

        Otherwise concurrent allocators all pick the same lowest free value
        and all but one must retry.  SQLite writers already take turns
        (BEGIN IMMEDIATE); PostgreSQL locks the table for the transaction;
        MySQL takes a named lock.
        """
        if self.dialect == 'mysql':
            conn.execute(sa.text("SELECT GET_LOCK('geoflows-rt', 60)"))
            conn.commit()
        try:
            with conn.begin():
                if self.dialect == 'postgresql':
                    conn.execute(sa.text('LOCK TABLE gf_route_targets IN '
                                         'SHARE ROW EXCLUSIVE MODE'))
                yield
        finally:
            if self.dialect == 'mysql':
                conn.execute(sa.text("SELECT RELEASE_LOCK('geoflows-rt')"))
                conn.commit()

    def _allocate(self, conn, owner, job_id, asn, first, last, exclude):
        rts = tables.route_targets
        row = conn.execute(sa.select(rts).where(rts.c.owner == owner)).first()
        if row is not None:
            return '%d:%d' % (row.asn, row.value), row.job_id, False
        used = set(conn.execute(sa.select(rts.c.value).where(
            rts.c.asn == asn)).scalars())
        used.update(exclude)
        value = next((v for v in range(first, last + 1) if v not in used),
                     None)
        if value is None:
            raise exceptions.AllocationError(
                'the route target pool %d:%d-%d is exhausted; widen [bgpvpn] '
                'route_target_first/last or tear down unused interconnects'
                % (asn, first, last))
        conn.execute(rts.insert(), {'asn': asn, 'value': value,
                                    'owner': owner, 'job_id': job_id,
                                    'allocated_at': utcnow()})
        return '%d:%d' % (asn, value), job_id, True

    def release_route_target(self, owner, job_id=None):
        rts = tables.route_targets
        query = rts.delete().where(rts.c.owner == owner)
        if job_id is not None:
            query = query.where(rts.c.job_id == job_id)
        with self.engine.begin() as conn:
            released = conn.execute(query).rowcount
        if released:
            self.count_write()
        return bool(released)

    def route_target_of(self, owner):
        rts = tables.route_targets
        with self.read_engine.connect() as conn:
            row = conn.execute(sa.select(rts).where(
                rts.c.owner == owner)).first()
        return '%d:%d' % (row.asn, row.value) if row else None


def _job_from_row(row):
    return queries.make_job(row._mapping)
