"""geoflows.protection.* actions: the RPO status of a plan's groups.

The figures are those of ``geoflows.protection_status`` (the same as the
conductors' Prometheus metrics), read from the state store the executors
share: per group and VNF the newest consistent checkpoint, its age (the
achieved RPO), the target, the state (OK, AT RISK, VIOLATED), the
standby's state at the DR site, and the last sync's error.
"""

import re

from geoflows.actions import base
from geoflows import checkpoints
from geoflows import exceptions
from geoflows import protection_status
from geoflows import protection_units
from geoflows import secrets

#: a name of a plan item (the plan schema's identifier)
IDENTIFIER = re.compile(r'^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$')
#: at most this many characters of a standby lookup's error in a result
ERROR_CHARS = 300
#: the key of geoflows' mark in a server's metadata (geoflows.tasks.compute)
MARK_KEY = 'geoflows'


def check_name(value, where, optional=True):
    """``value`` if it is a plan item name (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise exceptions.GeoflowsError(
            '%s must be the name of a plan item (lower-case letters, digits '
            'and dashes, at most 32 characters), not %s'
            % (where, _show(value)))
    return value


def check_names(values, where):
    """A list of plan item names, or None."""
    if values is None:
        return None
    if not isinstance(values, list) or len(values) > 1000:
        raise exceptions.GeoflowsError(
            '%s must be a list of names (at most 1000), not %s'
            % (where, _show(values)))
    for i, value in enumerate(values):
        check_name(value, '%s[%d]' % (where, i), optional=False)
    return values


def check_flag(value, where):
    if not isinstance(value, bool):
        raise exceptions.GeoflowsError('%s must be true or false, not %s'
                                       % (where, _show(value)))
    return value


def _show(value):
    """A short, printable rendering of a bad input."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + '...'
    return secrets.mask(text)


def _short_error(e):
    text = '%s: %s' % (type(e).__name__, e)
    text = ''.join(c if c.isprintable() else ' ' for c in text)
    return secrets.mask(text[:ERROR_CHARS])


class StandbyStates(object):
    """The state of each hot or warm VNF's standby servers at its DR site.

    One server listing per DR site and group (servers carry the group's
    mark); cold VNFs have no standby (None).  An unreachable DR site is a
    state too (``UNKNOWN (...)``), not a failure of the status.
    """

    def __init__(self, clouds, store, plan):
        self.clouds = clouds
        self.store = store
        self.plan = plan
        self._servers = {}
        self._newest = {}

    def _dr_servers(self, group):
        if group.name not in self._servers:
            from geoflows.flows import site_copy
            marker = site_copy.marker(self.plan.name, group.name)
            try:
                compute = self.clouds.compute(
                    self.plan.sites[group.dr].to_spec())
                found = {s.name: s.status
                         for s in compute.servers(details=True)
                         if (s.metadata or {}).get(MARK_KEY) == marker}
            except Exception as e:  # advisory: say why, go on
                found = 'UNKNOWN (DR site %s: %s)' % (group.dr,
                                                      _short_error(e))
            self._servers[group.name] = found
        return self._servers[group.name]

    def _server_names(self, group, vnf):
        if group.name not in self._newest:
            self._newest[group.name] = checkpoints.latest(
                self.store, self.plan.name, group.name,
                source_site=group.primary)
        newest = self._newest[group.name]
        part = newest.vnfs.get(vnf.name) if newest else None
        if part and part.get('servers'):
            return [s['name'] for s in part['servers']]
        return list(vnf.servers)

    def __call__(self, group, vnf):
        if vnf.standby not in ('hot', 'warm'):
            return None
        servers = self._dr_servers(group)
        if isinstance(servers, str):
            return servers
        names = self._server_names(group, vnf)
        if not names:
            return 'UNKNOWN (no checkpoint names its servers yet)'
        states = {name: servers.get(name, 'MISSING') for name in names}
        if len(set(states.values())) == 1:
            return states[names[0]]
        return 'MIXED (%s)' % ', '.join('%s %s' % (n, states[n])
                                        for n in names)


def summary(plan, rows, checked_at):
    """The action's result: per group and VNF, and the overall flags."""
    counts = {protection_status.OK: 0, protection_status.AT_RISK: 0,
              protection_status.VIOLATED: 0}
    groups = {}
    order = (protection_status.OK, protection_status.AT_RISK,
             protection_status.VIOLATED)
    for row in rows:
        counts[row.state] += 1
        data = row.to_dict()
        for key in ('plan', 'group', 'vnf'):
            del data[key]
        if data['last_sync_error']:
            data['last_sync_error'] = secrets.mask(data['last_sync_error'])
        group = groups.setdefault(row.group, {
            'state': protection_status.OK, 'protected': row.protected,
            'checkpoint': row.checkpoint, 'rpo_target': row.rpo_target,
            'last_sync_job': row.last_sync_job,
            'last_sync_error': data['last_sync_error'],
            'rto_target': row.rto_target, 'predicted_rto': None,
            'last_drill': row.drill_job, 'drilled_at': row.drill_at,
            'rehearsal': row.rehearsal, 'vnfs': {}})
        group['vnfs'][row.vnf] = data
        if row.predicted_rto is not None:
            group['predicted_rto'] = max(group['predicted_rto'] or 0.0,
                                         row.predicted_rto)
        if order.index(row.state) > order.index(group['state']):
            group['state'] = row.state
    return {
        'plan': plan.name,
        'checked_at': checkpoints.isoformat(checked_at),
        'violated': protection_status.violated(rows),
        'at_risk': counts[protection_status.AT_RISK] > 0,
        'counts': counts,
        'violations': ['%s/%s' % (r.group, r.vnf) for r in rows
                       if r.state == protection_status.VIOLATED],
        'not_rehearsed': sorted({r.group for r in rows if r.rehearsal and
                                 not r.rehearsal.startswith('rehearsed')}),
        'groups': groups,
    }


class ProtectionStatus(base.GeoflowsAction):
    """The RPO status of the plan's protection groups, per group and VNF.

    Returns ``violated`` (true when a VNF's newest copy is older than its
    group's RPO target, or it has none), ``at_risk``, ``counts`` of each
    state, ``violations`` (``group/vnf``) and ``groups``: per group its
    worst state, whether it is protected, its newest checkpoint, the last
    sync's job and error, and per VNF the checkpoint, ``consistent_at``,
    the achieved ``rpo`` and ``rpo_target`` (seconds), the ``state`` and
    the ``standby_state`` at the DR site; then the RTO: per VNF
    ``rto_target``, ``predicted_rto`` (a disaster takeover from the newest
    checkpoint) and ``predicted_rto_met``, the group's last drill
    (``drill_job``, ``drill_at``) and the ``drill_rto`` it measured
    (``drill_rto_met``), and ``rehearsal``: "rehearsed DATE", "not
    rehearsed since DATE" (the VNFs changed since that drill) or "never
    rehearsed"; per group its ``predicted_rto``, ``last_drill``,
    ``drilled_at`` and ``rehearsal``; ``not_rehearsed``: the groups never
    rehearsed or changed since.  A violated RPO is a result, not an action
    error: the workflow decides.

    :param plan: the plan, as a mapping or YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    :param groups: the protection groups to report (default: all).
    :param standby: ask each DR site for the state of the standby servers
        (one server listing per group).  Default: true.
    """

    def __init__(self, plan=None, plan_file=None, groups=None, standby=True):
        super().__init__()
        self.plan = plan
        self.plan_file = plan_file
        self.groups = groups
        self.standby = standby

    def execute(self, context):
        names = check_names(self.groups, '"groups"')
        check_flag(self.standby, '"standby"')
        plan = base.load_plan(self.plan, self.plan_file, 'the "plan" input')
        selected = protection_units.select_groups(plan, names)
        runner = base.runner()
        now = checkpoints.utcnow()
        standbys = (StandbyStates(runner.clouds, runner.store, plan)
                    if self.standby else None)
        from geoflows import conf
        from geoflows import runner as runner_mod
        rows = protection_status.of_plan(
            runner.store, plan, [g.name for g in selected], now=now,
            standbys=standbys, with_rto=True,
            caps=runner_mod.service_call_caps(conf.CONF))
        return secrets.mask_data(summary(plan, rows, now))
