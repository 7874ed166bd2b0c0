"""The units of protection jobs (protect, sync), from the sites' inventory.

Before a protect or sync job exists, the inventory of each of its groups is
read at the group's sites (geoflows.checkpoints.inventory): whatever is
wrong with the plan or the sites is reported then, every problem with its
place in the plan, and nothing has changed.  The units are built from that
inventory: the job's flows need no I/O to be built, and a resumed job
rebuilds exactly the same steps.
"""

from geoflows import checkpoints
from geoflows.checkpoints import groups as groups_mod
from geoflows.checkpoints import inventory
from geoflows import exceptions
from geoflows.flows import site_copy


def select_groups(plan, names):
    if not plan.protection_groups:
        raise exceptions.GeoflowsError(
            'plan %r (%s) defines no protection groups'
            % (plan.name, plan.source))
    if not names:
        return list(plan.protection_groups)
    selected = []
    for name in names:
        group = plan.protection_group(name)
        if group is None:
            raise exceptions.GeoflowsError(
                'plan %r has no protection group %r (it has: %s)' % (
                    plan.name, name,
                    ', '.join(g.name for g in plan.protection_groups)))
        if group not in selected:
            selected.append(group)
    return selected


def build(operation, plan, names, context, options):
    """The units of ``operation`` (protect or sync) on ``plan``."""
    if context is None:
        raise exceptions.GeoflowsError('%s needs a runner to read the sites'
                                       % operation)
    job_id = options.get('job_id')
    units, problems = [], []
    for group in select_groups(plan, names):
        state = groups_mod.get(context.store, plan.name, group.name)
        unfenced = not_fenced(context.store, plan, group)
        if unfenced and not (state is not None and state.reprotected):
            problems.append(unfenced)
            continue
        if state is not None and state.taken_over:
            refused = _served_by_dr(plan, group, state, operation)
            if refused:
                problems.append(refused)
                continue
            # Reprotected: a sync replicates from the DR site to the origin.
            from geoflows import failback
            replaced = failback.replaced_at_origin(
                context.store, plan, group, state.target_site)
            group = failback.reversed_group(group, state.source_site,
                                            state.target_site)
        else:
            replaced = None
        inv = inventory.read(context.clouds, plan, group, replaced=replaced)
        problems.extend(inv.problems)
        if inv.problems:
            continue
        if operation == 'protect':
            units.extend(_protect(plan, group, inv))
        else:
            units.extend(_sync(plan, group, inv, job_id))
    if problems:
        raise exceptions.PreflightError(plan, operation, problems)
    return units


def _served_by_dr(plan, group, state, operation):
    """(path, problem) of a protect or sync of a group its DR site runs.

    None for a sync of a reprotected group (it replicates back).
    """
    if operation == 'sync' and state.reprotected:
        return None
    path = ('protection_groups', plan.group_index(group))
    if state.reprotected:
        return (path, 'group %s runs at site %s and replicates back to %s '
                'since it was reprotected: it is protected again by its '
                'failback ("geoflows failback --plan %s %s")' % (
                    group.name, state.serving_site, state.target_site,
                    plan.source, group.name))
    return (path, 'group %s runs at its DR site %s since takeover job %s: '
            'a %s from the primary would overwrite what the DR site wrote '
            'since; replicate it back first ("geoflows reprotect --plan %s '
            '%s"), then fail it back' % (
                group.name, state.serving_site, state.takeover_job,
                operation, plan.source, group.name))


def not_fenced(store, plan, group):
    """(path, problem) if the group's primary was left "not fenced".

    A disaster takeover that could not stop the group's VNFs at the
    primary leaves them maybe running there; nothing that would start them
    there (protect, sync from the primary, a failback) runs until the
    operator fences it or confirms it is.
    """
    from geoflows.checkpoints import groups as groups_mod
    state = groups_mod.get(store, plan.name, group.name)
    if state is None or state.fence_state != groups_mod.NOT_FENCED:
        return None
    index = plan.group_index(group)
    return (('protection_groups', index), (
        'group %s is not fenced: its VNFs may still run at the primary %s '
        'since the takeover%s; fence it now that the primary answers '
        '("geoflows protection fence --plan %s %s"), or confirm it is '
        'fenced ("geoflows protection fence --plan %s %s '
        '--confirm-fenced")' % (
            group.name, group.primary,
            ' (job %s)' % state.takeover_job if state.takeover_job else '',
            plan.source, group.name, plan.source, group.name)))


def _base(plan, group, inv):
    return {'plan': plan.name, 'group': group.name, 'source': inv.source,
            'target': inv.target}


def _lock(plan, group):
    return ['protection:%s/%s' % (plan.name, group.name)]


def _vnf_spec(plan, group, inv, vnf_doc):
    vnf = group.vnf(vnf_doc['name'])
    return dict(_base(plan, group, inv),
                unit='%s/%s' % (group.name, vnf.name),
                group_doc=site_copy.subset(inv.group_doc, vnf_doc),
                vnf=vnf_doc,
                hooks={point: [dict(h) for h in hooks]
                       for point, hooks in vnf.hooks.items()},
                replication=vnf.replication,
                data={item.volume: {'method': item.method,
                                    'options': dict(item.options)}
                      for item in vnf.data},
                retention=group.retention)


def _protect(plan, group, inv):
    group_unit = {'name': group.name, 'flow': 'protect.group',
                  'args': dict(_base(plan, group, inv), doc=inv.group_doc),
                  'after': [], 'locks': _lock(plan, group)}
    units = [group_unit]
    for name, vnf_doc in inv.vnfs.items():
        if vnf_doc['standby'] not in ('hot', 'warm'):
            continue
        spec = _vnf_spec(plan, group, inv, vnf_doc)
        units.append({'name': spec['unit'], 'flow': 'protect.standby',
                      'args': spec, 'after': [group.name], 'locks': []})
    units.append({
        'name': '%s.protected' % group.name, 'flow': 'protect.done',
        'args': dict(_base(plan, group, inv), plan_document=plan.document,
                     plan_digest=plan.digest,
                     sync_interval=group.sync_interval),
        'after': [u['name'] for u in units], 'locks': []})
    return units


def sync_vnf_spec(plan, group, inv, vnf_doc, tag, captured_at):
    """The spec of a VNF's copies (a sync, a planned takeover's final)."""
    return dict(_vnf_spec(plan, group, inv, vnf_doc), checkpoint_tag=tag,
                captured_at=captured_at)


def _sync(plan, group, inv, job_id):
    captured_at = checkpoints.isoformat(checkpoints.utcnow())
    tag = checkpoints.checkpoint_id(job_id)[:8] if job_id else \
        captured_at.replace(':', '').replace('-', '').replace('.', '')
    group_unit = {
        'name': group.name, 'flow': 'sync.group',
        'args': dict(_base(plan, group, inv), doc=inv.group_doc,
                     captured_at=captured_at,
                     targets={'rpo': group.rpo, 'rto': group.rto,
                              'sync_interval': group.sync_interval,
                              'retention': group.retention}),
        'after': [], 'locks': _lock(plan, group)}
    units = [group_unit]
    for name, vnf_doc in inv.vnfs.items():
        spec = sync_vnf_spec(plan, group, inv, vnf_doc, tag, captured_at)
        units.append({'name': spec['unit'], 'flow': 'sync.vnf',
                      'args': spec, 'after': [group.name], 'locks': []})
    units.append({
        'name': '%s.checkpoint' % group.name, 'flow': 'sync.checkpoint',
        'args': dict(_base(plan, group, inv), vnfs=list(inv.vnfs),
                     retention=group.retention),
        'after': [u['name'] for u in units], 'locks': []})
    return units
