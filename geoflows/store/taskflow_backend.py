"""A Taskflow persistence backend on the geoflows state store.

Compared with Taskflow's own SQLAlchemy backend it:

* writes an atom once per real change: a progress-only update (Taskflow
  reports 0.0 and 1.0 around every task) rides along with the next state
  change instead of costing its own commit;
* stamps each step's start and end times from its state transitions, so
  ``geoflows job show`` has durations without extra writes;
* masks registered secrets in everything it writes (failures carry
  exception messages and tracebacks);
* prepares its statements once, instead of rebuilding table metadata for
  every connection.

A write is a committed transaction, so every completed step survives a
SIGKILL of the process.  SQLite runs in WAL mode with ``synchronous=NORMAL``:
a commit reaches the operating system before the call returns, without a
disk sync per step (see :mod:`geoflows.store`).
"""

import datetime
import json
import threading

import sqlalchemy as sa
from taskflow import exceptions as tf_exc
from taskflow.persistence import base
from taskflow.persistence import models
from taskflow import states

from geoflows import secrets
from geoflows.store import tables

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


def _fingerprint(data):
    """What makes two versions of an atom detail worth a write."""
    meta = data.get('meta') or {}
    if any(key in meta for key in _PROGRESS_KEYS):
        data = dict(data, meta={k: v for k, v in meta.items()
                                if k not in _PROGRESS_KEYS})
    return hash(json.dumps(data, default=str, sort_keys=True))


class Backend(base.Backend):
    """Taskflow backend over a :class:`geoflows.store.StateStore`."""

    def __init__(self, store):
        super().__init__({})
        self.store = store
        # uuid -> (state, fingerprint) of what was last written or read.
        self._seen = {}
        self._seen_lock = threading.Lock()

    def get_connection(self):
        return Connection(self)

    def forget(self):
        """Drop what is known of written atoms (after deletions)."""
        with self._seen_lock:
            self._seen.clear()

    def close(self):
        pass

    # -- writes ----------------------------------------------------------
    #
    # Writes run in StateStore.write(), which retries a transaction that
    # lost a deadlock.  They return the (uuid, state, fingerprint) of the
    # atoms they wrote; what was written is remembered only once the
    # transaction committed, so a retried write is not skipped.

    def remember(self, written):
        with self._seen_lock:
            for uuid, state, fingerprint in written:
                self._seen[uuid] = (state, fingerprint)

    def write_atoms(self, conn, flow_uuid, atom_details):
        written = []
        for ad in atom_details:
            entry = self._write_atom(conn, flow_uuid, ad)
            if entry:
                written.append(entry)
        return written

    def _write_atom(self, conn, flow_uuid, ad):
        data = ad.to_dict()
        fingerprint = _fingerprint(data)
        with self._seen_lock:
            previous = self._seen.get(ad.uuid)
        if previous is not None and previous[1] == fingerprint:
            return None
        values = {'state': ad.state, 'intention': ad.intention,
                  'data': _dumps(data)}
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
        steps = tables.steps
        updated = conn.execute(
            steps.update().where(steps.c.uuid == ad.uuid), values).rowcount
        if not updated:
            if flow_uuid is None:
                raise tf_exc.NotFound('no atom detail %s' % ad.uuid)
            conn.execute(steps.insert(), dict(
                values, uuid=ad.uuid, flow_uuid=flow_uuid, name=ad.name,
                atom_type=models.atom_detail_type(ad)))
        return (ad.uuid, ad.state, fingerprint)

    def write_flow(self, conn, book_uuid, fd):
        """Write a flow detail and its atoms; return the atoms written.

        A new flow detail is inserted if ``book_uuid`` is given.
        """
        flows = tables.flows
        values = {'name': fd.name, 'state': fd.state,
                  'meta': _dumps(fd.meta or {})}
        updated = conn.execute(
            flows.update().where(flows.c.uuid == fd.uuid), values).rowcount
        if not updated:
            if book_uuid is None:
                raise tf_exc.NotFound('no flow detail %s' % fd.uuid)
            conn.execute(flows.insert(), dict(values, uuid=fd.uuid,
                                              book_uuid=book_uuid))
        return self.write_atoms(conn, fd.uuid, fd)

    # -- reads -----------------------------------------------------------

    def atom_from_row(self, row):
        cls = models.atom_detail_class(row.atom_type)
        data = _loads(row.data, {})
        ad = cls.from_dict(data) if data else cls(row.name, row.uuid)
        with self._seen_lock:
            self._seen[ad.uuid] = (ad.state, _fingerprint(ad.to_dict()))
        return ad

    def flow_from_row(self, row, conn=None, lazy=False):
        fd = models.FlowDetail(row.name, row.uuid)
        fd.state = row.state
        fd.meta = _loads(row.meta, {})
        if not lazy:
            steps = tables.steps
            for step in conn.execute(sa.select(steps).where(
                    steps.c.flow_uuid == row.uuid)):
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
        """Run ``fn(conn)`` in a (retried) transaction.

        The atoms it wrote are remembered once the transaction committed;
        each transaction counts as one write.
        """
        written = self._store.write(fn)
        self._backend.remember(written)
        self._store.count_write()

    def clear_all(self):
        def clear(conn):
            conn.execute(tables.steps.delete())
            conn.execute(tables.flows.delete())
            conn.execute(tables.logbooks.delete())
            return []
        self._write(clear)
        self._backend.forget()

    def update_atom_details(self, atom_detail):
        steps = tables.steps
        with self._backend._seen_lock:
            previous = self._backend._seen.get(atom_detail.uuid)
        if previous is not None and previous[1] == _fingerprint(
                atom_detail.to_dict()):
            return atom_detail  # progress only: no transaction at all
        known = previous is not None

        def update(conn):
            flow_uuid = None
            if not known:
                flow_uuid = conn.execute(sa.select(steps.c.flow_uuid).where(
                    steps.c.uuid == atom_detail.uuid)).scalar()
                if flow_uuid is None:
                    raise tf_exc.NotFound('no atom detail %s'
                                          % atom_detail.uuid)
            entry = self._backend._write_atom(conn, flow_uuid, atom_detail)
            return [entry] if entry else []
        self._write(update)
        return atom_detail

    def update_flow_details(self, flow_detail):
        self._write(lambda conn: self._backend.write_flow(conn, None,
                                                          flow_detail))
        return flow_detail

    def save_logbook(self, book):
        logbooks = tables.logbooks
        now = utcnow()
        values = {'name': book.name, 'meta': _dumps(book.meta or {}),
                  'updated_at': now}

        def save(conn):
            updated = conn.execute(
                logbooks.update().where(logbooks.c.uuid == book.uuid),
                values).rowcount
            if not updated:
                conn.execute(logbooks.insert(), dict(
                    values, uuid=book.uuid,
                    created_at=book.created_at or now))
            written = []
            for fd in book:
                written.extend(self._backend.write_flow(conn, book.uuid, fd))
            return written
        self._write(save)
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
        flows = tables.flows
        for row in conn.execute(sa.select(flows).where(
                flows.c.book_uuid == book_uuid)):
            yield self._backend.flow_from_row(row, conn, lazy)

    def get_logbook(self, book_uuid, lazy=False):
        with self._store.engine.connect() as conn:
            row = conn.execute(sa.select(tables.logbooks).where(
                tables.logbooks.c.uuid == book_uuid)).first()
            if row is None:
                raise tf_exc.NotFound('no logbook %s' % book_uuid)
            return self._book_from_row(conn, row, lazy)

    def get_logbooks(self, lazy=False):
        with self._store.engine.connect() as conn:
            rows = conn.execute(sa.select(tables.logbooks)).fetchall()
            books = [self._book_from_row(conn, row, lazy) for row in rows]
        return iter(books)

    def get_flows_for_book(self, book_uuid, lazy=False):
        with self._store.engine.connect() as conn:
            return iter(list(self._flows(conn, book_uuid, lazy)))

    def get_flow_details(self, fd_uuid, lazy=False):
        with self._store.engine.connect() as conn:
            row = conn.execute(sa.select(tables.flows).where(
                tables.flows.c.uuid == fd_uuid)).first()
            if row is None:
                raise tf_exc.NotFound('no flow detail %s' % fd_uuid)
            return self._backend.flow_from_row(row, conn, lazy)

    def get_atom_details(self, ad_uuid):
        with self._store.engine.connect() as conn:
            row = conn.execute(sa.select(tables.steps).where(
                tables.steps.c.uuid == ad_uuid)).first()
        if row is None:
            raise tf_exc.NotFound('no atom detail %s' % ad_uuid)
        return self._backend.atom_from_row(row)

    def get_atoms_for_flow(self, fd_uuid):
        with self._store.engine.connect() as conn:
            rows = conn.execute(sa.select(tables.steps).where(
                tables.steps.c.flow_uuid == fd_uuid)).fetchall()
        return iter([self._backend.atom_from_row(row) for row in rows])
