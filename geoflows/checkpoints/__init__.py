"""Checkpoints: what a takeover needs, recorded by every sync.

A checkpoint is the metadata of everything a protection group protects, as
it was at the source site at one point in time (networks, subnets, routers,
security groups, keypairs, flavors, server groups, images, chains, and per
VNF its servers, ports and volumes), plus references to the data copies the
sync made at the target site.  It is the contract between the operations:
a sync writes it; a takeover, drill or failback reads only it and the
target site, never the source (which may be gone).

Checkpoints live in the state store (tables ``gf_checkpoints`` and
``gf_checkpoint_vnfs``), which outlives the primary site (see the deployment
guide).  A sync job opens one, each of its VNF units records its VNF's part
(idempotently: a unit run again after a crash overwrites its own part), and
its last unit completes it.  A checkpoint's age is the achieved RPO: per
VNF, the time since its data was consistent (its snapshots were taken
inside the quiesce window).

    cp = checkpoints.latest(store, 'plan', 'group')
    cp.vnfs['hss']['servers']
"""

import dataclasses
import datetime
import json
from typing import Optional
import uuid

import sqlalchemy as sa

from geoflows import exceptions
from geoflows.store import tables

FORMAT = 'geoflows-checkpoint/1'
OPEN = 'open'
COMPLETE = 'complete'
#: past the retention, some copies kept (a newer checkpoint needs them)
EXPIRED = 'expired'
PRUNED = 'pruned'

# Checkpoint ids derive from the sync job's id: a resumed job finds its own.
_NAMESPACE = uuid.UUID('6d0c8e9e-2f4b-4b1e-9c39-1f6a0e3c7a52')


def checkpoint_id(job_id):
    return str(uuid.uuid5(_NAMESPACE, job_id))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def isoformat(value):
    if value is None:
        return None
    return value.isoformat(timespec='milliseconds') + 'Z'


def parse_time(text):
    """A time written by :func:`isoformat` (naive UTC)."""
    return datetime.datetime.fromisoformat(text.rstrip('Z'))


@dataclasses.dataclass
class Checkpoint:
    id: str
    plan_name: str
    group_name: str
    job_id: str
    source_site: str
    target_site: str
    state: str
    created_at: datetime.datetime
    consistent_at: Optional[datetime.datetime]
    completed_at: Optional[datetime.datetime]
    document: dict
    #: VNF name -> its part (metadata, copies, consistent_at)
    vnfs: dict = dataclasses.field(default_factory=dict)

    def age(self, now=None):
        """Seconds since its data was consistent (the achieved RPO)."""
        if self.consistent_at is None:
            return None
        return ((now or utcnow()) - self.consistent_at).total_seconds()

    def vnf_age(self, vnf, now=None):
        part = self.vnfs.get(vnf)
        if part is None:
            return None
        return ((now or utcnow()) -
                parse_time(part['consistent_at'])).total_seconds()

    def to_dict(self, with_vnfs=False):
        data = {'id': self.id, 'plan': self.plan_name,
                'group': self.group_name, 'job': self.job_id,
                'source': self.source_site, 'target': self.target_site,
                'state': self.state,
                'created_at': isoformat(self.created_at),
                'consistent_at': isoformat(self.consistent_at),
                'completed_at': isoformat(self.completed_at),
                'vnfs': sorted(self.vnfs)}
        if with_vnfs:
            data['document'] = self.document
            data['vnfs'] = self.vnfs
        return data


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def open_checkpoint(store, job_id, plan_name, group_name, source_site,
                    target_site, document):
    """Open the checkpoint of sync job ``job_id`` (once); return its id."""
    cid = checkpoint_id(job_id)
    cps = tables.checkpoints

    def write(conn):
        if conn.execute(sa.select(cps.c.id).where(
                cps.c.id == cid)).first() is not None:
            conn.execute(cps.update().where(cps.c.id == cid).where(
                cps.c.state == OPEN).values(document=_dumps(document)))
            return
        conn.execute(cps.insert(), {
            'id': cid, 'plan_name': plan_name, 'group_name': group_name,
            'job_id': job_id, 'source_site': source_site,
            'target_site': target_site, 'state': OPEN,
            'created_at': utcnow(), 'document': _dumps(document)})
    _write(store, write)
    return cid


def save_vnf(store, cid, vnf, consistent_at, document):
    """Record (or replace) the part of VNF ``vnf`` in checkpoint ``cid``."""
    parts = tables.checkpoint_vnfs

    def write(conn):
        conn.execute(parts.delete().where(parts.c.checkpoint_id == cid)
                     .where(parts.c.vnf == vnf))
        conn.execute(parts.insert(), {
            'checkpoint_id': cid, 'vnf': vnf,
            'consistent_at': parse_time(consistent_at),
            'document': _dumps(document)})
    _write(store, write)


def complete(store, cid, vnfs):
    """Close checkpoint ``cid``: every VNF of ``vnfs`` has its part.

    Its consistent instant is that of its oldest VNF part.  Raises
    :class:`geoflows.exceptions.GeoflowsError` if a part is missing.
    """
    parts = tables.checkpoint_vnfs
    cps = tables.checkpoints

    def write(conn):
        rows = conn.execute(sa.select(parts.c.vnf, parts.c.consistent_at)
                            .where(parts.c.checkpoint_id == cid)).all()
        have = {row.vnf: row.consistent_at for row in rows}
        missing = sorted(set(vnfs) - set(have))
        if missing:
            raise exceptions.GeoflowsError(
                'checkpoint %s has no record of VNF %s; the sync must be '
                'resumed' % (cid, ', '.join(missing)))
        conn.execute(cps.update().where(cps.c.id == cid).where(
            cps.c.state == OPEN).values(
                state=COMPLETE, completed_at=utcnow(),
                consistent_at=min(have[v] for v in vnfs)))
    _write(store, write)


def reopen(store, cid):
    """Undo :func:`complete` (a sync job being reverted)."""
    cps = tables.checkpoints
    _write(store, lambda conn: conn.execute(
        cps.update().where(cps.c.id == cid).where(cps.c.state == COMPLETE)
        .values(state=OPEN, completed_at=None, consistent_at=None)))


def delete(store, cid):
    """Forget checkpoint ``cid`` and its VNF parts."""
    parts, cps = tables.checkpoint_vnfs, tables.checkpoints

    def write(conn):
        conn.execute(parts.delete().where(parts.c.checkpoint_id == cid))
        conn.execute(cps.delete().where(cps.c.id == cid))
    _write(store, write)


def set_state(store, cid, state):
    cps = tables.checkpoints
    _write(store, lambda conn: conn.execute(
        cps.update().where(cps.c.id == cid).values(state=state)))


def _write(store, fn):
    store.upgrade()
    with store.engine.begin() as conn:
        fn(conn)
    store.count_write()


def _from_row(row, parts=()):
    return Checkpoint(
        id=row.id, plan_name=row.plan_name, group_name=row.group_name,
        job_id=row.job_id, source_site=row.source_site,
        target_site=row.target_site, state=row.state,
        created_at=row.created_at, consistent_at=row.consistent_at,
        completed_at=row.completed_at,
        document=json.loads(row.document) if row.document else {},
        vnfs={part.vnf: dict(json.loads(part.document),
                             consistent_at=isoformat(part.consistent_at))
              for part in parts})


def get(store, cid, with_vnfs=True):
    """Checkpoint ``cid`` (or a unique prefix of it, 4 characters or more)."""
    store.upgrade()
    cps, parts = tables.checkpoints, tables.checkpoint_vnfs
    with store.read_engine.connect() as conn:
        row = conn.execute(sa.select(cps).where(cps.c.id == cid)).first()
        if row is None and len(cid) >= 4:
            rows = conn.execute(sa.select(cps).where(cps.c.id.startswith(
                cid, autoescape=True))).fetchmany(2)
            if len(rows) > 1:
                raise exceptions.GeoflowsError(
                    'checkpoint id prefix %r is ambiguous; give more of the '
                    'id' % cid)
            row = rows[0] if rows else None
        if row is None:
            raise exceptions.GeoflowsError(
                'no checkpoint %r in the state store; "geoflows checkpoint '
                'list" shows the known ones' % cid)
        found = conn.execute(sa.select(parts).where(
            parts.c.checkpoint_id == row.id)).all() if with_vnfs else ()
    return _from_row(row, found)


def listing(store, plan_name=None, group_name=None, states=(COMPLETE,),
            limit=None, with_vnfs=False, source_site=None, target_site=None):
    """Checkpoints, newest first.

    ``source_site``, ``target_site``: only those of that direction (a
    group that replicates back to its origin since a reprotect has
    checkpoints both ways).
    """
    store.upgrade()
    cps, parts = tables.checkpoints, tables.checkpoint_vnfs
    query = sa.select(cps).order_by(cps.c.created_at.desc(), cps.c.id)
    if plan_name:
        query = query.where(cps.c.plan_name == plan_name)
    if group_name:
        query = query.where(cps.c.group_name == group_name)
    if states:
        query = query.where(cps.c.state.in_(states))
    if source_site:
        query = query.where(cps.c.source_site == source_site)
    if target_site:
        query = query.where(cps.c.target_site == target_site)
    if limit:
        query = query.limit(limit)
    with store.read_engine.connect() as conn:
        rows = conn.execute(query).all()
        found = {}
        if with_vnfs and rows:
            for part in conn.execute(sa.select(parts).where(
                    parts.c.checkpoint_id.in_([r.id for r in rows]))):
                found.setdefault(part.checkpoint_id, []).append(part)
    return [_from_row(row, found.get(row.id, ())) for row in rows]


def latest(store, plan_name, group_name, with_vnfs=True, source_site=None,
           target_site=None):
    """The newest complete checkpoint of a group, or None.

    ``source_site``, ``target_site``: of that direction only.
    """
    found = listing(store, plan_name, group_name, limit=1,
                    with_vnfs=with_vnfs, source_site=source_site,
                    target_site=target_site)
    return found[0] if found else None
