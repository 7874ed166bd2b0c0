"""Operations: what a job does, turned into units.

An operation maps a plan (and optionally some of its items, by name) to the
units of a job.  Each unit names its flow factory, the JSON arguments of
the factory, the units it must run after, and the locks it needs while it
runs.
"""

from geoflows import exceptions

INTERCONNECT_OPERATIONS = ('interconnect.setup', 'interconnect.check',
                           'interconnect.teardown')
PROTECTION_OPERATIONS = ('protect', 'sync', 'takeover', 'fence',
                         'reprotect', 'failback', 'drill', 'drill.cleanup')
OPERATIONS = INTERCONNECT_OPERATIONS + PROTECTION_OPERATIONS


def options_from_config(conf):
    """The options a job's flows need, frozen into the job at its start."""
    if conf.bgpvpn.route_target_first > conf.bgpvpn.route_target_last:
        raise exceptions.ConfigError(
            '[bgpvpn] route_target_first (%d) is above route_target_last '
            '(%d)' % (conf.bgpvpn.route_target_first,
                      conf.bgpvpn.route_target_last))
    return {
        'route_target_pool': {'asn': conf.bgpvpn.route_target_asn,
                              'first': conf.bgpvpn.route_target_first,
                              'last': conf.bgpvpn.route_target_last},
        'active_attempts': conf.ipsec.active_attempts,
        'active_interval': conf.ipsec.active_interval,
        # How protection steps wait for servers, volumes, backups, images.
        'ready_attempts': conf.protection.ready_attempts,
        'ready_interval': conf.protection.ready_interval,
        'image_work_dir': conf.protection.work_dir,
        'max_copies_per_site': conf.protection.max_copies_per_site,
        'fence_timeout': conf.protection.fence_timeout,
        'failback_drain_time': conf.protection.drain_time,
        'drill_max_keep': conf.protection.drill_max_keep,
        'hook_options': {'output_limit': conf.hooks.output_limit,
                         'pass_env': list(conf.hooks.pass_env)},
    }


# Operations whose failed units are undone alone while the others go on (a
# disaster takeover that undid itself because one VNF of 500 failed would
# be the worst outcome of all); the others revert the whole job.
ISOLATING = ('takeover', 'failback', 'drill', 'drill.cleanup')


def failure_policy(operation):
    """'isolate' (see geoflows.runner.ISOLATE) or 'revert'."""
    return 'isolate' if operation in ISOLATING else 'revert'


def _select(plan, names):
    if not plan.interconnects:
        raise exceptions.GeoflowsError(
            'plan %r (%s) defines no interconnects'
            % (plan.name, plan.source))
    if not names:
        return list(plan.interconnects)
    selected = []
    for name in names:
        ic = plan.interconnect(name)
        if ic is None:
            raise exceptions.GeoflowsError(
                'plan %r has no interconnect %r (it has: %s)' % (
                    plan.name, name,
                    ', '.join(i.name for i in plan.interconnects)))
        if ic not in selected:
            selected.append(ic)
    return selected


def build_units(operation, plan, names=None, context=None, options=None):
    """The units of ``operation`` on ``plan``.

    Protection operations read the group's inventory at its sites first
    (``context``: the runner's); everything wrong is reported before the
    job exists.
    """
    if operation not in OPERATIONS:
        raise exceptions.GeoflowsError(
            'unknown operation %r (known: %s)'
            % (operation, ', '.join(OPERATIONS)))
    if operation == 'fence':
        from geoflows import takeover
        return takeover.fence_units(plan, names, context, options or {})
    if operation in ('drill', 'drill.cleanup'):
        from geoflows import drill_units
        return drill_units.build(operation, plan, names, context,
                                 options or {})
    if operation in ('reprotect', 'failback'):
        from geoflows import failback_units
        return failback_units.build(operation, plan, names, context,
                                    options or {})
    if operation == 'takeover':
        from geoflows import takeover_units
        return takeover_units.build(operation, plan, names, context,
                                    options or {})
    if operation in PROTECTION_OPERATIONS:
        from geoflows import protection_units
        return protection_units.build(operation, plan, names, context,
                                      options or {})
    units = []
    for ic in _select(plan, names):
        units.append({
            'name': ic.name,
            'flow': operation,
            'args': plan.interconnect_spec(ic),
            'after': [],
            # Checking is read-only; it needs no exclusive access.
            'locks': ([] if operation == 'interconnect.check' else
                      ['interconnect:%s/%s' % (plan.name, ic.name)]),
        })
    return units


def refuse_revert(store, job):
    """Why ``job`` must not be reverted (a sentence), or None."""
    if job.operation == 'failback':
        from geoflows import failback
        return failback.refuse_revert(store, job)
    return None


def finished(store, job, state, error):
    """What an operation records when one of its jobs ends.

    A sync that did not succeed is the group's last sync error (shown by
    ``geoflows protection status``) until a sync succeeds.
    """
    if job.operation != 'sync' or state == 'SUCCESS':
        return
    from geoflows.checkpoints import groups
    for unit in job.units:
        if unit['flow'] == 'sync.group':
            groups.record_sync(store, job.plan_name, unit['name'], job.id,
                               error=error or state)
