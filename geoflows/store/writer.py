"""Group commit: the state store's writes share transactions.

Many steps finish at the same moment (a job runs dozens of units side by
side), and each must be committed before its unit goes on.  Rather than one
transaction each, queueing on the database's write lock, they hand their
write to a single writer thread, which runs every write waiting in its queue
in one transaction, commits, and then releases them all.  Each caller still
returns only once its write is committed; the commits are fewer.

A write is either a list of statements prepared by the caller
(:class:`geoflows.store.prepared.Prepared` with their values), which the
writer runs as they are (consecutive runs of one statement as a single
``executemany``), or, for the rare writes that must read first, a function
of a SQLAlchemy connection.  Preparing (encoding the data) happens in the
caller's thread: the writer does only database calls, so it is not the
bottleneck of a busy job.

A function may raise (a row to update is missing): only its caller sees
that exception, as it writes nothing before raising.  If the transaction
itself fails, the batch is rolled back and its writes run again one
transaction each, so that the write at fault fails alone; transactions
that lost a deadlock or a serialization conflict are retried.
"""

import queue
import random
import threading
import time

from sqlalchemy import exc as sa_exc

ATTEMPTS = 6
MAX_BATCH = 500
# Deadlock, lock wait timeout (MySQL); deadlock, serialization failure
# (PostgreSQL); a locked SQLite file.
_RETRYABLE_CODES = {1213, 1205}
_RETRYABLE_STATES = {'40P01', '40001'}


def retryable(error):
    orig = getattr(error, 'orig', None)
    args = getattr(orig, 'args', ())
    if args and args[0] in _RETRYABLE_CODES:
        return True
    if getattr(orig, 'pgcode', None) in _RETRYABLE_STATES:
        return True
    return 'database is locked' in str(orig)


_events = threading.local()


def _event():
    """An Event for this thread's write (a thread waits for one at once)."""
    event = getattr(_events, 'event', None)
    if event is None:
        event = _events.event = threading.Event()
    event.clear()
    return event


class _Write(object):
    __slots__ = ('fn', 'statements', 'done', 'result', 'error')

    def __init__(self, fn=None, statements=None):
        self.fn = fn
        self.statements = statements
        self.done = _event()
        self.result = None
        self.error = None


class Writer(object):
    """Runs write functions on ``engine`` in shared transactions."""

    def __init__(self, engine, name='geoflows-store-writer'):
        self.engine = engine
        self.name = name
        self.commits = 0
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self._raw = None  # the writer's own DB-API connection

    def write(self, fn):
        """Run ``fn(conn)`` in a committed transaction; return its result."""
        return self._submit(_Write(fn=fn))

    def execute(self, statements):
        """Run ``[(prepared, values), ...]`` in a committed transaction."""
        if statements:
            self._submit(_Write(statements=statements))

    def _submit(self, item):
        self._ensure_thread()
        self._queue.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def _ensure_thread(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop,
                                                name=self.name, daemon=True)
                self._thread.start()

    def close(self):
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(10)
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def _raw_transaction(self, batch):
        """Run prepared statements on the writer's own DB-API connection.

        SQLAlchemy's transaction machinery costs more than the statements
        of a busy job.
        """
        sqlite = self.engine.dialect.name == 'sqlite'
        for attempt in range(ATTEMPTS):
            if self._raw is None:
                self._raw = self.engine.raw_connection()
            try:
                if sqlite:  # autocommit mode: see geoflows.store
                    self._raw.cursor().execute('BEGIN IMMEDIATE')
                execute_statements(self._raw, [
                    statement for item in batch
                    for statement in item.statements])
                self._raw.commit()
                self.commits += 1
                return
            except Exception as error:
                self._rollback()
                wrapped = error if isinstance(error, sa_exc.DBAPIError) \
                    else sa_exc.DBAPIError(None, None, error)
                if attempt + 1 == ATTEMPTS or not retryable(wrapped):
                    raise wrapped
                time.sleep(0.01 * 2 ** attempt * (1 + random.random()))

    def _rollback(self):
        try:
            self._raw.rollback()
        except Exception:
            self._raw.invalidate() if hasattr(self._raw, 'invalidate') \
                else None
            self._raw = None

    def _loop(self):
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            try:
                self._run(batch)
            except Exception as error:  # pragma: no cover - never leave a
                for item in batch:      # caller waiting forever
                    if not item.done.is_set():
                        item.error = error
                        item.done.set()

    def _run(self, batch):
        try:
            self._transaction(batch)
        except sa_exc.DBAPIError:
            if len(batch) == 1:
                raise
            # Find the write at fault: each in a transaction of its own.
            for item in batch:
                try:
                    self._transaction([item])
                except Exception as error:
                    item.error = error
        except Exception as error:  # e.g. the database went away
            for item in batch:
                item.error = error
        for item in batch:
            item.done.set()

    def _transaction(self, batch):
        if all(item.statements is not None for item in batch):
            return self._raw_transaction(batch)
        for attempt in range(ATTEMPTS):
            results = []
            try:
                with self.engine.begin() as conn:
                    run = []  # statements waiting to be executed together
                    for item in batch:
                        if item.statements is not None:
                            run.extend(item.statements)
                            results.append((None, None))
                            continue
                        execute_statements(conn, run)
                        run = []
                        try:
                            results.append((item.fn(conn), None))
                        except sa_exc.DBAPIError:
                            raise
                        except Exception as error:
                            results.append((None, error))
                    execute_statements(conn, run)
                self.commits += 1
                break
            except sa_exc.DBAPIError as error:
                if attempt + 1 == ATTEMPTS or not retryable(error):
                    raise
                time.sleep(0.01 * 2 ** attempt * (1 + random.random()))
        for item, (result, error) in zip(batch, results):
            item.result, item.error = result, error


def execute_statements(conn, statements):
    """Execute ``[(prepared, values), ...]`` in order, on one cursor.

    ``conn`` is a SQLAlchemy connection or a DB-API one.  Consecutive uses
    of one statement become one ``executemany``.
    """
    if not statements:
        return
    dbapi = getattr(conn, 'connection', conn)
    cursor = dbapi.cursor()
    if type(cursor).__module__.startswith('psycopg2'):
        # The whole batch in one round trip to the server.
        try:
            cursor.execute(b';'.join(
                cursor.mogrify(prepared.sql, prepared.params(values))
                for prepared, values in statements))
        finally:
            cursor.close()
        return
    try:
        start = 0
        while start < len(statements):
            prepared = statements[start][0]
            end = start + 1
            while end < len(statements) and statements[end][0] is prepared:
                end += 1
            if end - start == 1:
                cursor.execute(prepared.sql,
                               prepared.params(statements[start][1]))
            else:
                cursor.executemany(prepared.sql, [
                    prepared.params(values)
                    for _prepared, values in statements[start:end]])
            start = end
    finally:
        cursor.close()
