"""The job runner: every operation runs as a persisted, reversible job.

A job is a DAG of *units* (networkx): one per interconnect today, one per
VNF later.  Each unit is a small Taskflow flow with its own flow detail in
the state store and its own engine; the runner runs ready units side by side
(futurist thread pools bound both the units and the OpenStack calls in
flight).  Small per-unit graphs keep the engine's cost per unit flat as
plans grow, where one graph of the whole plan would cost N².

Forward, a unit that fails is reverted by its engine; the runner then stops
starting units and reverts every other unit that ran, last first.  With
``keep_on_failure`` nothing is reverted: the job ends FAILED and ``resume``
(retry the failed steps) or ``revert`` finishes it.  Every state change is
committed before the next step starts, so after a crash (even SIGKILL) a
resume continues where the job stopped: steps that were running are run
again, and find what their first attempt created.

    runner = Runner.from_config()
    job = runner.start('interconnect.setup', plan)
    print(job.state, job.result)
"""

import collections
import dataclasses
import logging
import os
import queue
import socket
import threading

import futurist
import networkx
from oslo_utils import uuidutils
from taskflow import exceptions as tf_exc
from taskflow.listeners import base as listener_base
from taskflow.persistence import models
from taskflow import states

from geoflows import clouds as clouds_mod
from geoflows import conf as conf_mod
from geoflows import context
from geoflows import engines
from geoflows import exceptions
from geoflows import flows
from geoflows import forward
from geoflows import jobs
from geoflows import locks as locks_mod
from geoflows import operations
from geoflows import queries
from geoflows import secrets
from geoflows import store as store_mod

LOG = logging.getLogger(__name__)

INJECTED = queries.INJECTED
#: units of a job whose flows are built at once (see _JobRun)
LOADING_AT_ONCE = 4
#: The failure policy of takeovers and failbacks (the job option
#: failure_policy): a failed unit is undone alone, the units that need it
#: are skipped, the others go on, and the job ends PARTIAL.
ISOLATE = 'isolate'


def owner_id():
    return '%s:%d' % (socket.gethostname(), os.getpid())


def iter_atoms(flow):
    """Every atom of ``flow`` and its subflows, retry controllers too."""
    if getattr(flow, 'retry', None) is not None:
        yield flow.retry
    for node, _data in flow.iter_nodes():
        if hasattr(node, 'iter_nodes'):
            yield from iter_atoms(node)
        else:
            yield node


def atom_names(flow):
    return [atom.name for atom in iter_atoms(flow)]


def bind(flow, ctx, atoms=None):
    """Bind every task of ``flow`` to ``ctx`` (see geoflows.context).

    ``atoms``: the flow's, when already listed.
    """
    for atom in iter_atoms(flow) if atoms is None else atoms:
        if hasattr(atom, 'bind'):
            atom.bind(ctx)


class CallPool(futurist.ThreadPoolExecutor):
    """The steps' pool: at most ``max_workers`` calls at once, all told.

    A lean unit whose next step is the only one it has to run runs that
    step in its own thread (:meth:`run_here`), in one of the same slots:
    a chain of steps (most of a VNF's takeover, after its look-ups) is
    spared a hand-off to a pool thread and back per step, and the sites
    still see no more calls at once than ``max_parallel_calls``.
    """

    def __init__(self, max_workers):
        super().__init__(max_workers=max_workers)
        self._slots = threading.Semaphore(max_workers)

    def submit(self, fn, *args, **kwargs):
        return super().submit(self.run_here, fn, *args, **kwargs)

    def run_here(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` in the caller's thread, in a slot."""
        with self._slots:
            return fn(*args, **kwargs)


def _injected(storage, name):
    """Whether a unit's storage holds the injected value ``name``."""
    try:
        storage.fetch(name)
    except (tf_exc.NotFound, tf_exc.DisallowedAccess):
        return False
    return True


def _inject(storage, values):
    """Give a unit's steps ``values``, durably, in one commit.

    Taskflow first records the atom that holds injected values, then its
    values: two writes, and a crash between them left a holder without a
    value, which every later read of the unit refused.  Such a holder (of
    a version that did not make them one commit) is completed.
    """
    with storage.together():
        try:
            state = storage.get_atom_state(storage.injector_name)
        except tf_exc.NotFound:
            state = states.SUCCESS  # none yet: Taskflow makes it
        if state != states.SUCCESS:
            storage.save(storage.injector_name, {}, states.SUCCESS)
        storage.inject(values)


def describe_failure(failure):
    text = failure.exception_str or str(failure)
    return secrets.mask(text)


def service_call_caps(conf):
    """{service: cap} from [runner] service_call_caps."""
    caps = {}
    for service, value in (conf.runner.service_call_caps or {}).items():
        if service not in ('compute', 'block_storage', 'image', 'network'):
            raise exceptions.ConfigError(
                '[runner] service_call_caps: unknown service %r (give '
                'compute, block_storage, image or network)' % service)
        try:
            cap = int(value)
        except ValueError:
            cap = 0
        if cap < 1:
            raise exceptions.ConfigError(
                '[runner] service_call_caps: %s:%s is not a number of calls'
                ' of 1 or more' % (service, value))
        caps[service] = cap
    return caps


def _check_flow(unit, options):
    """Build the flow of ``unit``; check that its steps get their inputs.

    The units of a kind share their flow's shape: their engines then skip
    this check (see geoflows.engines).
    """
    flow = flows.build(unit['flow'], unit['args'], options)
    try:
        engines.validate(flow, inject={'job_id': None})
    except tf_exc.MissingDependencies as e:
        raise exceptions.JobError(
            'the %s flow of unit %s is incomplete, which is a bug in '
            'geoflows: %s' % (unit['flow'], unit['name'], e))


class _Progress(listener_base.Listener):
    """Forward step state changes of one unit to the caller's callback."""

    def __init__(self, engine, job_id, unit, callback):
        super().__init__(engine, flow_listen_for=())
        self.job_id = job_id
        self.unit = unit
        self.callback = callback

    def _receive(self, state, name, details):
        error = None
        result = details.get('result')
        if state in (states.FAILURE, states.REVERT_FAILURE) and \
                hasattr(result, 'exception_str'):
            error = describe_failure(result)
        try:
            self.callback(jobs.Event(self.job_id, self.unit, name, state,
                                     error=error))
        except Exception:  # a display must never break a job
            LOG.exception('progress callback failed')

    def _task_receiver(self, state, details):
        self._receive(state, details['task_name'], details)

    def _retry_receiver(self, state, details):
        self._receive(state, details['retry_name'], details)


class Runner(object):
    """Starts, resumes, reverts and aborts jobs on one state store."""

    def __init__(self, store, clouds, secret_resolver, options,
                 max_parallel_units=128, max_parallel_calls=32,
                 abort_poll_interval=1.0, keep_on_failure=False, owner=None,
                 call_caps=None):
        self.store = store
        #: recorded as the owner of the jobs this runner runs
        self.owner = owner or owner_id()
        self.store.upgrade()
        self.backend = store.taskflow_backend()
        self.locks = locks_mod.for_store(store)
        self.queries = queries.JobQueries(store, self.locks,
                                          runs_here=self._runs_here)
        self.clouds = clouds
        self.options = dict(options)
        self.max_parallel_units = max_parallel_units
        self.abort_poll_interval = abort_poll_interval
        self.keep_on_failure = keep_on_failure
        self._runs = {}
        self._runs_lock = threading.Lock()
        # Long-lived pools shared by the jobs of this runner: one runs
        # units (each blocks in its engine), the other runs their steps.
        self.unit_pool = futurist.ThreadPoolExecutor(
            max_workers=max_parallel_units)
        self.call_pool = CallPool(max_parallel_calls)
        secrets.install_log_masking()
        self.context = context.Context(clouds, store, secret_resolver,
                                       call_caps=call_caps)

    @classmethod
    def from_config(cls, conf=None, owner=None):
        conf = conf or conf_mod.CONF
        state_dir = os.path.expanduser(conf.state_dir)
        store = store_mod.StateStore(conf.state.connection or
                                     store_mod.default_url(state_dir))
        cloud_access = clouds_mod.Clouds(
            config_file=conf.clouds.config_file,
            api_timeout=conf.clouds.api_timeout,
            connect_retries=conf.clouds.connect_retries)
        resolver = secrets.SecretResolver(
            conf.ipsec.master_key_file or os.path.join(state_dir,
                                                       'master.key'))
        return cls(store, cloud_access, resolver,
                   operations.options_from_config(conf),
                   max_parallel_units=conf.runner.max_parallel_units,
                   max_parallel_calls=conf.runner.max_parallel_calls,
                   abort_poll_interval=conf.runner.abort_poll_interval,
                   keep_on_failure=conf.runner.keep_on_failure,
                   owner=owner, call_caps=service_call_caps(conf))

    def close(self):
        """Stop the runner's threads (its jobs must have ended).

        Idle futurist workers notice the shutdown within a second; nothing
        is left to wait for, so do not.
        """
        self.unit_pool.shutdown(wait=False)
        self.call_pool.shutdown(wait=False)

    # -- queries ---------------------------------------------------------

    def _runs_here(self, job_id):
        with self._runs_lock:
            return job_id in self._runs

    def get(self, job_id):
        """The job ``job_id`` (or a unique prefix of it)."""
        return self.queries.get(job_id)

    def list(self, states=None, limit=None):
        return self.queries.list(states, limit)

    def steps(self, job_id):
        """The steps of a job, in the order they ran."""
        return self.queries.steps(job_id)

    # -- starting and finishing jobs --------------------------------------

    def start(self, operation, plan, names=None, keep_on_failure=None,
              on_event=None, params=None):
        """Run ``operation`` on ``plan`` (all its items, or ``names``).

        ``params``: the operation's own parameters (a takeover's mode and
        checkpoint...).  Returns the final :class:`geoflows.jobs.Job`; its
        state says how it ended.  Raises
        :class:`geoflows.exceptions.GeoflowsError` when the job cannot start
        at all.
        """
        job_id = self.create(operation, plan, names, keep_on_failure,
                             params=params)
        return self.run(job_id, on_event)

    def run(self, job_id, on_event=None):
        """Run a job made by :meth:`create`; return it when it ends."""
        return self._execute(job_id, jobs.MODE_RUN, on_event)

    def create(self, operation, plan, names=None, keep_on_failure=None,
               job_id=None, params=None):
        """Record a job without running it; return its id.

        ``job_id`` chooses the id (callers that must find their job again
        after a crash derive it from their own request); by default a new
        one is generated.  ``params``: see :meth:`start` (recorded with the
        job).
        """
        job_id = job_id or uuidutils.generate_uuid()
        params = dict(params or {})
        # Protection jobs read their sites first: what is wrong is said
        # before the job exists.
        units = operations.build_units(operation, plan, names,
                                       context=self.context,
                                       options=dict(self.options,
                                                    job_id=job_id, **params))
        return self.create_job(
            operation, {'name': plan.name, 'digest': plan.digest,
                        'source': plan.source, 'document': plan.document},
            units, keep_on_failure, job_id=job_id, params=params)

    def create_job(self, operation, plan_info, units, keep_on_failure=None,
                   job_id=None, params=None):
        """Record a job of ``units`` (see geoflows.operations)."""
        options = dict(self.options, keep_on_failure=(
            self.keep_on_failure if keep_on_failure is None
            else keep_on_failure),
            failure_policy=operations.failure_policy(operation))
        built = set()
        for unit in units:  # fail now, not in the middle of the job
            if unit['flow'] not in built:
                _check_flow(unit, options)
                built.add(unit['flow'])
        job_id = job_id or uuidutils.generate_uuid()
        spec = {'plan': plan_info, 'options': options, 'units': units,
                'params': dict(params or {})}
        # The logbook first: a job record always has its logbook (a crash
        # in between leaves an unreferenced logbook, which is harmless).
        book = models.LogBook(operation, uuid=job_id)
        for unit in units:
            book.add(models.FlowDetail(unit['name'],
                                       uuidutils.generate_uuid()))
        self.backend.get_connection().save_logbook(book)
        self.store.create_job(job_id, operation, plan_info['name'],
                              plan_info['digest'], spec, state=jobs.PENDING)
        return job_id

    def resume(self, job_id, on_event=None):
        """Finish a job that stopped (crash, failure kept, suspension).

        A job that was being reverted goes on reverting.
        """
        job = self.get(job_id)
        if job.state in jobs.FINAL_STATES:
            raise exceptions.JobError(
                'job %s is %s; there is nothing to resume' % (job.id,
                                                              job.state))
        return self._execute(job.id, job.mode, on_event)

    def revert(self, job_id, on_event=None):
        """Undo everything the job did (also after it succeeded)."""
        job = self.get(job_id)
        if job.state == jobs.REVERTED:
            raise exceptions.JobError('job %s is already reverted' % job.id)
        refused = operations.refuse_revert(self.store, job)
        if refused:
            raise exceptions.JobError(refused)
        return self._execute(job.id, jobs.MODE_REVERT, on_event,
                             reason='reverted on request')

    def abort(self, job_id, keep=False):
        """Ask a running job to stop after its current steps.

        It then reverts what it did, or with ``keep`` ends SUSPENDED.
        """
        job = self.get(job_id)
        if job.state != jobs.RUNNING or job.stale:
            raise exceptions.JobError(
                'job %s is not running (%s); use "geoflows job revert %s" to'
                ' undo it or "geoflows job resume %s" to finish it' % (
                    job.id, job.display_state, job.id, job.id))
        self.store.update_job(job.id,
                              abort_requested='keep' if keep else 'revert')
        with self._runs_lock:
            run = self._runs.get(job.id)
        if run is not None:  # the job runs in this process
            run.request_abort(keep)
        return self.get(job.id)

    def suspend(self, job_id):
        """Stop a job this process runs after its current steps.

        Unlike :meth:`abort` it records no request: the job ends SUSPENDED
        as if its process had stopped, and whoever resumes it goes on (a
        conductor hands its jobs over this way when it is stopped).  Returns
        False if this process does not run the job.
        """
        with self._runs_lock:
            run = self._runs.get(job_id)
        if run is None:
            return False
        run.request_abort(keep=True)
        return True

    def running(self):
        """Ids of the jobs this process runs now."""
        with self._runs_lock:
            return list(self._runs)

    def _acquire_locks(self, job):
        held = []
        names = ['job:%s' % job.id] + sorted(
            {name for unit in job.units for name in unit['locks']})
        for name in names:
            lock = self.locks.try_acquire(name)
            if lock is None:
                for other in held:
                    other.release()
                if name.startswith('job:'):
                    raise exceptions.JobBusy(
                        'job %s is running in another process (%s); wait '
                        'for it, or abort it with "geoflows job abort %s"'
                        % (job.id, job.owner, job.id))
                holders = [j.id for j in self.store.list_jobs(
                    [jobs.RUNNING]) if j.id != job.id and any(
                        name in unit['locks'] for unit in j.units)]
                raise exceptions.JobBusy(
                    '%s is in use by running job %s; wait for it to end or '
                    'abort it' % (name.split(':', 1)[1],
                                  ', '.join(holders) or '(unknown)'))
            held.append(lock)
        return held

    def _execute(self, job_id, mode, on_event, reason=None):
        job = self.store.get_job(job_id)
        if reason is None and mode == jobs.MODE_REVERT:
            reason = job.error  # a resumed revert keeps the original cause
        held = self._acquire_locks(job)
        try:
            # Known to run here before it is RUNNING in the store: a
            # conductor stopped the moment it shows RUNNING must find it
            # (to hand it over), not let it run on.
            starting = _StartingRun()
            with self._runs_lock:
                self._runs[job.id] = starting
            try:
                now = store_mod.utcnow()
                running = dict(
                    state=jobs.RUNNING, mode=mode, owner=self.owner,
                    started_at=job.started_at or now, finished_at=None,
                    attempts=job.attempts + 1, abort_requested=None)
                self.store.update_job(job.id, **running)
                # As recorded (read again, a large job's spec costs its
                # decoding again).
                job = dataclasses.replace(job, updated_at=now, **running)
                run = _JobRun(self, job, on_event)
                with self._runs_lock:
                    self._runs[job.id] = run
                starting.started(run)
                run.execute(mode, reason)
            finally:
                with self._runs_lock:
                    self._runs.pop(job.id, None)
        finally:
            for lock in held:
                lock.release()
        return self.get(job.id)


class _StartingRun(object):
    """A job about to run here: a stop requested now applies once it runs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._run = None
        self._keep = None

    def request_abort(self, keep):
        with self._lock:
            if self._run is None:
                self._keep = keep if self._keep is None else self._keep
                return
        self._run.request_abort(keep)

    def started(self, run):
        with self._lock:
            self._run = run
            keep = self._keep
        if keep is not None:
            run.request_abort(keep)


class _JobRun(object):
    """One execution of a job by this process."""

    def __init__(self, runner, job, on_event):
        self.runner = runner
        self.store = runner.store
        self.job = job
        self.on_event = on_event
        self.options = job.spec['options']
        self.units = collections.OrderedDict(
            (unit['name'], unit) for unit in job.units)
        self.graph = networkx.DiGraph()
        self.graph.add_nodes_from(self.units)
        for unit in job.units:
            # "after": needs the unit to have succeeded; "follows": to
            # have ended, whatever its outcome (priorities at a takeover).
            for before in unit.get('follows', ()):
                self.graph.add_edge(before, unit['name'], needs=False)
            for before in unit['after']:
                self.graph.add_edge(before, unit['name'], needs=True)
        self.isolate = self.options.get('failure_policy') == ISOLATE
        self.book = runner.backend.get_connection().get_logbook(job.id)
        self.details = {fd.name: fd for fd in self.book}
        self.failures = []
        self.failed = {}  # unit -> why (isolating failures)
        self._again = set()  # units that succeeded and run again
        self.skipped = {}  # unit -> why
        self._stop = threading.Event()
        self._abort = None
        self._engines = {}
        self._lock = threading.Lock()
        # Units that become ready together (a priority of a takeover) would
        # otherwise build their flows at once, sharing the interpreter, and
        # all make their first call only once all are built.
        self._loading = threading.Semaphore(LOADING_AT_ONCE)

    # -- control -----------------------------------------------------------

    def request_abort(self, keep):
        with self._lock:
            if self._abort is None:
                self._abort = 'keep' if keep else 'revert'
            engines_now = list(self._engines.values())
        self._stop.set()
        for engine in engines_now:
            engine.suspend()

    def _watch_abort(self, done):
        while not done.wait(self.runner.abort_poll_interval):
            try:
                requested = self.store.abort_requested(self.job.id)
            except Exception:
                LOG.exception('cannot read the abort flag of job %s',
                              self.job.id)
                continue
            if requested:
                LOG.warning('job %s: abort requested (%s)', self.job.id,
                            requested)
                self.request_abort(requested == 'keep')
                return

    # -- the job -----------------------------------------------------------

    def execute(self, mode, reason=None):
        done = threading.Event()
        watcher = threading.Thread(target=self._watch_abort, args=(done,),
                                   name='abort-watch-%s' % self.job.id[:8],
                                   daemon=True)
        watcher.start()
        try:
            if mode == jobs.MODE_RUN:
                self._forward()
                if not self.failures and self._abort is None:
                    self._finish(jobs.SUCCESS, result=self._reports())
                    return
                if self.isolate and self._abort is None:
                    self._finish(jobs.PARTIAL, error=self._partial_error(),
                                 result=self._reports())
                    return
                keep = (self._abort == 'keep' if self._abort
                        else self.options.get('keep_on_failure'))
                error = ('; '.join(self.failures) if self.failures
                         else 'aborted on request')
                if keep:
                    self._finish(jobs.FAILED if self.failures
                                 else jobs.SUSPENDED, error=error)
                    return
                reason = error
                self.store.update_job(self.job.id, mode=jobs.MODE_REVERT)
            self._backward(reason)
        finally:
            done.set()

    def _finish(self, state, error=None, result=None):
        fields = {'state': state, 'finished_at': store_mod.utcnow(),
                  'error': error}
        if result is not None:
            fields['result'] = result
        self.store.update_job(self.job.id, **fields)
        try:
            operations.finished(self.store, self.job, state, error)
        except Exception:  # bookkeeping must not change the job's outcome
            LOG.exception('job %s: recording its outcome failed',
                          self.job.id)
        log = LOG.info if state == jobs.SUCCESS else LOG.warning
        log('job %s (%s of plan %s) ended %s%s', self.job.id,
            self.job.operation, self.job.plan_name, state,
            ': %s' % error if error else '')

    def _reports(self):
        reports = {}
        for name in self.units:
            fd = self.details[name]
            for ad in fd:
                if ad.name == 'report' and ad.state == states.SUCCESS:
                    reports[name] = ad.results
        result = {'units': reports}
        if self.isolate:
            result.update(failed=dict(self.failed),
                          skipped=dict(self.skipped))
        return result

    def _partial_error(self):
        parts = []
        if self.failed:
            parts.append('%d unit%s failed and %s undone (%s)' % (
                len(self.failed), '' if len(self.failed) == 1 else 's',
                'was' if len(self.failed) == 1 else 'were',
                '; '.join(self.failures)))
        if self.skipped:
            parts.append('%d skipped (%s)' % (len(self.skipped), '; '.join(
                '%s: %s' % item for item in sorted(self.skipped.items()))))
        return ('%s; the other units succeeded. Fix the cause, then '
                '"geoflows job resume %s" runs only these, or "geoflows job '
                'revert %s" undoes the whole job' % (
                    ', '.join(parts), self.job.id, self.job.id))

    def _forward(self):
        """Run units as their predecessors end, until done or stop.

        Bookkeeping is per completed unit (remaining predecessors, a queue
        of ready units, at most max_parallel_units submitted), so that its
        cost per unit stays flat however large the job.  A unit that fails
        stops the job (then reverted, or kept); when isolating failures, it
        was reverted alone, the units that need it are skipped, and the
        others go on.
        """
        done = {name for name, fd in self.details.items()
                if fd.state == states.SUCCESS}
        if self.isolate and set(self.units) - done:
            # Units that sum the others up (a takeover's verification and
            # report) run again after what a resume runs again: what they
            # come after, not what of the job's other groups (a drill's
            # copy, verified, then being removed, is not verified again).
            for name, unit in self.units.items():
                if unit.get('again') and name in done and any(
                        before not in done for before in
                        networkx.ancestors(self.graph, name)):
                    done.discard(name)
                    self._again.add(name)
        # A unit reverted by its engine before this process stopped failed:
        # the job goes on to revert, it does not run the unit again (when
        # isolating, it runs again: that is what a resume is for).
        if not self.isolate:
            for name, fd in self.details.items():
                if fd.state == states.REVERTED:
                    self.failures.extend(self._unit_failures(name))
                    self._stop.set()
        waiting = {name: sum(1 for p in self.graph.predecessors(name)
                             if p not in done)
                   for name in self.graph if name not in done}
        ready = collections.deque(name for name in waiting
                                  if not waiting[name])
        finished = queue.Queue()  # (name, future) as units end
        running = 0
        limit = self.runner.max_parallel_units
        while True:
            while ready and running < limit and not self._stop.is_set():
                name = ready.popleft()
                future = self.runner.unit_pool.submit(self._run_unit, name)
                future.add_done_callback(
                    lambda f, name=name: finished.put((name, f)))
                running += 1
            if not running:
                return
            name, future = finished.get()
            running -= 1
            succeeded, messages = future.result()
            self.failures.extend(messages)
            if not succeeded:
                if not self.isolate or self._abort:
                    self._stop.set()
                    continue
                self.failed[name] = '; '.join(messages) or 'failed'
                ready.extend(self._skip_dependents(name, waiting))
            self._ended(name, waiting, ready, succeeded)

    def _ended(self, name, waiting, ready, succeeded):
        for successor in self.graph.successors(name):
            if successor in self.skipped or successor not in waiting:
                continue  # skipped, or done by an earlier attempt
            if not succeeded and self.graph[name][successor]['needs']:
                continue  # skipped with its dependents already
            waiting[successor] -= 1
            if not waiting[successor]:
                ready.append(successor)

    def _skip_dependents(self, failed, waiting):
        """Skip what needs ``failed``, and what needs those.

        Returns the units that become ready: those that only follow a
        skipped one.
        """
        became_ready = []
        stack = [(failed, failed)]
        while stack:
            name, cause = stack.pop()
            for successor in self.graph.successors(name):
                if successor in self.skipped or successor not in waiting:
                    continue
                if self.graph[name][successor]['needs']:
                    self.skipped[successor] = (
                        'needs %s, which %s' % (
                            name, 'failed' if name == failed
                            else 'was skipped'))
                    stack.append((successor, cause))
                elif name != failed:
                    # It only follows a skipped unit: that one has ended.
                    waiting[successor] -= 1
                    if not waiting[successor]:
                        became_ready.append(successor)
        return became_ready

    def _load(self, name, keep, prepare=True):
        """(the unit's flow, its atoms' names, its engine, lean or not)."""
        unit = self.units[name]
        fd = self.details[name]
        flow = flows.build(unit['flow'], unit['args'], self.options)
        # Listed once: each listing sorts every graph of the flow.
        atoms = list(iter_atoms(flow))
        names = [atom.name for atom in atoms]
        bind(flow, self.runner.context, atoms)
        fresh = len(fd) == 0
        # Built directly: taskflow.engines.load() looks the engine class up
        # through entry points, which costs more than a small unit's run.
        # A chain runs in the unit's own thread; a graph hands its steps to
        # the shared pool, so that independent steps run side by side.
        if flows.ENGINES.get(unit['flow']) == 'serial':
            engine = engines.SerialEngine(
                flow, fd, self.runner.backend,
                {'never_resolve': keep, 'validated': True})
        else:
            engine = engines.ParallelEngine(
                flow, fd, self.runner.backend,
                {'executor': self.runner.call_pool, 'never_resolve': keep,
                 'validated': True})
        if 'job_id' in flow.requires and (fresh or not _injected(
                engine.storage, 'job_id')):
            _inject(engine.storage, {'job_id': self.job.id})
        if prepare or fd.state not in (None, states.PENDING, states.RUNNING,
                                       states.SUSPENDED):
            # Preparing the engine also resets a unit that was reverted.
            engine.compile()
            engine.prepare()
            return flow, names, engine, False
        # The steps recorded, as preparing the engine would.
        engine.storage.ensure_atoms(atoms)
        return flow, names, engine, True

    def _run_lean(self, name, flow, engine):
        """Run a unit forward without Taskflow's engine (geoflows.forward).

        True if it succeeded; else Taskflow's engine takes the unit over
        where it stopped.
        """
        def on_step(step, state, error):
            if self.on_event is None:
                return
            try:
                self.on_event(jobs.Event(self.job.id, name, step, state,
                                         error=error))
            except Exception:  # a display must never break a job
                LOG.exception('progress callback failed')
        done = forward.run(flow, engine.storage, self.runner.call_pool,
                           on_step=on_step,
                           stop_requested=lambda: self._abort is not None)
        if not done:
            engine.compile()
            engine.prepare()
        return done

    def _run_engine(self, name, engine, forward=True):
        if forward:  # an abort stops forward engines, never reverting ones
            with self._lock:
                self._engines[name] = engine
                abort = self._abort
            if abort:
                engine.suspend()
        listener = (_Progress(engine, self.job.id, name, self.on_event)
                    if self.on_event else None)
        try:
            if listener:
                listener.register()
            engine.run()
        except Exception as e:  # the flow state below tells the outcome
            LOG.debug('unit %s of job %s raised %s', name, self.job.id,
                      type(e).__name__)
        finally:
            if listener:
                listener.deregister()
            with self._lock:
                self._engines.pop(name, None)
        return engine.storage.get_flow_state()

    def _unit_failures(self, name):
        """Why a unit failed, from its steps' recorded failures.

        (Taskflow's own failure lists file an execute failure under
        "revert" when siblings were already reverting.)
        """
        messages = []
        for ad in sorted(self.details[name], key=lambda ad: ad.name):
            if ad.failure is not None and ad.state != states.SUCCESS:
                messages.append('%s: step %s failed: %s' % (
                    name, ad.name, describe_failure(ad.failure)))
            if ad.revert_failure is not None and \
                    ad.state == states.REVERT_FAILURE:
                messages.append('%s: undoing step %s failed: %s' % (
                    name, ad.name, describe_failure(ad.revert_failure)))
        return messages

    def _run_unit(self, name):
        """Run one unit forward; (succeeded, why it failed)."""
        keep = bool(self.options.get('keep_on_failure'))
        try:
            # Kept failures are Taskflow's engine's alone to keep.
            lean = flows.ENGINES.get(self.units[name]['flow']) == 'lean' \
                and not keep
            with self._loading:
                flow, names, engine, lean = self._load(name, keep,
                                                       prepare=not lean)
            storage = engine.storage
            again = (states.FAILURE, states.REVERTED) if self.isolate \
                else (states.FAILURE,)
            if name in self._again:
                again += (states.SUCCESS,)
            # Steps that failed in an earlier attempt (kept for
            # inspection, or undone when failures are isolated) are
            # retried.
            for atom, (state, _intent) in storage.get_atoms_states(
                    names).items():
                if state in again:
                    storage.set_atom_state(atom, states.PENDING)
                    storage.set_atom_intention(atom, states.EXECUTE)
            if storage.get_flow_state() in again:
                storage.set_flow_state(states.RUNNING)
            if lean and self._run_lean(name, flow, engine):
                state = states.SUCCESS
            else:
                state = self._run_engine(name, engine)
        except exceptions.GeoflowsError as e:
            return False, ['%s: %s' % (name, e)]
        except Exception as e:
            LOG.exception('unit %s of job %s broke', name, self.job.id)
            return False, ['%s: %s: %s' % (
                name, type(e).__name__, secrets.mask(str(e)))]
        if state == states.SUCCESS:
            return True, []
        if state == states.SUSPENDED and self._abort:
            return False, []
        return False, self._unit_failures(name) or [
            '%s: ended %s' % (name, state)]

    def _backward(self, reason):
        """Revert every unit that ran, dependents first."""
        errors = []
        reverse = self.graph.reverse(copy=True)
        for generation in networkx.topological_generations(reverse):
            names = [n for n in generation if self._needs_revert(n)]
            if not names:
                continue
            futures = [self.runner.unit_pool.submit(self._revert_unit, name)
                       for name in names]
            results = dict(zip(names, (f.result() for f in futures)))
            for name, messages in results.items():
                errors.extend(messages)
            if errors:
                break  # leave the units they depend on in place
        if errors:
            self._finish(jobs.FAILED, error='revert failed: %s%s' % (
                '; '.join(errors), ' (after: %s)' % reason if reason
                else ''))
        else:
            self._finish(jobs.REVERTED, error=reason)

    def _needs_revert(self, name):
        fd = self.details[name]
        if fd.state == states.REVERTED:
            return False
        return any(ad.state not in (None, states.PENDING) and
                   ad.name not in INJECTED and
                   not ad.name.startswith('_TaskFlow') for ad in fd)

    def _revert_unit(self, name):
        """Revert one unit; return error messages (empty on success)."""
        try:
            flow, names, engine, _lean = self._load(name, keep=False)
            storage = engine.storage
            for atom, (state, _intent) in storage.get_atoms_states(
                    names).items():
                if state == states.REVERT_FAILURE:
                    # Try that undo again.
                    storage.set_atom_state(atom, states.SUCCESS)
                storage.set_atom_intention(atom, states.REVERT)
            if storage.get_flow_state() in (states.SUCCESS, states.FAILURE,
                                            states.SUSPENDED):
                storage.set_flow_state(states.RUNNING)
            state = self._run_engine(name, engine, forward=False)
        except (exceptions.GeoflowsError, tf_exc.TaskFlowException) as e:
            return ['%s: %s' % (name, secrets.mask(str(e)))]
        if state == states.REVERTED:
            return []
        return self._unit_failures(name) or [
            '%s: revert ended %s' % (name, state)]
