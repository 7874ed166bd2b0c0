"""Tables of the geoflows state store (SQLite, PostgreSQL or MySQL).

One job is one row of ``gf_jobs`` and one Taskflow logbook; each unit of the
job (one interconnect, later one VNF) is a flow detail in ``gf_flows``; each
step is an atom detail in ``gf_steps``, with the times it started and ended.
"""

import sqlalchemy as sa

SCHEMA_VERSION = 1

metadata = sa.MetaData()

UUID = sa.String(36)
NAME = sa.String(255)
STATE = sa.String(32)

jobs = sa.Table(
    'gf_jobs', metadata,
    sa.Column('id', UUID, primary_key=True),
    sa.Column('operation', sa.String(64), nullable=False),
    sa.Column('plan_name', NAME, nullable=False),
    sa.Column('plan_digest', sa.String(80), nullable=False),
    sa.Column('state', STATE, nullable=False, index=True),
    # 'run' while the job goes forward, 'revert' once undoing was asked for
    # (a resumed job continues in the same direction).
    sa.Column('mode', sa.String(16), nullable=False),
    sa.Column('created_at', sa.DateTime, nullable=False),
    sa.Column('updated_at', sa.DateTime, nullable=False),
    sa.Column('started_at', sa.DateTime),
    sa.Column('finished_at', sa.DateTime),
    sa.Column('owner', NAME),
    # None, or how an operator asked to stop the job: 'revert' or 'keep'.
    sa.Column('abort_requested', sa.String(16)),
    sa.Column('attempts', sa.Integer, nullable=False, default=0),
    sa.Column('error', sa.Text),
    # JSON: the units, the plan document and the options the job was
    # started with, so that a resume rebuilds exactly the same flows.
    sa.Column('spec', sa.Text, nullable=False),
    sa.Column('result', sa.Text),
)

logbooks = sa.Table(
    'gf_logbooks', metadata,
    sa.Column('uuid', UUID, primary_key=True),
    sa.Column('name', NAME),
    sa.Column('meta', sa.Text),
    sa.Column('created_at', sa.DateTime),
    sa.Column('updated_at', sa.DateTime),
)

flows = sa.Table(
    'gf_flows', metadata,
    sa.Column('uuid', UUID, primary_key=True),
    sa.Column('book_uuid', UUID, sa.ForeignKey('gf_logbooks.uuid',
                                               ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('name', NAME),
    sa.Column('state', STATE),
    sa.Column('meta', sa.Text),
)

steps = sa.Table(
    'gf_steps', metadata,
    sa.Column('uuid', UUID, primary_key=True),
    sa.Column('flow_uuid', UUID, sa.ForeignKey('gf_flows.uuid',
                                               ondelete='CASCADE'),
              nullable=False, index=True),
    sa.Column('name', NAME, nullable=False),
    sa.Column('atom_type', sa.String(16), nullable=False),
    sa.Column('state', STATE),
    sa.Column('intention', STATE),
    # The Taskflow atom detail (results, failures, meta), as JSON.
    sa.Column('data', sa.Text),
    sa.Column('started_at', sa.DateTime),
    sa.Column('finished_at', sa.DateTime),
    sa.Column('revert_started_at', sa.DateTime),
    sa.Column('revert_finished_at', sa.DateTime),
)

route_targets = sa.Table(
    'gf_route_targets', metadata,
    sa.Column('asn', sa.BigInteger, primary_key=True),
    sa.Column('value', sa.BigInteger, primary_key=True),
    # plan/interconnect that holds the value; one value per owner.
    sa.Column('owner', NAME, nullable=False, unique=True),
    sa.Column('job_id', UUID, nullable=False),
    sa.Column('allocated_at', sa.DateTime, nullable=False),
)

# -- protection: checkpoints and the state of each protection group ---------

# One row per checkpoint: the metadata of a protection group at one point in
# time (what a takeover rebuilds), made by one sync job.
checkpoints = sa.Table(
    'gf_checkpoints', metadata,
    sa.Column('id', UUID, primary_key=True),
    sa.Column('plan_name', NAME, nullable=False),
    sa.Column('group_name', NAME, nullable=False),
    sa.Column('job_id', UUID, nullable=False, unique=True),
    # Where the metadata was read and where the copies are.
    sa.Column('source_site', NAME, nullable=False),
    sa.Column('target_site', NAME, nullable=False),
    # 'open' while its sync runs, 'complete', 'expired' (past retention,
    # copies partly kept), 'pruned' (copies deleted).
    sa.Column('state', STATE, nullable=False),
    sa.Column('created_at', sa.DateTime, nullable=False),
    # When the data of its last VNF was consistent (its RPO's reference).
    sa.Column('consistent_at', sa.DateTime),
    sa.Column('completed_at', sa.DateTime),
    # JSON: the group-wide metadata (networks, security groups, ...).
    sa.Column('document', sa.Text),
    sa.Index('gf_checkpoints_group', 'plan_name', 'group_name',
             'created_at'),
)

# One row per VNF of a checkpoint: its metadata and its data copies.
checkpoint_vnfs = sa.Table(
    'gf_checkpoint_vnfs', metadata,
    sa.Column('checkpoint_id', UUID, sa.ForeignKey('gf_checkpoints.id',
                                                   ondelete='CASCADE'),
              primary_key=True),
    sa.Column('vnf', NAME, primary_key=True),
    sa.Column('consistent_at', sa.DateTime, nullable=False),
    # JSON: servers, ports, volumes... and the copies at the target site.
    sa.Column('document', sa.Text, nullable=False),
)

# The protection state of a group: which way it replicates, its schedule.
protection = sa.Table(
    'gf_protection', metadata,
    sa.Column('plan_name', NAME, primary_key=True),
    sa.Column('group_name', NAME, primary_key=True),
    # 'protected' once a protect job succeeded.
    sa.Column('state', STATE, nullable=False),
    sa.Column('source_site', NAME, nullable=False),
    sa.Column('target_site', NAME, nullable=False),
    # JSON: the plan document the scheduled syncs use.
    sa.Column('plan', sa.Text),
    sa.Column('plan_digest', sa.String(80)),
    sa.Column('sync_interval', sa.Integer),
    # When the next scheduled sync is due (None: not scheduled).
    sa.Column('next_sync_at', sa.DateTime),
    sa.Column('last_sync_job', UUID),
    sa.Column('last_sync_error', sa.Text),
    # The site that runs the group's VNFs: the source until a takeover.
    sa.Column('serving_site', NAME),
    sa.Column('takeover_job', UUID),
    # After a disaster takeover: 'fenced', or 'not fenced' (the old
    # primary may still run them: starting them there is refused).
    sa.Column('fence_state', STATE),
    sa.Column('fence_detail', sa.Text),
    sa.Column('updated_at', sa.DateTime, nullable=False),
)

# A drill's isolated copy of a group at its DR site, from the drill's first
# step until its cleanup removed it.
drills = sa.Table(
    'gf_drills', metadata,
    sa.Column('drill_id', UUID, primary_key=True),
    sa.Column('group_name', NAME, primary_key=True),
    sa.Column('plan_name', NAME, nullable=False, index=True),
    sa.Column('site', NAME, nullable=False),
    # 'present' (its resources may exist), then 'removed'.
    sa.Column('state', STATE, nullable=False),
    # Kept after the drill (--keep): until when, at the latest.
    sa.Column('keep_until', sa.DateTime),
    # JSON: the plan document (its cleanup's job needs it).
    sa.Column('plan', sa.Text, nullable=False),
    # What the group's VNFs were when it was rehearsed (see
    # geoflows.checkpoints.drills.vnfs_digest).
    sa.Column('vnfs_digest', sa.String(80), nullable=False),
    # JSON: the drill's report of the group (RTO per VNF, verify).
    sa.Column('report', sa.Text),
    sa.Column('created_at', sa.DateTime, nullable=False),
    sa.Column('updated_at', sa.DateTime, nullable=False),
    sa.Column('removed_at', sa.DateTime),
)

schema_info = sa.Table(
    'gf_schema', metadata,
    sa.Column('version', sa.Integer, primary_key=True),
)
