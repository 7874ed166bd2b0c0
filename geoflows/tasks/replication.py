"""Steps of the replication methods: what a copy is, for the checkpoint.

Each method (geoflows.replication) builds its steps from the tasks of the
services (volume, image, ...) and these: the probe of a volume's backup
chain, and the steps that make a data item's *copy record*, the JSON dict
the checkpoint keeps of where the copy is and how to restore it.
"""

import logging

from geoflows import clouds
from geoflows import exceptions
from geoflows.tasks import base
from geoflows.tasks import volume as volume_tasks

LOG = logging.getLogger(__name__)


class ChainProbe(base.GeoflowsTask):
    """Our earlier backups of the volume since its last full one."""

    def __init__(self, item):
        super().__init__(item.key + '.chain', item.source,
                         provides=item.key + '.chain')
        self.item = item

    def execute(self):
        resource = volume_tasks.Backup(
            self.item.key + '.backup', self.item.source, self.item.name,
            marker=self.item.marker, volume_id=self.item.volume['source_id'],
            chain_prefix=self.item.chain_prefix)
        cinder = self.client('block_storage')
        with self.api('list the backups of volume %s'
                      % self.item.volume['source_id']):
            chain = resource.chain(cinder)
        since_full = []
        for backup in reversed(chain):
            since_full.insert(0, backup.id)
            if not backup.is_incremental:
                break
        return {'ids': since_full}


class BackupRecord(base.GeoflowsTask):
    """The copy record of the item, for the checkpoint.

    Once both backups are made: what Cinder answered when they were
    created does not say yet (no size for a new backup, 0 for one being
    imported), so both are read again.
    """

    def __init__(self, item):
        super().__init__(item.record_key, item.target,
                         requires=['backup', 'imported', 'chain', 'ready'],
                         rebind={'backup': item.key + '.backup',
                                 'imported': item.key + '.imported',
                                 'chain': item.key + '.chain',
                                 'ready': item.key + '.imported.ready'},
                         provides=item.record_key)
        self.item = item

    def _read(self, site, backup_id):
        cinder = self.client('block_storage', site)
        with clouds.api_errors(site['name'], 'look up backup %s'
                               % backup_id):
            return cinder.get_backup(backup_id)

    def execute(self, backup, imported, chain, ready):
        if imported['id'] != backup['id']:
            raise exceptions.ResourceError(
                'the backup imported at site %r has id %s, not the source\'s'
                ' %s' % (self.item.target['name'], imported['id'],
                         backup['id']))
        source = self._read(self.item.source, backup['id'])
        target = self._read(self.item.target, imported['id'])
        if target.size != source.size:
            raise exceptions.ResourceError(
                'the backup imported at site %r has size %s GiB, the '
                'source\'s %s GiB' % (self.item.target['name'],
                                      target.size, source.size))
        incremental = bool(source.is_incremental)
        return {'method': 'backup',
                'volume': self.item.volume['source_id'],
                'backup_id': backup['id'],
                'incremental': incremental,
                # What it needs to be restored: its chain, oldest first.
                'chain': chain['ids'] if incremental else [],
                'size': source.size,
                'created_at': str(source.created_at),
                'source': self.item.source, 'target': self.item.target}


class LookupCopy(base.GeoflowsTask):
    """The copy a restore starts from, read from a checkpoint.

    ``checkpoint``: the checkpoint's id; None for the checkpoint of the
    running job (a planned takeover's final sync).
    """

    def __init__(self, item, method, vnf, checkpoint=None):
        super().__init__(item.copy_key, item.target, requires=['job_id'],
                         provides=item.copy_key)
        self.item = item
        self.method = method
        self.vnf = vnf
        self.checkpoint = checkpoint

    def execute(self, job_id):
        from geoflows import checkpoints
        cid = self.checkpoint or checkpoints.checkpoint_id(job_id)
        part = checkpoints.get(self.ctx.store, cid).vnfs.get(self.vnf) or {}
        for record in part.get('copies', ()):
            if record.get('volume') == self.item.volume['source_id']:
                return dict(record, id=self.method.copy_id(record),
                            owned=False)
        raise exceptions.ResourceError(
            'checkpoint %s has no copy of volume %s (%s) of VNF %s; take a '
            'takeover from a checkpoint that has one (geoflows checkpoint '
            'list)' % (cid, self.item.volume.get('name'),
                       self.item.volume['source_id'], self.vnf))


class ApplicationRecord(base.GeoflowsTask):
    """The item's record: the application owns the copy."""

    def __init__(self, item):
        super().__init__(item.record_key, item.target,
                         provides=item.record_key)
        self.item = item

    def execute(self):
        return {'method': 'application',
                'volume': self.item.volume['source_id'],
                'size': self.item.volume['size'],
                'source': self.item.source, 'target': self.item.target}


class ImageRecord(base.GeoflowsTask):
    """The copy record of an item of the ``image`` method."""

    def __init__(self, item):
        super().__init__(item.record_key, item.target,
                         requires=['copy', 'image'],
                         rebind={'copy': item.key + '.dr_image',
                                 'image': item.key + '.image.ready'},
                         provides=item.record_key)
        self.item = item

    def execute(self, copy, image):
        volume = self.item.volume
        return {'method': 'image',
                'volume': volume['source_id'],
                'image_id': copy['id'],
                # of the image's bytes: the volume's when it is raw
                'sha256': copy.get('sha256'),
                'disk_format': copy.get('disk_format'),
                'checksum': copy.get('checksum'),
                'hash_value': copy.get('hash_value'),
                # bytes of the image; the volume's size is in GiB
                'bytes': copy.get('size'),
                'size': volume.get('size'),
                'source_volume': {key: volume.get(key) for key in (
                    'source_id', 'name', 'size', 'volume_type')},
                'source_image': image['id'],
                'incremental': False,
                'created_at': copy.get('created_at'),
                # seconds of the transfer, the DR upload and the check,
                # when this job made the copy
                'timings': copy.get('timings') or {},
                'source': self.item.source, 'target': self.item.target}


class StorageRecord(base.GeoflowsTask):
    """The record of a ``storage`` item: the replica, checked at the source.

    ``driver``: a :class:`geoflows.replication.storage.Driver`.
    """

    def __init__(self, item, driver):
        super().__init__(item.record_key, item.source,
                         provides=item.record_key)
        self.item = item
        self.driver = driver

    def execute(self):
        volume = self.item.volume
        cinder = self.client('block_storage')
        with self.api('read the replication of volume %s'
                      % volume['source_id']):
            replica = self.driver.check(cinder, volume['source_id'],
                                        self.item.options)
        return {'method': 'storage', 'driver': self.driver.name,
                'volume': volume['source_id'], 'size': volume.get('size'),
                'replica': replica,
                'source': self.item.source, 'target': self.item.target}


class Failover(base.GeoflowsTask):
    """Fail the replica of a ``storage`` item over, at the target.

    Provides the volume's description (the same volume: the array's
    replica now serves it).  Not undone by a revert: a failback is an
    operation of its own.
    """

    def __init__(self, item, driver):
        super().__init__(item.key + '.volume', item.target,
                         requires=['record'],
                         rebind={'record': item.copy_key},
                         provides=item.key + '.volume')
        self.item = item
        self.driver = driver

    def execute(self, record):
        cinder = self.client('block_storage')
        with self.api('fail volume %s over' % record['volume']):
            done = self.driver.failover(cinder, record, self.item.options)
        LOG.info('%s (site %r)', done, self.site['name'])
        return {'id': record['volume'], 'name': None, 'owned': False,
                'failover': done}


class WaitFailover(base.GeoflowsTask):
    """Check once that the failed-over volume serves; NotReady if not yet."""

    def __init__(self, item, driver):
        super().__init__(item.key + '.volume.ready', item.target,
                         requires=['record', 'volume'],
                         rebind={'record': item.copy_key,
                                 'volume': item.key + '.volume'},
                         provides=item.key + '.volume.ready')
        self.item = item
        self.driver = driver

    def execute(self, record, volume):
        cinder = self.client('block_storage')
        with self.api('read volume %s' % record['volume']):
            state, detail = self.driver.status(cinder, record,
                                               self.item.options)
        if state == 'ready':
            return detail.status
        if state == 'error':
            raise exceptions.ResourceError(
                '%s; fix the cause, then resume the job' % detail)
        raise exceptions.NotReady(detail)
