"""Taskflow engines for the units of a job.

They are Taskflow's serial and parallel action engines with one change, in
their storage layer:

* a save is not wrapped in Taskflow's own retry (tenacity): the geoflows
  state store already retries a transaction that lost a deadlock, and the
  wrapper costs more than a write;
* task progress, which Taskflow reports at 0.0 and 1.0 around every task,
  is kept in memory and not saved: nothing in geoflows reads it, and each
  report would otherwise cost a copy and an encoding of the step;
* with the option ``validated``, the check that every step's inputs are
  provided is not repeated each time the engine runs: the runner checks one
  flow of each kind when it records a job (:func:`validate`), and a job of
  thousands of units would otherwise check thousands of flows of a few
  shapes.

Every state change of a step is still saved before the engine goes on.
"""

import contextlib
import functools
import threading

import fasteners
import fasteners.lock
from oslo_utils import uuidutils
from taskflow.engines.action_engine import engine as action_engine
from taskflow.persistence import models
from taskflow import storage
from taskflow.utils import misc


class _Mutex(object):
    """Taskflow's reader/writer lock interface over one re-entrant lock.

    A unit's storage is used by its engine's thread (and briefly by the
    threads of its parallel steps); an exclusive lock costs a fraction of a
    reader/writer lock, which Taskflow takes some 200 times per unit.
    """

    def __init__(self):
        self._lock = threading.RLock()

    def read_lock(self):
        return self._lock

    def write_lock(self):
        return self._lock


def _under_lock(function):
    """``function`` holding the storage's lock.

    Taskflow's storage methods take their lock through a fasteners
    decorator, which looks the lock up and asks it for a context on each
    of the 30-odd storage reads a step costs; this takes it directly.
    """
    @functools.wraps(function)
    def locked(self, *args, **kwargs):
        with self._mutex:
            return function(self, *args, **kwargs)
    return locked


class Storage(storage.Storage):

    def __init__(self, *args, **kwargs):
        mutex = _Mutex()
        self._lock, self._mutex = mutex, mutex.write_lock()
        super().__init__(*args, **kwargs)
        self._lock = mutex  # in place of Taskflow's reader/writer lock

    def together(self):
        """The writes in the block share one commit, at its end.

        (:meth:`geoflows.store.taskflow_backend.Backend.together`.)
        """
        together = getattr(self._backend, 'together', None)
        return together() if together else contextlib.nullcontext()

    def note_start(self, atom_name):
        """Step ``atom_name`` starts, its RUNNING state not written.

        False when the backend cannot note it: then write the state.
        """
        note = getattr(self._backend, 'note_start', None)
        if note is None:
            return False
        note(self.get_atom_uuid(atom_name))
        return True

    def _save_flow_detail(self, conn, original_flow_detail, flow_detail):
        original_flow_detail.update(conn.update_flow_details(flow_detail))
        return original_flow_detail

    def _save_atom_detail(self, conn, original_atom_detail, atom_detail):
        original_atom_detail.update(conn.update_atom_details(atom_detail))
        return original_atom_detail

    @fasteners.write_locked
    def set_task_progress(self, task_name, progress, details=None):
        source, _clone = self._atomdetail_by_name(
            task_name, expected_type=models.TaskDetail)
        source.meta[storage.META_PROGRESS] = progress


def _locked_by_fasteners(function):
    code = getattr(function, '__code__', None)
    return hasattr(function, '__wrapped__') and code is not None and \
        code.co_filename == fasteners.lock.__file__


# Every method of Taskflow's storage that a fasteners decorator locks (it
# keeps the undecorated function as __wrapped__).
for _name, _function in list(vars(storage.Storage).items()):
    if _locked_by_fasteners(_function) and _name not in vars(Storage):
        setattr(Storage, _name, _under_lock(_function.__wrapped__))


class _GeoflowsStorage(object):

    def validate(self):
        if self.options.get('validated'):
            self._validated = True  # what Taskflow's own check concludes
            return
        super().validate()

    @misc.cachedproperty
    def storage(self):
        def scope_fetcher(atom_name):
            if self._compiled:
                return self._runtime.fetch_scopes_for(atom_name)
            return None
        return Storage(self._flow_detail, backend=self._backend,
                       scope_fetcher=scope_fetcher)


class SerialEngine(_GeoflowsStorage, action_engine.SerialActionEngine):
    """Runs a flow's steps one at a time, in the caller's thread."""


class ParallelEngine(_GeoflowsStorage, action_engine.ParallelActionEngine):
    """Hands a flow's independent steps to an executor, side by side."""


def validate(flow, inject=None):
    """Check that every step of ``flow`` gets its inputs; raise if not.

    Raises taskflow.exceptions.MissingDependencies, naming the steps and
    the inputs nothing provides.  Nothing is saved.
    """
    detail = models.FlowDetail(flow.name, uuid=uuidutils.generate_uuid())
    engine = SerialEngine(flow, detail, None, {})
    engine.compile()
    engine.prepare()
    if inject:
        engine.storage.inject(inject)
    engine.validate()
