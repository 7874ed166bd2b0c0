"""The protection state of each group, in the state store.

A row per (plan, group) in ``gf_protection``: whether a protect job made
the DR site ready, which way the group replicates (source and target
sites), the plan its scheduled syncs use, when the next one is due, and the
last sync's job and error.  The scheduler (geoflows.schedule) claims due
syncs here with a compare-and-set, so that one sync per interval runs
across all conductors.
"""

import dataclasses
import datetime
import json
from typing import Optional

import sqlalchemy as sa

from geoflows.checkpoints import utcnow
from geoflows.store import tables

PROTECTED = 'protected'
#: the DR site runs the group's VNFs since a takeover
TAKEN_OVER = 'taken over'
#: the DR site runs them and replicates them back (a reprotect): source
#: and target are then the DR site and the origin
REPROTECTED = 'reprotected'
FENCED = 'fenced'
NOT_FENCED = 'not fenced'


@dataclasses.dataclass
class GroupState:
    plan_name: str
    group_name: str
    state: str
    source_site: str
    target_site: str
    plan: Optional[dict]
    plan_digest: Optional[str]
    sync_interval: Optional[int]
    next_sync_at: Optional[datetime.datetime]
    last_sync_job: Optional[str]
    last_sync_error: Optional[str]
    updated_at: datetime.datetime
    serving_site: Optional[str] = None
    takeover_job: Optional[str] = None
    fence_state: Optional[str] = None
    fence_detail: Optional[str] = None

    @property
    def taken_over(self):
        """The DR site runs the group (taken over, maybe reprotected)."""
        return self.state in (TAKEN_OVER, REPROTECTED)

    @property
    def reprotected(self):
        return self.state == REPROTECTED


def direction(state, group):
    """(source site, target site) the group replicates from and to now."""
    if state is not None and state.reprotected:
        return state.source_site, state.target_site
    return group.primary, group.dr


def _from_row(row):
    values = dict(row._mapping)
    values['plan'] = json.loads(values['plan']) if values['plan'] else None
    return GroupState(**values)


def _key(plan_name, group_name):
    p = tables.protection
    return (p.c.plan_name == plan_name) & (p.c.group_name == group_name)


def get(store, plan_name, group_name):
    store.upgrade()
    with store.read_engine.connect() as conn:
        row = conn.execute(sa.select(tables.protection).where(
            _key(plan_name, group_name))).first()
    return _from_row(row) if row is not None else None


def listing(store, plan_name=None):
    store.upgrade()
    p = tables.protection
    query = sa.select(p).order_by(p.c.plan_name, p.c.group_name)
    if plan_name:
        query = query.where(p.c.plan_name == plan_name)
    with store.read_engine.connect() as conn:
        return [_from_row(row) for row in conn.execute(query)]


def mark_protected(store, plan_name, group_name, source_site, target_site,
                   plan_document, plan_digest, sync_interval, first_sync_at):
    """Record the group as protected; its first sync is due then."""
    store.upgrade()
    p = tables.protection
    values = {'state': PROTECTED, 'source_site': source_site,
              'target_site': target_site,
              'plan': json.dumps(plan_document, sort_keys=True),
              'plan_digest': plan_digest, 'sync_interval': sync_interval,
              'next_sync_at': first_sync_at, 'updated_at': utcnow()}
    with store.engine.begin() as conn:
        updated = conn.execute(p.update().where(
            _key(plan_name, group_name)).values(**values)).rowcount
        if not updated:
            conn.execute(p.insert(), dict(values, plan_name=plan_name,
                                          group_name=group_name))
    store.count_write()


def forget(store, plan_name, group_name):
    """Remove the group's row (a protect job being reverted)."""
    store.upgrade()
    with store.engine.begin() as conn:
        conn.execute(tables.protection.delete().where(
            _key(plan_name, group_name)))
    store.count_write()


def record_sync(store, plan_name, group_name, job_id, error=None):
    """Note the group's last sync (its job, and its error if it failed)."""
    store.upgrade()
    with store.engine.begin() as conn:
        conn.execute(tables.protection.update().where(
            _key(plan_name, group_name)).values(
                last_sync_job=job_id, last_sync_error=error,
                updated_at=utcnow()))
    store.count_write()


def claim_due(store, plan_name, group_name, expected, following):
    """Move the group's next sync from ``expected`` to ``following``.

    True for the one caller that made the move (compare-and-set): that
    caller starts the sync that was due at ``expected``.
    """
    store.upgrade()
    p = tables.protection
    with store.engine.begin() as conn:
        moved = conn.execute(p.update().where(
            _key(plan_name, group_name)).where(
                p.c.next_sync_at == expected).values(
                    next_sync_at=following, updated_at=utcnow())).rowcount
    if moved:
        store.count_write()
    return bool(moved)


def update(store, plan_name, group_name, **values):
    """Change some of a group's fields; False if it has no row."""
    store.upgrade()
    values['updated_at'] = utcnow()
    with store.engine.begin() as conn:
        changed = conn.execute(tables.protection.update().where(
            _key(plan_name, group_name)).values(**values)).rowcount
    store.count_write()
    return bool(changed)


def record_fence(store, plan_name, group_name, state, detail, source_site,
                 target_site):
    """Record how fencing went (a row is made if the group has none)."""
    if update(store, plan_name, group_name, fence_state=state,
              fence_detail=detail):
        return
    with store.engine.begin() as conn:
        conn.execute(tables.protection.insert(), {
            'plan_name': plan_name, 'group_name': group_name,
            'state': PROTECTED, 'source_site': source_site,
            'target_site': target_site, 'fence_state': state,
            'fence_detail': detail, 'updated_at': utcnow()})
