"""The units of reprotect and failback jobs.

Reprotect, per group taken over: the group's metadata (networks, security
groups, flavors, images...) applied to the site it goes back to
(``GROUP``, a protect's group unit in the other direction), then the group
recorded as replicating back (``GROUP.reprotected``): its syncs read the DR
site and copy to the origin, on its schedule.

Failback, per reprotected group, read before the job exists (nothing
changes when something is wrong): the origin answers, its old VNFs are
stopped or gone (or recorded fenced), the newest reverse checkpoint is
within the group's RPO, the DR site's inventory reads.  Its units:

* the origin's half (geoflows.takeover_units, mode FAILBACK): the
  interconnect checked first (``GROUP.check``), a final reverse sync
  (``GROUP``, ``GROUP/VNF.final``, ``GROUP.final``: the job's checkpoint),
  the old servers at the origin removed (``GROUP.retire``: replaced, not
  restarted), fresh VNFs by priority (``GROUP/VNF``), the origin's chains
  (``GROUP.chain.NAME``), its networks back in the interconnect
  (``GROUP.join``);
* ``GROUP.origin``: the origin compared with the job's checkpoint; any
  difference stops the failback there, the DR site untouched;
* the DR site's half: each VNF drained (``GROUP/VNF.drain``), each chain
  removed once its VNFs are drained (``GROUP.delink.NAME``), the DR
  networks out of the interconnect (``GROUP.unjoin``);
* ``GROUP.serving``: the origin serves, replication turns forward;
* each DR VNF back to standby (``GROUP/VNF.standby``) and the report
  (``GROUP.done``).

A stage of ``origin`` builds the units up to ``GROUP.origin``; ``delink``
the ones after it (the origin built by an earlier ``origin`` stage).
"""

import collections

from geoflows import checkpoints
from geoflows.checkpoints import groups as groups_mod
from geoflows.checkpoints import inventory
from geoflows import clouds as clouds_mod
from geoflows import exceptions
from geoflows import failback as failback_mod
from geoflows.flows import site_copy
from geoflows import protection_units
from geoflows import takeover_units

#: server states in which an old VNF at the origin may still serve
RUNNING = ('ACTIVE', 'BUILD', 'REBUILD', 'REBOOT', 'HARD_REBOOT', 'RESIZE',
           'VERIFY_RESIZE', 'MIGRATING', 'PASSWORD', 'RESCUE')


def _path(plan, group):
    return ('protection_groups', plan.group_index(group))


def _lock(plan, group):
    return ['protection:%s/%s' % (plan.name, group.name)]


def build(operation, plan, names, context, options):
    units, problems = [], []
    for group in protection_units.select_groups(plan, names):
        if operation == 'reprotect':
            units.extend(_reprotect(plan, group, context, options, problems))
        else:
            units.extend(_failback(plan, group, context, options, problems))
    if problems:
        raise exceptions.PreflightError(plan, operation, problems)
    return units


# -- reprotect ---------------------------------------------------------------

def _reprotect(plan, group, context, options, problems):
    path = _path(plan, group)
    state = groups_mod.get(context.store, plan.name, group.name)
    if state is None or not state.taken_over:
        problems.append((path, 'group %s is served by its primary %s (no '
                         'takeover): it replicates to its DR site already; '
                         'reprotect is for a group taken over' % (
                             group.name, group.primary)))
        return []
    if state.reprotected:
        problems.append((path, 'group %s replicates from %s back to %s '
                         'already (reprotected); fail it back ("geoflows '
                         'failback --plan %s %s")' % (
                             group.name, state.source_site,
                             state.target_site, plan.source, group.name)))
        return []
    job = _job(context.store, state.takeover_job)
    if job is not None and job.state != 'SUCCESS':
        problems.append((path, 'the takeover of group %s (job %s) is %s: '
                         'finish it first ("geoflows job resume %s")' % (
                             group.name, job.id, job.state, job.id)))
        return []
    serving = state.serving_site or group.dr
    origin = options.get('to') or group.primary
    if origin == serving:
        problems.append((path, 'site %s serves group %s: it cannot '
                         'replicate to itself; name the site it goes back to'
                         % (origin, group.name)))
        return []
    back = failback_mod.reversed_group(group, serving, origin)
    inv = inventory.read(context.clouds, plan, back,
                         replaced=failback_mod.replaced_at_origin(
                             context.store, plan, group, origin))
    if inv.problems:
        problems.extend(inv.problems)
        return []
    base = {'plan': plan.name, 'group': group.name, 'source': inv.source,
            'target': inv.target}
    return [
        {'name': group.name, 'flow': 'protect.group',
         'args': dict(base, doc=inv.group_doc), 'after': [],
         'locks': _lock(plan, group)},
        {'name': '%s.reprotected' % group.name,
         'flow': 'failback.reprotected',
         'args': dict(base, sync_interval=group.sync_interval,
                      plan_document=plan.document, plan_digest=plan.digest),
         'after': [group.name], 'locks': []},
    ]


def _job(store, job_id):
    if not job_id:
        return None
    try:
        return store.get_job(job_id)
    except exceptions.GeoflowsError:
        return None


# -- failback ----------------------------------------------------------------

def _failback(plan, group, context, options, problems):
    path = _path(plan, group)
    store = context.store
    state = groups_mod.get(store, plan.name, group.name)
    stage = options.get('stage', 'all')
    if state is None or not state.reprotected:
        problems.append((path, 'group %s does not replicate back from a DR '
                         'site (%s): reprotect it after its takeover, then '
                         'sync it ("geoflows reprotect --plan %s %s")' % (
                             group.name, state.state if state else
                             'protected at most', plan.source, group.name)))
        return []
    serving, origin_name = state.source_site, state.target_site
    back = failback_mod.reversed_group(group, serving, origin_name)
    dr = plan.sites[serving].to_spec()
    origin = plan.sites[origin_name].to_spec()
    before = len(problems)
    try:
        with clouds_mod.api_errors(origin['name'], 'read the compute quota'):
            context.clouds.compute(origin).get_limits()
    except exceptions.SiteError as e:
        problems.append((path + ('primary',), '%s; a failback needs the '
                         'origin it goes back to' % e))
        return []
    forward = checkpoints.latest(store, plan.name, group.name,
                                 source_site=group.primary)
    _check_fenced(context, plan, group, state, origin, forward, path,
                  problems)
    reverse = checkpoints.latest(store, plan.name, group.name,
                                 source_site=serving,
                                 target_site=origin_name, with_vnfs=False)
    if stage != 'delink':
        _check_fresh(plan, group, reverse, path, problems)
    if len(problems) > before:
        return []
    if stage == 'delink':
        # The origin was built by an earlier failback (its "origin"
        # stage): it is checked again first, against that checkpoint.
        if reverse is None:
            problems.append((path, 'group %s has no checkpoint from its DR '
                             'site: run the failback\'s origin stage first'
                             % group.name))
            return []
        built = checkpoints.get(store, reverse.id)
        first = {'name': '%s.origin' % group.name,
                 'flow': 'failback.origin',
                 'args': {'plan': plan.name, 'group': group.name,
                          'source': dr, 'target': origin,
                          'checkpoint': reverse.id},
                 'after': [], 'locks': _lock(plan, group)}
        return [first] + _dr_half(plan, group, options, dr, origin,
                                  built.document['group_doc'], built.vnfs,
                                  stage, after=[first['name']])
    # Read once: the origin's half and the DR site's are built from it.
    inv = inventory.read(context.clouds, plan, back, check_target=False)
    if inv.problems:
        problems.extend(inv.problems)
        return []
    retire = {'name': '%s.retire' % group.name, 'flow': 'failback.retire',
              'args': _retire_spec(plan, group, origin, forward),
              'locks': []}
    units = []
    ic = plan.interconnect(group.interconnect) if group.interconnect \
        else None
    if ic is not None:
        # The path back checked before anything changes.
        units.append({'name': '%s.check' % group.name,
                      'flow': 'interconnect.check',
                      'args': plan.interconnect_spec(ic), 'after': [],
                      'locks': []})
    origin_units = takeover_units._group(
        plan, back, context, options, takeover_units.FAILBACK, problems,
        retire=retire, inv=inv)
    if len(problems) > before:
        return []
    if ic is not None:
        origin_units[0]['after'] = ['%s.check' % group.name]
    units.extend(origin_units)
    units.append({'name': '%s.origin' % group.name,
                  'flow': 'failback.origin',
                  'args': {'plan': plan.name, 'group': group.name,
                           'source': dr, 'target': origin,
                           'checkpoint': None},
                  'after': [u['name'] for u in units], 'locks': []})
    if stage == 'origin':
        return units
    return units + _dr_half(plan, group, options, dr, origin,
                            inv.group_doc, dict(inv.vnfs), stage,
                            after=['%s.origin' % group.name])


def _check_fenced(context, plan, group, state, origin, forward, path,
                  problems):
    """The origin's old VNFs are stopped or gone (or recorded fenced)."""
    if origin['name'] != group.primary:
        # A new site: the old primary may be gone for good; its VNFs are
        # as fenced as the takeover (or the operator) recorded.
        if state.fence_state == groups_mod.NOT_FENCED:
            problems.append((path, 'group %s is not fenced: its VNFs may '
                             'still run at its old primary %s; fence it '
                             '("geoflows protection fence --plan %s %s", or '
                             '--confirm-fenced) before it serves elsewhere'
                             % (group.name, group.primary, plan.source,
                                group.name)))
        return
    ids = [s['source_id'] for part in (forward.vnfs.values() if forward
                                       else ()) for s in part['servers']]
    compute = context.clouds.compute(origin)
    running = []
    try:
        with clouds_mod.api_errors(origin['name'], 'list the servers'):
            for server in compute.servers(details=True):
                if server.id in ids and server.status in RUNNING:
                    running.append('%s (%s)' % (server.name, server.status))
    except exceptions.SiteError as e:
        problems.append((path + ('primary',), '%s; a failback needs the '
                         'origin it goes back to' % e))
        return
    if running:
        problems.append((path, 'the old VNFs of group %s still run at %s: '
                         '%s; the DR site serves them: fence them first '
                         '("geoflows protection fence --plan %s %s")' % (
                             group.name, origin['name'],
                             ', '.join(sorted(running)), plan.source,
                             group.name)))


def _check_fresh(plan, group, reverse, path, problems):
    if reverse is None:
        problems.append((path, 'group %s has no checkpoint from its DR site '
                         'yet: sync it ("geoflows sync --plan %s %s"); it '
                         'replicates back since its reprotect' % (
                             group.name, plan.source, group.name)))
        return
    age = reverse.age()
    if age is None or age > group.rpo:
        problems.append((path, 'the newest checkpoint of group %s from its '
                         'DR site (%s) is %ds old, over its RPO of %ds: '
                         'sync it first ("geoflows sync --plan %s %s"), so '
                         'that the final copies of the failback are few' % (
                             group.name, reverse.id, age or 0, group.rpo,
                             plan.source, group.name)))


def _retire_spec(plan, group, origin, forward):
    """What of the old VNFs at the origin a failback removes.

    The servers and ports the newest forward checkpoint recorded there,
    and the chains' objects that use those ports (a port in a port pair
    cannot be deleted).  Their volumes are kept (detached): they hold what
    the old primary wrote last.
    """
    servers, ports, chains = [], [], []
    if forward is not None and origin['name'] == group.primary:
        for part in forward.vnfs.values():
            for server in part['servers']:
                servers.append({'name': server['name'],
                                'id': server['source_id']})
                ports.extend({'name': p['name'], 'id': p['source_id']}
                             for p in server['ports'])
        for chain in forward.document['group_doc'].get('chains', ()):
            chains.append(_chain_ids(chain))
    return {'plan': plan.name, 'group': group.name, 'target': origin,
            'servers': servers, 'ports': ports, 'chains': chains}


def _chain_ids(chain):
    return {'name': chain['name'], 'id': chain['source_id'],
            'port_pair_groups': [g['source_id']
                                 for g in chain['port_pair_groups']],
            'port_pairs': [p['source_id'] for g in chain['port_pair_groups']
                           for p in g['port_pairs']],
            'flow_classifiers': [f['source_id']
                                 for f in chain['flow_classifiers']]}


def _dr_half(plan, group, options, dr, origin, group_doc, vnf_docs, stage,
             after):
    """Drain, de-link, unjoin at the DR site; serve; standby; report.

    From the DR site's documents (``group_doc``, ``vnf_docs``), after the
    units ``after`` (the origin checked).
    """
    units = []
    base = {'plan': plan.name, 'group': group.name, 'source': origin,
            'target': dr}
    drain_time = options.get('drain_time', options.get(
        'failback_drain_time', failback_mod.DEFAULT_DRAIN_TIME))
    drains = {}
    for vnf in sorted(group.vnfs, key=lambda v: v.priority):
        doc = vnf_docs[vnf.name]
        name = '%s/%s.drain' % (group.name, vnf.name)
        units.append({'name': name, 'flow': 'failback.drain',
                      'args': dict(base, unit=name,
                                   vnf={'name': vnf.name,
                                        'servers': doc['servers']},
                                   hooks={p: [dict(h) for h in hs]
                                          for p, hs in vnf.hooks.items()},
                                   drain_time=drain_time),
                      'after': list(after), 'locks': []})
        drains[vnf.name] = name
    delinks = []
    chain_of = collections.defaultdict(list)
    for chain in group_doc.get('chains', ()):
        owners = sorted({pair[end]['vnf'] for g in chain['port_pair_groups']
                         for pair in g['port_pairs']
                         for end in ('ingress', 'egress')
                         if 'vnf' in pair[end]} & set(drains))
        name = '%s.delink.%s' % (group.name, chain['name'])
        units.append({'name': name, 'flow': 'failback.delink',
                      'args': dict(base, chain=chain,
                                   marker=site_copy.marker(plan.name,
                                                           group.name)),
                      'after': list(after) + [drains[v] for v in owners],
                      'locks': []})
        delinks.append(name)
        for vnf in owners:
            chain_of[vnf].append(name)
    last = list(after) + sorted(drains.values()) + delinks
    ic = plan.interconnect(group.interconnect) if group.interconnect \
        else None
    if ic is not None and ic.overlay['type'] == 'bgpvpn':
        units.append({'name': '%s.unjoin' % group.name,
                      'flow': 'failback.unjoin',
                      'args': dict(base, bgpvpn='gf-%s-%s' % (plan.name,
                                                              ic.name),
                                   networks=[n['name'] for n in
                                             group_doc['networks']]),
                      'after': last, 'locks': []})
        last = last + ['%s.unjoin' % group.name]
    serving = '%s.serving' % group.name
    units.append({'name': serving, 'flow': 'failback.serving',
                  'args': dict(base, sync_interval=group.sync_interval),
                  'after': last, 'locks': []})
    standbys = []
    for vnf in group.vnfs:
        name = '%s/%s.standby' % (group.name, vnf.name)
        units.append({'name': name, 'flow': 'failback.standby',
                      'args': dict(base, unit=name, standby=vnf.standby,
                                   vnf={'name': vnf.name,
                                        'servers': vnf_docs[vnf.name][
                                            'servers']}),
                      'after': [serving], 'locks': []})
        standbys.append(name)
    units.append({'name': '%s.done' % group.name, 'flow': 'failback.done',
                  'args': dict(base, stage=stage, rto=group.rto,
                               vnfs={v.name: {'priority': v.priority,
                                              'standby': v.standby,
                                              'chains': list(v.chains)}
                                     for v in group.vnfs}),
                  'after': standbys, 'locks': [],
                  'again': True})
    return units
