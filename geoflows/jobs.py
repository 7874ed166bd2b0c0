"""Jobs: one run of an operation on a plan, and its record.

States::

    PENDING ──> RUNNING ──> SUCCESS
                   │
                   ├──> REVERTED    failed or aborted, and everything it did
                   │                was undone (also after "job revert")
                   ├──> FAILED      failed and kept for inspection, or its
                   │                revert failed: resume or revert it
                   ├──> PARTIAL     (takeover, failback) some units failed,
                   │                each undone alone, and those that need
                   │                them were skipped; the others
                   │                succeeded: resume runs only those
                   └──> SUSPENDED   stopped on request (abort --keep, Ctrl-C):
                                    resume or revert it

A job left RUNNING by a controller that died is *stale*: ``job resume``
finishes it, ``job revert`` undoes it.
"""

import dataclasses
import datetime
from typing import Optional

PENDING = 'PENDING'
RUNNING = 'RUNNING'
SUCCESS = 'SUCCESS'
FAILED = 'FAILED'
REVERTED = 'REVERTED'
SUSPENDED = 'SUSPENDED'
PARTIAL = 'PARTIAL'

FINAL_STATES = (SUCCESS, REVERTED)

MODE_RUN = 'run'
MODE_REVERT = 'revert'


def settled(job):
    """Whether ``job`` reached an outcome that nobody will change unasked.

    SUCCESS and REVERTED; FAILED (kept for inspection, a failed revert, or
    given up by conductors); PARTIAL; SUSPENDED on an operator's request.
    A job SUSPENDED without a request was handed over by a stopping
    conductor and goes on elsewhere.
    """
    if job.state in FINAL_STATES or job.state in (FAILED, PARTIAL):
        return True
    return job.state == SUSPENDED and bool(job.abort_requested)


def isoformat(value):
    if value is None:
        return None
    return value.isoformat(timespec='milliseconds') + 'Z'


def seconds_between(start, end):
    if start is None:
        return None
    end = end or datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None)
    return round((end - start).total_seconds(), 3)


@dataclasses.dataclass
class Job:
    id: str
    operation: str
    plan_name: str
    plan_digest: str
    state: str
    mode: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    spec: dict
    started_at: Optional[datetime.datetime] = None
    finished_at: Optional[datetime.datetime] = None
    owner: Optional[str] = None
    abort_requested: Optional[str] = None
    attempts: int = 0
    error: Optional[str] = None
    result: Optional[dict] = None
    #: set by the runner when it knows no live process runs the job
    stale: bool = False

    @property
    def units(self):
        return self.spec['units']

    @property
    def duration(self):
        return seconds_between(self.started_at, self.finished_at)

    @property
    def display_state(self):
        return self.state + (' (stale)' if self.stale else '')

    def to_dict(self):
        return {
            'id': self.id, 'operation': self.operation,
            'plan': self.plan_name, 'plan_digest': self.plan_digest,
            'state': self.state, 'stale': self.stale, 'mode': self.mode,
            'created_at': isoformat(self.created_at),
            'updated_at': isoformat(self.updated_at),
            'started_at': isoformat(self.started_at),
            'finished_at': isoformat(self.finished_at),
            'duration': self.duration, 'owner': self.owner,
            'attempts': self.attempts, 'error': self.error,
            'units': [unit['name'] for unit in self.units],
            'result': self.result,
        }


@dataclasses.dataclass(frozen=True)
class Event:
    """A step of a job changed state (what progress displays receive)."""
    job_id: str
    unit: str
    step: str
    state: str
    duration: Optional[float] = None
    error: Optional[str] = None
