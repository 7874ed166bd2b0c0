"""Reprotect and failback, for programs: give the service back.

After a takeover the DR site serves the group.  ``reprotect`` turns its
replication around (the DR site becomes the source, the origin, or
another site named, the target: checkpoints and data copies flow back on
the group's schedule); ``failback`` then brings the group home by
priority, without breaking the service::

    from geoflows import failback, plan, runner

    my_plan = plan.load('plan.yaml')
    jobs = runner.Runner.from_config()
    for job in failback.reprotect(jobs, my_plan, ['core']):
        print(job.operation, job.state)      # reprotect, then a first sync
    for job in failback.failback(jobs, my_plan, ['core'], drain_time=30):
        print(job.operation, job.state)      # failback, then a forward sync
    for report in failback.reports(job):
        print(report['group'], report['seconds'], report['vnfs'])

A failback (see geoflows.failback_units for its units): a final reverse
sync (nothing written at the DR site during the disaster is lost), the old
servers at the origin replaced by fresh VNFs from that checkpoint (same
IPs and MACs, data restored), the origin's chains rebuilt and the origin
checked; only then, at the DR site, each VNF drained (its ``drain`` hooks,
or a drain time) and its chains removed (a port pair group never empty,
never before the origin's chain exists), the DR networks out of the
interconnect, the group marked served by its origin and replicating
forward, the DR VNFs back to standby (``cold`` ones deleted, their copies
kept; ``warm`` and ``hot`` ones left running as de-linked spares).  Until
the origin serves, ``jobs.revert`` brings back the DR-serving state,
chains included.  ``stage='origin'`` stops before the DR site is touched
(an operator looks at the origin), ``stage='delink'`` does the rest.

Everything wrong before a job exists raises
:class:`geoflows.exceptions.GeoflowsError` (a
:class:`~geoflows.exceptions.PreflightError` places every problem in the
plan), and nothing has changed.
"""

import dataclasses

from geoflows import exceptions

STAGES = ('all', 'origin', 'delink')
#: seconds a DR VNF without a drain hook is given to drain, by default
DEFAULT_DRAIN_TIME = 10
#: a drain time above this is surely a mistake (seconds)
MAX_DRAIN_TIME = 3600


def reversed_group(group, source, target):
    """The group as it replicates after a reprotect: ``source`` to ``target``.

    ``source`` is the site serving it (the DR site), ``target`` the one it
    goes back to.  Networks map back to their names at the origin.  Every
    VNF is cold on the way back: nothing stands by at the origin; a
    failback makes fresh VNFs there.
    """
    networks = {dr: primary for primary, dr in group.networks.items()}
    return dataclasses.replace(
        group, primary=source, dr=target, networks=networks,
        vnfs=tuple(dataclasses.replace(v, standby='cold')
                   for v in group.vnfs))


def replaced_at_origin(store, plan, group, origin):
    """The old VNFs a failback replaces at ``origin`` (for its quota).

    (group document, servers) of the newest forward checkpoint when the
    origin is the group's primary, else None.
    """
    from geoflows import checkpoints
    if origin != group.primary:
        return None
    forward = checkpoints.latest(store, plan.name, group.name,
                                 source_site=group.primary)
    if forward is None:
        return None
    return (forward.document['group_doc'],
            [s for part in forward.vnfs.values() for s in part['servers']])


def _groups(plan, names):
    from geoflows import protection_units
    return protection_units.select_groups(plan, names)


def reprotect_params(plan, to_site=None):
    """The parameters of a reprotect job, checked."""
    found = {}
    if to_site is not None:
        if not isinstance(to_site, str) or to_site not in plan.sites:
            raise exceptions.GeoflowsError(
                'site %r is not a site of plan %r (it has: %s): name the '
                'site the group goes back to' % (
                    str(to_site)[:64], plan.name, ', '.join(plan.sites)))
        found['to'] = to_site
    return found


def failback_params(stage='all', drain_time=None):
    """The parameters of a failback job, checked."""
    if stage not in STAGES:
        raise exceptions.GeoflowsError(
            'stage %r is not one of %s: "origin" builds the origin and '
            'stops, "delink" then gives the service to it, "all" does both'
            % (str(stage)[:32], ', '.join(STAGES)))
    found = {'stage': stage}
    if drain_time is not None:
        if isinstance(drain_time, bool) or not isinstance(
                drain_time, (int, float)) or not \
                0 <= drain_time <= MAX_DRAIN_TIME:
            raise exceptions.GeoflowsError(
                'the drain time is seconds from 0 to %d, not %r' % (
                    MAX_DRAIN_TIME, drain_time))
        found['drain_time'] = drain_time
    return found


def reprotect(runner, plan, groups=None, to_site=None, sync=True,
              on_event=None):
    """Replicate ``groups`` back from their DR site; the ended jobs.

    ``to_site``: the site they go back to (default: their primary).  With
    ``sync``, a first reverse sync runs once the reprotect succeeded.
    """
    params = reprotect_params(plan, to_site)
    names = [g.name for g in _groups(plan, groups)]
    job = runner.run(runner.create('reprotect', plan, names, params=params),
                     on_event)
    ended = [job]
    if sync and job.state == 'SUCCESS':
        ended.append(runner.run(runner.create('sync', plan, names),
                                on_event))
    return ended


def failback(runner, plan, groups=None, stage='all', drain_time=None,
             sync=True, on_event=None):
    """Give ``groups`` back to their origin; the ended jobs.

    With ``sync`` (and a stage that ends with the origin serving), a first
    forward sync runs once the failback succeeded.
    """
    params = failback_params(stage, drain_time)
    names = [g.name for g in _groups(plan, groups)]
    job = runner.run(runner.create('failback', plan, names, params=params),
                     on_event)
    ended = [job]
    if sync and stage != 'origin' and job.state == 'SUCCESS':
        ended.append(runner.run(runner.create('sync', plan, names),
                                on_event))
    return ended


def reports(job):
    """The reports of a failback job, one per group it gave back."""
    units = (job.result or {}).get('units', {})
    return [units[name] for name in sorted(units)
            if name.endswith('.done') and 'vnfs' in (units[name] or {})]


def refuse_revert(store, job):
    """Why a failback job must not be reverted, or None.

    Once its origin serves (the ``GROUP.serving`` unit ended), its DR VNFs
    may be back to standby (cold ones deleted): undoing it would leave no
    site serving.  Taking the group over again is a takeover.
    """
    if job.operation != 'failback':
        return None
    for step in store.job_steps(job.id, names=['serving'], data=False):
        if step['state'] == 'SUCCESS' and step['unit'].endswith(
                '.serving'):
            group = step['unit'][:-len('.serving')]
            return ('the origin serves group %s since this failback (job '
                    '%s): undoing it now would leave no site serving it; '
                    'to run it at its DR site again, take it over ("geoflows '
                    'takeover")' % (group, job.id))
    return None
