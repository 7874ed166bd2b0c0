"""The ``backup`` method: Cinder backups, imported at the DR site.

Per sync and volume, at the source: a snapshot inside the quiesce window;
after it, a backup of the snapshot (incremental when the volume has an
earlier geoflows backup and the chain since its last full backup is
shorter than the group's retention, so that old chains can be deleted
whole), then the snapshot is deleted.  The backup's record is exported and
imported at the target site, where the backup then exists under the same
id; a takeover restores it into a new volume.

Both sites' backup services must see one backup repository (Swift, Ceph or
NFS shared or replicated between the sites): a record only points at the
backup's data.

Options (per data item in the plan): ``max_chain``, the most backups in a
chain (a full one and its incrementals; default: the group's retention).
"""

from taskflow.patterns import linear_flow

from geoflows import clouds as clouds_mod
from geoflows import exceptions
from geoflows import replication
from geoflows.tasks import base
from geoflows.tasks import volume as volume_tasks


class Backup(replication.Method):

    name = 'backup'

    def problems(self, item_spec):
        found = []
        for key, value in (item_spec.get('options') or {}).items():
            if key != 'max_chain':
                found.append((('options', key), 'unknown option %r of the '
                              'backup method (it takes: max_chain)' % key))
            elif isinstance(value, bool) or not isinstance(value, int) or \
                    not 1 <= value <= 1000:
                found.append((('options', key), 'max_chain is a number of '
                              'backups from 1 to 1000'))
        return found

    # -- resources of one item ---------------------------------------------

    def _snapshot(self, item):
        return volume_tasks.Snapshot(
            item.key + '.snapshot', item.source, item.name,
            marker=item.marker, volume_id=item.volume['source_id'])

    def _backup(self, item):
        return volume_tasks.Backup(
            item.key + '.backup', item.source, item.name, marker=item.marker,
            parents={'snapshot': item.key + '.snapshot'},
            volume_id=item.volume['source_id'],
            chain_prefix=item.chain_prefix,
            max_chain=item.options.get('max_chain', item.retention))

    def _imported(self, item):
        return volume_tasks.ImportedBackup(
            item.key + '.imported', item.target, item.name,
            marker=item.marker,
            parents={'backup': item.key + '.backup',
                     'export': item.key + '.export'})

    # -- steps -------------------------------------------------------------

    def snapshot(self, item):
        snapshot = self._snapshot(item)
        return [base.Probe(snapshot), base.Ensure(snapshot),
                _waiting(snapshot, item, 'available')]

    def copy(self, item):
        snapshot = self._snapshot(item)
        backup = self._backup(item)
        imported = self._imported(item)
        export = volume_tasks.BackupRecord(
            item.key + '.export', item.source, item.name,
            parents={'backup': item.key + '.backup'})
        return [
            ChainProbe(item), base.Probe(backup), base.Ensure(backup),
            _waiting(backup, item, 'available'),
            volume_tasks.DeleteAfterUse(
                snapshot, after=[item.key + '.backup.ready']),
            volume_tasks.ExportBackup(export),
            base.Probe(imported), base.Ensure(imported),
            _waiting(imported, item, 'available'),
            Record(item)]

    def restore(self, item, record, volume_name):
        restored = volume_tasks.Volume(
            item.key + '.volume', item.target, volume_name,
            marker=item.marker, parents={'backup': item.key + '.copy'},
            source_id=item.volume['source_id'])
        return [Copy(item.key + '.copy', item.target, record),
                base.Probe(restored), base.Ensure(restored),
                _waiting(restored, item, 'available')]

    def references(self, record):
        return {record['backup_id']} | set(record.get('chain', ()))

    def prune(self, clouds, record):
        """Delete the backup at the target, then at the source."""
        deleted = []
        for site_key in ('target', 'source'):
            site = record[site_key]
            cinder = clouds.block_storage(site)
            with clouds_mod.api_errors(site['name'], 'delete backup %s'
                                       % record['backup_id']):
                try:
                    cinder.delete_backup(record['backup_id'],
                                         ignore_missing=False)
                    deleted.append('backup %s on site %s' % (
                        record['backup_id'], site['name']))
                except clouds_mod.NotFound:
                    pass
        return deleted


def _waiting(resource, item, status):
    attempts, interval = item.wait
    return linear_flow.Flow(resource.key + '.wait', retry=base.PacedRetry(
        resource.key + '.retry', attempts, interval)).add(
        base.WaitStatus(resource, ready=(status,)))


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


class Record(base.GeoflowsTask):
    """The copy record of the item, for the checkpoint."""

    def __init__(self, item):
        super().__init__(item.record_key, item.target,
                         requires=['backup', 'imported', 'chain'],
                         rebind={'backup': item.key + '.backup',
                                 'imported': item.key + '.imported',
                                 'chain': item.key + '.chain'},
                         provides=item.record_key)
        self.item = item

    def execute(self, backup, imported, chain):
        if imported['id'] != backup['id']:
            raise exceptions.ResourceError(
                'the backup imported at site %r has id %s, not the source\'s'
                ' %s' % (self.item.target['name'], imported['id'],
                         backup['id']))
        if imported.get('size') != backup.get('size'):
            raise exceptions.ResourceError(
                'the backup imported at site %r has size %s GiB, the '
                'source\'s %s GiB' % (self.item.target['name'],
                                      imported.get('size'),
                                      backup.get('size')))
        return {'method': 'backup',
                'volume': self.item.volume['source_id'],
                'backup_id': backup['id'],
                'incremental': backup.get('incremental', False),
                # What it needs to be restored: its chain, oldest first.
                'chain': chain['ids'] if backup.get('incremental') else [],
                'size': backup.get('size'),
                'created_at': backup.get('created_at'),
                'source': self.item.source, 'target': self.item.target}


class Copy(base.GeoflowsTask):
    """The copy a restore starts from, as a parent description."""

    def __init__(self, name, site, record):
        super().__init__(name, site, provides=name)
        self.record = record

    def execute(self):
        return {'id': self.record['backup_id'], 'owned': False}
