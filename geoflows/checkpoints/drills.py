"""Drills' isolated copies, in the state store.

A row per (drill job, group) in ``gf_drills``, written by the drill's first
step, before it creates anything: the copy is ``present`` from then on
(some of its resources may exist) until a cleanup removed all of them
(``removed``).  ``geoflows drill list`` reads it; the conductors clean up
the kept copies whose time ran out; the drill's report (the measured RTO
per VNF) stays here for ``geoflows protection status``.
"""

import dataclasses
import datetime
import hashlib
import json
from typing import Optional

import sqlalchemy as sa

from geoflows.checkpoints import utcnow
from geoflows.store import tables

PRESENT = 'present'
REMOVED = 'removed'


@dataclasses.dataclass
class DrillCopy:
    drill_id: str
    group_name: str
    plan_name: str
    site: str
    state: str
    keep_until: Optional[datetime.datetime]
    plan: dict
    vnfs_digest: str
    report: Optional[dict]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    removed_at: Optional[datetime.datetime] = None

    @property
    def present(self):
        return self.state == PRESENT

    def age(self, now=None):
        """Seconds since the drill made it."""
        return ((now or utcnow()) - self.created_at).total_seconds()

    def expired(self, now=None):
        return self.present and self.keep_until is not None and \
            self.keep_until <= (now or utcnow())


def vnfs_digest(group):
    """What the group's VNFs are, as a digest (a change means a drill is due).

    Their servers, priorities, standbys, dependencies, chains, hooks and
    replication methods: what a takeover of them does.
    """
    vnfs = [v.to_spec() for v in sorted(group.vnfs, key=lambda v: v.name)]
    text = json.dumps(vnfs, sort_keys=True, default=repr)
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


def _from_row(row):
    values = dict(row._mapping)
    values['plan'] = json.loads(values['plan'])
    values['report'] = json.loads(values['report']) if values['report'] \
        else None
    return DrillCopy(**values)


def _key(drill_id, group_name):
    d = tables.drills
    return (d.c.drill_id == drill_id) & (d.c.group_name == group_name)


def register(store, drill_id, group_name, plan_name, site, plan_document,
             digest, keep_until=None):
    """Record the copy as present (idempotent: a re-run step finds it)."""
    store.upgrade()
    now = utcnow()
    with store.engine.begin() as conn:
        found = conn.execute(sa.select(tables.drills.c.state).where(
            _key(drill_id, group_name))).first()
        if found is None:
            conn.execute(tables.drills.insert(), {
                'drill_id': drill_id, 'group_name': group_name,
                'plan_name': plan_name, 'site': site, 'state': PRESENT,
                'keep_until': keep_until,
                'plan': json.dumps(plan_document, sort_keys=True),
                'vnfs_digest': digest, 'created_at': now,
                'updated_at': now})
    store.count_write()


def _update(store, drill_id, group_name, **values):
    store.upgrade()
    values['updated_at'] = utcnow()
    with store.engine.begin() as conn:
        conn.execute(tables.drills.update().where(
            _key(drill_id, group_name)).values(**values))
    store.count_write()


def record_report(store, drill_id, group_name, report):
    _update(store, drill_id, group_name,
            report=json.dumps(report, sort_keys=True))


def mark_removed(store, drill_id, group_name):
    _update(store, drill_id, group_name, state=REMOVED,
            removed_at=utcnow())


def mark_present(store, drill_id, group_name):
    """A cleanup being reverted: the copy may hold resources again."""
    _update(store, drill_id, group_name, state=PRESENT, removed_at=None)


def get(store, drill_id):
    """The copies of one drill (a row per group), oldest group first."""
    store.upgrade()
    d = tables.drills
    with store.read_engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(sa.select(d).where(
            d.c.drill_id == drill_id).order_by(d.c.group_name))]


def listing(store, plan_name=None, present=True):
    """Copies, oldest first (only those still present, with ``present``)."""
    store.upgrade()
    d = tables.drills
    query = sa.select(d).order_by(d.c.created_at, d.c.drill_id,
                                  d.c.group_name)
    if plan_name:
        query = query.where(d.c.plan_name == plan_name)
    if present:
        query = query.where(d.c.state == PRESENT)
    with store.read_engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(query)]


def last_rehearsals(store, plan_name):
    """{group: its newest drill copy with a report}."""
    found = {}
    for copy in listing(store, plan_name, present=False):
        if copy.report:
            found[copy.group_name] = copy  # oldest first: the newest wins
    return found
