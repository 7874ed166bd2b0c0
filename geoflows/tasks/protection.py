"""Steps on the state store's protection records: checkpoints and groups.

The state store is what outlives the primary site: a checkpoint recorded
here is what a takeover rebuilds from.  Each step is idempotent (a
checkpoint's id derives from its sync job's id) and its revert undoes it.
"""

import logging

from taskflow import task

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import replication
from geoflows.tasks import base

LOG = logging.getLogger(__name__)


class StoreTask(task.Task):
    """A step on the state store of the runner that runs it."""

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self._context = None

    def bind(self, ctx):
        self._context = ctx

    @property
    def store(self):
        from geoflows import context
        return (self._context or context.current()).store

    @property
    def clouds(self):
        from geoflows import context
        return (self._context or context.current()).clouds


class Report(base.GeoflowsTask):
    """What the unit created or found at its site."""

    def __init__(self, name, site, resources):
        super().__init__(name, site, requires=[r.key for r in resources],
                         provides=name)
        self.resources = resources

    def execute(self, **inputs):
        rows = []
        for resource in self.resources:
            found = inputs.get(resource.key) or {}
            rows.append({'site': resource.site['name'],
                         'kind': resource.kind, 'name': found.get('name') or
                         resource.name, 'id': found.get('id'),
                         'action': 'created' if found.get('created')
                         else 'found'})
        return {'resources': rows}


class MarkProtected(StoreTask):
    """The group is protected: its scheduled syncs may start."""

    def __init__(self, name, spec):
        super().__init__(name, provides=name)
        self.spec = spec

    def execute(self):
        spec = self.spec
        before = groups.get(self.store, spec['plan'], spec['group'])
        groups.mark_protected(
            self.store, spec['plan'], spec['group'], spec['source']['name'],
            spec['target']['name'], spec['plan_document'],
            spec['plan_digest'], spec['sync_interval'],
            checkpoints.utcnow())
        return {'existed': before is not None}

    def revert(self, result, *args, **kwargs):
        if not isinstance(result, dict) or result.get('existed'):
            return  # a group protected before this job stays so
        groups.forget(self.store, self.spec['plan'], self.spec['group'])
        LOG.info('reverted: group %s of plan %s is no longer protected',
                 self.spec['group'], self.spec['plan'])


class OpenCheckpoint(StoreTask):
    """Open the sync job's checkpoint with the group's metadata."""

    def __init__(self, name, spec):
        super().__init__(name, requires=['job_id'], provides=name)
        self.spec = spec

    def execute(self, job_id):
        spec = self.spec
        cid = checkpoints.open_checkpoint(
            self.store, job_id, spec['plan'], spec['group'],
            spec['source']['name'], spec['target']['name'], {
                'format': checkpoints.FORMAT, 'plan': spec['plan'],
                'group': spec['group'], 'source': spec['source'],
                'target': spec['target'], 'captured_at': spec['captured_at'],
                'targets': spec['targets'], 'group_doc': spec['doc']})
        return {'id': cid}

    def revert(self, result, *args, **kwargs):
        if isinstance(result, dict):
            checkpoints.delete(self.store, result['id'])


class SaveVnf(StoreTask):
    """Record the VNF's part of the checkpoint: metadata and copies."""

    def __init__(self, name, spec, records, window):
        requires = ['job_id'] + list(records) + ([window] if window else [])
        super().__init__(name, requires=requires, provides=name)
        self.spec = spec
        self.records = list(records)
        self.window = window

    def execute(self, job_id, **inputs):
        cid = checkpoints.checkpoint_id(job_id)
        when = (inputs[self.window]['closed_at'] if self.window
                else self.spec['captured_at'])
        document = dict(self.spec['vnf'])
        document['copies'] = [inputs[key] for key in self.records]
        checkpoints.save_vnf(self.store, cid, self.spec['vnf']['name'],
                             when, document)
        return {'checkpoint': cid, 'vnf': self.spec['vnf']['name'],
                'consistent_at': when, 'copies': len(self.records)}


class CompleteCheckpoint(StoreTask):
    """Every VNF has its part: the checkpoint is the group's newest."""

    def __init__(self, name, spec):
        super().__init__(name, requires=['job_id'], provides=name)
        self.spec = spec

    def execute(self, job_id):
        cid = checkpoints.checkpoint_id(job_id)
        checkpoints.complete(self.store, cid, self.spec['vnfs'])
        checkpoint = checkpoints.get(self.store, cid, with_vnfs=False)
        groups.record_sync(self.store, self.spec['plan'], self.spec['group'],
                           job_id)
        LOG.info('checkpoint %s of group %s (plan %s) is complete; '
                 'consistent at %s', cid, self.spec['group'],
                 self.spec['plan'], checkpoints.isoformat(
                     checkpoint.consistent_at))
        return {'id': cid, 'consistent_at': checkpoints.isoformat(
            checkpoint.consistent_at)}

    def revert(self, result, *args, **kwargs):
        if isinstance(result, dict):
            checkpoints.reopen(self.store, result['id'])


class Prune(StoreTask):
    """Delete the checkpoints past the group's retention, and their copies.

    A copy that a kept checkpoint still needs (the full backup an
    incremental one builds on) stays, and its checkpoint with it (state
    ``expired``), until no kept checkpoint needs it: a later sync deletes
    it.  Children go before their parents (newest checkpoints first).
    Pruning is not undone by a revert: it runs last, once the new
    checkpoint is complete, and only deletes what left the retention.
    """

    def __init__(self, name, spec):
        super().__init__(name, requires=['complete'],
                         rebind={'complete': 'checkpoint'}, provides=name)
        self.spec = spec

    def execute(self, complete):
        spec = self.spec
        # Of this direction only: a group that replicates back since a
        # reprotect keeps its forward checkpoints for the next takeover.
        every = checkpoints.listing(
            self.store, spec['plan'], spec['group'], with_vnfs=True,
            states=(checkpoints.COMPLETE, checkpoints.EXPIRED),
            source_site=spec['source']['name'],
            target_site=spec['target']['name'])
        kept, old = every[:spec['retention']], every[spec['retention']:]
        needed = set()
        for checkpoint in kept:
            for part in checkpoint.vnfs.values():
                for record in part.get('copies', ()):
                    needed |= _method(record).references(record)
        pruned, expired = [], []
        for checkpoint in old:  # newest first: children before parents
            deleted, left = [], 0
            for part in checkpoint.vnfs.values():
                for record in part.get('copies', ()):
                    method = _method(record)
                    if method.references(dict(record, chain=[])) & needed:
                        left += 1
                        continue
                    done = _prune(self.clouds, method, record)
                    if done is None:
                        left += 1
                    else:
                        deleted.extend(done)
            state = checkpoints.EXPIRED if left else checkpoints.PRUNED
            checkpoints.set_state(self.store, checkpoint.id, state)
            (expired if left else pruned).append(checkpoint.id)
            LOG.info('checkpoint %s of group %s left the retention: %s%s',
                     checkpoint.id, spec['group'], ', '.join(deleted) or
                     'no copy deleted', '; %d copies kept for newer '
                     'checkpoints or to retry' % left if left else '')
        return {'pruned': pruned, 'expired': expired}


def _method(record):
    return replication.get(record['method'])


def _prune(clouds, method, record):
    """What was deleted, or None if it could not be (tried again later)."""
    try:
        return method.prune(clouds, record)
    except Exception as e:  # the next sync tries again; never fail it here
        LOG.warning('could not delete a copy (%s of volume %s): %s; the '
                    'next sync tries again', record['method'],
                    record.get('volume'), e)
        return None


class AcquireCopySlots(base.GeoflowsTask):
    """Wait for room at the source site for this VNF's data copies.

    ``[protection] max_copies_per_site`` bounds the snapshots and backups
    in flight per site, so that protection never overloads the primary;
    taken before the quiesce window (a quiesced VNF never waits for room)
    and given back once its copies are done (:class:`ReleaseCopySlots`)
    or by its revert.  Run it alone in a subflow paced by a PacedRetry.
    """

    def __init__(self, name, site, holder, count, limit):
        super().__init__(name, site, provides=name)
        self.holder = holder
        self.count = count
        self.limit = limit

    @property
    def key(self):
        return 'copies:%s' % self.site['name']

    def execute(self):
        from geoflows import exceptions
        if not self.ctx.slots.acquire(self.key, self.holder, self.count,
                                      self.limit):
            raise exceptions.NotReady(
                'site %r already has %d data copies in flight ([protection]'
                ' max_copies_per_site = %d)' % (
                    self.site['name'], self.ctx.slots.used(self.key),
                    self.limit))
        return {'slots': min(self.count, self.limit)}

    def revert(self, *args, **kwargs):
        self.ctx.slots.release(self.key, self.holder)


class ReleaseCopySlots(base.GeoflowsTask):

    def __init__(self, name, site, holder):
        super().__init__(name, site, provides=name)
        self.holder = holder

    def execute(self):
        self.ctx.slots.release('copies:%s' % self.site['name'], self.holder)
        return True
