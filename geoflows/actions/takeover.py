"""geoflows.takeover.* actions: take protection groups over at their DR
site, compare what runs there with the checkpoint, report a takeover,
fence a primary that did not answer.

``geoflows.takeover.start`` runs the same job as ``geoflows takeover``:
per group its fencing of the primary (disaster), its VNFs by priority, its
chains, its verification and its report.  A takeover whose VNFs partly
failed ends ``PARTIAL``: that is the action's result, not an action error
(the VNFs that came up run, and the workflow goes on to verify and report
them); ``geoflows.takeover.report`` says what is missing and the next
command.
"""

import json

from geoflows.actions import base
from geoflows.actions import job as job_actions
from geoflows.actions import protection
from geoflows.checkpoints import groups as groups_mod
from geoflows import exceptions
from geoflows import jobs
from geoflows import mistral
from geoflows import secrets
from geoflows import takeover

#: at most this many differences per group in a result (and the count)
MAX_DIFFERENCES = 200
#: at most this many characters of one difference, or of a job's error
TEXT_CHARS = 1000
#: the length of a job id (a UUID) at most
JOB_ID_CHARS = 64


def check_mode(value):
    if value not in takeover.MODES:
        raise exceptions.GeoflowsError(
            '"mode" must be planned (the primary answers: nothing is '
            'lost) or disaster (the primary is lost), not %s'
            % protection._show(value))
    return value


def check_checkpoint(value):
    """A checkpoint id (or a prefix of 4 characters or more), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise exceptions.GeoflowsError(
            '"checkpoint" must be a checkpoint id (text, at most 64 '
            'characters), not %s' % protection._show(value))
    return takeover.checkpoint_id(value)


def check_job_id(value):
    if not isinstance(value, str) or not value.strip() or \
            len(value) > JOB_ID_CHARS or not value.isprintable():
        raise exceptions.GeoflowsError(
            '"job_id" must be the id of a geoflows job (text, at most %d '
            'characters), not %s' % (JOB_ID_CHARS, protection._show(value)))
    return value.strip()


def check_plan_file(value):
    if value is not None and (not isinstance(value, str) or not value or
                              len(value) > 4096 or '\0' in value):
        raise exceptions.GeoflowsError(
            '"plan_file" must be the path of a plan file on the executor '
            'hosts (at most 4096 characters), not %s'
            % protection._show(value))
    return value


def _short(text):
    text = str(text)
    if len(text) > TEXT_CHARS:
        text = text[:TEXT_CHARS - 3] + '...'
    return secrets.mask(text)


def _differences(found):
    return [_short(d) for d in found[:MAX_DIFFERENCES]]


class Takeover(job_actions.StartJob):
    """Take protection groups over at their DR site; the job's report.

    The result is the job's report (``geoflows.job.status``) when the job
    ended ``SUCCESS`` or ``PARTIAL`` (some VNFs failed, each undone alone,
    their dependents skipped: ``result.failed`` and ``result.skipped``);
    an action error (``JobFailed``, with the job) otherwise.  Everything
    refused before the job exists (a group already taken over, no
    checkpoint, the DR site unreachable) is an action error too, and
    nothing has changed.  A retry of the task finds its job again.

    :param mode: ``planned`` (the primary answers: its VNFs are stopped
        after a final copy, nothing is lost) or ``disaster`` (the primary
        is lost: from the newest checkpoint, its VNFs fenced if it still
        answers).
    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param groups: the protection groups to take over (default: all).
    :param confirm_primary_lost: with ``disaster``: the operator declared
        the primary lost (the workflow's "declare disaster" decision).
    :param checkpoint: with ``disaster`` and one group: from this
        checkpoint (an id, or 4 of its first characters or more) rather
        than the newest.
    """

    ENDED = (jobs.SUCCESS, jobs.PARTIAL)

    def __init__(self, mode, plan=None, plan_file=None, groups=None,
                 confirm_primary_lost=False, checkpoint=None):
        super().__init__('takeover', plan=plan, plan_file=plan_file,
                         names=groups)
        self.mode = mode
        self.confirm_primary_lost = confirm_primary_lost
        self.checkpoint = checkpoint

    def _check_inputs(self):
        check_mode(self.mode)
        protection.check_names(self.names, '"groups"')
        protection.check_flag(self.confirm_primary_lost,
                              '"confirm_primary_lost"')
        self.checkpoint = check_checkpoint(self.checkpoint)
        check_plan_file(self.plan_file)
        takeover.params(self.mode, self.confirm_primary_lost,
                        self.checkpoint)

    def params(self, runner, plan):
        return takeover.prepare(runner, plan, self.names, self.mode,
                                self.confirm_primary_lost, self.checkpoint)

    def finish(self, job):
        if job.state in self.ENDED:
            return mistral.report(job)
        return job_actions.finish(job, jobs.SUCCESS)


class Verify(base.GeoflowsAction):
    """Compare the site serving each group with its checkpoint.

    After a takeover: every VNF and chain of the group at its DR site,
    against the takeover's checkpoint; before one: the DR site's standbys,
    networks and security groups against the newest checkpoint (as
    ``geoflows protection verify``).  Returns ``clean`` (no difference
    anywhere), ``differences`` (their count) and ``groups``: per group the
    ``site``, ``scope``, ``checkpoint`` and ``differences`` (sentences, at
    most 200 a group; ``more`` counts the others).  Differences are a
    result, not an action error: the workflow decides.

    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param groups: the protection groups to compare (default: all).
    :param checkpoint: with one group: compare with this checkpoint.
    """

    def __init__(self, plan=None, plan_file=None, groups=None,
                 checkpoint=None):
        super().__init__()
        self.plan = plan
        self.plan_file = plan_file
        self.groups = groups
        self.checkpoint = checkpoint

    def execute(self, context):
        names = protection.check_names(self.groups, '"groups"')
        wanted = check_checkpoint(self.checkpoint)
        check_plan_file(self.plan_file)
        plan = base.load_plan(self.plan, self.plan_file, 'the "plan" input')
        found = takeover.verify(base.runner(), plan, names, wanted)
        groups, total = {}, 0
        for group in found:
            total += len(group['differences'])
            groups[group['group']] = {
                'site': group['site'], 'scope': group['scope'],
                'checkpoint': group['checkpoint'],
                'differences': _differences(group['differences']),
                'more': max(0, len(group['differences']) - MAX_DIFFERENCES)}
        return secrets.mask_data({'plan': plan.name, 'clean': not total,
                                  'differences': total, 'groups': groups})


def next_step(job, not_fenced, plan_source=None):
    """What the operator does now, after takeover ``job``; or None."""
    steps = []
    if job.state == jobs.PARTIAL:
        steps.append(
            'fix what failed (result.failed of the job), then run the '
            'resume workflow with job_id %s (or "geoflows job resume %s"): '
            'it runs only the failed and skipped VNFs; or undo the whole '
            'takeover with the revert workflow ("geoflows job revert %s")'
            % (job.id, job.id, job.id))
    elif job.state != jobs.SUCCESS:
        steps.append(mistral.error_message(job, jobs.SUCCESS))
    if not_fenced:
        steps.append(
            'the primary of %s could not be fenced: its VNFs may still run '
            'there; once it answers, fence it with the fence workflow '
            '(groups %s) or "geoflows protection fence --plan %s %s", or '
            'confirm it is down (confirm_fenced: true, or --confirm-fenced)'
            % (', '.join(not_fenced), json.dumps(not_fenced),
               plan_source or 'PLAN', ' '.join(not_fenced)))
    return ' '.join(steps) or None


def report_of(store, job, plan_source=None):
    """Per group and VNF of takeover ``job``: RPO, RTO, fence, verdict."""
    done = {unit['args']['group']: unit for unit in job.units
            if unit['flow'] == 'takeover.done'}
    reports = {r['group']: r for r in takeover.reports(job)}
    result = job.result or {}
    failed = {name: _short(text)
              for name, text in (result.get('failed') or {}).items()}
    skipped = {name: _short(text)
               for name, text in (result.get('skipped') or {}).items()}
    groups, not_fenced, not_ready, rto_missed = {}, [], [], []
    for name in sorted(done):
        state = groups_mod.get(store, job.plan_name, name)
        report = reports.get(name) or {}
        vnfs = {}
        for vnf, row in sorted((report.get('vnfs') or {}).items()):
            vnfs[vnf] = {key: row.get(key) for key in (
                'priority', 'standby', 'ready', 'rpo', 'rpo_target', 'rto',
                'rto_target', 'rto_met', 'consistent_at')}
            if not row.get('ready'):
                not_ready.append('%s/%s' % (name, vnf))
            elif not row.get('rto_met'):
                rto_missed.append('%s/%s' % (name, vnf))
        if not vnfs:  # the group's report was not made (yet)
            not_ready.extend('%s/%s' % (name, vnf) for vnf in sorted(
                done[name]['args'].get('vnfs') or ()))
        verdict = report.get('verify') or {}
        fence = state.fence_state if state is not None else None
        if fence == groups_mod.NOT_FENCED:
            not_fenced.append(name)
        groups[name] = {
            'checkpoint': report.get('checkpoint'),
            'serving_site': state.serving_site if state else None,
            'taken_over': bool(state and state.taken_over),
            'fence': fence,
            'fence_detail': _short(state.fence_detail)
            if state is not None and state.fence_detail else None,
            'verify': {'clean': verdict.get('clean'),
                       'differences': _differences(
                           verdict.get('differences') or []),
                       'error': _short(verdict['error'])
                       if verdict.get('error') else None},
            'vnfs': vnfs}
    data = {
        'job': job.id, 'plan': job.plan_name,
        'mode': (job.spec.get('params') or {}).get('mode'),
        'state': job.state, 'duration': job.duration,
        'error': _short(job.error) if job.error else None,
        'complete': job.state == jobs.SUCCESS and not not_ready,
        'groups': groups, 'failed': failed, 'skipped': skipped,
        'not_ready': not_ready, 'rto_missed': rto_missed,
        'not_fenced': not_fenced,
        'fence': {name: {'state': group['fence'],
                         'detail': group['fence_detail']}
                  for name, group in groups.items()},
        'next': next_step(job, not_fenced, plan_source)}
    return secrets.mask_data(data)


class Report(base.GeoflowsAction):
    """The report of a takeover job: per group and VNF, RPO and RTO.

    Per group: its ``checkpoint``, ``serving_site``, ``fence`` state
    (``fenced``, ``not fenced``) and ``fence_detail``, the job's own
    ``verify`` verdict, and per VNF its ``ready``, achieved ``rpo`` and
    measured ``rto`` (seconds) against ``rpo_target`` and ``rto_target``
    (``rto_met``).  At the top: the job's ``state``, ``complete`` (SUCCESS
    and every VNF ready), ``failed`` and ``skipped`` units, ``not_ready``
    and ``rto_missed`` VNFs (``group/vnf``), ``fence`` (per group its
    state and detail), ``not_fenced`` groups and ``next``: what to do now
    (null when nothing).  A PARTIAL job is a result, not an action error.

    :param job_id: the takeover job's id.
    :param plan_file: the plan file, to name it in the next command.
    """

    #: the operation of the jobs it reports
    operation = 'takeover'

    def __init__(self, job_id, plan_file=None):
        super().__init__()
        self.job_id = job_id
        self.plan_file = plan_file

    def report(self, store, job):
        return report_of(store, job, self.plan_file)

    def execute(self, context):
        job_id = check_job_id(self.job_id)
        check_plan_file(self.plan_file)
        runner = base.runner()
        job = runner.get(job_id)
        if job.operation != self.operation:
            raise exceptions.GeoflowsError(
                'job %s is a %s job, not a %s' % (
                    job.id, job.operation, self.operation))
        return self.report(runner.store, job)


class Fence(base.GeoflowsAction):
    """Fence the primary of groups taken over, or confirm it is fenced.

    As ``geoflows protection fence``: without ``confirm_fenced``, a fence
    job stops the groups' protected servers at the primary and takes their
    ports down (now that it answers again); with it, the operator states
    that they are down (nothing is called).  Returns ``job`` (the fence
    job's id, or null), ``not_fenced`` (the groups still not fenced: a
    result, not an action error) and per group its ``fence`` state and
    ``detail``.  A group its primary serves (no takeover) is refused:
    fencing it would stop its service.

    :param groups: the protection groups to fence (at least one).
    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param confirm_fenced: the primary's VNFs are down, fenced by hand.
    """

    def __init__(self, groups, plan=None, plan_file=None,
                 confirm_fenced=False):
        super().__init__()
        self.groups = groups
        self.plan = plan
        self.plan_file = plan_file
        self.confirm_fenced = confirm_fenced

    def execute(self, context):
        names = protection.check_names(self.groups, '"groups"')
        if not names:
            raise exceptions.GeoflowsError(
                '"groups" must name the groups to fence (fencing stops their '
                'VNFs at the primary)')
        protection.check_flag(self.confirm_fenced, '"confirm_fenced"')
        check_plan_file(self.plan_file)
        plan = base.load_plan(self.plan, self.plan_file, 'the "plan" input')
        rows = takeover.fence(base.runner(), plan, names,
                              confirm=self.confirm_fenced)
        return secrets.mask_data({
            'plan': plan.name,
            'job': next((r['job'] for r in rows if r['job']), None),
            'not_fenced': [r['group'] for r in rows
                           if r['fence'] != groups_mod.FENCED],
            'groups': {r['group']: {
                'fence': r['fence'],
                'detail': _short(r['detail']) if r['detail'] else None}
                for r in rows}})
