"""Conductors: controllers that claim jobs from a jobboard and run them.

Several conductors, on one host or several, share a Taskflow jobboard
(Redis by default, ZooKeeper or etcd) and a state store (PostgreSQL or
MySQL).  ``geoflows job submit`` records a job in the store and posts it to
the board; a conductor claims the posting and runs the job with the same
runner as ``geoflows interconnect ...``, from the same persisted state.

Claims expire: a live conductor renews its claims every third of the
expiry, from a thread of its own, so a long step does not lose its claim,
but when a conductor dies (even by SIGKILL) its claims lapse and another
conductor claims the job and resumes it from its last committed step.  The
job's lock in the state store keeps two conductors from running one job at
once even if a claim lapses while its conductor is alive (e.g. cut from
the board longer than the expiry).

A job whose attempts keep ending without an outcome (its conductor dies,
the runner breaks) is not retried forever: after ``max_attempts`` it is
marked FAILED with its last error, to resume or revert once the cause is
fixed, and the board moves on.

Taskflow's own dispatch runs one engine per posting; a geoflows job is many
small engines (see geoflows.runner), so this conductor keeps Taskflow's
claim loop, executor and notifications, and dispatches a posting to the
runner instead.
"""

import contextlib
import logging
import threading

from oslo_utils import uuidutils
from taskflow.conductors.backends import impl_nonblocking
from taskflow import exceptions as tf_exc

from geoflows import exceptions
from geoflows import jobboard
from geoflows import jobs
from geoflows import secrets
from geoflows import store as store_mod

LOG = logging.getLogger(__name__)

CONSUME = True
ABANDON = False


class NotAGeoflowsPosting(Exception):
    """A posting on the board that geoflows did not make (trashed)."""


class _ExpiringClaims(object):
    """The jobboard as the conductor's claim loop sees it.

    Taskflow's conductor claims without an expiry: the claim of a conductor
    that died would never lapse and its jobs would wait forever.
    """

    def __init__(self, board, expiry):
        self._board = board
        self._expiry = expiry

    def claim(self, job, who):
        return self._board.claim(job, who, expiry=self._expiry)

    def __getattr__(self, name):
        return getattr(self._board, name)


class Conductor(impl_nonblocking.NonBlockingConductor):
    """Claims geoflows jobs from ``board`` and runs them with ``runner``.

    :param name: unique among running conductors; recorded as the owner of
        the jobs (the runner's ``owner`` should match).  Claims are made as
        ``<name>+<tag of this process>``.
    :param board: an unconnected Taskflow jobboard (geoflows.jobboard.fetch).
    :param runner: a :class:`geoflows.runner.Runner` on the shared store.
    :param claim_expiry: seconds after which a claim not renewed lapses.
    :param expiring_claims: whether the board's claims take an expiry
        (Redis, etcd) or lapse with the client's session (ZooKeeper).
    :param mistral_conf: the [mistral] configuration, to report the outcome
        of jobs that Mistral actions submitted.
    """

    def __init__(self, name, board, runner, claim_expiry=30,
                 expiring_claims=True, max_attempts=3, max_jobs=4,
                 poll_interval=0.5, mistral_conf=None,
                 schedule_interval=None, metrics_port=None,
                 metrics_host='127.0.0.1'):
        self.board = board
        # Claims carry this process's own tag: a conductor restarted under
        # the same name must not take its predecessor's claims for its own
        # (Redis would renew them at each attempt and they would never
        # lapse); they lapse, and the jobs are resumed.  No "/": ZooKeeper
        # boards make a node of the claimant's name.
        self.claimant = '%s+%s' % (name, uuidutils.generate_uuid()[:8])
        super().__init__(
            self.claimant,
            _ExpiringClaims(board, claim_expiry) if expiring_claims
            else board, persistence=runner.backend, log=LOG,
            wait_timeout=poll_interval, max_simultaneous_jobs=max_jobs)
        self.name = name
        self.runner = runner
        self.claim_expiry = claim_expiry
        self.expiring_claims = expiring_claims
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.mistral_conf = mistral_conf
        self._held = {}  # posting -> geoflows job id, while dispatched
        self._held_lock = threading.Lock()
        self._stopping = threading.Event()
        self._handed_over = set()  # job ids whose claim another one took
        # Scheduled syncs of the protected groups (geoflows.schedule).
        self.scheduler = None
        if schedule_interval:
            from geoflows import schedule
            self.scheduler = schedule.Scheduler(
                runner, self._post_scheduled, schedule_interval,
                name='conductor %s' % name)
        self.metrics_port = metrics_port
        self.metrics_host = metrics_host
        self._metrics = None

    # -- life cycle ---------------------------------------------------------

    def run(self, max_dispatches=None):
        """Claim and run jobs until :meth:`stop` (blocks)."""
        self._stopping.clear()
        done = threading.Event()
        renewer = threading.Thread(target=self._renew_claims, args=(done,),
                                   name='claims-%s' % self.name,
                                   daemon=True)
        renewer.start()
        scheduler = None
        if self.scheduler is not None:
            scheduler = threading.Thread(target=self.scheduler.run,
                                         name='schedule-%s' % self.name,
                                         daemon=True)
            scheduler.start()
        if self.metrics_port:
            from geoflows import metrics
            self._metrics = metrics.serve(self.runner.store,
                                          self.metrics_port,
                                          self.metrics_host)
        LOG.info('conductor %s: claiming jobs (at most %d at a time, claims '
                 'expire after %ss)', self.name, self._max_simultaneous_jobs,
                 self.claim_expiry)
        try:
            super().run(max_dispatches=max_dispatches)
        finally:
            done.set()
            renewer.join()
            if self.scheduler is not None:
                self.scheduler.stop()
                scheduler.join(30)
            if self._metrics is not None:
                self._metrics.shutdown()
                self._metrics = None
        LOG.info('conductor %s: stopped', self.name)

    def stop(self, handover=True):
        """Stop claiming; with ``handover``, hand running jobs over.

        Each running job stops after its current steps and is abandoned on
        the board (SUSPENDED), for another conductor to resume at once.
        Without ``handover`` running jobs are finished first.
        """
        self._stopping.set()
        super().stop()
        if handover:
            for job_id in self.runner.running():
                LOG.info('conductor %s: handing job %s over after its '
                         'current steps', self.name, job_id)
                self.runner.suspend(job_id)

    def _post_scheduled(self, job):
        """Post a job the scheduler made, for whichever conductor."""
        jobboard.post(self.board, job)

    # -- claims ---------------------------------------------------------------

    @contextlib.contextmanager
    def _holding(self, posting, job_id):
        with self._held_lock:
            self._held[posting] = job_id
        try:
            yield
        finally:
            with self._held_lock:
                self._held.pop(posting, None)

    def _renew_claims(self, done):
        while not done.wait(self.claim_expiry / 3.0):
            with self._held_lock:
                held = list(self._held.items())
            for posting, job_id in held:
                try:
                    self._renew(posting, job_id)
                except Exception:  # the next round tries again
                    LOG.warning('conductor %s: cannot renew the claim of '
                                'job %s', self.name, job_id, exc_info=True)

    def _renew(self, posting, job_id):
        owner = self.board.find_owner(posting)
        if owner == self.claimant:
            if self.expiring_claims:
                posting.extend_expiry(self.claim_expiry)
            return
        if owner is None:  # it lapsed (the board was out of reach): again
            try:
                self._jobboard.claim(posting, self.claimant)
                LOG.warning('conductor %s: claim of job %s had lapsed; '
                            'claimed it again', self.name, job_id)
                return
            except (tf_exc.UnclaimableJob, tf_exc.NotFound):
                owner = self.board.find_owner(posting)
        LOG.warning('conductor %s: job %s was claimed by %s after this '
                    'conductor\'s claim lapsed; handing it over after its '
                    'current steps', self.name, job_id, owner)
        self._handed_over.add(job_id)
        self.runner.suspend(job_id)

    # -- dispatch -------------------------------------------------------------

    def _dispatch_job(self, posting):
        """Run the geoflows job of ``posting``; True to consume it."""
        details = jobboard.posting_of(posting)
        if details is None:
            LOG.error('conductor %s: posting %s (%r) is not a geoflows job; '
                      'moving it to the trash', self.name, posting.uuid,
                      posting.name)
            raise NotAGeoflowsPosting(posting.uuid)
        job_id = details['job_id']
        with self._holding(posting, job_id):
            details_ = {'job': posting, 'conductor': self}
            self._notifier.notify('running_start', details_)
            try:
                verdict = self._dispatch(job_id, details)
                if verdict == CONSUME and details.get('notify'):
                    self._notify(job_id, details['notify'])
                return verdict
            finally:
                self._handed_over.discard(job_id)
                self._notifier.notify('running_end', details_)

    def _notify(self, job_id, notify):
        """Tell whoever submitted the job (a Mistral action) its outcome."""
        from geoflows import mistral
        job = self.runner.get(job_id)
        if not jobs.settled(job) or 'mistral' not in notify:
            return
        if self.mistral_conf is None:
            LOG.error('conductor %s: job %s was submitted by Mistral but '
                      'this conductor has no [mistral] configuration to '
                      'report its outcome', self.name, job.id)
            return
        try:  # Mistral submits jobs to start them: success is SUCCESS
            mistral.send(self.mistral_conf, self.runner.clouds, notify, job)
        except mistral.ReportError as e:
            LOG.error('conductor %s: %s', self.name, e)

    def _back_off(self):
        """Wait a little before a posting goes back on the board."""
        self._stopping.wait(min(self.claim_expiry / 3.0,
                                max(self.poll_interval * 10, 1.0)))

    def _dispatch(self, job_id, details):
        runner = self.runner
        try:
            job = runner.get(job_id)
        except exceptions.JobNotFound:
            LOG.error('conductor %s: job %s is not in the state store %s: '
                      'is this conductor on the same [state] connection as '
                      'the one that submitted it?', self.name, job_id,
                      store_mod.safe_url(runner.store.url))
            self._back_off()
            return ABANDON
        made = job.attempts - details['attempts']
        if job.state == jobs.RUNNING and not job.stale:
            LOG.info('conductor %s: job %s runs in another process (%s); '
                     'leaving it on the board', self.name, job.id, job.owner)
            self._back_off()
            return ABANDON
        if made > 0:
            # An earlier claim of this posting started the job.
            if jobs.settled(job):
                LOG.info('conductor %s: job %s already ended %s', self.name,
                         job.id, job.state)
                return CONSUME
            if made >= self.max_attempts:
                self._give_up(job, made)
                return CONSUME
            LOG.warning('conductor %s: resuming job %s (attempt %d of %d; '
                        'the last, by %s, did not finish)', self.name,
                        job.id, made + 1, self.max_attempts, job.owner)
            action = runner.resume
        elif details['action'] == 'revert':
            action = runner.revert
        elif details['action'] == 'run' and job.state == jobs.PENDING:
            action = runner.run
        else:
            action = runner.resume
        LOG.info('conductor %s: %s job %s (%s of plan %s)', self.name,
                 action.__name__, job.id, job.operation, job.plan_name)
        try:
            job = action(job.id, on_event=self._log_event)
        except exceptions.JobBusy as e:
            LOG.info('conductor %s: job %s: %s', self.name, job.id, e)
            self._back_off()
            return ABANDON
        except exceptions.JobError as e:  # nothing to do (e.g. reverted)
            LOG.info('conductor %s: job %s: %s', self.name, job.id, e)
            return CONSUME
        except Exception as e:
            message = secrets.mask('%s: %s' % (type(e).__name__, e))
            LOG.exception('conductor %s: job %s broke: %s', self.name,
                          job.id, message)
            self._record_error(job.id, 'attempt by conductor %s broke: %s'
                               % (self.name, message))
            self._back_off()
            return ABANDON
        if job.state == jobs.SUSPENDED and not job.abort_requested and (
                self._stopping.is_set() or job.id in self._handed_over):
            LOG.info('conductor %s: job %s suspended for another conductor',
                     self.name, job.id)
            return ABANDON
        LOG.info('conductor %s: job %s ended %s', self.name, job.id,
                 job.state)
        return CONSUME

    def _record_error(self, job_id, error):
        try:
            self.runner.store.update_job(job_id, error=error)
        except Exception:
            LOG.exception('conductor %s: cannot record the error of job %s',
                          self.name, job_id)

    def _give_up(self, job, made):
        if job.error:
            last = job.error
        else:
            running = [
                '%s/%s' % (s['unit'], s['name'])
                for s in self.runner.steps(job.id)[1]
                if s['state'] in ('RUNNING', 'REVERTING')]
            last = 'its conductor %s stopped while running it%s' % (
                job.owner, ' (step %s)' % ', '.join(running)
                if running else '')
        error = ('gave up after %d attempts ([conductor] max_attempts): %s; '
                 'once the cause is fixed, finish it with "geoflows job '
                 'resume %s" or undo it with "geoflows job revert %s"' % (
                     made, last, job.id, job.id))
        self.runner.store.update_job(job.id, state=jobs.FAILED,
                                     finished_at=store_mod.utcnow(),
                                     error=error)
        LOG.error('conductor %s: job %s FAILED: %s', self.name, job.id,
                  secrets.mask(error))

    def _log_event(self, event):
        if event.state in ('PENDING', 'IGNORE'):
            return
        LOG.info('job %s: %s %s %s%s', event.job_id, event.unit, event.step,
                 event.state, ': %s' % event.error if event.error else '')


def name_from_config(conf, name=None):
    """``name``, else [conductor] name, else host name and process id."""
    from geoflows import runner as runner_mod
    return name or conf.conductor.name or runner_mod.owner_id()


def from_config(conf, name=None, runner=None):
    """A conductor built from ``conf`` ([jobboard], [conductor])."""
    from geoflows import runner as runner_mod
    name = name_from_config(conf, name)
    runner = runner or runner_mod.Runner.from_config(conf, owner=name)
    board = jobboard.fetch(conf.jobboard, name,
                           persistence=runner.backend)
    return Conductor(
        name, board, runner, claim_expiry=conf.jobboard.claim_expiry,
        expiring_claims=conf.jobboard.backend in jobboard.EXPIRING_CLAIMS,
        max_attempts=conf.conductor.max_attempts,
        max_jobs=conf.conductor.max_jobs,
        poll_interval=conf.conductor.poll_interval,
        mistral_conf=conf.mistral,
        schedule_interval=(conf.conductor.schedule_interval
                           if conf.conductor.schedule else None),
        metrics_port=conf.conductor.metrics_port,
        metrics_host=conf.conductor.metrics_host)
