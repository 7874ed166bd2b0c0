"""A lean forward run of a unit's flow, on Taskflow's own storage.

A takeover of thousands of VNFs runs thousands of small flows whose forward
run is almost always plain: each step after the steps it needs, a paced
retry around a wait.  Taskflow's engine spends most of the orchestration
CPU of such a run on machinery that only failures and reverts use
(compiling the flow into its execution graph, a state machine, deciders,
scopes, readiness checks that walk every ancestor).  :func:`run` does that
plain forward run and nothing else:

* the steps run in the order the flow's links give, side by side on the
  runner's call pool;
* each state change is recorded through Taskflow's storage of the unit, as
  Taskflow's engine records it (RUNNING before a step runs, SUCCESS with
  its result after; a paced retry's attempts in its history), so that
  Taskflow's engine can take the unit over at any point; a step's end and
  the start of the steps it releases share one commit, and a step with
  nothing to undo is not recorded RUNNING (see :meth:`_Run._begin`);
* at the first thing it does not handle (a step that fails, a retry that
  gives up, a flow shape it does not know, a unit already partly reverted,
  a request to stop) it stops starting steps, lets the running ones end
  and returns False, the failure recorded as Taskflow's engine records
  one: the runner then runs Taskflow's engine on the unit, which resolves
  that failure as its own (reverts the unit) or goes on (a suspension).

A crash during a lean run leaves what a crash of Taskflow's engine leaves:
steps recorded RUNNING are run again by whoever resumes the unit.
"""

import concurrent.futures
import logging

from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow
from taskflow import retry as retry_mod
from taskflow import states
from taskflow import task as task_mod
from taskflow.types import failure as failure_mod

from geoflows import exceptions
from geoflows.tasks import base

LOG = logging.getLogger(__name__)


class Unsupported(Exception):
    """The flow has a shape the lean run does not handle."""


class _Shape(object):
    """The flow's atoms, what each must wait for, and the paced waits."""

    def __init__(self, flow):
        self.atoms = []
        self.before = {}  # atom name -> names of the atoms it waits for
        self.retry_of = {}  # task name -> its PacedRetry
        self.undoes_nothing = set()  # tasks whose revert does nothing
        self._walk(flow)
        provided = {}
        for atom in self.atoms:
            for name in atom.provides:
                if name in provided:
                    raise Unsupported('%s is provided twice' % name)
                provided[name] = atom.name

    def _add(self, atom):
        if isinstance(atom, task_mod.Task) and \
                type(atom).revert is task_mod.Task.revert:
            self.undoes_nothing.add(atom.name)
        self.atoms.append(atom)
        self.before[atom.name] = set()
        return {atom.name}, {atom.name}

    def _link(self, exits, entries):
        for name in entries:
            self.before[name].update(exits)

    def _walk(self, item):
        """Add ``item``; return (its first atoms, its last atoms)."""
        if isinstance(item, task_mod.Task):
            return self._add(item)
        if isinstance(item, linear_flow.Flow):
            if item.retry is not None:
                return self._paced(item)
            first = last = None
            for child in item:
                entries, exits = self._walk(child)
                if last is not None:
                    self._link(last, entries)
                first = entries if first is None else first
                last = exits
            if first is None:
                raise Unsupported('an empty flow')
            return first, last
        if isinstance(item, graph_flow.Flow) and item.retry is None:
            ends = {}
            for child, _data in item.iter_nodes():
                ends[child] = self._walk(child)
            linked_to, linked_from = set(), set()
            for u, v, _data in item.iter_links():
                self._link(ends[u][1], ends[v][0])
                linked_from.add(u)
                linked_to.add(v)
            if not ends:
                raise Unsupported('an empty flow')
            entries = [e[0] for c, e in ends.items() if c not in linked_to]
            exits = [e[1] for c, e in ends.items() if c not in linked_from]
            return set().union(*entries), set().union(*exits)
        raise Unsupported('a %s' % type(item).__name__)

    def _paced(self, flow):
        retry = flow.retry
        children = list(flow)
        if not isinstance(retry, base.PacedRetry) or not children or \
                not all(isinstance(c, task_mod.Task) and
                        type(c).revert is task_mod.Task.revert
                        for c in children):
            # A retry undoes its tasks before each new attempt: only tasks
            # with nothing to undo are run here.
            raise Unsupported('a retry other than a paced wait')
        entries, last = self._add(retry)
        for child in children:
            names, _ = self._add(child)
            self._link(last, names)
            last = names
            self.retry_of[child.name] = retry
        return entries, last


def shape_of(flow):
    """The shape of ``flow`` for :func:`run`; raises Unsupported."""
    return _Shape(flow)


def _call(atom, arguments):
    """Run a step (in a pool thread): ('done', result) or ('failed', f)."""
    try:
        atom.pre_execute()
        result = atom.execute(**arguments)
        atom.post_execute()
        return 'done', result
    except Exception:
        return 'failed', failure_mod.Failure()


class _Run(object):

    def __init__(self, flow, storage, executor, on_step, stop_requested):
        self.shape = shape_of(flow)
        self.scope = [[atom.name for atom in self.shape.atoms]]
        self.storage = storage
        self.executor = executor
        # Executors that can run a call in the caller's thread, within
        # their cap (geoflows.runner.CallPool).
        self.run_here = getattr(executor, 'run_here', None)
        self.on_step = on_step
        self.stop_requested = stop_requested
        self.running = {}  # future -> atom
        self.stopping = False
        self.told = []  # (step, state, error) for on_step

    def _succeeded(self, atom, result):
        self.storage.save(atom.name, result, states.SUCCESS)
        self._tell(atom.name, states.SUCCESS)

    def _arguments(self, atom):
        # Every step sees every result: each name has one provider.
        arguments = self.storage.fetch_mapped_args(
            atom.rebind, atom_name=atom.name, optional_args=atom.optional,
            scope_walker=self.scope)
        if isinstance(atom, retry_mod.Retry):
            arguments[retry_mod.EXECUTE_REVERT_HISTORY] = \
                self.storage.get_retry_history(atom.name)
        return arguments

    def _begin(self, atom):
        """Record that ``atom`` starts; return its arguments.

        A step with nothing to undo (a look-up, a wait) is not recorded
        RUNNING: a crash while it runs leaves it PENDING, and a resume runs
        it again, as it would a RUNNING one; its start time is written with
        its end.  Any other step is RUNNING before its call goes out, so
        that a revert after a crash undoes what the call may have made.
        """
        if not (atom.name in self.shape.undoes_nothing and
                self.storage.note_start(atom.name)):
            self.storage.set_atom_state(atom.name, states.RUNNING)
        self._tell(atom.name, states.RUNNING)
        return self._arguments(atom)

    def _tell(self, name, state, error=None):
        """Tell on_step, once what the block wrote is committed."""
        if self.on_step is not None:
            self.told.append((name, state, error))

    def _submit(self, atom, arguments, here=False):
        if here:
            future = concurrent.futures.Future()
            future.set_result(self.run_here(_call, atom, arguments))
        else:
            future = self.executor.submit(_call, atom, arguments)
        self.running[future] = atom

    def _retry(self, atom, failure):
        """A paced wait said NotReady: its retry says whether to go on."""
        retry = self.shape.retry_of.get(atom.name)
        if retry is None or not failure.check(exceptions.NotReady):
            return False
        self.storage.save_retry_failure(retry.name, atom.name, failure)
        if retry.on_failure(**self._arguments(retry)) != retry_mod.RETRY:
            return False
        # Both back to PENDING, then the retry (it paces) and the wait
        # again, as Taskflow's engine does.
        self.storage.set_atom_state(atom.name, states.PENDING)
        self.storage.set_atom_state(retry.name, states.PENDING)
        self.done.discard(retry.name)
        return True

    def run(self):
        storage = self.storage
        names = [atom.name for atom in self.shape.atoms]
        storage.ensure_atoms(self.shape.atoms)
        for atom in self.shape.atoms:
            if atom.inject:
                storage.inject_atom_args(atom.name, atom.inject,
                                         transient=True)
        found = storage.get_atoms_states(names)
        self.done = set()
        for name, (state, intention) in found.items():
            if intention != states.EXECUTE or state not in (
                    states.PENDING, states.RUNNING, states.SUCCESS):
                return self._stop('step %s is %s (to %s)' % (
                    name, state, intention))
            if state == states.SUCCESS:
                self.done.add(name)
        for retry in set(self.shape.retry_of.values()):
            if retry.name in self.done and any(
                    t not in self.done for t, r in self.shape.retry_of.items()
                    if r is retry):
                return self._stop('stopped while %s waited' % retry.name)
        if storage.get_flow_state() not in (states.PENDING, states.RUNNING,
                                            states.SUSPENDED,
                                            states.RESUMING):
            return self._stop('the unit is %s' % storage.get_flow_state())
        waiting = [atom for atom in self.shape.atoms
                   if atom.name not in self.done]
        ok, succeeded = True, False
        finished = ()
        first = True
        while True:
            # What ended and what starts next share one commit: each
            # step's call waits for the writer once, not twice.
            starting = []
            with storage.together():
                if first:
                    storage.set_flow_state(states.RUNNING)
                    first = False
                for future in finished:
                    ok = self._ended(future, waiting, ok)
                if ok and not self.stopping and self.stop_requested():
                    self.stopping = True
                if ok and not self.stopping:
                    for atom in waiting:
                        if self.shape.before[atom.name] <= self.done:
                            starting.append((atom, self._begin(atom)))
                    if starting:
                        started = {atom.name for atom, _ in starting}
                        waiting = [a for a in waiting
                                   if a.name not in started]
                    elif not waiting and not self.running:
                        # The last step's end and the unit's, together.
                        storage.set_flow_state(states.SUCCESS)
                        succeeded = True
            # Committed: the calls may go out, and on_step be told.
            told, self.told = self.told, []
            for event in told:
                self.on_step(*event)
            # A lone step (a chain's next one) runs in this thread.
            here = len(starting) == 1 and not self.running and \
                self.run_here is not None
            for atom, arguments in starting:
                self._submit(atom, arguments, here)
            if not self.running:
                break
            if here:
                finished = list(self.running)
            else:
                finished, _ = concurrent.futures.wait(
                    list(self.running),
                    return_when=concurrent.futures.FIRST_COMPLETED)
        if succeeded:
            return True
        return self._stop('a step failed' if not ok else
                          'asked to stop' if self.stopping else
                          'steps left: %s' % ', '.join(
                              a.name for a in waiting))

    def _ended(self, future, waiting, ok):
        """Record how a step ended; False once one failed."""
        atom = self.running.pop(future)
        outcome, result = future.result()
        if outcome == 'done':
            self._succeeded(atom, result)
            self.done.add(atom.name)
        elif ok and not self.stopping and self._retry(atom, result):
            waiting.append(atom)
            waiting.append(self.shape.retry_of[atom.name])
        else:
            # Recorded as Taskflow's engine records a failure: it
            # resolves it when it takes over (reverts the unit).
            self.storage.save(atom.name, result, states.FAILURE)
            self._tell(atom.name, states.FAILURE, result.exception_str)
            return False
        return ok

    def _stop(self, why):
        LOG.debug('flow %s goes on in Taskflow\'s engine: %s',
                  self.storage.flow_name, why)
        return False


def run(flow, storage, executor, on_step=None, stop_requested=None):
    """Run ``flow`` forward on ``storage``; True once it succeeded.

    False: it stopped (a failure, a stop request, a state or shape it does
    not handle); what ran is recorded and Taskflow's engine takes over.
    ``on_step(name, state, error)`` is told of each step's state change;
    ``stop_requested()`` is asked before steps are started.
    """
    try:
        lean = _Run(flow, storage, executor, on_step,
                    stop_requested or (lambda: False))
    except Unsupported as e:
        LOG.debug('flow %s is run by Taskflow\'s engine: %s', flow.name, e)
        return False
    return lean.run()
