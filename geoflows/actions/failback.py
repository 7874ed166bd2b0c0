"""geoflows.failback.* actions: give protection groups back to their origin.

``geoflows.failback.reprotect`` runs the job of ``geoflows reprotect``:
the groups taken over replicate back from the DR site serving them to
their origin (or the site named).  ``geoflows.failback.start`` runs the
job of ``geoflows failback``, by stage: ``origin`` builds the origin (a
final reverse sync, fresh VNFs from it, the chains) and checks it, the DR
site untouched; ``delink`` then drains the DR VNFs, removes their chains
and gives the origin the service; ``all`` does both in one job.  Neither
runs the sync that follows (the first reverse one, the first forward
one): a workflow runs it with ``geoflows.job.start``, operation ``sync``.

A failback whose VNFs partly failed ends ``PARTIAL``: that is the
action's result, not an action error (what succeeded stays, the DR site
serves what did not come back); ``geoflows.failback.report`` says what is
missing and the next command.
"""

from geoflows.actions import job as job_actions
from geoflows.actions import protection
from geoflows.actions import takeover as takeover_actions
from geoflows.checkpoints import groups as groups_mod
from geoflows import exceptions
from geoflows import failback
from geoflows import jobs
from geoflows import mistral
from geoflows import secrets


def check_site(value):
    """The name of the site the groups go back to, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not protection.IDENTIFIER.match(value):
        raise exceptions.GeoflowsError(
            '"to" must be the name of a site of the plan, the one the '
            'groups go back to (lower-case letters, digits and dashes, at '
            'most 32 characters), or null for their primary; not %s'
            % protection._show(value))
    return value


def check_stage(value):
    if value not in failback.STAGES:
        raise exceptions.GeoflowsError(
            '"stage" must be origin (build and check the origin, the DR '
            'site untouched), delink (then give the origin the service) or '
            'all (both in one job), not %s' % protection._show(value))
    return value


def check_drain_time(value):
    """Seconds from 0 to failback.MAX_DRAIN_TIME, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value <= failback.MAX_DRAIN_TIME:
        raise exceptions.GeoflowsError(
            '"drain_time" must be seconds from 0 to %d (how long each DR '
            'VNF without a drain hook drains before it leaves its chains), '
            'or null for [protection] drain_time; not %s'
            % (failback.MAX_DRAIN_TIME, protection._show(value)))
    return value


class Reprotect(job_actions.StartJob):
    """Replicate groups taken over back from the DR site serving them.

    The DR site becomes their source, their primary (or ``to``) the
    target: checkpoints and data copies flow back on the groups'
    schedule, from their first reverse sync (the workflow's next task,
    ``geoflows.job.start`` with operation ``sync``).  The result is the
    job's report (``geoflows.job.status``); an action error (``JobFailed``,
    with the job) when it did not succeed.  Everything refused before the
    job exists (a group not taken over, or reprotected already; the sites
    unreachable) is an action error too, and nothing has changed.  A
    retry of the task finds its job again.

    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param groups: the protection groups to reprotect (default: all).
    :param to: the site they go back to (default: their primary).
    """

    def __init__(self, plan=None, plan_file=None, groups=None, to=None):
        super().__init__('reprotect', plan=plan, plan_file=plan_file,
                         names=groups)
        self.to = to

    def _check_inputs(self):
        protection.check_names(self.names, '"groups"')
        check_site(self.to)
        takeover_actions.check_plan_file(self.plan_file)

    def params(self, runner, plan):
        return failback.reprotect_params(plan, self.to)


class Failback(job_actions.StartJob):
    """Give reprotected groups back to their origin, by stage.

    ``origin``: a final sync from the DR site, the old VNFs at the origin
    replaced by fresh ones (same IPs and MACs, data restored), the
    origin's chains, the origin compared with the job's checkpoint; the DR
    site still serves.  ``delink``: the origin checked again, each DR VNF
    drained (its drain hooks, or ``drain_time``) before its chains go, the
    DR networks out of the interconnect, the origin serving and
    replicating forward, the DR VNFs back to standby.  ``all``: both.
    The result is the job's report when it ended ``SUCCESS`` or
    ``PARTIAL`` (some VNFs failed, each undone alone: ``result.failed``,
    ``result.skipped``); an action error (``JobFailed``, with the job)
    otherwise.  Everything refused before the job exists (the origin
    unreachable or its old VNFs running, the newest reverse checkpoint
    over the RPO, a group not reprotected) is an action error too, and
    nothing has changed.  A retry of the task finds its job again.

    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param groups: the protection groups to give back (default: all).
    :param stage: ``origin``, ``delink`` or ``all`` (the default).
    :param drain_time: seconds each DR VNF without a drain hook drains
        (0 to 3600; default: [protection] drain_time).
    """

    ENDED = (jobs.SUCCESS, jobs.PARTIAL)

    def __init__(self, plan=None, plan_file=None, groups=None, stage='all',
                 drain_time=None):
        super().__init__('failback', plan=plan, plan_file=plan_file,
                         names=groups)
        self.stage = stage
        self.drain_time = drain_time

    def _check_inputs(self):
        protection.check_names(self.names, '"groups"')
        check_stage(self.stage)
        check_drain_time(self.drain_time)
        takeover_actions.check_plan_file(self.plan_file)
        failback.failback_params(self.stage, self.drain_time)

    def params(self, runner, plan):
        return failback.failback_params(self.stage, self.drain_time)

    def finish(self, job):
        if job.state in self.ENDED:
            return mistral.report(job)
        return job_actions.finish(job, jobs.SUCCESS)


def _ended_units(store, job):
    """The units of ``job`` whose origin check or serving step succeeded."""
    return {step['unit'] for step in store.job_steps(
        job.id, names=['verify', 'serving'], data=False)
        if step['state'] == jobs.SUCCESS}


def next_step(job, stage, names, incomplete, serving, plan_source=None):
    """What the operator does now, after failback ``job``; or None.

    ``names``: its groups; ``incomplete``: those not at the end of its
    stage; ``serving``: those the origin serves since the job.
    """
    plan = plan_source or 'PLAN'
    if job.state == jobs.PARTIAL:
        text = ('fix what failed (result.failed of the job), then finish '
                'it with "geoflows job resume %s" (the geoflows.job.resume '
                'action): it runs only the failed and skipped units'
                % job.id)
        if serving:
            text += ('; it cannot be undone: the origin serves %s since '
                     'this job' % ', '.join(serving))
        else:
            text += ('; or undo it with "geoflows job revert %s" (the DR '
                     'site keeps serving)' % job.id)
        return text
    if job.state != jobs.SUCCESS:
        return mistral.error_message(job, jobs.SUCCESS)
    if stage == 'origin' and not incomplete:
        return ('the origin is built and checked, the DR site still '
                'serves: give the origin the service with the delink stage '
                '(the failback workflow with delink_only: true, or '
                '"geoflows failback --stage delink --plan %s%s"), or undo '
                'the origin with "geoflows job revert %s"'
                % (plan, ''.join(' ' + n for n in names), job.id))
    return None


def report_of(store, job, plan_source=None):
    """Per group and VNF of failback ``job``: where it stands, its times."""
    stage = (job.spec.get('params') or {}).get('stage', 'all')
    sites = {unit['args']['group']: unit['args'] for unit in job.units
             if unit['flow'] == 'failback.origin'}
    reports = {r['group']: r for r in failback.reports(job)}
    ended = _ended_units(store, job)
    result = job.result or {}
    failed = {name: takeover_actions._short(text)
              for name, text in (result.get('failed') or {}).items()}
    skipped = {name: takeover_actions._short(text)
               for name, text in (result.get('skipped') or {}).items()}
    groups, checked, serving, incomplete = {}, [], [], []
    for name in sorted(sites):
        state = groups_mod.get(store, job.plan_name, name)
        report = reports.get(name) or {}
        origin_checked = '%s.origin' % name in ended
        origin_serves = '%s.serving' % name in ended
        if origin_checked:
            checked.append(name)
        if origin_serves:
            serving.append(name)
        if not (origin_checked if stage == 'origin' else origin_serves):
            incomplete.append(name)
        vnfs = {}
        for vnf, row in sorted((report.get('vnfs') or {}).items()):
            vnfs[vnf] = {key: row.get(key) for key in (
                'priority', 'standby', 'origin_ready', 'drained',
                'standby_at')}
        groups[name] = {
            'origin': sites[name]['target']['name'],
            'dr': sites[name]['source']['name'],
            'origin_checked': origin_checked,
            'origin_serves': origin_serves,
            'protection': state.state if state else None,
            'serving_site': (state.serving_site or state.source_site)
            if state else None,
            'replicates': {'from': state.source_site,
                           'to': state.target_site} if state else None,
            'serving_at': report.get('serving_at'),
            'seconds': report.get('seconds'),
            'vnfs': vnfs}
    data = {
        'job': job.id, 'plan': job.plan_name, 'stage': stage,
        'state': job.state, 'duration': job.duration,
        'error': takeover_actions._short(job.error) if job.error else None,
        'complete': job.state == jobs.SUCCESS and not incomplete,
        'groups': groups, 'failed': failed, 'skipped': skipped,
        'origin_checked': checked, 'origin_serves': serving,
        'incomplete': incomplete,
        'next': next_step(job, stage, sorted(sites), incomplete, serving,
                          plan_source)}
    return secrets.mask_data(data)


class Report(takeover_actions.Report):
    """The report of a failback job: per group where it stands, per VNF.

    Per group: its ``origin`` and ``dr`` sites, ``origin_checked`` (the
    origin was compared with the job's checkpoint, no difference),
    ``origin_serves`` (the origin serves since this job), its
    ``protection`` state now, ``serving_site`` and the way it
    ``replicates``; with the job's stage ``delink`` or ``all``, the
    seconds from the job's start until the origin served
    (``serving_at``) and in all (``seconds``), and per VNF the seconds
    until it was ready at the origin (``origin_ready``, with ``all``),
    drained at the DR site (``drained``) and back to standby there
    (``standby_at``).  At the top: the job's ``stage``, ``state``,
    ``complete`` (SUCCESS, and every group at the stage's end: its origin
    checked for ``origin``, serving otherwise), ``incomplete`` groups,
    ``failed`` and ``skipped`` units, ``origin_checked`` and
    ``origin_serves`` groups and ``next``: what to do now (null when
    nothing).  A PARTIAL job is a result, not an action error.

    :param job_id: the failback job's id.
    :param plan_file: the plan file, to name it in the next command.
    """

    operation = 'failback'

    def report(self, store, job):
        return report_of(store, job, self.plan_file)
