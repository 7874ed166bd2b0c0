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

from geoflows import replication


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
        from geoflows.tasks import volume as volume_tasks
        return volume_tasks.Snapshot(
            item.key + '.snapshot', item.source, item.name,
            marker=item.marker, volume_id=item.volume['source_id'],
            wait=item.wait)

    def _backup(self, item):
        from geoflows.tasks import volume as volume_tasks
        return volume_tasks.Backup(
            item.key + '.backup', item.source, item.name, marker=item.marker,
            parents={'snapshot': item.key + '.snapshot'},
            volume_id=item.volume['source_id'],
            chain_prefix=item.chain_prefix,
            max_chain=item.options.get('max_chain', item.retention),
            wait=item.wait)

    def _imported(self, item):
        from geoflows.tasks import volume as volume_tasks
        return volume_tasks.ImportedBackup(
            item.key + '.imported', item.target, item.name,
            marker=item.marker,
            parents={'backup': item.key + '.backup',
                     'export': item.key + '.export'})

    # -- steps -------------------------------------------------------------

    def snapshot(self, item):
        from geoflows.tasks import base
        snapshot = self._snapshot(item)
        return [base.Probe(snapshot), base.Ensure(snapshot),
                _waiting(snapshot, item, 'available')]

    def copy(self, item):
        from geoflows.tasks import base
        from geoflows.tasks import replication as steps
        from geoflows.tasks import volume as volume_tasks
        snapshot = self._snapshot(item)
        backup = self._backup(item)
        imported = self._imported(item)
        export = volume_tasks.BackupRecord(
            item.key + '.export', item.source, item.name,
            parents={'backup': item.key + '.backup'})
        return [
            steps.ChainProbe(item), base.Probe(backup), base.Ensure(backup),
            _waiting(backup, item, 'available'),
            volume_tasks.DeleteAfterUse(
                snapshot, after=[item.key + '.backup.ready']),
            volume_tasks.ExportBackup(export,
                                      after=[item.key + '.backup.ready']),
            base.Probe(imported), base.Ensure(imported),
            _waiting(imported, item, 'available'),
            steps.BackupRecord(item)]

    def restore(self, item, volume_name):
        from geoflows.tasks import base
        from geoflows.tasks import volume as volume_tasks
        restored = volume_tasks.Volume(
            item.key + '.volume', item.target, volume_name,
            marker=item.marker, parents={'backup': item.copy_key},
            source_id=item.volume['source_id'])
        return [base.Probe(restored), base.Ensure(restored),
                _waiting(restored, item, 'available')]

    def copy_id(self, record):
        return record['backup_id']

    def references(self, record):
        return {record['backup_id']} | set(record.get('chain', ()))

    def prune(self, clouds, record):
        """Delete the backup at the target, then at the source."""
        from geoflows import clouds as clouds_mod
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
    from taskflow.patterns import linear_flow

    from geoflows.tasks import base
    attempts, interval = item.wait
    return linear_flow.Flow(resource.key + '.wait', retry=base.PacedRetry(
        resource.key + '.retry', attempts, interval)).add(
        base.WaitStatus(resource, ready=(status,)))
