"""Scheduled syncs: every protected group synced every interval, once.

Every conductor runs a :class:`Scheduler`.  Each group's next sync time is
in the state store (``gf_protection.next_sync_at``, set by its protect
job); a scheduler that sees it due moves it one interval on with a
compare-and-set, and only the one that made the move starts that sync: a
sync job whose id derives from the group and the due time (so that even two
winners would make one job), posted to the jobboard for any conductor to
run.  A conductor that dies stops nothing: the others' schedulers see the
next due time.  A sync still running when the next one is due delays that
one (the schedulers say so, once): it starts as soon as the running one
ends, and the cadence stays the same.  Syncs never run two at once, and a
sync that ran past several due times, or a conductor down for several
intervals, is not made up for with a burst: one sync runs, the one of the
latest due time, and the next is the next due time after now.

Without conductors, ``geoflows sync --every INTERVAL`` runs the syncs in
the foreground (:func:`run_every`); a Mistral cron trigger is the third way
(see the protection guide).
"""

import datetime
import logging
import threading
import time
import uuid

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import exceptions
from geoflows import jobs

LOG = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID('0b7f3c8e-5a4d-4c21-8f0e-9d6a2b1c3e47')


def sync_job_id(plan_name, group_name, due):
    """The id of the sync of a group due at ``due``: one per slot."""
    return str(uuid.uuid5(_NAMESPACE, '%s/%s/%s' % (
        plan_name, group_name, checkpoints.isoformat(due))))


def following(due, interval, now):
    """The first due time after ``now`` on the group's cadence."""
    step = datetime.timedelta(seconds=interval)
    nxt = due + step
    if nxt <= now:
        missed = int((now - nxt).total_seconds() // interval) + 1
        nxt += step * missed
    return nxt


def latest_due(due, interval, now):
    """The last due time at or before ``now`` (``now`` >= ``due``)."""
    return following(due, interval, now) - datetime.timedelta(
        seconds=interval)


class Scheduler(object):
    """Starts the protected groups' syncs when they are due.

    :param runner: the conductor's runner (its store and locks are
        shared).
    :param post: a callable(job) that posts a created job to the jobboard.
    """

    def __init__(self, runner, post, poll_interval=5.0, name='scheduler'):
        self.runner = runner
        self.post = post
        self.poll_interval = poll_interval
        self.name = name
        self._stop = threading.Event()
        self.started = []  # job ids this scheduler started (tests, logs)
        self._delayed = set()  # (plan, group, due) it said were delayed

    def stop(self):
        self._stop.set()

    def run(self):
        LOG.info('%s: scheduling the protected groups\' syncs', self.name)
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # one bad round must not stop the schedule
                LOG.exception('%s: a scheduling round failed', self.name)
            self._stop.wait(self.poll_interval)

    def tick(self, now=None):
        """Start the syncs due now; return their job ids."""
        store = self.runner.store
        now = now or checkpoints.utcnow()
        started = []
        for state in groups.listing(store):
            if not _due(state, now):
                continue
            # Its sync's job is recorded only once the group's sites are
            # read, seconds after the claim: meanwhile the other schedulers
            # leave the group alone (else, the next due time passing, one
            # would start the next sync at once).
            lock = self.runner.locks.try_acquire('schedule:%s/%s' % (
                state.plan_name, state.group_name))
            if lock is None:
                continue  # another scheduler is starting its sync
            with lock:
                job_id = self._consider(groups.get(
                    store, state.plan_name, state.group_name), now)
            if job_id:
                started.append(job_id)
        started.extend(self._expired_drills(now))
        self.started.extend(started)
        return started

    def _expired_drills(self, now):
        """Start the cleanup of the kept drill copies whose time is up."""
        from geoflows.checkpoints import drills
        from geoflows import drill
        from geoflows import drill_units
        started = []
        expired = sorted({c.drill_id for c in drills.listing(
            self.runner.store) if c.expired(now)})
        for drill_id in expired:
            job_id = drill_units.cleanup_job_id(drill_id)
            try:
                self.runner.get(job_id)
                continue  # made already (here, or by another conductor)
            except exceptions.GeoflowsError:
                pass
            try:
                made = drill.cleanup_job(self.runner, drill_id, job_id=job_id)
            except exceptions.GeoflowsError as e:
                LOG.error('%s: the kept copy of drill %s is past its time '
                          'but its cleanup cannot start: %s', self.name,
                          drill_id, e)
                continue
            except Exception as e:
                if _duplicate(e):
                    continue
                raise
            if made != job_id:
                continue  # a cleanup of it is under way already
            LOG.info('%s: the kept copy of drill %s is past its time: '
                     'cleanup job %s', self.name, drill_id, job_id)
            self.post(self.runner.get(job_id))
            started.append(job_id)
        return started

    def _consider(self, state, now):
        """Start the group's due sync, unless one runs; its job id."""
        if state is None or not _due(state, now):
            return None
        due = latest_due(state.next_sync_at, state.sync_interval, now)
        if self._wait_for_running(state, due):
            return None  # due, but starts once the running sync ends
        nxt = following(state.next_sync_at, state.sync_interval, now)
        if not groups.claim_due(self.runner.store, state.plan_name,
                                state.group_name, state.next_sync_at, nxt):
            return None  # another conductor's scheduler took this one
        return self._start(state, due)

    def _wait_for_running(self, state, due):
        """True while a sync of the group runs: the due one waits."""
        busy = self._running_sync(state)
        if busy is None:
            return False
        key = (state.plan_name, state.group_name, due)
        if key not in self._delayed:
            self._delayed.add(key)
            LOG.warning('%s: the sync of group %s (plan %s) due at %s waits '
                        'for sync job %s, still %s; it starts when that one '
                        'ends', self.name, state.group_name, state.plan_name,
                        checkpoints.isoformat(due), busy.id, busy.state)
        return True

    def _running_sync(self, state):
        for job in self.runner.store.list_jobs([jobs.RUNNING,
                                                jobs.PENDING]):
            if job.operation == 'sync' and job.plan_name == state.plan_name \
                    and any(u['name'] == state.group_name
                            for u in job.units) and not self._stale(job):
                return job
        return None

    def _stale(self, job):
        return job.state == jobs.RUNNING and \
            self.runner.get(job.id).stale

    def _start(self, state, due):
        from geoflows import plan as plan_mod
        self._delayed = {k for k in self._delayed
                         if k[:2] != (state.plan_name, state.group_name)}
        job_id = sync_job_id(state.plan_name, state.group_name, due)
        try:
            plan = plan_mod.from_document(state.plan, 'protected plan %s'
                                          % state.plan_name)
            self.runner.create('sync', plan, [state.group_name],
                               job_id=job_id)
        except exceptions.GeoflowsError as e:
            LOG.error('%s: the sync of group %s (plan %s) due at %s cannot '
                      'start: %s', self.name, state.group_name,
                      state.plan_name, checkpoints.isoformat(due), e)
            groups.record_sync(self.runner.store, state.plan_name,
                               state.group_name, None, error=str(e))
            return None
        except Exception as e:
            if _duplicate(e):  # another winner of the same slot made it
                return None
            raise
        LOG.info('%s: sync of group %s (plan %s) due at %s: job %s',
                 self.name, state.group_name, state.plan_name,
                 checkpoints.isoformat(due), job_id)
        self.post(self.runner.get(job_id))
        return job_id


def _due(state, now):
    return state.state in (groups.PROTECTED, groups.REPROTECTED) and \
        bool(state.sync_interval) \
        and state.next_sync_at is not None and state.next_sync_at <= now


def _duplicate(error):
    from sqlalchemy import exc as sa_exc
    return isinstance(error, sa_exc.IntegrityError)


def run_every(runner, plan, names, interval, on_event=None, count=None,
              report=print):
    """Sync ``names`` of ``plan`` every ``interval`` seconds, here.

    Returns the last sync job (None if none could start) after ``count``
    syncs (None: until interrupted).  A sync that fails is reported; the
    next one still runs.
    """
    done, last = 0, None
    while count is None or done < count:
        started = time.monotonic()
        try:
            last = runner.start('sync', plan, names, on_event=on_event)
            report('sync job %s ended %s in %.1fs%s' % (
                last.id, last.state, last.duration or 0,
                ': %s' % last.error if last.error else ''))
        except exceptions.GeoflowsError as e:
            report('sync could not start: %s' % e)
        done += 1
        if count is not None and done >= count:
            break
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return last
