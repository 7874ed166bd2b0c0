"""Protection, for programs: protect, sync, the RPO status, checkpoints.

The same as the ``geoflows protect|sync|protection status|checkpoint``
commands, for a MANO system that drives geoflows from Python::

    from geoflows import plan, protection, runner

    my_plan = plan.load('plan.yaml')
    jobs = runner.Runner.from_config()
    job = protection.protect(jobs, my_plan)          # prepare the DR site
    job = protection.sync(jobs, my_plan, ['core'])   # one checkpoint
    for row in protection.status(jobs, my_plan):
        print(row.group, row.vnf, row.rpo, row.state)
    old, new = protection.checkpoints(jobs, my_plan.name, 'core')[1::-1]
    for line in protection.diff(old, new):
        print(line)
    for warning in protection.readiness(jobs, new):
        print(warning)

``protect`` and ``sync`` are jobs like any other (``jobs.resume``,
``jobs.revert``); they raise :class:`geoflows.exceptions.PreflightError`
with every problem placed in the plan before anything is changed.
"""

from geoflows import checkpoints as checkpoints_mod
from geoflows import exceptions


def protect(runner, plan, groups=None, keep_on_failure=None, on_event=None):
    """Prepare the DR site of ``groups`` (default: all); the ended job."""
    return runner.start('protect', plan, groups,
                        keep_on_failure=keep_on_failure, on_event=on_event)


def sync(runner, plan, groups=None, on_event=None):
    """Take one checkpoint of ``groups`` (default: all); the ended job."""
    return runner.start('sync', plan, groups, on_event=on_event)


def sync_every(runner, plan, groups, interval, count=None, on_event=None,
               report=print):
    """Sync every ``interval`` seconds here, ``count`` times (None: ever).

    Returns the last sync job.  Without conductors; with them, each
    conductor's scheduler does it (see geoflows.schedule).
    """
    from geoflows import schedule
    return schedule.run_every(runner, plan, groups, interval,
                              on_event=on_event, count=count, report=report)


def standby_states(runner, plan):
    """A callable (group, vnf) -> the state of the VNF's standby servers.

    ``ACTIVE 2/2`` (every server of the newest checkpoint has an ACTIVE
    standby), ``ERROR 1/2``, ``missing``, ``none`` (a cold VNF has none),
    or ``unknown: <why>`` when the DR site does not answer.  Each DR site
    is read once.
    """
    from geoflows import clouds as clouds_mod
    from geoflows.flows import site_copy
    from geoflows.tasks import compute as compute_tasks

    servers = {}

    def at_site(group):
        key = group.name
        if key not in servers:
            site = plan.sites[group.dr].to_spec()
            marker = site_copy.marker(plan.name, group.name)
            try:
                with clouds_mod.api_errors(site['name'], 'list the '
                                           'standby servers'):
                    servers[key] = {
                        s.name: s.status for s in
                        runner.clouds.compute(site).servers(details=True)
                        if (s.metadata or {}).get(compute_tasks.MARK_KEY)
                        == marker}
            except exceptions.GeoflowsError as e:
                servers[key] = str(e)
        return servers[key]

    def state(group, vnf):
        if vnf.standby == 'cold':
            return 'none'
        found = at_site(group)
        if isinstance(found, str):
            return 'unknown: %s' % found
        newest = checkpoints_mod.latest(runner.store, plan.name, group.name,
                                        source_site=group.primary)
        part = newest.vnfs.get(vnf.name) if newest else None
        names = [s['name'] for s in part['servers']] if part else []
        if not names:
            return 'unknown: no checkpoint yet'
        states = [found.get(name) for name in names]
        if not any(states):
            return 'missing'
        worst = next((s for s in states if s != 'ACTIVE'), 'ACTIVE')
        return '%s %d/%d' % (worst or 'missing',
                             sum(1 for s in states if s == worst),
                             len(names))
    return state


def status(runner, plan, groups=None, ask_dr_site=True, now=None):
    """Per group and VNF its :class:`geoflows.protection_status.VnfStatus`.

    ``ask_dr_site``: read the standbys' state at the DR sites (one call per
    site); without it ``standby_state`` is None and no site is called.
    With the RTO fields: predicted within [runner] service_call_caps, and
    the group's last drill.
    """
    from geoflows import conf
    from geoflows import protection_status
    from geoflows import protection_units
    from geoflows import runner as runner_mod
    protection_units.select_groups(plan, groups)  # unknown names: an error
    return protection_status.of_plan(
        runner.store, plan, groups, now=now,
        standbys=standby_states(runner, plan) if ask_dr_site else None,
        with_rto=True, caps=runner_mod.service_call_caps(conf.CONF))


def checkpoints(runner, plan_name=None, group=None, limit=None,
                everything=False):
    """Checkpoints, newest first (``everything``: also open and pruned)."""
    return checkpoints_mod.listing(
        runner.store, plan_name, group, limit=limit, with_vnfs=True,
        states=None if everything else (checkpoints_mod.COMPLETE,))


def checkpoint(runner, checkpoint_id):
    """One checkpoint, by its id or a unique prefix (4 characters+)."""
    return checkpoints_mod.get(runner.store, checkpoint_id)


def previous(runner, checkpoint):
    """The complete checkpoint of the same group before ``checkpoint``."""
    older = [c for c in checkpoints_mod.listing(
        runner.store, checkpoint.plan_name, checkpoint.group_name,
        with_vnfs=True) if c.created_at < checkpoint.created_at]
    return older[0] if older else None


def diff(old, new):
    """The changes from checkpoint ``old`` to ``new``, as lines."""
    from geoflows.checkpoints import diff as diff_mod
    if (old.plan_name, old.group_name) != (new.plan_name, new.group_name):
        raise exceptions.GeoflowsError(
            'checkpoints %s and %s are of different groups (%s/%s and '
            '%s/%s); compare two checkpoints of one group' % (
                old.id, new.id, old.plan_name, old.group_name,
                new.plan_name, new.group_name))
    return [diff_mod.format_change(c) for c in diff_mod.changes(old, new)]


def readiness(runner, checkpoint):
    """What a takeover from ``checkpoint`` would lack at its DR site."""
    from geoflows.checkpoints import readiness as readiness_mod
    return readiness_mod.check(runner.clouds, checkpoint)
