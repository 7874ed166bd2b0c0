"""Takeover, for programs: take over, predict, verify, fence.

The same as the ``geoflows takeover`` and ``geoflows protection
verify|fence`` commands, for a MANO system that drives geoflows from
Python::

    from geoflows import plan, runner, takeover

    my_plan = plan.load('plan.yaml')
    jobs = runner.Runner.from_config()
    for group in takeover.predict(jobs, my_plan, ['core']):
        print(group['group'], group['rto'], group['target'])
    job = takeover.takeover(jobs, my_plan, ['core'], mode='disaster',
                            confirm_primary_lost=True)
    for report in takeover.reports(job):
        for vnf, row in report['vnfs'].items():
            print(vnf, row['rto'], row['rpo'])
    for group in takeover.verify(jobs, my_plan):
        print(group['group'], group['differences'] or 'no difference')
    takeover.fence(jobs, my_plan, ['core'])           # the primary answers
    takeover.fence(jobs, my_plan, ['core'], confirm=True)   # or by hand

``takeover`` and ``fence`` are jobs like any other (``jobs.resume``,
``jobs.revert``); a takeover whose VNFs partly failed ends ``PARTIAL``
(``job.result['failed']`` and ``['skipped']``; ``jobs.resume`` runs only
those).  Everything wrong before the job exists raises
:class:`geoflows.exceptions.GeoflowsError` (its
:class:`~geoflows.exceptions.PreflightError` places every problem in the
plan), and nothing has changed.
"""

import re

from geoflows import checkpoints as checkpoints_mod
from geoflows.checkpoints import groups as groups_mod
from geoflows import exceptions

PLANNED = 'planned'
DISASTER = 'disaster'
MODES = (PLANNED, DISASTER)

_CHECKPOINT_ID = re.compile(r'^[0-9a-fA-F-]{4,64}$')


def checkpoint_id(text):
    """``text`` if it can be a checkpoint id or a prefix of one."""
    text = (text or '').strip()
    if not _CHECKPOINT_ID.match(text):
        raise exceptions.GeoflowsError(
            '%r is not a checkpoint id: give an id of "geoflows checkpoint '
            'list" (or 4 of its first characters or more)' % text[:70])
    return text.lower()


def _groups(plan, names):
    from geoflows import protection_units
    return protection_units.select_groups(plan, names)


def params(mode, confirm_primary_lost=False, checkpoint=None):
    """The parameters of a takeover job, checked.

    Raises GeoflowsError with what to give when they do not go together.
    """
    if mode not in MODES:
        raise exceptions.GeoflowsError(
            'say which takeover this is: planned (the primary answers; '
            'its VNFs are stopped after a final sync, nothing is lost) or '
            'disaster (the primary is lost; from the newest checkpoint, '
            'with confirm_primary_lost)')
    if mode == DISASTER and not confirm_primary_lost:
        raise exceptions.GeoflowsError(
            'a disaster takeover starts the VNFs at the DR site from their '
            'last copies while the primary may still run them: confirm '
            'that the primary is lost (--confirm-primary-lost)')
    if mode == PLANNED and confirm_primary_lost:
        raise exceptions.GeoflowsError(
            'a planned takeover needs the primary: it is not lost '
            '(drop the confirmation, or take it over as a disaster)')
    if checkpoint is not None and mode == PLANNED:
        raise exceptions.GeoflowsError(
            'a planned takeover makes its own checkpoint after stopping the '
            'primary (nothing is lost); a checkpoint is chosen only for a '
            'disaster takeover')
    found = {'mode': mode}
    if mode == DISASTER:
        found['confirm_primary_lost'] = True
    if checkpoint is not None:
        found['checkpoint'] = checkpoint_id(checkpoint)
    return found


def _one_group_for(checkpoint, selected):
    if checkpoint is not None and len(selected) != 1:
        raise exceptions.GeoflowsError(
            'a checkpoint is of one group: name that group alone (this '
            'plan has %s)' % ', '.join(g.name for g in selected))


def refuse_taken_over(runner, plan, selected):
    """Refuse groups that already run at their DR site."""
    for group in selected:
        state = groups_mod.get(runner.store, plan.name, group.name)
        if state is not None and state.taken_over:
            raise exceptions.GeoflowsError(
                'group %s already runs at site %s since takeover job %s: '
                'nothing to take over ("geoflows job show %s" shows it; '
                '"geoflows job resume %s" finishes it if it is PARTIAL)' % (
                    group.name, state.serving_site, state.takeover_job,
                    state.takeover_job, state.takeover_job))


def prepare(runner, plan, groups=None, mode=None,
            confirm_primary_lost=False, checkpoint=None):
    """The parameters of a takeover of ``groups``, every refusal checked.

    What :func:`takeover` checks before it makes its job (a command that
    makes the job itself calls this first).
    """
    found = params(mode, confirm_primary_lost, checkpoint)
    selected = _groups(plan, groups)
    _one_group_for(checkpoint, selected)
    refuse_taken_over(runner, plan, selected)
    return found


def takeover(runner, plan, groups=None, mode=None,
             confirm_primary_lost=False, checkpoint=None, on_event=None,
             job_id=None):
    """Take ``groups`` (default: all) over at their DR site; the ended job.

    ``mode``: ``'planned'`` or ``'disaster'`` (the latter with
    ``confirm_primary_lost=True``); ``checkpoint``: a disaster takeover
    from this checkpoint (one group) rather than the newest.
    """
    found = prepare(runner, plan, groups, mode, confirm_primary_lost,
                    checkpoint)
    job_id = runner.create('takeover', plan, groups, params=found,
                           job_id=job_id)
    return runner.run(job_id, on_event)


def reports(job):
    """The reports of a takeover job, one per group it took over."""
    units = (job.result or {}).get('units', {})
    return [units[name] for name in sorted(units)
            if name.endswith('.done')]


def _checkpoint_of(runner, plan, group, wanted):
    if wanted is not None:
        found = checkpoints_mod.get(runner.store, checkpoint_id(wanted))
        if (found.plan_name, found.group_name) != (plan.name, group.name):
            raise exceptions.GeoflowsError(
                'checkpoint %s is of group %s of plan %s, not of group %s'
                % (found.id, found.group_name, found.plan_name, group.name))
        return found
    found = checkpoints_mod.latest(runner.store, plan.name, group.name,
                                   source_site=group.primary)
    if found is None:
        raise exceptions.GeoflowsError(
            'group %s has no complete checkpoint: sync it first ("geoflows '
            'sync --plan %s %s")' % (group.name, plan.source, group.name))
    return found


def chain_members(group, group_doc):
    """[set of VNF names] of each service chain of a group's document.

    A VNF is in the chains its plan entry names (``chains:``): it is ready
    once they are rebuilt, as the takeover's report measures it.
    """
    return [{v.name for v in group.vnfs if chain['name'] in v.chains}
            for chain in group_doc.get('chains', ())]


def predict(runner, plan, groups=None, checkpoint=None, caps=None,
            mode=DISASTER):
    """The predicted RTO of a takeover of each group, nothing changed.

    Per group (a dict): ``group``, ``checkpoint`` (whose shape is
    predicted), ``rto``, ``target``, ``exceeds``, ``times`` ({kind of step:
    (seconds, where the figure comes from)}) and ``vnfs``: {name:
    {'priority', 'standby', 'steps': [{'kind', 'count', 'seconds',
    'source'}], 'start', 'ready', 'exceeds'}} (seconds from the start).
    ``caps``: calls at once per DR service (default: [runner]
    service_call_caps).  ``mode``: a disaster takeover fences the primary
    first; a planned one's final copies are not predicted.
    """
    from geoflows import rto
    if caps is None:
        from geoflows import conf
        from geoflows import runner as runner_mod
        caps = runner_mod.service_call_caps(conf.CONF)
    selected = _groups(plan, groups)
    _one_group_for(checkpoint, selected)
    refuse_taken_over(runner, plan, selected)
    found = []
    for group in selected:
        cp = _checkpoint_of(runner, plan, group, checkpoint)
        missing = [v.name for v in group.vnfs if v.name not in cp.vnfs]
        if missing:
            raise exceptions.GeoflowsError(
                'checkpoint %s has no record of VNF %s of group %s (added '
                'to the plan since?): sync the group first' % (
                    cp.id, ', '.join(missing), group.name))
        times = rto.durations(runner.store, plan.name, group.name)
        result = rto.predict(plan, group, cp.vnfs, times, caps,
                             chains=chain_members(
                                 group, cp.document['group_doc']),
                             fence=mode == DISASTER)
        result.update(group=group.name, checkpoint=cp.id, times=times)
        found.append(result)
    return found


def _takeover_job(store, plan_name, group_name, state):
    """The takeover job that made the group run where it does, or None."""
    if state is not None and state.takeover_job:
        try:
            return store.get_job(state.takeover_job)
        except exceptions.GeoflowsError:
            return None
    for job in store.list_jobs(limit=200):
        if job.operation == 'takeover' and job.plan_name == plan_name and \
                any(u['name'] == '%s.fence' % group_name for u in job.units):
            return job
    return None


def _unit_args(job, name):
    for unit in job.units if job is not None else ():
        if unit['name'] == name:
            return unit['args']
    return None


def verify(runner, plan, groups=None, checkpoint=None, site=None):
    """Compare the site serving each group with a checkpoint.

    The site is the one serving the group (its DR site after a takeover,
    where all its VNFs are compared with the takeover's checkpoint), or,
    before any takeover, its DR site, where only the standbys (hot and
    warm VNFs, without the volumes a takeover gives a warm one) and the
    networks and security groups are compared with the newest checkpoint
    (cold VNFs and chains are made by the takeover).
    ``checkpoint``: compare with this one instead (one group).  ``site``:
    compare this site of the plan instead, every VNF and chain (an origin
    after its failback, with a checkpoint read there before the disaster:
    its networks by their names there).  Returns per
    group a dict: ``group``, ``site``, ``scope``, ``checkpoint`` and
    ``differences`` (sentences; none: the site is what the checkpoint
    says).
    """
    from geoflows import verify as verify_mod
    selected = _groups(plan, groups)
    _one_group_for(checkpoint, selected)
    if site is not None and site not in plan.sites:
        raise exceptions.GeoflowsError(
            'site %r is not a site of plan %r (it has: %s)' % (
                str(site)[:64], plan.name, ', '.join(plan.sites)))
    found = []
    for group in selected:
        if site is not None:
            cp = _checkpoint_of(runner, plan, group, checkpoint)
            found.append({'group': group.name, 'site': site,
                          'scope': 'every VNF and chain',
                          'checkpoint': cp.id,
                          'differences': verify_mod.compare(
                              runner.clouds, cp,
                              site=plan.sites[site].to_spec(),
                              at_source=cp.source_site == site)})
            continue
        state = groups_mod.get(runner.store, plan.name, group.name)
        wanted = checkpoint
        site = None
        if state is not None and state.taken_over:
            job = _takeover_job(runner.store, plan.name, group.name, state)
            args = _unit_args(job, '%s.done' % group.name) or {}
            if wanted is None and job is not None:
                wanted = args.get('checkpoint') or \
                    checkpoints_mod.checkpoint_id(job.id)
            if state.serving_site in plan.sites:
                site = plan.sites[state.serving_site].to_spec()
            standbys = False
            scope = 'taken over: every VNF and chain'
        else:
            standbys = True
            names = [v.name for v in group.vnfs if v.standby != 'cold']
            scope = ('before a takeover: the standbys%s, networks and '
                     'security groups' % (
                         ' (%s)' % ', '.join(names) if names else ' (none)'))
        cp = _checkpoint_of(runner, plan, group, wanted)
        site = site or cp.document['target']
        found.append({'group': group.name, 'site': site['name'],
                      'scope': scope, 'checkpoint': cp.id,
                      'differences': verify_mod.compare(
                          runner.clouds, cp, site=site,
                          standbys=standbys)})
    return found


def fence_states(runner, plan, groups=None, job=None):
    """The fence state of each group.

    Per group a dict: ``group``, ``fence`` (None, 'fenced' or 'not
    fenced'), ``detail`` and ``job`` (the fence job's id, if one ran).
    """
    rows = []
    for group in _groups(plan, groups):
        state = groups_mod.get(runner.store, plan.name, group.name)
        rows.append({'group': group.name,
                     'fence': state.fence_state if state else None,
                     'detail': state.fence_detail if state else None,
                     'job': job.id if job is not None else None})
    return rows


def fence(runner, plan, groups, confirm=False, on_event=None):
    """Fence the primary of groups taken over; see :func:`fence_states`.

    Without ``confirm``: a job that stops the groups' protected servers at
    the primary and takes their ports down (it answers again); a primary
    that still does not answer leaves them "not fenced".  With
    ``confirm``: the operator says the primary's VNFs are down (fenced by
    hand), recorded without calling it.  Only groups taken over can be
    fenced (and confirmed, also those a takeover left "not fenced" before
    it stopped): fencing a group its primary serves would stop its
    service.
    """
    if not groups:
        raise exceptions.GeoflowsError(
            'name the groups to fence (fencing stops their VNFs at the '
            'primary)')
    selected = _groups(plan, groups)
    store = runner.store
    for group in selected:
        state = groups_mod.get(store, plan.name, group.name)
        if state is not None and state.taken_over:
            continue
        if confirm and state is not None and \
                state.fence_state == groups_mod.NOT_FENCED:
            continue  # e.g. a takeover that stopped after its fencing
        raise exceptions.GeoflowsError(
            'group %s is served by its primary %s (no takeover): fencing '
            'it would stop its service; fencing is for a group taken over '
            'at its DR site%s' % (
                group.name, group.primary,
                ' (a takeover stopped after it could not fence: resume it, '
                'or confirm its primary fenced: --confirm-fenced)'
                if state is not None and
                state.fence_state == groups_mod.NOT_FENCED else ''))
    job = None
    if confirm:
        at = checkpoints_mod.isoformat(checkpoints_mod.utcnow())
        for group in selected:
            groups_mod.record_fence(
                store, plan.name, group.name, groups_mod.FENCED,
                'confirmed fenced by the operator at %s (the primary %s '
                'was not called)' % (at, group.primary), group.primary,
                group.dr)
    else:
        job = runner.start('fence', plan, [g.name for g in selected],
                           on_event=on_event)
    return fence_states(runner, plan, [g.name for g in selected], job)


def fence_units(plan, names, context, options):
    """The units of a fence job: the Fence step of each group, again.

    The servers and networks fenced are those the group's takeover fenced
    (its own ``GROUP.fence`` unit), else those of its newest checkpoint.
    """
    from geoflows import takeover_units

    units = []
    for group in _groups(plan, names):
        state = groups_mod.get(context.store, plan.name, group.name)
        job = _takeover_job(context.store, plan.name, group.name, state)
        spec = _unit_args(job, '%s.fence' % group.name)
        if spec is None:
            cp = checkpoints_mod.latest(context.store, plan.name, group.name,
                                        source_site=group.primary)
            if cp is None:
                raise exceptions.GeoflowsError(
                    'group %s has no checkpoint naming its servers: fence '
                    'its primary by hand, then confirm it' % group.name)
            vnf_docs = {name: part for name, part in cp.vnfs.items()}
            spec = takeover_units.fence_spec(
                plan, group, plan.sites[group.primary].to_spec(),
                plan.sites[group.dr].to_spec(), cp.document['group_doc'],
                vnf_docs, options)
        spec = dict(spec, timeout=options.get('fence_timeout',
                                              spec.get('timeout', 60)),
                    standalone=True)
        units.append({'name': '%s.fence' % group.name,
                      'flow': 'takeover.fence', 'args': spec, 'after': [],
                      'locks': ['protection:%s/%s' % (plan.name,
                                                      group.name)]})
    return units
