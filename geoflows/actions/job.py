"""geoflows.job.* actions: start an operation as a job; its status,
resume, revert.

A Mistral retry of the same task (its retry policy, a task rerun, or the
redelivery of the request to another executor after one died) finds the job
its first attempt started, by an id derived from the task execution, and
resumes it instead of starting a second job.
"""

import uuid

from sqlalchemy import exc as sa_exc
from taskflow import states as tf_states

from geoflows.actions import base
from geoflows import exceptions
from geoflows import jobs
from geoflows import mistral
from geoflows import operations

#: the namespace of the job ids derived from Mistral task executions
JOB_ID_NAMESPACE = uuid.UUID('6f1c0f5e-3b1e-5a8e-9a57-6d2b1a0e4c11')

#: a chain of REVERTED jobs this long for one task means something loops
MAX_JOBS_PER_TASK = 100


def job_id_for(execution, operation, plan, names, n=0):
    """The id of the ``n``-th job that a task execution starts.

    The same task, with the same inputs, gets the same ids; ``n`` grows
    when a retry follows a job that was reverted (a new start is asked).
    An action run outside a workflow has only its own execution id.
    """
    origin = (getattr(execution, 'task_execution_id', None) or
              getattr(execution, 'action_execution_id', None))
    if not origin:
        return None
    key = '%s|%s|%s|%s|%d' % (origin, operation, plan.digest,
                              ','.join(names or ()), n)
    return str(uuid.uuid5(JOB_ID_NAMESPACE, key))


def finish(job, wanted):
    ok, data = mistral.outcome(job, wanted)
    if ok:
        return data
    return base.error(data['message'], 'JobFailed', job=data['job'])


def wanted_state(job):
    """What finishing ``job`` means: a job being reverted ends REVERTED."""
    return jobs.REVERTED if job.mode == jobs.MODE_REVERT else jobs.SUCCESS


class StartJob(base.GeoflowsAction):
    """Run an operation on a plan as a geoflows job; return its report.

    The action fails with the job's error if the job does not succeed.

    :param operation: interconnect.setup, interconnect.check,
        interconnect.teardown, protect or sync (a takeover, which needs
        its mode: geoflows.takeover.start).
    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param names: the plan items to act on (default: all of them): the
        interconnects, or the protection groups of protect and sync.
    :param keep_on_failure: keep what a failed job made (FAILED, to resume
        or revert) instead of reverting it; default: [runner]
        keep_on_failure.
    :param submit: post the job for a geoflows conductor instead of running
        it in the executor; the action then completes when the conductor
        reports the outcome.  Default: false.  (Mistral's engine asks
        whether the action is synchronous, so this is an input and not
        geoflows' [jobboard] submit, which only the executors read.)
    """

    def __init__(self, operation, plan=None, plan_file=None, names=None,
                 keep_on_failure=None, submit=False):
        super().__init__()
        self.operation = operation
        self.plan = plan
        self.plan_file = plan_file
        self.names = names
        self.keep_on_failure = keep_on_failure
        self.submit = submit

    def is_sync(self):
        return not self.submit

    def _check_inputs(self):
        if self.operation not in operations.OPERATIONS:
            raise exceptions.GeoflowsError(
                'unknown operation %r; the operations are: %s' % (
                    self.operation, ', '.join(operations.OPERATIONS)))
        if self.names is not None and (
                not isinstance(self.names, list) or
                not all(isinstance(n, str) for n in self.names)):
            raise exceptions.GeoflowsError(
                '"names" must be a list of plan item names, not %r'
                % (self.names,))

    #: the states of a job found again that end the action as they are
    ENDED = (jobs.SUCCESS,)

    def params(self, runner, plan):
        """The parameters of the operation's new job (none here)."""
        return None

    def finish(self, job):
        """The action's result once the job ran."""
        return finish(job, jobs.SUCCESS)

    def _find_or_create(self, runner, execution, plan):
        """The job of this task: found again on a retry, else created."""
        for n in range(MAX_JOBS_PER_TASK):
            job_id = job_id_for(execution, self.operation, plan, self.names,
                                n)
            if job_id is None:
                break
            try:
                job = runner.get(job_id)
            except exceptions.JobNotFound:
                break
            if job.state != jobs.REVERTED:
                return job
        else:
            raise exceptions.JobError(
                'task %s started %d jobs that were all reverted; start a '
                'new execution' % (execution.task_execution_id, n + 1))
        try:
            job_id = runner.create(self.operation, plan, self.names,
                                   self.keep_on_failure, job_id=job_id,
                                   params=self.params(runner, plan))
        except sa_exc.IntegrityError:
            pass  # another attempt of this task created it at this moment
        return runner.get(job_id)

    def execute(self, context):
        self._check_inputs()
        plan = base.load_plan(self.plan, self.plan_file, 'the "plan" input')
        runner = base.runner()
        execution = getattr(context, 'execution', None)
        job = self._find_or_create(runner, execution, plan)
        if job.state in self.ENDED:
            return mistral.report(job)  # a retry after it ended
        if self.submit:
            return self._post(runner, job, execution)
        if job.state == jobs.PENDING:
            job = runner.run(job.id)
        else:  # an earlier attempt's job: stale, kept FAILED or SUSPENDED
            job = runner.resume(job.id)
        return self.finish(job)

    def _post(self, runner, job, execution):
        from geoflows import conf
        from geoflows import jobboard
        if execution is None or not execution.action_execution_id:
            raise exceptions.GeoflowsError(
                'submit: true needs a Mistral action execution to report '
                'the outcome to')
        group = conf.CONF.jobboard
        action = 'run' if job.state == jobs.PENDING else 'resume'
        name = 'mistral-%s' % execution.action_execution_id
        with jobboard.connected(group, name, runner.backend) as board:
            for posting in board.iterjobs(ensure_fresh=True):
                details = jobboard.posting_of(posting)
                if details and details['job_id'] == job.id and \
                        posting.state != tf_states.COMPLETE:
                    break  # posted by an earlier attempt; one is enough
            else:
                jobboard.post(board, job, action,
                              notify=mistral.notify_target(execution))
        return None  # the conductor reports the outcome


class _JobAction(base.GeoflowsAction):

    def __init__(self, job_id):
        super().__init__()
        self.job_id = job_id


class JobStatus(_JobAction):
    """The report of a geoflows job (state, error, result).

    With ``steps``, also the state of each of its steps.
    """

    def __init__(self, job_id, steps=False):
        super().__init__(job_id)
        self.steps = steps

    def execute(self, context):
        runner = base.runner()
        if not self.steps:
            return mistral.report(runner.get(self.job_id))
        job, steps = runner.steps(self.job_id)
        data = mistral.report(job)
        data['steps'] = [{'unit': s['unit'], 'name': s['name'],
                          'state': s['state']} for s in steps]
        return data


class ResumeJob(_JobAction):
    """Finish a job that stopped (failed and kept, suspended, orphaned).

    A job being reverted goes on reverting.  A job that already succeeded
    is returned as it is.
    """

    def execute(self, context):
        runner = base.runner()
        job = runner.get(self.job_id)
        if job.state == jobs.SUCCESS:
            return mistral.report(job)
        job = runner.resume(job.id)
        return finish(job, wanted_state(job))


class RevertJob(_JobAction):
    """Undo everything a job did (also after it succeeded).

    A job that is already reverted is returned as it is.
    """

    def execute(self, context):
        runner = base.runner()
        job = runner.get(self.job_id)
        if job.state == jobs.REVERTED:
            return mistral.report(job)
        return finish(runner.revert(job.id), jobs.REVERTED)
