"""Cinder resources: volumes, snapshots, backups and imported backups.

A volume geoflows makes is empty, restored from a backup, or created from
a snapshot (the temporary clone the ``image`` method uploads: Cinder
refuses to upload a volume in use) or from an image (its restore).

Identities (how a re-run finds what an earlier attempt made): by name,
which geoflows derives from the checkpoint and the source volume, and by
geoflows' mark (volume and snapshot metadata, backup description).

A backup moves to the other site by its record: ``export_record`` at the
source, then ``import_record`` at the target, which keeps the backup's id.
The import needs both sites' backup services to see one repository (a
shared Swift, Ceph or NFS), as a real deployment has.  openstacksdk's own
import POSTs to the wrong URL, so the import is a plain REST call.
"""

import logging
import time

from geoflows import clouds
from geoflows import exceptions
from geoflows.tasks import base

LOG = logging.getLogger(__name__)

MARK_KEY = 'geoflows'
SOURCE_KEY = 'geoflows_source'


def _marked(obj, marker):
    return (getattr(obj, 'metadata', None) or {}).get(MARK_KEY) == marker


#: Cinder's description of a volume it makes to restore a backup into
RESTORE_DESCRIPTION = 'auto-created_from_restore_from_backup'


class Volume(base.Resource):
    """A volume geoflows makes: empty, or from a parent.

    ``params``: size, volume_type, availability_zone, metadata,
    bootable, source_id; parent ``backup`` when it is a restore of a
    backup, ``snapshot`` or ``image`` when it is made from one.
    """

    kind = 'volume'
    service = 'block_storage'

    def find(self, cinder, parents):
        return base.only((v for v in cinder.volumes(details=True,
                                                    name=self.name)
                          if v.name == self.name and (
                              _marked(v, self.marker) or
                              self._unmarked_restore(v, parents))),
                         'volumes named %r made by geoflows' % self.name)

    def _unmarked_restore(self, obj, parents):
        # A restore takes no metadata: the volume is marked once it
        # exists.  Killed in between, the job finds it by its name and the
        # description Cinder gives the volumes it restores into (and marks
        # it then), rather than restoring the backup a second time.
        return 'backup' in parents and \
            obj.description == RESTORE_DESCRIPTION

    def _metadata(self):
        metadata = dict(self.params.get('metadata') or {})
        metadata[MARK_KEY] = self.marker
        if self.params.get('source_id'):
            metadata[SOURCE_KEY] = self.params['source_id']
        return metadata

    def create(self, cinder, parents):
        if 'backup' in parents:
            restored = cinder.restore_backup(parents['backup']['id'],
                                             name=self.name)
            volume_id = getattr(restored, 'volume_id', None) or \
                restored['volume_id']
            # Marked once it exists: a restore takes no metadata.
            cinder.set_volume_metadata(volume_id, **self._metadata())
            return cinder.get_volume(volume_id)
        attrs = {'name': self.name, 'metadata': self._metadata()}
        if self.params.get('size'):
            attrs['size'] = self.params['size']
        if 'snapshot' in parents:
            attrs['snapshot_id'] = parents['snapshot']['id']
        if 'image' in parents:
            attrs['image_id'] = parents['image']['id']
        for key in ('volume_type', 'availability_zone'):
            if self.params.get(key):
                attrs[key] = self.params[key]
        return cinder.create_volume(**attrs)

    def claim(self, cinder, obj, parents):
        if not _marked(obj, self.marker):
            cinder.set_volume_metadata(obj, **self._metadata())

    def delete(self, cinder, resource_id, parents):
        cinder.delete_volume(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        return _marked(obj, self.marker) or \
            self._unmarked_restore(obj, parents)


#: statuses of work under way on a snapshot, backup or volume: Cinder
#: refuses to delete it until the work ends
_BUSY = ('creating', 'backing-up', 'restoring', 'restoring-backup',
         'downloading', 'uploading', 'attaching', 'detaching',
         'maintenance')


def delete_when_settled(read, delete, resource_id, label, wait=None):
    """Delete a resource once no work is under way on it.

    A revert after a crash (or a failed wait) finds what the job made still
    ``creating``; Cinder answers 400 to its deletion until it is done.
    ``wait``: (attempts, seconds) of the status checks.
    """
    attempts, interval = wait or (120, 5.0)
    for attempt in range(attempts):
        try:
            status = read(resource_id).status
        except clouds.NotFound:
            return
        if status not in _BUSY:
            break
        if attempt == attempts - 1:
            raise exceptions.ResourceError(
                '%s is still %s after %d checks; wait for it to end (or '
                'reset its state at the site), then revert the job again'
                % (label, status, attempts))
        time.sleep(interval)
    delete(resource_id, ignore_missing=False)


class Clone(Volume):
    """A temporary volume from the parent ``snapshot``, to be uploaded.

    Its deletion waits (``params['wait']``: attempts, seconds) while Cinder
    still works on it (``uploading``, ``creating``): a revert after a crash
    in the middle of an upload would otherwise be refused.
    """

    kind = 'clone'

    def delete(self, cinder, resource_id, parents):
        delete_when_settled(cinder.get_volume, cinder.delete_volume,
                            resource_id, self.label, self.params.get('wait'))

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(size=obj.size, status=obj.status)
        return result


class Snapshot(base.Resource):
    """A snapshot of a source volume (``params['volume_id']``)."""

    kind = 'snapshot'
    service = 'block_storage'

    def find(self, cinder, parents):
        return base.only((s for s in cinder.snapshots(
            details=True, volume_id=self.params['volume_id'])
            if s.name == self.name), 'snapshots named %r' % self.name)

    def create(self, cinder, parents):
        # force: the volume is in use by its server.
        return cinder.create_snapshot(
            volume_id=self.params['volume_id'], name=self.name,
            description=self.marker, force=True,
            metadata={MARK_KEY: self.marker})

    def delete(self, cinder, resource_id, parents):
        delete_when_settled(cinder.get_snapshot, cinder.delete_snapshot,
                            resource_id, self.label, self.params.get('wait'))

    def owned(self, obj, parents):
        return getattr(obj, 'description', None) == self.marker or \
            _marked(obj, self.marker)


class Backup(base.Resource):
    """A backup of a source volume, from the parent ``snapshot``.

    Incremental when the volume has an earlier geoflows backup of the
    group and the chain since its last full backup is shorter than
    ``params['max_chain']``; Cinder takes the newest backup as the parent.
    """

    kind = 'backup'
    service = 'block_storage'

    def find(self, cinder, parents):
        return base.only((b for b in cinder.backups(
            details=True, volume_id=self.params['volume_id'])
            if b.name == self.name), 'backups named %r' % self.name)

    def chain(self, cinder):
        """Our earlier backups of the volume, oldest first."""
        prefix = self.params['chain_prefix']
        ours = [b for b in cinder.backups(
            details=True, volume_id=self.params['volume_id'])
            if (b.name or '').startswith(prefix) and b.name != self.name
            and b.status == 'available' and self.owned(b, {})]
        return sorted(ours, key=lambda b: (str(b.created_at), b.name))

    def incremental(self, cinder):
        chain = self.chain(cinder)
        if not chain:
            return False
        since_full = 0
        for backup in reversed(chain):
            since_full += 1
            if not backup.is_incremental:
                break
        return since_full < self.params.get('max_chain', 3)

    def create(self, cinder, parents):
        incremental = self.incremental(cinder)
        return cinder.create_backup(
            volume_id=self.params['volume_id'],
            snapshot_id=parents['snapshot']['id'], name=self.name,
            description=self.marker, force=True,
            is_incremental=incremental)

    def delete(self, cinder, resource_id, parents):
        delete_when_settled(cinder.get_backup, cinder.delete_backup,
                            resource_id, self.label, self.params.get('wait'))

    def owned(self, obj, parents):
        return getattr(obj, 'description', None) == self.marker

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(size=obj.size, status=obj.status,
                      incremental=bool(obj.is_incremental),
                      created_at=str(obj.created_at))
        return result


def export_record(cinder, backup_id):
    """The record that lets another site import backup ``backup_id``."""
    record = cinder.export_backup(backup_id)
    record = dict(record.get('backup-record', record))
    return {'backup_service': record['backup_service'],
            'backup_url': record['backup_url']}


def import_record(cinder, record):
    """Import a backup record; the backup keeps its id."""
    response = cinder.post('/backups/import_record',
                           json={'backup-record': record})
    if response.status_code >= 400:
        raise exceptions.ResourceError(
            'the DR site refused the import of a backup record (HTTP %s: '
            '%s); both sites\' backup services must share one backup '
            'repository' % (response.status_code, response.text[:300]))
    return response.json()['backup']['id']


class ImportedBackup(base.Resource):
    """The parent ``backup`` of the source site, imported at this site.

    ``params['record']`` comes from the parent ``export`` (its result).
    """

    kind = 'imported backup'
    service = 'block_storage'

    def find(self, cinder, parents):
        try:
            return cinder.get_backup(parents['backup']['id'])
        except clouds.NotFound:
            return None

    def create(self, cinder, parents):
        backup_id = import_record(cinder, parents['export']['record'])
        return cinder.get_backup(backup_id)

    def delete(self, cinder, resource_id, parents):
        cinder.delete_backup(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        return obj.id == parents['backup']['id']

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(size=obj.size, status=obj.status)
        return result


class ExportBackup(base.ResourceTask):
    """Export the record of the parent ``backup`` (read-only)."""

    def __init__(self, resource, after=()):
        # ``after``: the wait for the backup to be available (Cinder
        # refuses to export a backup under way).
        super().__init__(resource, resource.key, requires=list(after),
                         provides=resource.key)

    def execute(self, **inputs):
        parents = self._parents(inputs)
        cinder = self.proxy()
        with self.api('export the record of backup %s'
                      % parents['backup']['id']):
            record = export_record(cinder, parents['backup']['id'])
        return {'id': parents['backup']['id'], 'record': record,
                'owned': False}


class BackupRecord(base.Resource):
    """What :class:`ExportBackup` is about (it creates nothing)."""

    kind = 'backup record'
    service = 'block_storage'

    def find(self, cinder, parents):
        return None

    def create(self, cinder, parents):
        raise exceptions.ResourceError('%s is exported, not created'
                                       % self.label)

    def delete(self, cinder, resource_id, parents):
        return None


class DeleteAfterUse(base.ResourceTask):
    """Delete a resource this job made once it served.

    (A snapshot once its backup exists.)  A re-run finds it gone and does
    nothing.
    """

    def __init__(self, resource, after=()):
        super().__init__(resource, resource.key + '.removed',
                         requires=['current'] + list(after),
                         rebind={'current': resource.key},
                         provides=resource.key + '.removed')

    def execute(self, current, **inputs):
        proxy = self.proxy()
        try:
            with self.api('delete %s' % self.resource.label):
                self.resource.delete(proxy, current['id'], {})
        except clouds.NotFound:
            return {'deleted': False, 'id': current['id']}
        LOG.info('deleted %s (%s): it served its purpose',
                 self.resource.label, current['id'])
        return {'deleted': True, 'id': current['id']}


class SetBootable(base.GeoflowsTask):
    """Mark a volume bootable.

    A restored volume is not, even a boot one: Nova refuses to boot from it
    until then.
    """

    def __init__(self, name, site, volume_key, after=()):
        super().__init__(name, site, requires=['volume'] + list(after),
                         rebind={'volume': volume_key}, provides=name)

    def execute(self, volume, **inputs):
        cinder = self.client('block_storage')
        with self.api('mark volume %s bootable' % volume['id']):
            cinder.set_volume_bootable_status(volume['id'], True)
        return True
