"""geoflows.drill.* actions: rehearse a takeover in an isolated copy.

``geoflows.drill.start`` runs the job of ``geoflows drill``: per group an
isolated copy at its DR site from the newest checkpoint (its own networks,
fresh servers with the same IPs and MACs, volumes restored, chains
rebuilt), verified against the checkpoint, the RTO of each VNF measured;
then the copy removed, unless kept (``keep``, ``keep_for``).  The primary,
the DR site's standbys and the interconnect are not changed.
``geoflows.drill.report`` reads the job's findings;
``geoflows.drill.cleanup`` removes a kept copy (``geoflows drill
cleanup``); ``geoflows.drill.list`` lists the copies still present
(``geoflows drill list``).

A drill whose VNFs partly failed ends ``PARTIAL``: that is the action's
result, not an action error (the report says which VNFs were not ready,
and whether the copy was removed all the same).
"""

import re
import uuid

from geoflows.actions import base
from geoflows.actions import job as job_actions
from geoflows.actions import protection
from geoflows.actions import takeover as takeover_actions
from geoflows.checkpoints import drills
from geoflows import drill
from geoflows import drill_units
from geoflows import exceptions
from geoflows import jobs
from geoflows import mistral
from geoflows import secrets

#: the longest keep_for the actions take, whatever the configuration says
#: (the same as "geoflows drill --keep-for")
MAX_KEEP_SECONDS = 30 * 86400
#: a drill's job id, or a unique prefix of it (4 characters or more)
DRILL_ID = re.compile(r'^[0-9a-f-]{4,36}$')
#: at most this many copies in a listing (the oldest first)
MAX_COPIES = 1000


def check_keep_for(value, limit=MAX_KEEP_SECONDS):
    """Seconds from 1 to ``limit``, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 1 <= value <= limit:
        raise exceptions.GeoflowsError(
            '"keep_for" must be the seconds the drill\'s copy is kept, from '
            '1 to %d ([protection] drill_max_keep), or null to remove it at '
            'the drill\'s end; not %s' % (limit, protection._show(value)))
    return value


def check_drill_id(value, where='"drill"'):
    if not isinstance(value, str) or not DRILL_ID.match(value.strip()):
        raise exceptions.GeoflowsError(
            '%s must be the id of a drill job, or 4 of its first characters '
            'or more (lower-case hexadecimal digits and dashes, at most 36 '
            'characters: "geoflows drill list" shows them), not %s'
            % (where, protection._show(value)))
    return value.strip()


def max_keep(runner):
    """The longest a copy may be kept: [protection] drill_max_keep."""
    return runner.options.get('drill_max_keep') or drill.DEFAULT_MAX_KEEP


def _copy_row(copy, now=None):
    report = copy.report or {}
    verdict = report.get('verify') or {}
    return {'drill': copy.drill_id, 'plan': copy.plan_name,
            'group': copy.group_name, 'site': copy.site,
            'state': copy.state, 'age': round(copy.age(now), 3),
            'kept_until': drill_units.expiry(copy),
            'verify': None if not report else bool(verdict.get('clean'))}


class Drill(job_actions.StartJob):
    """Rehearse the takeover of protection groups in an isolated copy.

    Per group, at its DR site and from its newest checkpoint: the copy's
    own networks (the same CIDRs, no way out), fresh servers on ports with
    the same IPs and MACs, volumes restored, chains rebuilt; the copy
    compared with the checkpoint, the RTO of each VNF measured; then the
    copy removed, unless kept.  The result is the job's report
    (``geoflows.job.status``) when it ended ``SUCCESS`` or ``PARTIAL``
    (some VNFs failed: ``result.failed``; or the copy's removal failed:
    ``GROUP.cleanup`` among them); an action error (``JobFailed``, with
    the job) otherwise.  Everything refused before the job exists (a group
    taken over, no complete checkpoint, a volume replicated by the storage
    array) is an action error too, and nothing has changed.  A retry of
    the task finds its job again.

    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param groups: the protection groups to drill (default: all).
    :param keep: keep the copy for [protection] drill_max_keep seconds.
    :param keep_for: keep the copy this many seconds (1 to [protection]
        drill_max_keep); with neither, the job removes it at its end.
    """

    ENDED = (jobs.SUCCESS, jobs.PARTIAL)

    def __init__(self, plan=None, plan_file=None, groups=None, keep=False,
                 keep_for=None):
        super().__init__('drill', plan=plan, plan_file=plan_file,
                         names=groups)
        self.keep = keep
        self.keep_for = keep_for

    def _check_inputs(self):
        protection.check_names(self.names, '"groups"')
        protection.check_flag(self.keep, '"keep"')
        check_keep_for(self.keep_for)
        takeover_actions.check_plan_file(self.plan_file)

    def params(self, runner, plan):
        limit = max_keep(runner)
        keep_for = check_keep_for(self.keep_for, limit)
        if self.keep and keep_for is None:
            keep_for = limit
        return drill.drill_params(keep_for, limit)

    def finish(self, job):
        if job.state in self.ENDED:
            return mistral.report(job)
        return job_actions.finish(job, jobs.SUCCESS)


def cleanup_job_id_for(execution, drill_text, n=0):
    """The id of the ``n``-th cleanup job a task execution starts."""
    origin = (getattr(execution, 'task_execution_id', None) or
              getattr(execution, 'action_execution_id', None))
    if not origin:
        return None
    key = '%s|drill.cleanup|%s|%d' % (origin, drill_text, n)
    return str(uuid.uuid5(job_actions.JOB_ID_NAMESPACE, key))


class Cleanup(base.GeoflowsAction):
    """Remove what is left of a drill's isolated copies.

    Everything carrying the drill's mark at the DR site: chains, servers,
    ports, volumes, routers, networks (as ``geoflows drill cleanup``).  A
    cleanup job of the same drill that did not end is finished rather
    than a second one started; a retry of the task finds its job again.
    The result is the job's report with ``drill`` (the drill's full id);
    an action error (``JobFailed``, with the job) when it did not
    succeed, and before any job when the drill has no copy left or still
    runs.

    :param drill: the drill's job id (or 4 of its first characters or
        more).
    """

    def __init__(self, drill):
        super().__init__()
        self.drill = drill

    def _job(self, runner, execution, drill_text):
        """The cleanup job of this task: found again, or made."""
        job_id = None
        for n in range(job_actions.MAX_JOBS_PER_TASK):
            job_id = cleanup_job_id_for(execution, drill_text, n)
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
                'task %s started %d cleanup jobs that were all reverted; '
                'start a new execution' % (execution.task_execution_id,
                                           n + 1))
        return runner.get(drill.cleanup_job(runner, drill_text,
                                            job_id=job_id))

    def execute(self, context):
        drill_text = check_drill_id(self.drill)
        runner = base.runner()
        job = self._job(runner, getattr(context, 'execution', None),
                        drill_text)
        if job.state == jobs.PENDING:
            job = runner.run(job.id)
        elif job.state != jobs.SUCCESS:
            job = runner.resume(job.id)
        if job.state != jobs.SUCCESS:
            return job_actions.finish(job, jobs.SUCCESS)
        data = mistral.report(job)
        data['drill'] = (job.spec.get('params') or {}).get('drill')
        return data


class ListCopies(base.GeoflowsAction):
    """The drills' isolated copies still present, oldest first.

    Per copy (a drill of one group): ``drill`` (its job id), ``plan``,
    ``group``, ``site``, ``state``, ``age`` (seconds since the drill made
    it), ``kept_until`` (when the conductors remove it; null: at the
    drill's end) and ``verify`` (whether it matched the checkpoint; null
    before its report).  Returns ``copies`` (at most 1000), ``count``
    (all of them) and ``drills`` (their ids).

    :param plan_name: only the copies of this plan.
    :param drill: only those of this drill (its id, or a prefix).
    :param include_removed: also the copies removed.
    """

    def __init__(self, plan_name=None, drill=None, include_removed=False):
        super().__init__()
        self.plan_name = plan_name
        self.drill = drill
        self.include_removed = include_removed

    def execute(self, context):
        protection.check_name(self.plan_name, '"plan_name"')
        wanted = None if self.drill is None else check_drill_id(self.drill)
        protection.check_flag(self.include_removed, '"include_removed"')
        store = base.runner().store
        found = [c for c in drills.listing(
            store, self.plan_name, present=not self.include_removed)
                 if wanted is None or c.drill_id.startswith(wanted)]
        rows = [_copy_row(c) for c in found[:MAX_COPIES]]
        return secrets.mask_data({
            'copies': rows, 'count': len(found),
            'drills': sorted({c.drill_id for c in found})})


def next_step(job, present, plan_source=None):
    """What the operator does now, after drill ``job``; or None."""
    steps = []
    failed = (job.result or {}).get('failed') or {}
    not_removed = any(name.endswith('.cleanup') for name in failed)
    if job.state == jobs.PARTIAL and not_removed:
        steps.append(
            'the copy was not removed: fix what failed (result.failed of '
            'the job), then finish its removal with "geoflows job resume '
            '%s" (the geoflows.job.resume action)' % job.id)
    elif job.state == jobs.PARTIAL:
        steps.append(
            'some VNFs were not ready in the copy (result.failed of the '
            'job): fix their cause, then drill again ("geoflows drill '
            '--plan %s")' % (plan_source or 'PLAN'))
    elif job.state != jobs.SUCCESS:
        steps.append(mistral.error_message(job, jobs.SUCCESS))
    if present and not not_removed:
        steps.append(
            'the copy is kept at the DR site: remove it with the cleanup '
            'workflow of geoflows.drill.v1 ({"drill": "%s"}) or "geoflows '
            'drill cleanup %s"; the conductors do once its time is up'
            % (job.id, job.id))
    return ' '.join(steps) or None


def report_of(store, job, plan_source=None):
    """Per group and VNF of drill ``job``: ready, RTO, RPO, verdict."""
    done = {unit['args']['group']: unit for unit in job.units
            if unit['flow'] == 'drill.done'}
    reports = {r['group']: r for r in drill.reports(job)}
    copies = {c.group_name: c for c in drills.get(store, job.id)}
    result = job.result or {}
    failed = {name: takeover_actions._short(text)
              for name, text in (result.get('failed') or {}).items()}
    skipped = {name: takeover_actions._short(text)
               for name, text in (result.get('skipped') or {}).items()}
    groups, not_ready, rto_missed, differing, present = {}, [], [], [], []
    for name in sorted(done):
        report = reports.get(name) or {}
        copy = copies.get(name)
        vnfs = {}
        for vnf, row in sorted((report.get('vnfs') or {}).items()):
            vnfs[vnf] = {key: row.get(key) for key in (
                'priority', 'standby', 'ready', 'rto', 'rto_target',
                'rto_met', 'rpo', 'rpo_target', 'consistent_at')}
            if not row.get('ready'):
                not_ready.append('%s/%s' % (name, vnf))
            elif not row.get('rto_met'):
                rto_missed.append('%s/%s' % (name, vnf))
        if not vnfs:  # the group's report was not made
            not_ready.extend('%s/%s' % (name, vnf) for vnf in sorted(
                done[name]['args'].get('vnfs') or ()))
        verdict = report.get('verify') or {}
        if verdict.get('clean') is not True:
            differing.append(name)
        if copy is not None and copy.present:
            present.append(name)
        groups[name] = {
            'site': done[name]['args']['target']['name'],
            'checkpoint': report.get('checkpoint'),
            'verify': {'clean': verdict.get('clean'),
                       'differences': takeover_actions._differences(
                           verdict.get('differences') or []),
                       'error': takeover_actions._short(verdict['error'])
                       if verdict.get('error') else None},
            'copy': copy.state if copy is not None else None,
            'kept_until': drill_units.expiry(copy)
            if copy is not None and copy.present else None,
            'vnfs': vnfs}
    keep_for = (job.spec.get('params') or {}).get('keep_for')
    data = {
        'job': job.id, 'plan': job.plan_name, 'state': job.state,
        'duration': job.duration, 'keep_for': keep_for,
        'error': takeover_actions._short(job.error) if job.error else None,
        'complete': job.state == jobs.SUCCESS and not not_ready and
        not differing,
        'groups': groups, 'failed': failed, 'skipped': skipped,
        'not_ready': not_ready, 'rto_missed': rto_missed,
        'differing': differing, 'kept': present,
        'cleanup': {'workflow': 'geoflows.drill.v1.cleanup',
                    'input': {'drill': job.id},
                    'command': 'geoflows drill cleanup %s' % job.id}
        if present else None,
        'next': next_step(job, present, plan_source)}
    return secrets.mask_data(data)


class Report(takeover_actions.Report):
    """The report of a drill job: per group its verdict, per VNF its RTO.

    Per group: its DR ``site``, the ``checkpoint`` drilled, the copy's
    ``verify`` verdict against it (``clean``, ``differences``, ``error``),
    the ``copy``'s state (``present``, ``removed``) and ``kept_until``;
    per VNF ``ready``, the measured ``rto`` (seconds from the job's start
    until it was ready in the copy, its chains included) against
    ``rto_target`` (``rto_met``), and the ``rpo`` the checkpoint gave
    against ``rpo_target``.  At the top: the job's ``state``, ``complete``
    (SUCCESS, every VNF ready, every copy the same as its checkpoint),
    ``failed`` and ``skipped`` units, ``not_ready`` and ``rto_missed``
    VNFs (``group/vnf``), ``differing`` groups, ``kept`` (the groups
    whose copy is still present), ``cleanup`` (the workflow and command
    that remove it; null when nothing is kept) and ``next``: what to do
    now (null when nothing).  A PARTIAL job is a result, not an action
    error.

    :param job_id: the drill job's id.
    :param plan_file: the plan file, to name it in the next command.
    """

    operation = 'drill'

    def report(self, store, job):
        return report_of(store, job, self.plan_file)
