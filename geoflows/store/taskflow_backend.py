"""A Taskflow persistence backend on the geoflows state store.

Compared with Taskflow's own SQLAlchemy backend it:

* writes an atom once per real change: a progress-only update (Taskflow
  reports 0.0 and 1.0 around every task) rides along with the next state
  change instead of costing its own commit;
* stamps each step's start and end times from its state transitions, so
  ``geoflows job show`` has durations without extra writes;
* masks registered secrets in everything it writes (failures carry
  exception messages and tracebacks);
* prepares its few hot statements once and runs them on the DB-API cursor,
  encodes each atom once per write, and writes a flow's atoms through their
  own saves only (a flow's save writes its row and its new atoms);
* lets a caller group the writes of a moment into one commit
  (:meth:`Backend.together`: the lean run ends a step and starts the next
  ones in one), and start a step with nothing to undo without writing its
  RUNNING state (:meth:`Backend.note_start`: its start time is written
  with its end).

A write is a committed transaction, so every completed step survives a
SIGKILL of the process.  SQLite runs in WAL mode with ``synchronous=NORMAL``:
a commit reaches the operating system before the call returns, without a
disk sync per step (see :mod:`geoflows.store`).
"""

import collections
import contextlib
import datetime
import json
import threading

import sqlalchemy as sa
from taskflow import exceptions as tf_exc
from taskflow.persistence import base
from taskflow.persistence import models
from taskflow import states

from geoflows import secrets
from geoflows.store import prepared
from geoflows.store import tables
from geoflows.store import writer

#: the atom that holds the values a job injects (taskflow.storage)
INJECTOR = '_TaskFlow_INJECTOR'

_PROGRESS_KEYS = ('progress', 'progress_details')
_START = {states.RUNNING: 'started_at', states.REVERTING: 'revert_started_at'}
_END = {states.SUCCESS: 'finished_at', states.FAILURE: 'finished_at',
        states.REVERTED: 'revert_finished_at',
        states.REVERT_FAILURE: 'revert_finished_at'}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _dumps(value):
    # Mask string values, not the JSON text: a secret must not turn a
    # number or a key into invalid JSON.
    return json.dumps(secrets.mask_data(value), default=str)


def _loads(text, default=None):
    return json.loads(text) if text else default


def encode(atom_detail):
    """The JSON of an atom detail as stored, and its fingerprint.

    Progress (which Taskflow reports around every task) is not stored: a
    change of progress alone is not worth a write.  The fingerprint tells
    two versions apart.
    """
    data = atom_detail.to_dict()
    meta = data.get('meta')
    if meta and any(key in meta for key in _PROGRESS_KEYS):
        data['meta'] = {k: v for k, v in meta.items()
                        if k not in _PROGRESS_KEYS}
    text = json.dumps(data, default=str)
    if secrets.may_hold_secrets(text):
        text = json.dumps(secrets.mask_data(data), default=str)
    return text, hash(text)


class _Batch(object):
    """Writes kept for the end of a :meth:`Backend.together` block."""

    __slots__ = ('statements', 'written', 'seen')

    def __init__(self):
        self.statements, self.written, self.seen = [], [], {}


class Backend(base.Backend):
    """Taskflow backend over a :class:`geoflows.store.StateStore`."""

    def __init__(self, store):
        super().__init__({})
        self.store = store
        # uuid -> (state, fingerprint) of what was last written or read.
        self._seen = {}
        self._seen_flows = set()
        self._seen_lock = threading.Lock()
        # uuid -> when the step started, for steps whose RUNNING state is
        # not written (see note_start).
        self._started = {}
        self._batch = threading.local()  # see together()
        self._prepared = None

    def get_connection(self):
        return Connection(self)

    def forget(self):
        """Drop what is known of written atoms (after deletions)."""
        with self._seen_lock:
            self._seen.clear()
            self._seen_flows.clear()
            self._started.clear()

    def close(self):
        pass

    # -- writes ----------------------------------------------------------
    #
    # A write is prepared in the caller's thread (encoding, the statement to
    # run) and executed by the store's writer, in a transaction shared with
    # the other writes of the moment.  What was written is remembered only
    # once committed, so that a retried write is never skipped.

    def remember(self, written):
        with self._seen_lock:
            for uuid, state, fingerprint in written:
                self._seen[uuid] = (state, fingerprint)

    def _last_written(self, uuid):
        """(state, fingerprint) of the last write of an atom, or None."""
        batch = getattr(self._batch, 'writes', None)
        if batch is not None and uuid in batch.seen:
            return batch.seen[uuid]
        with self._seen_lock:
            return self._seen.get(uuid)

    def note_start(self, uuid):
        """Step ``uuid`` starts now, its RUNNING state not written.

        For steps with nothing to undo (a look-up): a crash while one runs
        leaves it PENDING, and whoever resumes runs it again, as it would
        after a RUNNING one; its start time is written with its end.
        """
        with self._seen_lock:
            self._started[uuid] = utcnow()

    @contextlib.contextmanager
    def together(self):
        """This thread's writes in the block share one commit, at its end.

        For a caller that changes several steps before it goes on (the
        lean run ends a step and starts the next ones): one wait for the
        writer, not one per write.  Nothing written in the block is durable
        before the block ends: nothing outside the process may act on it
        until then.
        """
        if getattr(self._batch, 'writes', None) is not None:
            yield  # already in a block: its end commits
            return
        batch = self._batch.writes = _Batch()
        try:
            yield
        finally:
            self._batch.writes = None
            self.flush(batch)

    def batched(self, statements, written):
        """Keep the writes for the end of this thread's block, if in one."""
        batch = getattr(self._batch, 'writes', None)
        if batch is None:
            return False
        batch.statements.extend(statements)
        batch.written.extend(written)
        for uuid, state, fingerprint in written:
            batch.seen[uuid] = (state, fingerprint)
        return True

    def flush(self, batch=None):
        """Commit what this thread's block holds so far."""
        batch = batch or getattr(self._batch, 'writes', None)
        if batch is None or not batch.statements:
            return
        statements, written = batch.statements, batch.written
        batch.statements, batch.written, batch.seen = [], [], {}
        self.commit(statements, written)

    def commit(self, statements, written):
        """Run prepared statements in one transaction; remember ``written``.

        What was written is remembered only once committed, so that a
        retried write is never skipped.
        """
        self.store.execute(statements)
        self.remember(written)
        self.store.count_write()

    def _statements(self):
        if self._prepared is None:
            dialect = self.store.engine.dialect
            self._prepared = (
                prepared.Statements(tables.steps, 'uuid', dialect),
                prepared.Statements(tables.flows, 'uuid', dialect))
        return self._prepared

    def atom_write(self, ad, flow_uuid=None):
        """The statement that stores ``ad``, and what to remember after.

        An atom stored before (by this process, or read from the store) is
        updated; a new one is inserted into flow ``flow_uuid``.  Returns
        (None, None) when nothing changed since it was last stored.
        """
        text, fingerprint = encode(ad)
        previous = self._last_written(ad.uuid)
        if previous is not None and previous[1] == fingerprint:
            return None, None
        values = {'state': ad.state, 'intention': ad.intention,
                  'data': text}
        if previous is None or previous[0] != ad.state:
            now = utcnow()
            if ad.state in _START:
                values[_START[ad.state]] = now
                if ad.state == states.RUNNING:
                    values['finished_at'] = None
                else:
                    values['revert_finished_at'] = None
            elif ad.state in _END:
                values[_END[ad.state]] = now
                with self._seen_lock:
                    started = self._started.pop(ad.uuid, None)
                if started is not None:  # its RUNNING was not written
                    values['started_at'] = started
        steps, _flows = self._statements()
        if previous is not None:
            statement = (steps.update(sorted(values)),
                         dict(values, key_=ad.uuid))
        else:
            values.update(uuid=ad.uuid, flow_uuid=flow_uuid, name=ad.name,
                          atom_type=models.atom_detail_type(ad))
            statement = (steps.insert(sorted(values)), values)
        return statement, (ad.uuid, ad.state, fingerprint)

    def flow_writes(self, fd, book_uuid=None):
        """Statements that store a flow detail's row and its new atoms.

        Atoms stored before are left to their own saves: Taskflow saves an
        atom every time it changes, and a flow when its state changes or
        atoms are added to it.  Returns (statements, to remember), or None
        when the flow is unknown and no book was given (see write_flow).
        """
        _steps, flows = self._statements()
        values = {'name': fd.name, 'state': fd.state,
                  'meta': _dumps(fd.meta or {})}
        with self._seen_lock:
            known = fd.uuid in self._seen_flows
            new = [ad for ad in fd if ad.uuid not in self._seen]
        if known:
            statements = [(flows.update(sorted(values)),
                           dict(values, key_=fd.uuid))]
        elif book_uuid is not None:
            values.update(uuid=fd.uuid, book_uuid=book_uuid)
            statements = [(flows.insert(sorted(values)), values)]
        else:
            return None
        written = []
        for ad in new:
            statement, entry = self.atom_write(ad, fd.uuid)
            if statement:
                statements.append(statement)
                written.append(entry)
        return statements, written

    def write_flow(self, conn, fd):
        """Slow path: store a flow this process never saw (it must exist)."""
        _steps, flows = self._statements()
        values = {'name': fd.name, 'state': fd.state,
                  'meta': _dumps(fd.meta or {})}
        if not flows.update(sorted(values)).execute(
                conn, dict(values, key_=fd.uuid)):
            raise tf_exc.NotFound('no flow detail %s' % fd.uuid)
        self.known_flow(fd.uuid)
        written = []
        for ad in fd:
            entry = self.write_atom(conn, fd.uuid, ad)
            if entry:
                written.append(entry)
        return written

    def write_atom(self, conn, flow_uuid, ad):
        """Slow path: store an atom whether or not it is stored already."""
        text, fingerprint = encode(ad)
        steps, _flows = self._statements()
        values = {'state': ad.state, 'intention': ad.intention,
                  'data': text}
        if not steps.update(sorted(values)).execute(
                conn, dict(values, key_=ad.uuid)):
            if flow_uuid is None:
                raise tf_exc.NotFound('no atom detail %s' % ad.uuid)
            values.update(uuid=ad.uuid, flow_uuid=flow_uuid, name=ad.name,
                          atom_type=models.atom_detail_type(ad))
            steps.insert(sorted(values)).execute(conn, values)
        return (ad.uuid, ad.state, fingerprint)

    def known_flow(self, flow_uuid):
        with self._seen_lock:
            self._seen_flows.add(flow_uuid)

    # -- reads -----------------------------------------------------------

    def atom_from_row(self, row):
        cls = models.atom_detail_class(row.atom_type)
        data = _loads(row.data, {})
        ad = cls.from_dict(data) if data else cls(row.name, row.uuid)
        if ad.name == INJECTOR and ad.results is None:
            # Taskflow records the values a job injects in two writes (the
            # record, then its values): a controller killed between them
            # left a record Taskflow cannot load (the unit could never run
            # again).  Without values it is injected again (see runner).
            ad.results = {}
        with self._seen_lock:
            # Stored, at this state; the next change will be written.
            self._seen[ad.uuid] = (ad.state, None)
        return ad

    def flow_from_row(self, row, step_rows=()):
        self.known_flow(row.uuid)
        fd = models.FlowDetail(row.name, row.uuid)
        fd.state = row.state
        fd.meta = _loads(row.meta, {})
        for step in step_rows:
            fd.add(self.atom_from_row(step))
        return fd


class Connection(base.Connection):

    def __init__(self, backend):
        self._backend = backend
        self._store = backend.store

    @property
    def backend(self):
        return self._backend

    def close(self):
        pass

    def upgrade(self):
        self._store.upgrade()

    def validate(self):
        self._store.ping()

    def _write(self, fn):
        """Run ``fn(conn)`` in a (retried) transaction of the writer.

        The atoms it returns are remembered once the transaction committed.
        """
        self._backend.flush()  # what a block holds goes first
        written = self._store.write(fn)
        self._backend.remember(written)
        self._store.count_write()

    def _execute(self, statements, written):
        if statements and not self._backend.batched(statements, written):
            self._backend.commit(statements, written)

    def clear_all(self):
        def clear(conn):
            conn.execute(tables.steps.delete())
            conn.execute(tables.flows.delete())
            conn.execute(tables.logbooks.delete())
            return []
        self._write(clear)
        self._backend.forget()

    def update_atom_details(self, atom_detail):
        known = self._backend._last_written(atom_detail.uuid) is not None
        if known:
            statement, entry = self._backend.atom_write(atom_detail)
            if statement is not None:
                self._execute([statement], [entry])
            return atom_detail
        # Never seen by this process: it must exist already.
        self._write(lambda conn: [self._backend.write_atom(conn, None,
                                                           atom_detail)])
        return atom_detail

    def update_flow_details(self, flow_detail):
        prepared_writes = self._backend.flow_writes(flow_detail)
        if prepared_writes is None:
            self._write(lambda conn: self._backend.write_flow(
                conn, flow_detail))
        else:
            self._execute(*prepared_writes)
            self._backend.known_flow(flow_detail.uuid)
        return flow_detail

    def save_logbook(self, book):
        logbooks = tables.logbooks
        now = utcnow()
        values = {'name': book.name, 'meta': _dumps(book.meta or {}),
                  'updated_at': now}
        flows = [self._backend.flow_writes(fd, book.uuid) for fd in book]

        def save(conn):
            updated = conn.execute(
                logbooks.update().where(logbooks.c.uuid == book.uuid),
                values).rowcount
            if not updated:
                conn.execute(logbooks.insert(), dict(
                    values, uuid=book.uuid,
                    created_at=book.created_at or now))
            written = []
            statements = []
            for fd_statements, fd_written in flows:
                statements.extend(fd_statements)
                written.extend(fd_written)
            writer.execute_statements(conn, statements)
            return written
        self._write(save)
        for fd in book:
            self._backend.known_flow(fd.uuid)
        return book

    def destroy_logbook(self, book_uuid):
        def destroy(conn):
            flow_ids = sa.select(tables.flows.c.uuid).where(
                tables.flows.c.book_uuid == book_uuid)
            conn.execute(tables.steps.delete().where(
                tables.steps.c.flow_uuid.in_(flow_ids)))
            conn.execute(tables.flows.delete().where(
                tables.flows.c.book_uuid == book_uuid))
            if not conn.execute(tables.logbooks.delete().where(
                    tables.logbooks.c.uuid == book_uuid)).rowcount:
                raise tf_exc.NotFound('no logbook %s' % book_uuid)
            return []
        try:
            self._write(destroy)
        finally:
            self._backend.forget()

    def _book_from_row(self, conn, row, lazy):
        book = models.LogBook(row.name, uuid=row.uuid)
        book.meta = _loads(row.meta, {})
        book.created_at = row.created_at
        book.updated_at = row.updated_at
        if not lazy:
            for fd in self._flows(conn, row.uuid):
                book.add(fd)
        return book

    def _flows(self, conn, book_uuid, lazy=False):
        """The flow details of a book, their steps read in one query.

        (A job of thousands of units is loaded when it starts or resumes.)
        """
        flows, steps = tables.flows, tables.steps
        rows = conn.execute(sa.select(flows).where(
            flows.c.book_uuid == book_uuid)).fetchall()
        steps_of = collections.defaultdict(list)
        if not lazy and rows:
            for step in conn.execute(sa.select(steps).select_from(
                    steps.join(flows, steps.c.flow_uuid == flows.c.uuid))
                    .where(flows.c.book_uuid == book_uuid)):
                steps_of[step.flow_uuid].append(step)
        return [self._backend.flow_from_row(row, steps_of.get(row.uuid, ()))
                for row in rows]

    def get_logbook(self, book_uuid, lazy=False):
        with self._store.read_engine.connect() as conn:
            row = conn.execute(sa.select(tables.logbooks).where(
                tables.logbooks.c.uuid == book_uuid)).first()
            if row is None:
                raise tf_exc.NotFound('no logbook %s' % book_uuid)
            return self._book_from_row(conn, row, lazy)

    def get_logbooks(self, lazy=False):
        with self._store.read_engine.connect() as conn:
            rows = conn.execute(sa.select(tables.logbooks)).fetchall()
            books = [self._book_from_row(conn, row, lazy) for row in rows]
        return iter(books)

    def get_flows_for_book(self, book_uuid, lazy=False):
        with self._store.read_engine.connect() as conn:
            return iter(self._flows(conn, book_uuid, lazy))

    def get_flow_details(self, fd_uuid, lazy=False):
        with self._store.read_engine.connect() as conn:
            row = conn.execute(sa.select(tables.flows).where(
                tables.flows.c.uuid == fd_uuid)).first()
            if row is None:
                raise tf_exc.NotFound('no flow detail %s' % fd_uuid)
            step_rows = () if lazy else conn.execute(
                sa.select(tables.steps).where(
                    tables.steps.c.flow_uuid == fd_uuid)).fetchall()
            return self._backend.flow_from_row(row, step_rows)

    def get_atom_details(self, ad_uuid):
        with self._store.read_engine.connect() as conn:
            row = conn.execute(sa.select(tables.steps).where(
                tables.steps.c.uuid == ad_uuid)).first()
        if row is None:
            raise tf_exc.NotFound('no atom detail %s' % ad_uuid)
        return self._backend.atom_from_row(row)

    def get_atoms_for_flow(self, fd_uuid):
        with self._store.read_engine.connect() as conn:
            rows = conn.execute(sa.select(tables.steps).where(
                tables.steps.c.flow_uuid == fd_uuid)).fetchall()
        return iter([self._backend.atom_from_row(row) for row in rows])
