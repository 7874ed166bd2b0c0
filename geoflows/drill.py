"""Drills, for programs: rehearse a takeover without touching the service.

A drill takes a group over into an isolated copy at its DR site, from its
newest checkpoint: its own networks (the same CIDRs, no way out), its own
servers and ports (the same IPs and MACs), volumes restored from the
checkpoint's copies, chains rebuilt; the copy verified, the RTO of each
VNF measured; then the copy removed (unless kept)::

    from geoflows import drill, plan, runner

    my_plan = plan.load('plan.yaml')
    jobs = runner.Runner.from_config()
    job = drill.drill(jobs, my_plan, ['core'])
    for report in drill.reports(job):
        print(report['group'], report['verify']['clean'],
              {name: vnf['rto'] for name, vnf in report['vnfs'].items()})
    kept = drill.drill(jobs, my_plan, ['core'], keep_for=3600)
    print(drill.copies(jobs.store))      # the copies still present
    drill.cleanup(jobs, kept.id)

The primary, the DR site's standbys and the interconnect are not changed
(see geoflows.drill_units for how).  A drill or a cleanup killed anywhere
ends by its resume (``jobs.resume(id)``) with nothing of the copy left.
A copy kept past its time is removed by the conductors.
"""

from geoflows.checkpoints import drills
from geoflows import drill_units
from geoflows import exceptions
from geoflows import jobs as jobs_mod

#: seconds a kept copy may live at most, when no option says otherwise
DEFAULT_MAX_KEEP = 86400


def drill_params(keep_for=None, max_keep=DEFAULT_MAX_KEEP):
    """The parameters of a drill job, checked (``keep_for``: seconds)."""
    keep_for = drill_units.checked_keep(keep_for, max_keep)
    return {'keep_for': keep_for} if keep_for else {}


def _max_keep(runner):
    return runner.options.get('drill_max_keep') or DEFAULT_MAX_KEEP


def drill(runner, plan, groups=None, keep=False, keep_for=None,
          on_event=None):
    """Drill ``groups`` of ``plan``; the ended job.

    ``keep`` keeps the copy for the longest time allowed (``[protection]
    drill_max_keep``), ``keep_for`` for that many seconds; else the job
    removes it at its end.
    """
    from geoflows import protection_units
    if keep and keep_for is None:
        keep_for = _max_keep(runner)
    params = drill_params(keep_for, _max_keep(runner))
    names = [g.name for g in protection_units.select_groups(plan, groups)]
    return runner.run(runner.create('drill', plan, names, params=params),
                      on_event)


def copies(store, plan_name=None):
    """The drills' copies still present, oldest first."""
    return drills.listing(store, plan_name)


def cleanup_job(runner, drill_id, job_id=None):
    """Create the job that removes a drill's copies; its id.

    A cleanup job of the same drill that did not end is returned instead
    (resume it).  ``job_id``: the id to give it (the conductors use
    :func:`geoflows.drill_units.cleanup_job_id`).
    """
    from geoflows import plan as plan_mod
    if not isinstance(drill_id, str) or not drill_id.strip():
        raise exceptions.GeoflowsError('give the id of a drill job')
    drill_id = _drill_id(runner, drill_id)
    found = drills.get(runner.store, drill_id)
    present = [c for c in found if c.present]
    if not present:
        raise exceptions.GeoflowsError(
            'drill %s has no copy left to remove%s ("geoflows drill list" '
            'shows the copies still present)' % (
                drill_id, '' if found else ' (no drill of that id made one)'))
    for job in runner.store.list_jobs([jobs_mod.PENDING, jobs_mod.RUNNING,
                                       jobs_mod.FAILED, jobs_mod.PARTIAL,
                                       jobs_mod.SUSPENDED]):
        if job.operation == 'drill.cleanup' and \
                (job.spec.get('params') or {}).get('drill') == drill_id:
            return job.id
    plan = plan_mod.from_document(present[0].plan, 'the plan of drill %s'
                                  % drill_id)
    return runner.create('drill.cleanup', plan, [c.group_name
                                                 for c in present],
                         job_id=job_id, params={'drill': drill_id})


def _drill_id(runner, text):
    """The full id of drill ``text`` (a job id or a unique prefix)."""
    try:
        job = runner.get(text)
    except exceptions.GeoflowsError:
        return text
    if job.operation != 'drill':
        raise exceptions.GeoflowsError(
            'job %s is a %s, not a drill' % (job.id, job.operation))
    return job.id


def cleanup(runner, drill_id, on_event=None):
    """Remove what is left of a drill's copies; the ended cleanup job."""
    job_id = cleanup_job(runner, drill_id)
    job = runner.get(job_id)
    if job.state == jobs_mod.PENDING:
        return runner.run(job_id, on_event)
    return runner.resume(job_id, on_event)


def reports(job):
    """The reports of a drill job, one per group it rehearsed."""
    units = (job.result or {}).get('units', {})
    return [units[name] for name in sorted(units)
            if name.endswith('.done') and 'vnfs' in (units[name] or {})]
