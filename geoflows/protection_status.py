"""The protection status of a plan's groups: the RPO known at all times.

Per group and VNF: the newest consistent checkpoint, its age (the achieved
RPO), the group's target, a state, the standby's state at the DR site, and
the last sync's error.  States:

``OK``        the newest copy is younger than the target, with room for the
              next scheduled sync (age + sync interval <= target);
``AT RISK``   younger than the target, but the next sync must not be late
              (or the last sync failed);
``VIOLATED``  older than the target, or no copy at all.

The same figures feed ``geoflows protection status``, the Mistral action
``geoflows.protection.status`` and the conductors' Prometheus metrics.
"""

import dataclasses
from typing import Optional

from geoflows import checkpoints
from geoflows.checkpoints import groups

OK = 'OK'
AT_RISK = 'AT RISK'
VIOLATED = 'VIOLATED'


@dataclasses.dataclass
class VnfStatus:
    plan: str
    group: str
    vnf: str
    standby: str
    checkpoint: Optional[str]
    consistent_at: Optional[str]
    rpo: Optional[float]
    rpo_target: int
    state: str
    standby_state: Optional[str]
    last_sync_job: Optional[str]
    last_sync_error: Optional[str]
    protected: bool
    #: after a disaster takeover: 'fenced' or 'not fenced'
    fence: Optional[str] = None
    #: the site running the group's VNFs after a takeover
    serving_site: Optional[str] = None
    #: which way the group replicates: "SOURCE -> TARGET" (the DR site
    #: to the origin after a reprotect)
    replicates: Optional[str] = None

    def to_dict(self):
        return dataclasses.asdict(self)


def rpo_state(age, target, interval, failed=False):
    """OK, AT RISK or VIOLATED for a copy ``age`` seconds old."""
    if age is None or age > target:
        return VIOLATED
    if failed or age + interval > target:
        return AT_RISK
    return OK


def of_plan(store, plan, group_names=None, now=None, standbys=None):
    """The :class:`VnfStatus` of every VNF of the plan's groups.

    ``standbys``: a callable (group, vnf) -> the standby's state at the DR
    site (e.g. ``ACTIVE``), or None not to ask the site.
    """
    now = now or checkpoints.utcnow()
    rows = []
    for group in plan.protection_groups:
        if group_names and group.name not in group_names:
            continue
        state = groups.get(store, plan.name, group.name)
        source, target = groups.direction(state, group)
        # The RPO of the way it replicates now (both ways have checkpoints
        # once it was reprotected).
        newest = checkpoints.latest(store, plan.name, group.name,
                                    source_site=source, target_site=target)
        failed = bool(state and state.last_sync_error)
        for vnf in group.vnfs:
            part = newest.vnfs.get(vnf.name) if newest else None
            age = newest.vnf_age(vnf.name, now) if part else None
            rows.append(VnfStatus(
                plan=plan.name, group=group.name, vnf=vnf.name,
                standby=vnf.standby,
                checkpoint=newest.id if part else None,
                consistent_at=part['consistent_at'] if part else None,
                rpo=round(age, 1) if age is not None else None,
                rpo_target=group.rpo,
                state=rpo_state(age, group.rpo, group.sync_interval, failed),
                standby_state=(standbys(group, vnf) if standbys else None),
                last_sync_job=state.last_sync_job if state else None,
                last_sync_error=state.last_sync_error if state else None,
                protected=bool(state and state.state == groups.PROTECTED),
                fence=state.fence_state if state else None,
                serving_site=state.serving_site if state else None,
                replicates='%s -> %s' % (source, target)))
    return rows


def violated(rows):
    return any(row.state == VIOLATED for row in rows)
