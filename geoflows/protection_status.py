"""The protection status of a plan's groups: the RPO known at all times.

Per group and VNF: the newest consistent checkpoint, its age (the achieved
RPO), the group's target, a state, the standby's state at the DR site, and
the last sync's error.  States:

``OK``        the newest copy is younger than the target, with room for the
              next scheduled sync (age + sync interval <= target);
``AT RISK``   younger than the target, but the next sync must not be late
              (or the last sync failed);
``VIOLATED``  older than the target, or no copy at all.

With ``with_rto``, per VNF too: its RTO target, the RTO a disaster
takeover from the newest checkpoint is predicted to take
(:func:`geoflows.rto.predict`, from what the group's last takeover or
drill measured) and whether that meets the target; the RTO its group's
last drill measured, and when that drill ran; and whether the group was
rehearsed as it is now (``rehearsal``): ``rehearsed <date>``, ``not
rehearsed since <date>`` (its VNFs changed since that drill) or ``never
rehearsed``.

The same figures feed ``geoflows protection status``, the Mistral action
``geoflows.protection.status`` and the conductors' Prometheus metrics.
"""

import dataclasses
from typing import Optional

from geoflows import checkpoints
from geoflows.checkpoints import drills
from geoflows.checkpoints import groups

OK = 'OK'
AT_RISK = 'AT RISK'
VIOLATED = 'VIOLATED'

NEVER_REHEARSED = 'never rehearsed'


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
    #: the group's RTO target (seconds)
    rto_target: Optional[int] = None
    #: seconds a disaster takeover from the newest checkpoint is
    #: predicted to take until the VNF is ready (None: not predicted)
    predicted_rto: Optional[float] = None
    #: the predicted RTO is within the target
    predicted_rto_met: Optional[bool] = None
    #: the group's last drill: its job, when it ran, the VNF's measured
    #: RTO (None: not ready in that drill) and whether it met the target
    drill_job: Optional[str] = None
    drill_at: Optional[str] = None
    drill_rto: Optional[float] = None
    drill_rto_met: Optional[bool] = None
    #: "rehearsed DATE", "not rehearsed since DATE" or "never rehearsed"
    rehearsal: Optional[str] = None

    def to_dict(self):
        return dataclasses.asdict(self)


def rpo_state(age, target, interval, failed=False):
    """OK, AT RISK or VIOLATED for a copy ``age`` seconds old."""
    if age is None or age > target:
        return VIOLATED
    if failed or age + interval > target:
        return AT_RISK
    return OK


def rehearsal(group, last):
    """Whether ``group`` was rehearsed as the plan has it now.

    ``last``: its newest drill copy with a report, or None.
    """
    if last is None:
        return NEVER_REHEARSED
    when = checkpoints.isoformat(last.created_at)
    if last.vnfs_digest != drills.vnfs_digest(group):
        return 'not rehearsed since %s' % when
    return 'rehearsed %s' % when


def predicted(store, plan, group, checkpoint, caps=None):
    """{vnf: {'ready', 'exceeds'}} of a disaster takeover, or {}.

    Predicted from ``checkpoint`` (the group's newest), nothing read at
    any site; {} when it lacks one of the group's VNFs.
    """
    from geoflows import rto
    from geoflows import takeover
    if checkpoint is None or any(v.name not in checkpoint.vnfs
                                 for v in group.vnfs):
        return {}
    times = rto.durations(store, plan.name, group.name)
    try:
        chains = takeover.chain_members(
            group, (checkpoint.document or {}).get('group_doc') or {})
        return rto.predict(plan, group, checkpoint.vnfs, times, caps or {},
                           chains=chains, fence=True)['vnfs']
    except (KeyError, TypeError):
        # A checkpoint of an older shape: a status without a prediction
        # rather than no status.
        return {}


def _rto_fields(group, vnf, prediction, last):
    fields = {'rto_target': group.rto, 'rehearsal': rehearsal(group, last)}
    guess = prediction.get(vnf.name)
    if guess is not None:
        fields.update(predicted_rto=guess['ready'],
                      predicted_rto_met=not guess['exceeds'])
    if last is not None:
        measured = (last.report.get('vnfs') or {}).get(vnf.name) or {}
        fields.update(drill_job=last.drill_id,
                      drill_at=checkpoints.isoformat(last.created_at),
                      drill_rto=measured.get('rto'),
                      drill_rto_met=measured.get('rto_met')
                      if measured else None)
    return fields


def of_plan(store, plan, group_names=None, now=None, standbys=None,
            with_rto=False, caps=None):
    """The :class:`VnfStatus` of every VNF of the plan's groups.

    ``standbys``: a callable (group, vnf) -> the standby's state at the DR
    site (e.g. ``ACTIVE``), or None not to ask the site.  ``with_rto``:
    the RTO fields too (predicted with ``caps``, {service: calls at once}
    at the DR site; the last drills); a group taken over is not predicted.
    """
    now = now or checkpoints.utcnow()
    rows = []
    last_drills = drills.last_rehearsals(store, plan.name) if with_rto \
        else {}
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
        prediction = {}
        if with_rto and not (state and state.taken_over):
            prediction = predicted(store, plan, group, newest, caps)
        for vnf in group.vnfs:
            extra = _rto_fields(group, vnf, prediction,
                                last_drills.get(group.name)) \
                if with_rto else {}
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
                replicates='%s -> %s' % (source, target), **extra))
    return rows


def violated(rows):
    return any(row.state == VIOLATED for row in rows)
