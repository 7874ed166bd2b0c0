"""The units of takeover jobs, from the checkpoint (and, planned, the
primary's inventory).

A disaster takeover reads only the checkpoint and the DR site: the primary
may be gone.  A planned one reads the primary too (its final copies are
made by the job).  Order: VNFs by priority (a priority starts once the
previous one ended, unless the group allows overlap), each after the VNFs
it depends on; a chain once its VNFs are up; verification and the report
last.  See geoflows.flows.takeover for what each unit does.
"""

import collections

from geoflows import checkpoints
from geoflows.checkpoints import groups as groups_mod
from geoflows.checkpoints import inventory
from geoflows import clouds as clouds_mod
from geoflows import exceptions
from geoflows.flows import site_copy
from geoflows import protection_units

PLANNED = 'planned'
DISASTER = 'disaster'
#: the origin's half of a failback (geoflows.failback_units): like a
#: planned takeover of the reversed group, whose source (the DR site) keeps
#: serving: its final copies are a sync's, its servers are not stopped
FAILBACK = 'failback'
#: a takeover into an isolated copy (geoflows.drill_units), from the
#: newest checkpoint, that changes nothing else
DRILL = 'drill'


def build(operation, plan, names, context, options):
    mode = options.get('mode')
    if mode not in (PLANNED, DISASTER):
        raise exceptions.GeoflowsError(
            'a takeover is planned (the primary answers: its VNFs are '
            'stopped after a final sync, nothing is lost) or disaster (the '
            'primary is lost: from the newest checkpoint); say which')
    if mode == DISASTER and not options.get('confirm_primary_lost'):
        raise exceptions.GeoflowsError(
            'a disaster takeover starts the VNFs at the DR site from their '
            'last copies while the primary may still run them: confirm '
            'that the primary is lost (--confirm-primary-lost, or the '
            'Mistral workflow\'s "declare disaster" decision)')
    units, problems = [], []
    for group in protection_units.select_groups(plan, names):
        units.extend(_group(plan, group, context, options, mode, problems))
    if problems:
        raise exceptions.PreflightError(plan, 'takeover', problems)
    return units


def _group(plan, group, context, options, mode, problems, retire=None,
           inv=None):
    """The units of a takeover of ``group`` (or the origin's failback half).

    ``retire``: with FAILBACK, the unit that removes the origin's old VNFs
    (after the final copies, before the fresh VNFs).  ``inv``: the group's
    inventory at its source, if the caller read it already.
    """
    index = plan.group_index(group)
    base_path = ('protection_groups', index)
    store = context.store
    state = groups_mod.get(store, plan.name, group.name)
    if mode == DRILL and state is not None and state.taken_over:
        problems.append((base_path, (
            'group %s runs at site %s since takeover job %s: a drill '
            'rehearses the takeover of a group its primary serves' % (
                group.name, state.serving_site, state.takeover_job))))
        return []
    if mode != FAILBACK and state is not None and state.taken_over:
        problems.append((base_path, (
            'group %s already runs at site %s since takeover job %s; give '
            'it back first (failback), or resume that job' % (
                group.name, state.serving_site, state.takeover_job))))
        return []
    source = plan.sites[group.primary].to_spec()
    target = plan.sites[group.dr].to_spec()
    try:
        with clouds_mod.api_errors(target['name'], 'read the compute '
                                   'quota'):
            context.clouds.compute(target).get_limits()
    except exceptions.SiteError as e:
        problems.append((base_path + ('dr',), '%s; %s' % (
            e, 'a failback needs the origin it goes back to' if
            mode == FAILBACK else 'a %s needs the DR site' % (
                'drill' if mode == DRILL else 'takeover'))))
        return []
    job_id = options['job_id']
    tag = checkpoints.checkpoint_id(job_id)[:8]
    if mode in (PLANNED, FAILBACK):
        inv = inv or inventory.read(context.clouds, plan, group,
                                    check_target=False)
        if inv.problems:
            problems.extend(inv.problems)
            return []
        group_doc, vnf_docs = inv.group_doc, dict(inv.vnfs)
        checkpoint_ref = None
        methods = {}
        for vnf in group.vnfs:
            for server in vnf_docs[vnf.name]['servers']:
                for volume in server['volumes']:
                    methods[volume['source_id']] = vnf.method_of(
                        volume['name']).method
    else:
        checkpoint = _checkpoint(store, plan, group, options, base_path,
                                 problems)
        if checkpoint is None:
            return []
        group_doc = checkpoint.document['group_doc']
        vnf_docs = {name: {k: v for k, v in part.items()
                           if k not in ('copies', 'consistent_at')}
                    for name, part in checkpoint.vnfs.items()}
        missing = [v.name for v in group.vnfs if v.name not in vnf_docs]
        if missing:
            problems.append((base_path, 'checkpoint %s has no record of '
                             'VNF %s (added to the plan since?); sync the '
                             'group, or take the other VNFs over alone' % (
                                 checkpoint.id, ', '.join(missing))))
            return []
        checkpoint_ref = checkpoint.id
        methods = {record['volume']: record['method']
                   for part in checkpoint.vnfs.values()
                   for record in part.get('copies', ())}
        if mode == DRILL:
            from geoflows import drill_units
            refused = drill_units.drillable_problems(plan, group, checkpoint,
                                                     base_path)
            if refused:
                problems.extend(refused)
                return []
    # The plan's options of each volume's method (a storage driver...).
    item_options = {}
    for vnf in group.vnfs:
        for server in (vnf_docs.get(vnf.name) or {}).get('servers', ()):
            for volume in server['volumes']:
                found = vnf.method_of(volume['name'])
                if found is not None and found.options:
                    item_options[volume['source_id']] = dict(found.options)
    if mode == DRILL:
        from geoflows import drill_units
        group_doc, vnf_docs = drill_units.isolate(group_doc, vnf_docs, job_id)
    base = {'plan': plan.name, 'group': group.name, 'source': source,
            'target': target}
    lock = ['protection:%s/%s' % (plan.name, group.name)]
    units = []
    first = []
    if mode == DRILL:
        from geoflows import drill_units
        base.update(drill=job_id, tag=drill_units.tag_of(job_id),
                    marker=drill_units.marker(plan.name, group.name, job_id))
        units.append(drill_units.network_unit(plan, group, base, group_doc,
                                              options))
        first = [units[-1]['name']]
    if mode in (PLANNED, FAILBACK):
        # Like a sync: the group's metadata applied to the DR site and the
        # job's own checkpoint opened, then each VNF's final copies.
        units.append({'name': group.name, 'flow': 'sync.group',
                      'args': dict(base, doc=group_doc,
                                   captured_at=checkpoints.isoformat(
                                       checkpoints.utcnow()),
                                   targets={'rpo': group.rpo,
                                            'rto': group.rto,
                                            'sync_interval':
                                                group.sync_interval,
                                            'retention': group.retention}),
                      'after': [], 'locks': lock})
        finals = []
        for vnf in group.vnfs:
            spec = protection_units.sync_vnf_spec(
                plan, group, inv, vnf_docs[vnf.name], tag,
                checkpoints.isoformat(checkpoints.utcnow()))
            spec['unit'] = '%s/%s.final' % (group.name, vnf.name)
            # A failback's source serves on: copied as a sync copies, not
            # stopped first.
            units.append({'name': spec['unit'], 'flow': (
                'sync.vnf' if mode == FAILBACK else 'takeover.final'),
                          'args': spec, 'after': [group.name],
                          'locks': []})
            finals.append(spec['unit'])
        units.append({'name': '%s.final' % group.name,
                      'flow': 'takeover.final_checkpoint',
                      'args': dict(base, vnfs=[v.name for v in group.vnfs]),
                      'after': finals, 'locks': []})
        first = ['%s.final' % group.name]
        if retire is not None:
            units.append(dict(retire, after=first))
            first = [retire['name']]
    elif mode == DISASTER:
        units.append({'name': '%s.fence' % group.name,
                      'flow': 'takeover.fence',
                      'args': fence_spec(plan, group, source, target,
                                         group_doc, vnf_docs, options),
                      'after': [], 'locks': lock})
    fence = '%s.fence' % group.name if mode == DISASTER else None
    by_priority = collections.OrderedDict()
    for vnf in sorted(group.vnfs, key=lambda v: v.priority):
        by_priority.setdefault(vnf.priority, []).append(vnf)
    previous = None
    vnf_units = {}
    for priority, vnfs in by_priority.items():
        names = []
        for vnf in vnfs:
            spec = dict(base, unit='%s/%s' % (group.name, vnf.name),
                        group_doc=site_copy.subset(group_doc,
                                                   vnf_docs[vnf.name]),
                        vnf=vnf_docs[vnf.name],
                        hooks={p: [dict(h) for h in hs]
                               for p, hs in vnf.hooks.items()},
                        methods=methods, options=item_options,
                        checkpoint=checkpoint_ref,
                        checkpoint_tag=tag)
            follows = [previous] if previous and \
                not group.overlap_priorities else []
            if fence:
                follows.append(fence)
            unit = {'name': spec['unit'], 'flow': 'takeover.vnf',
                    'args': spec,
                    'after': first + ['%s/%s' % (group.name, d)
                                      for d in vnf.depends_on],
                    'follows': follows, 'locks': []}
            units.append(unit)
            vnf_units[vnf.name] = unit['name']
            names.append(unit['name'])
        if priority != list(by_priority)[-1]:
            previous = '%s.priority.%d' % (group.name, priority)
            units.append({'name': previous, 'flow': 'takeover.barrier',
                          'args': dict(base), 'after': [],
                          'follows': names, 'locks': []})
    chain_units = []
    ports = {}
    dr_names = {n['name']: n['dr_name'] for n in group_doc['networks']}
    for vnf_doc in vnf_docs.values():
        for server in vnf_doc['servers']:
            for port in server['ports']:
                ports[port['name']] = dr_names.get(
                    port['network']) if mode == DRILL else \
                    group.dr_network(port['network'])
    chain_vnfs = collections.defaultdict(set)
    for vnf in group.vnfs:
        for name in vnf.chains:
            chain_vnfs[name].add(vnf.name)
    for chain in group_doc.get('chains', ()):
        owners = {pair[end]['vnf'] for g in chain['port_pair_groups']
                  for pair in g['port_pairs'] for end in ('ingress',
                                                          'egress')
                  if 'vnf' in pair[end]}
        for fc in chain['flow_classifiers']:
            for key in ('logical_source_port', 'logical_destination_port'):
                if fc.get(key) and 'vnf' in fc[key]:
                    owners.add(fc[key]['vnf'])
        name = '%s.chain.%s' % (group.name, chain['name'])
        units.append({'name': name, 'flow': 'takeover.chain',
                      'args': dict(base, chain=chain, ports=ports),
                      'after': sorted(vnf_units[v] for v in owners
                                      if v in vnf_units),
                      'locks': []})
        chain_units.append(name)
    tail = [u['name'] for u in units if u['name'] in vnf_units.values()] + \
        chain_units
    # A drill's copy joins no interconnect: nothing routes in or out.
    join = None if mode == DRILL else _join_spec(plan, group, base,
                                                 group_doc)
    if join:
        units.append({'name': '%s.join' % group.name,
                      'flow': 'takeover.join', 'args': join,
                      'after': first, 'follows': [fence] if fence else [],
                      'locks': []})
        tail.append('%s.join' % group.name)
    if mode == FAILBACK:
        return units
    units.append({
        'name': '%s.done' % group.name, 'flow': (
            'drill.done' if mode == DRILL else 'takeover.done'),
        'args': dict(base, checkpoint=checkpoint_ref, mode=mode,
                     rto=group.rto, rpo=group.rpo,
                     vnfs={v.name: {'priority': v.priority,
                                    'standby': v.standby,
                                    'chains': [c['name'] for c in
                                               group_doc.get('chains', ())
                                               if v.name in chain_vnfs.get(
                                                   c['name'], ())]}
                           for v in group.vnfs}),
        'after': first, 'follows': tail, 'locks': [],
        # After a resume runs failed VNFs again: verified and reported again.
        'again': True})
    if mode == DRILL and not options.get('keep_for'):
        from geoflows import drill_units
        units.append(drill_units.cleanup_unit(
            group.name, base, [u['name'] for u in units]))
    return units


def _checkpoint(store, plan, group, options, path, problems):
    wanted = options.get('checkpoint')
    try:
        checkpoint = (checkpoints.get(store, wanted) if wanted else
                      checkpoints.latest(store, plan.name, group.name,
                                         source_site=group.primary))
    except exceptions.GeoflowsError as e:
        problems.append((path, str(e)))
        return None
    if checkpoint is None:
        problems.append((path, 'group %s has no complete checkpoint: sync '
                         'it first (geoflows sync)' % group.name))
        return None
    if (checkpoint.plan_name, checkpoint.group_name) != (plan.name,
                                                         group.name):
        problems.append((path, 'checkpoint %s is of group %s of plan %s, '
                         'not of this group' % (checkpoint.id,
                                                checkpoint.group_name,
                                                checkpoint.plan_name)))
        return None
    if checkpoint.state != checkpoints.COMPLETE:
        problems.append((path, 'checkpoint %s is %s, not complete' % (
            checkpoint.id, checkpoint.state)))
        return None
    return checkpoint


def fence_spec(plan, group, source, target, group_doc, vnf_docs, options):
    servers = [{'name': s['name'], 'source_id': s['source_id'],
                'ports': [p['source_id'] for p in s['ports']]}
               for doc in vnf_docs.values() for s in doc['servers']]
    spec = {'plan': plan.name, 'group': group.name, 'source': source,
            'target': target, 'servers': servers,
            'networks': [n['source_id'] for n in group_doc['networks']],
            'bgpvpn': None, 'timeout': options.get('fence_timeout', 60)}
    ic = plan.interconnect(group.interconnect) if group.interconnect \
        else None
    if ic is not None and ic.overlay['type'] == 'bgpvpn':
        spec['bgpvpn'] = 'gf-%s-%s' % (plan.name, ic.name)
    return spec


def _join_spec(plan, group, base, group_doc):
    ic = plan.interconnect(group.interconnect) if group.interconnect \
        else None
    if ic is None or ic.overlay['type'] != 'bgpvpn':
        return None
    return dict(base, bgpvpn='gf-%s-%s' % (plan.name, ic.name),
                networks=[n['dr_name'] for n in group_doc['networks']])
