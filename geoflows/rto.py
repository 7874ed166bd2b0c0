"""RTO, predicted: what a takeover of a group would take, and why.

The model follows the takeover's shape (geoflows.flows.takeover): per
VNF, by standby mode, the steps it makes (a cold VNF restores its volumes,
makes its ports, boots its servers and waits for them meanwhile, then
attaches its volumes; a warm one restores and attaches; a hot one is
promoted), VNFs
of one priority side by side, priorities one after the other (unless the
group allows overlap), a VNF after those it depends on, every call to a
service of the DR site bounded by its cap ([runner] service_call_caps),
then the chains rebuilt; a disaster takeover fences the primary first
(``fence``: what the last takeover's fencing took, else a default; a
primary that does not answer costs up to [protection] fence_timeout, which
the prediction names but does not assume).  Each kind of step lasts what
it took at the DR site in the group's last takeover or drill (measured),
else what the group's last sync suggests, else a default; the prediction
says which.

    prediction = rto.predict(plan, group, checkpoint, rto.durations(store,
                             plan.name, group.name), caps)
"""

import collections
import math

# Seconds per kind of step when nothing was measured (the minicloud's
# order of magnitude, for a 1 GiB volume).
DEFAULTS = {'lookup': 0.2, 'restore': 10.0, 'port': 0.5, 'boot': 2.0,
            'active': 8.0, 'attach': 2.0, 'hook': 1.0, 'promote': 2.0,
            'chain': 2.0, 'fence': 3.0}
SERVICE = {'restore': 'block_storage', 'port': 'network', 'boot': 'compute',
           'active': None, 'attach': 'compute', 'lookup': 'network',
           'hook': None, 'promote': None, 'chain': 'network',
           'fence': None}


def kind_of(step):
    """The kind of a takeover step (by its name), or None."""
    name = step
    if name.startswith('data.') and name.endswith('.volume.ready'):
        return 'restore'
    if name.startswith('data.') and name.endswith('.attachment'):
        return 'attach'
    if name.startswith('port.') and '.' in name[5:] and \
            not name.endswith('.probe'):
        return 'port'
    if name.startswith('server.') and name.endswith('.ready'):
        return 'active'
    if name.startswith('server.') and name.count('.') == 1:
        return 'boot'
    if name == 'hooks.promote':
        return 'promote'
    if name.startswith('hooks.'):
        return 'hook'
    return None


def durations(store, plan_name, group_name, defaults=DEFAULTS):
    """{kind: (seconds, where it comes from)} for a group's takeover.

    The medians of the group's last takeover or drill; for restores,
    without one, its last sync's backups (a restore reads what a backup
    wrote); else the defaults.
    """
    measured, source = collections.defaultdict(list), None
    backups = []
    for job in store.list_jobs(limit=200):
        if job.plan_name != plan_name or not any(
                u['name'].startswith(group_name + '/') for u in job.units):
            continue
        if job.operation in ('takeover', 'drill') and source is None:
            for kind, seconds in _takeover_times(store.job_steps(job.id),
                                                 group_name):
                measured[kind].append(seconds)
            if measured:
                source = 'measured by %s %s' % (job.operation, job.id)
        elif job.operation == 'sync' and not backups:
            backups = _backup_times(store.job_steps(job.id))
    result = {}
    for kind, default in defaults.items():
        if measured.get(kind):
            result[kind] = (_median(measured[kind]), source)
        elif kind == 'restore' and backups:
            result[kind] = (_median(backups), 'the last sync\'s backups')
        else:
            result[kind] = (default, 'default')
    return result


def _span(steps, unit, first, last, from_end=False):
    """Seconds from step ``first``'s start (or end) to ``last``'s end."""
    a, b = steps.get((unit, first)), steps.get((unit, last))
    if not a or not b or not b['finished_at']:
        return None
    begin = a['finished_at'] if from_end else a['started_at']
    if begin is None:
        return None
    return (b['finished_at'] - begin).total_seconds()


def _takeover_times(job_steps, group_name):
    """(kind, seconds) of each measured step of a group's takeover.

    A wait (a restore until the volume is available, a boot until the
    server is ACTIVE) is a paced retry whose last check alone is a step:
    it lasts from the step that started the work to that check's end.
    """
    steps = {(s['unit'], s['name']): s for s in job_steps}
    for (unit, name), step in steps.items():
        if unit == group_name + '.fence':
            kind = 'fence' if name == 'fence' else None
        elif unit.startswith(group_name + '/'):
            kind = kind_of(name)
        else:
            kind = None
        if not kind or not step['started_at'] or not step['finished_at']:
            continue
        if kind == 'restore':
            seconds = _span(steps, unit, name[:-len('.ready')], name)
        elif kind == 'active':
            seconds = _span(steps, unit, name[:-len('.ready')], name,
                            from_end=True)
        else:
            seconds = (step['finished_at'] -
                       step['started_at']).total_seconds()
        if seconds is not None:
            yield kind, seconds


def _backup_times(job_steps):
    """Seconds of each backup of a sync: made, until available."""
    steps = {(s['unit'], s['name']): s for s in job_steps}
    found = []
    for unit, name in steps:
        if name.startswith('data.') and name.endswith('.backup.ready'):
            seconds = _span(steps, unit, name[:-len('.ready')], name)
            if seconds is not None:
                found.append(seconds)
    return found


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def vnf_steps(vnf_doc, hooks):
    """[(kind, count)] of what a takeover does for one VNF."""
    standby = vnf_doc['standby']
    servers = vnf_doc['servers']
    volumes = sum(len(s['volumes']) for s in servers)
    ports = sum(len(s['ports']) for s in servers)
    steps = [('lookup', 1)]
    if standby == 'hot':
        if hooks.get('promote'):
            steps.append(('promote', 1))
    else:
        if volumes:
            steps.append(('restore', volumes))
        if standby == 'cold':
            steps += [('port', ports), ('boot', len(servers)),
                      ('active', len(servers))]
        if volumes:
            steps.append(('attach', volumes))
    if hooks.get('post_takeover'):
        steps.append(('hook', 1))
    return steps


def _boots_from_volume(vnf_doc):
    return any(server['volumes'] and not server.get('image')
               for server in vnf_doc['servers'])


def _vnf_seconds(phases, boots_from_volume):
    """Seconds of one VNF from the seconds of each kind of its steps.

    Its volumes are restored while its ports are made and its servers
    boot (the flow's graph runs them side by side), unless a server boots
    from a restored volume; attachments wait for both.
    """
    data = phases.get('restore', 0.0)
    servers = sum(phases.get(kind, 0.0)
                  for kind in ('port', 'boot', 'active'))
    middle = data + servers if boots_from_volume else max(data, servers)
    return middle + sum(phases.get(kind, 0.0) for kind in (
        'lookup', 'attach', 'promote', 'hook'))


def _phase(kind, count, seconds, caps, share):
    """Seconds of ``count`` steps of a kind that run side by side.

    ``share`` steps of the kind compete for the service's cap.
    """
    cap = caps.get(SERVICE.get(kind)) if SERVICE.get(kind) else None
    if not count:
        return 0.0
    if cap:
        return math.ceil(max(count, share) / float(cap)) * seconds
    return seconds


def predict(plan, group, vnf_docs, times, caps=None, chains=(),
            fence=False):
    """The predicted RTO of a takeover of ``group``.

    ``vnf_docs``: {name: the VNF's checkpoint part}; ``times``: from
    :func:`durations`; ``fence``: the primary is fenced first (a
    disaster takeover).  Returns ``{'rto', 'target', 'vnfs': {name:
    {'steps', 'start', 'ready', 'exceeds'}}}``, times in seconds from
    the takeover's start.
    """
    caps = caps or {}
    seconds = {kind: value for kind, (value, _where) in times.items()}
    by_priority = collections.OrderedDict()
    for vnf in sorted(group.vnfs, key=lambda v: v.priority):
        by_priority.setdefault(vnf.priority, []).append(vnf)
    result = {}
    level_start = seconds['fence'] if fence else 0.0
    ready = {}
    for priority, vnfs in by_priority.items():
        steps = {v.name: vnf_steps(vnf_docs[v.name], dict(v.hooks))
                 for v in vnfs}
        # Steps of one kind across the level compete for the same cap.
        share = collections.Counter()
        for listed in steps.values():
            for kind, count in listed:
                share[kind] += count
        level_end = level_start
        for vnf in _by_dependencies(vnfs):
            start = max([level_start] + [ready.get(d, 0.0)
                                         for d in vnf.depends_on])
            took = _vnf_seconds(
                {kind: _phase(kind, count, seconds[kind], caps, share[kind])
                 for kind, count in steps[vnf.name]},
                _boots_from_volume(vnf_docs[vnf.name]))
            ready[vnf.name] = start + took
            result[vnf.name] = {
                'priority': priority, 'standby': vnf.standby,
                'steps': [{'kind': kind, 'count': count,
                           'seconds': seconds[kind],
                           'source': times[kind][1]}
                          for kind, count in steps[vnf.name]],
                'start': round(start, 1), 'ready': round(start + took, 1)}
            level_end = max(level_end, start + took)
        if not group.overlap_priorities:
            level_start = level_end
    chain_end = max(ready.values() or [0.0]) + (
        seconds['chain'] if chains else 0.0)
    for name, info in result.items():
        in_chain = any(name in members for members in chains)
        if in_chain:
            info['ready'] = round(chain_end, 1)
        info['exceeds'] = info['ready'] > group.rto
    total = max([chain_end] + [i['ready'] for i in result.values()])
    return {'rto': round(total, 1), 'target': group.rto,
            'exceeds': total > group.rto, 'vnfs': result}


def _by_dependencies(vnfs):
    """The VNFs of a level, each after those of the level it needs."""
    names = {v.name for v in vnfs}
    done, ordered = set(), []
    pending = list(vnfs)
    while pending:
        rest = []
        for vnf in pending:
            if all(d in done or d not in names for d in vnf.depends_on):
                ordered.append(vnf)
                done.add(vnf.name)
            else:
                rest.append(vnf)
        if len(rest) == len(pending):  # a cycle: the plan refuses those
            ordered.extend(rest)
            break
        pending = rest
    return ordered
