"""Reading jobs without a runner: what ``geoflows job list|show`` need.

A :class:`geoflows.runner.Runner` answers these queries, but building one
imports Taskflow, futurist, networkx, openstacksdk and SQLAlchemy and starts
thread pools: most of a second of the command's start-up, for a command
that reads a few rows.  :func:`from_config` gives the same answers more
cheaply:

* on a SQLite state store (the default), :class:`SQLiteRecords` reads the
  tables with the standard library's ``sqlite3`` (SQLAlchemy's import alone
  takes a quarter of a second);
* on PostgreSQL or MySQL, and on a SQLite store that does not exist yet
  (it is created, as before), the state store itself
  (:class:`geoflows.store.StateStore`), without Taskflow.

Either way a RUNNING job is marked stale by the same locks as the runner's
(:mod:`geoflows.locks`).  The runner uses :class:`JobQueries` too, so both
paths give the same jobs and steps.
"""

import datetime
import json
import os
import sqlite3

from geoflows import exceptions
from geoflows import jobs
from geoflows import locks as locks_mod

#: the version of the state store's tables (geoflows.store.tables) that
#: SQLiteRecords reads
SCHEMA_VERSION = 1

#: atoms that hold values the runner injects, not steps
INJECTED = ('job_id',)

DEFAULT_FILE = 'geoflows.sqlite'

#: the columns of a job record, as geoflows.store.StateStore returns them
JOB_FIELDS = ('operation', 'plan_name', 'plan_digest', 'state', 'mode',
              'created_at', 'updated_at', 'started_at', 'finished_at',
              'owner', 'abort_requested', 'attempts', 'error')
_DATETIMES = ('created_at', 'updated_at', 'started_at', 'finished_at')

_STEP_COLUMNS = (
    ('unit', 'f.name'), ('unit_state', 'f.state'), ('name', 's.name'),
    ('atom_type', 's.atom_type'), ('state', 's.state'),
    ('intention', 's.intention'), ('started_at', 's.started_at'),
    ('finished_at', 's.finished_at'),
    ('revert_started_at', 's.revert_started_at'),
    ('revert_finished_at', 's.revert_finished_at'), ('data', 's.data'))
_STEP_DATETIMES = ('started_at', 'finished_at', 'revert_started_at',
                   'revert_finished_at')


def default_path(state_dir):
    """The SQLite file of the default state store in ``state_dir``."""
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)),
                        DEFAULT_FILE)


def sqlite_path(url):
    """The file named by a plain ``sqlite:///PATH`` URL, else None.

    URLs with a query, an escaped character or no file are left to
    SQLAlchemy, which knows all their forms.
    """
    for prefix in ('sqlite:///', 'sqlite+pysqlite:///'):
        if url.startswith(prefix):
            path = url[len(prefix):]
            if path and path != ':memory:' and not set('?%#') & set(path):
                return path
    return None


def make_job(values):
    """A :class:`geoflows.jobs.Job` from the columns of its record."""
    return jobs.Job(
        id=values['id'], spec=json.loads(values['spec']),
        result=json.loads(values['result']) if values['result'] else None,
        **{field: values[field] for field in JOB_FIELDS})


def visible_steps(rows):
    """The steps of a job as shown, in the order they ran.

    Injected values and Taskflow's own atoms are left out; steps that never
    ran come last; ties go by unit, then name.
    """
    steps = [row for row in rows if row['name'] not in INJECTED and
             not row['name'].startswith('_TaskFlow')]
    never = (1, 0)
    steps.sort(key=lambda s: (
        (0, s['started_at']) if s['started_at'] else never,
        s['unit'], s['name']))
    return steps


class JobQueries(object):
    """Jobs and their steps from ``records``, marked stale from ``locks``.

    ``records`` is a :class:`geoflows.store.StateStore` or a
    :class:`SQLiteRecords`; ``runs_here(job_id)`` says whether this process
    runs a job (a runner's jobs hold their locks in the same process).
    """

    def __init__(self, records, locks, runs_here=None):
        self.records = records
        self.locks = locks
        self._runs_here = runs_here

    def is_live(self, job_id):
        """Whether a live process runs job ``job_id``."""
        if self._runs_here is not None and self._runs_here(job_id):
            return True
        lock = self.locks.try_acquire('job:%s' % job_id)
        if lock is None:
            return True
        lock.release()
        return False

    def mark_stale(self, job):
        if job.state == jobs.RUNNING and not self.is_live(job.id):
            job.stale = True
        return job

    def get(self, job_id):
        """The job ``job_id`` (or a unique prefix of it)."""
        return self.mark_stale(self.records.get_job(job_id))

    def list(self, states=None, limit=None):
        return [self.mark_stale(job)
                for job in self.records.list_jobs(states, limit)]

    def steps(self, job_id):
        """The job and its steps, in the order they ran."""
        job = self.records.get_job(job_id)
        return job, visible_steps(self.records.job_steps(job.id))


def _datetime(text):
    return None if text is None else datetime.datetime.fromisoformat(text)


class SQLiteRecords(object):
    """The job tables of a SQLite state store, read with ``sqlite3``.

    Answers as :class:`geoflows.store.StateStore` does: the same queries,
    the same values (SQLAlchemy stores a SQLite datetime as ISO text).
    """

    def __init__(self, conn, path):
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path):
        """Records of the store at ``path``; None if it has no tables yet."""
        if not os.path.isfile(path):
            return None
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute('SELECT version FROM gf_schema').fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is None or row[0] != SCHEMA_VERSION:
            conn.close()
            return None
        return cls(conn, path)

    def close(self):
        self.conn.close()

    @staticmethod
    def _job(row):
        values = dict(row)
        for name in _DATETIMES:
            values[name] = _datetime(values[name])
        return make_job(values)

    def get_job(self, job_id):
        """The job whose id is ``job_id`` or starts with it."""
        row = self.conn.execute('SELECT * FROM gf_jobs WHERE id = ?',
                                (job_id,)).fetchone()
        if row is None and len(job_id) >= 4:
            prefix = job_id.replace('/', '//').replace('%', '/%').replace(
                '_', '/_')
            rows = self.conn.execute(
                "SELECT * FROM gf_jobs WHERE id LIKE ? || '%' ESCAPE '/'",
                (prefix,)).fetchmany(2)
            if len(rows) > 1:
                raise exceptions.JobError(
                    'job id prefix %r is ambiguous; give more of the id'
                    % job_id)
            row = rows[0] if rows else None
        if row is None:
            raise exceptions.JobNotFound(job_id)
        return self._job(row)

    def list_jobs(self, states=None, limit=None):
        sql, params = 'SELECT * FROM gf_jobs', []
        if states:
            sql += ' WHERE state IN (%s)' % ', '.join('?' * len(states))
            params.extend(states)
        sql += ' ORDER BY created_at DESC'
        if limit:
            sql += ' LIMIT ?'
            params.append(limit)
        return [self._job(row) for row in self.conn.execute(sql, params)]

    def job_steps(self, job_id):
        """Every step of a job, with its unit (flow) name, as dicts."""
        rows = self.conn.execute(
            'SELECT %s FROM gf_flows AS f JOIN gf_steps AS s ON s.flow_uuid '
            '= f.uuid WHERE f.book_uuid = ?' % ', '.join(
                column for _name, column in _STEP_COLUMNS), (job_id,))
        steps = []
        for row in rows:
            step = {name: row[i] for i, (name, _c) in enumerate(_STEP_COLUMNS)}
            for name in _STEP_DATETIMES:
                step[name] = _datetime(step[name])
            steps.append(step)
        return steps


def from_config(conf):
    """``(queries, records)`` on the state store configured in ``conf``.

    The caller closes ``records`` when done.
    """
    state_dir = os.path.expanduser(conf.state_dir)
    url = conf.state.connection
    path = sqlite_path(url) if url else default_path(state_dir)
    records = SQLiteRecords.open(path) if path else None
    if records is not None:
        locks = locks_mod.FileLocks(locks_mod.sqlite_locks_dir(path))
        return JobQueries(records, locks), records
    from geoflows import store as store_mod
    store = store_mod.StateStore(url or store_mod.default_url(state_dir))
    try:
        store.upgrade()
    except Exception:
        store.close()
        raise
    return JobQueries(store, locks_mod.for_store(store)), store
