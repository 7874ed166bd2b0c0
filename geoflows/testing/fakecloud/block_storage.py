"""The block storage proxy of a fake site: Cinder v3 behind openstacksdk.

Volumes, snapshots, backups and the images made from volumes carry bytes
(:class:`~.data.Blob`), copied faithfully: a snapshot keeps the volume's
bytes of its time, a backup too (an incremental one only what changed since
its parent, and a restore resolves the chain), a volume made from a
snapshot, a volume, an image or a backup starts with its bytes.

Asynchronous work shows as Cinder shows it: a new volume is ``creating``,
a snapshot or backup ``creating`` (and an available volume ``backing-up``
meanwhile), a restore ``restoring-backup`` (the backup ``restoring``), an
upload to an image ``uploading``.  The call answers with that status, and
each resource involved shows it to ``site.storage_reads`` calls that read
or use it (0: the next call sees the outcome).

Backups live in a *backup repository*, the backup service's store, which
sites may share (:class:`~.site.FakeClouds` ``shared_backup_repository``).
An exported record imported into another site keeps the backup's id; a
restore there works only when the repository the site sees holds the
files of the backup and of every parent (else the volume ends
``error_restoring``, as in RECIPE.md 3a), and deleting a backup deletes its
files from the repository, for every site that shares it.
"""

import base64
import binascii
import json

from openstack.block_storage.v3 import backup as _backup
from openstack.block_storage.v3 import group as _group
from openstack.block_storage.v3 import limits as _limits
from openstack.block_storage.v3 import quota_set as _quota_set
from openstack.block_storage.v3 import service as _service
from openstack.block_storage.v3 import snapshot as _snapshot
from openstack.block_storage.v3 import type as _type
from openstack.block_storage.v3 import volume as _volume
from openstack import exceptions as os_exc

from geoflows.testing.fakecloud import base
from geoflows.testing.fakecloud import data as data_mod

BACKUP_SERVICE = 'cinder.backup.drivers.posix.PosixBackupDriver'
IMPORT_PATH = '/backups/import_record'
#: the volume of an imported backup until its record is read
IMPORT_VOLUME_ID = '00000000-0000-0000-0000-000000000000'
_DELETABLE = ('available', 'error', 'error_restoring', 'error_extending',
              'error_managing')
_IN_USE_DELETE = (
    'Invalid volume: Volume status must be available or error or '
    'error_restoring or error_extending or error_managing and must not be '
    'migrating, attached, belong to a group, have snapshots or be '
    'disassociated from snapshots after volume transfer.')
_CREATE_ATTRS = frozenset([
    'size', 'name', 'description', 'volume_type', 'availability_zone',
    'snapshot_id', 'source_volume_id', 'image_id', 'backup_id', 'metadata',
    'is_multiattach'])
# The cinder-volume service of every fake site (host@backend).
HOST = 'cinder@primary'
# Cinder's glance_core_properties option, by default.
GLANCE_CORE_PROPERTIES = frozenset([
    'checksum', 'container_format', 'disk_format', 'image_name', 'image_id',
    'min_disk', 'min_ram', 'name', 'size'])
_ALIASES = {'source_volid': 'source_volume_id', 'imageRef': 'image_id',
            'multiattach': 'is_multiattach'}


class FakeBackup(base.resource_type(_backup.Backup)):
    """A backup, with the SDK's ``export_record(session)`` method."""

    def export_record(self, session):
        response = session.get('/backups/%s/export_record' % self['id'])
        os_exc.raise_from_response(response)
        return response.json()


class FakeBlockStorage(base.FakeProxy):
    """The block storage proxy of one fake site."""

    service = 'block-storage'
    state = ('_tables', '_data', '_operations')
    missing = {'volume': 'Volume %s could not be found.',
               'snapshot': 'Snapshot %s could not be found.',
               'backup': 'Backup %s could not be found.'}
    sdk_classes = {'volume': _volume.Volume, 'snapshot': _snapshot.Snapshot,
                   'backup': _backup.Backup, 'type': _type.Type,
                   'group': _group.Group, 'service': _service.Service}

    def __init__(self, site):
        super().__init__(site)
        self._types['backup'] = FakeBackup
        self._data = {}  # volume or snapshot id: Blob
        # Cinder's work under way (see _begin).
        self._operations = []
        self._sequence = 0

    # -- asynchronous work ----------------------------------------------------

    def _begin(self, during, outcome):
        """Show ``during`` ({(kind, id): status}) until ``outcome`` is due.

        Each resource involved shows its status of ``during`` (or its
        current one) to ``site.storage_reads`` calls that read or use it;
        the next such call, on any of them, sees the whole ``outcome``.
        """
        for (kind, row_id), status in during.items():
            self._tables[kind][row_id]['status'] = status
        self._operations.append({
            'reads': dict.fromkeys(outcome, self._site.storage_reads),
            'outcome': outcome})

    def _get(self, kind, resource_id):
        """The row; a call that touches it moves on its work under way."""
        row = super()._get(kind, resource_id)
        self._advance(kind, row)
        return row

    def _advance(self, kind, row):
        key = (kind, row.id)
        for operation in [o for o in self._operations
                          if key in o['outcome']]:
            if operation['reads'][key] > 0:
                operation['reads'][key] -= 1
                continue
            self._operations.remove(operation)
            for (other_kind, row_id), status in operation['outcome'].items():
                other = self._tables[other_kind].get(row_id)
                if other is not None:
                    other['status'] = status
                    other.update(other.pop('_when_done', None) or {})

    def _read_all(self, kind, rows):
        for row in rows:
            self._advance(kind, row)
        return [self._out(kind, row) for row in rows]

    def _next(self):
        self._sequence += 1
        return self._sequence

    # -- quotas ---------------------------------------------------------------

    def _usage(self):
        volumes = list(self._tables['volume'].values())
        snapshots = list(self._tables['snapshot'].values())
        backups = list(self._tables['backup'].values())
        return {'volumes': len(volumes), 'snapshots': len(snapshots),
                'gigabytes': (sum(v.size for v in volumes) +
                              sum(s.size for s in snapshots)),
                'backups': len(backups),
                'backup_gigabytes': sum(b.size for b in backups)}

    def _check_quota(self, volumes=0, snapshots=0, gigabytes=0):
        # The usage is counted only under a quota: it reads every volume.
        quotas, usage = self._site.quotas, None
        for name, wanted in (('volumes', volumes), ('snapshots', snapshots)):
            allowed = quotas[name]
            if wanted and 0 <= allowed:
                usage = usage or self._usage()
                if allowed < usage[name] + wanted:
                    raise self._error(413, 'Maximum number of %s allowed '
                                           "(%d) exceeded for quota '%s'."
                                      % (name, allowed, name))
        allowed = quotas['gigabytes']
        if gigabytes and 0 <= allowed:
            usage = usage or self._usage()
            if allowed < usage['gigabytes'] + gigabytes:
                raise self._error(
                    413, 'Requested volume or snapshot exceeds allowed '
                         'gigabytes quota. Requested %dG, quota is %dG and '
                         '%dG has been consumed.'
                         % (gigabytes, allowed, usage['gigabytes']))

    def get_quota_set(self, project, usage=False, **query):
        quotas = self._site.quotas
        names = ('volumes', 'snapshots', 'gigabytes', 'backups',
                 'backup_gigabytes')
        result = base.resource_type(_quota_set.QuotaSet)(
            {name: quotas[name] for name in names}, per_volume_gigabytes=-1,
            groups=-1, project_id=base.ident(project), reservation={},
            usage=self._usage() if usage else {})
        return result

    def get_limits(self, project=None):
        quotas, usage = self._site.quotas, self._usage()
        absolute = base.resource_type(_limits.AbsoluteLimit)(
            max_total_volumes=quotas['volumes'],
            max_total_snapshots=quotas['snapshots'],
            max_total_volume_gigabytes=quotas['gigabytes'],
            max_total_backups=quotas['backups'],
            max_total_backup_gigabytes=quotas['backup_gigabytes'],
            total_volumes_used=usage['volumes'],
            total_snapshots_used=usage['snapshots'],
            total_gigabytes_used=usage['gigabytes'],
            total_backups_used=usage['backups'],
            total_backup_gigabytes_used=usage['backup_gigabytes'])
        return base.resource_type(_limits.Limits)(absolute=absolute, rate=[])

    # -- volumes --------------------------------------------------------------

    def volumes(self, details=True, all_projects=False, **query):
        metadata = query.pop('metadata', None) or {}
        rows = [r for r in self._rows('volume', **query)
                if all(r.metadata.get(k) == v for k, v in metadata.items())]
        return self._read_all('volume', rows)

    def get_volume(self, volume):
        return self._out('volume', self._get('volume', volume))

    def find_volume(self, name_or_id, ignore_missing=True, details=True,
                    all_projects=False):
        found = self._find('volume', name_or_id, ignore_missing)
        return found and self.get_volume(found.id)

    def create_volume(self, **attrs):
        """Create a volume: empty, or from a snapshot, volume, image..."""
        attrs = {_ALIASES.get(k, k): v for k, v in attrs.items()}
        unknown = set(attrs) - _CREATE_ATTRS
        if unknown:
            raise TypeError('create_volume: the fake cloud does not model %s'
                            % ', '.join(sorted(unknown)))
        size, blob, extra = self._source(attrs)
        if size is None:
            raise self._bad_request(
                'Invalid input received: Volume size must be given.')
        volume_type = attrs.get('volume_type') or '__DEFAULT__'
        if volume_type not in self._site.volume_types:
            raise self._not_found_message(
                'Volume type with name %s could not be found.' % volume_type)
        zone = attrs.get('availability_zone') or 'nova'
        if zone != 'nova' and zone not in self._site.availability_zones:
            raise self._bad_request("Availability zone '%s' is invalid."
                                    % zone)
        self._check_quota(volumes=1, gigabytes=size)
        outcome = extra.pop('_outcome', 'available')
        extra['replication_status'] = (
            'enabled' if self._site.volume_type_specs.get(volume_type, {}).get(
                'replication_enabled') == '<is> True' else 'disabled')
        row = self._new_volume(
            size, blob, name=attrs.get('name'),
            description=attrs.get('description'), volume_type=volume_type,
            availability_zone=zone, metadata=attrs.get('metadata'),
            is_multiattach=bool(attrs.get('is_multiattach')), **extra)
        self._begin({}, {('volume', row.id): outcome})
        return self._out('volume', row)

    def _new_volume(self, size, blob=None, name=None, description=None,
                    volume_type='__DEFAULT__', availability_zone='nova',
                    metadata=None, is_multiattach=False, **extra):
        stamp = base.now()
        volume = self._add(
            'volume', name=name, description=description, size=size,
            status='creating', is_bootable=extra.pop('is_bootable', False),
            attachments=[], volume_type=volume_type,
            availability_zone=availability_zone,
            metadata=dict(metadata or {}),
            replication_status=extra.pop('replication_status', 'disabled'),
            is_encrypted=False, is_multiattach=is_multiattach,
            host=HOST + '#' + HOST.split('@')[1], group_id=None,
            created_at=stamp, updated_at=stamp, **extra)
        self._data[volume.id] = (blob or data_mod.Blob()).copy(
            size * data_mod.GIB)
        return self._tables['volume'][volume.id]

    def _source(self, attrs):
        """(size in GiB, Blob, attributes) of what a volume is made from."""
        size = attrs.get('size')
        if attrs.get('snapshot_id'):
            snapshot = self._get('snapshot', attrs['snapshot_id'])
            if snapshot.status != 'available':
                raise self._bad_request(
                    "Invalid snapshot: Originating snapshot status must be "
                    "one of 'available' values")
            size = self._at_least(size, snapshot.size, 'snapshot')
            return size, self._data[snapshot.id], {
                'snapshot_id': snapshot.id,
                'is_bootable': self._get('volume',
                                         snapshot.volume_id).is_bootable}
        if attrs.get('source_volume_id'):
            source = self._get('volume', attrs['source_volume_id'])
            size = self._at_least(size, source.size, 'volume')
            return size, self._data[source.id], {
                'source_volume_id': source.id,
                'is_bootable': source.is_bootable}
        if attrs.get('image_id'):
            return self._image_source(size, attrs['image_id'])
        if attrs.get('backup_id'):
            backup = self._get('backup', attrs['backup_id'])
            size = self._at_least(size, backup.size, 'backup')
            blob = self._resolve(backup)
            return size, blob, {'backup_id': backup.id, '_outcome': (
                'available' if blob is not None else 'error')}
        return size, None, {}

    def _at_least(self, size, source_size, source):
        if size is None:
            return source_size
        if size < source_size:
            raise self._bad_request(
                "Invalid input received: Volume size '%s'GB cannot be "
                "smaller than the %s size %sGB. They must be >= original %s "
                "size." % (size, source, source_size, source))
        return size

    def _image_source(self, size, image_id):
        image = self._site._raw_image._tables['image'].get(image_id)
        if image is None:
            raise self._bad_request('Invalid image identifier or unable to '
                                    'access requested image.')
        if image['status'] != 'active':
            raise self._bad_request('Image %s is not active.' % image_id)
        needed = -(-image['size'] // data_mod.GIB)
        if size is None:
            size = max(needed, image['min_disk'], 1)
        if needed > size:
            raise self._bad_request(
                'Invalid input received: Size of specified image %dGB is '
                'larger than volume size %dGB.' % (needed, size))
        if image['min_disk'] > size:
            raise self._bad_request(
                'Invalid input received: Volume size %dGB cannot be smaller '
                'than the image minDisk size %dGB.'
                % (size, image['min_disk']))
        metadata = {key: str(image[key]) for key in (
            'checksum', 'min_disk', 'min_ram', 'disk_format',
            'container_format', 'size')}
        metadata.update(image_id=image_id, image_name=image['name'])
        return size, self._site._raw_image._data[image_id], {
            'is_bootable': True, 'volume_image_metadata': metadata}

    def _not_found_message(self, message):
        return self._error(404, message)

    def update_volume(self, volume, name=None, description=None,
                      metadata=None):
        row = self._get('volume', volume)
        for key, value in (('name', name), ('description', description),
                           ('metadata', metadata)):
            if value is not None:
                row[key] = value
        return self._out('volume', row)

    def set_volume_metadata(self, volume, **metadata):
        row = self._get('volume', volume)
        row['metadata'] = dict(row.get('metadata') or {}, **metadata)
        return self._out('volume', row)

    def delete_volume(self, volume, ignore_missing=True, force=False,
                      cascade=False):
        volume_id = base.ident(volume)
        row = self._tables['volume'].get(volume_id)
        if row is None:
            return self._delete('volume', volume_id, ignore_missing)
        self._advance('volume', row)
        snapshots = self._rows('snapshot', volume_id=volume_id)
        if (row.attachments or (snapshots and not cascade) or
                (row.status not in _DELETABLE and not force)):
            raise self._bad_request(_IN_USE_DELETE)
        for snapshot in snapshots:
            self._delete('snapshot', snapshot.id, True)
            self._data.pop(snapshot.id, None)
        self._delete('volume', volume_id, False)
        self._data.pop(volume_id, None)

    def retype_volume(self, volume, new_type, migration_policy='never'):
        """Change a volume's type (and so whether it is replicated)."""
        row = self._get('volume', volume)
        if new_type not in self._site.volume_types:
            raise self._not_found_message(
                'Volume type with name %s could not be found.' % new_type)
        if row.status not in ('available', 'in-use'):
            raise self._bad_request('Invalid volume: Volume %s status must '
                                    'be available or in-use' % row.id)
        row['volume_type'] = new_type
        row['replication_status'] = (
            'enabled' if self._site.volume_type_specs.get(new_type, {}).get(
                'replication_enabled') == '<is> True' else 'disabled')

    def set_volume_image_metadata(self, volume, **metadata):
        row = self._get('volume', volume)
        row['volume_image_metadata'] = dict(
            row.get('volume_image_metadata') or {},
            **{k: str(v) for k, v in metadata.items()})

    def set_volume_bootable_status(self, volume, bootable):
        self._get('volume', volume)['is_bootable'] = bool(bootable)

    def extend_volume(self, volume, size):
        row = self._get('volume', volume)
        if row.status not in ('available', 'in-use'):
            raise self._bad_request(
                'Invalid volume: Volume %s status must be available or '
                'in-use, but current status is: %s.' % (row.id, row.status))
        if size <= row.size:
            raise self._bad_request(
                'Invalid input received: New size for extend must be greater '
                'than current size. (current: %d, extended: %d).'
                % (row.size, size))
        self._check_quota(gigabytes=size - row.size)
        row['size'] = size
        self._data[row.id] = self._data[row.id].copy(size * data_mod.GIB)

    # -- attachments (Nova's side of them) ------------------------------------

    def _attach(self, volume_id, server_id, device, host):
        row = self._get('volume', volume_id)
        if row.status != 'available':
            raise self._bad_request(
                'Invalid input received: Invalid volume: Volume %s status '
                'must be available or downloading to reserve, but the '
                'current status is %s.' % (volume_id, row.status))
        row['attachments'] = [{
            'id': volume_id, 'volume_id': volume_id, 'server_id': server_id,
            'attachment_id': base.new_id('attachment'), 'device': device,
            'host_name': host, 'attached_at': base.now()}]
        row['status'] = 'in-use'

    def _detach(self, volume_id, server_id):
        row = self._tables['volume'].get(volume_id)
        if row is not None:
            row['attachments'] = [a for a in row.attachments
                                  if a['server_id'] != server_id]
            if not row.attachments:
                row['status'] = 'available'

    # -- snapshots ------------------------------------------------------------

    def snapshots(self, details=True, all_projects=False, **query):
        return self._read_all('snapshot', self._rows('snapshot', **query))

    def get_snapshot(self, snapshot):
        return self._out('snapshot', self._get('snapshot', snapshot))

    def find_snapshot(self, name_or_id, ignore_missing=True, details=True,
                      all_projects=False):
        found = self._find('snapshot', name_or_id, ignore_missing)
        return found and self.get_snapshot(found.id)

    def create_snapshot(self, volume_id, name=None, description=None,
                        force=False, metadata=None):
        volume = self._get('volume', volume_id)
        if volume.status != 'available' and not (
                force and volume.status == 'in-use'):
            raise self._bad_request(
                'Invalid volume: Volume %s status must be available, but '
                'current status is: %s.' % (volume.id, volume.status))
        self._check_quota(snapshots=1, gigabytes=volume.size)
        snapshot = self._add(
            'snapshot', name=name, description=description,
            volume_id=volume.id, size=volume.size, status='creating',
            metadata=dict(metadata or {}), is_forced=bool(force),
            progress='100%', created_at=base.now())
        self._data[snapshot.id] = self._data[volume.id].copy()
        self._begin({}, {('snapshot', snapshot.id): 'available'})
        return snapshot

    def delete_snapshot(self, snapshot, ignore_missing=True, force=False):
        snapshot_id = base.ident(snapshot)
        self._delete('snapshot', snapshot_id, ignore_missing)
        self._data.pop(snapshot_id, None)

    # -- backups --------------------------------------------------------------

    def backups(self, details=True, **query):
        return self._read_all('backup', self._rows('backup', **query))

    def get_backup(self, backup):
        return self._out('backup', self._get('backup', backup))

    def find_backup(self, name_or_id, ignore_missing=True, details=True,
                    all_projects=False):
        found = self._find('backup', name_or_id, ignore_missing)
        return found and self.get_backup(found.id)

    def create_backup(self, volume_id, name=None, description=None,
                      container=None, snapshot_id=None, force=False,
                      is_incremental=False, incremental=None, metadata=None,
                      availability_zone=None):
        volume = self._get('volume', volume_id)
        incremental = is_incremental if incremental is None else incremental
        if volume.status not in ('available', 'in-use'):
            raise self._bad_request(
                'Invalid volume: Volume to be backed up must be available or '
                'in-use, but the current status is "%s".' % volume.status)
        if volume.status == 'in-use' and not force and not snapshot_id:
            raise self._bad_request('Invalid volume: Backing up an in-use '
                                    'volume must use the force flag.')
        content = self._data[volume.id]
        if snapshot_id:
            snapshot = self._get('snapshot', snapshot_id)
            if snapshot.status != 'available':
                raise self._bad_request(
                    'Invalid snapshot: Snapshot to be backed up must be '
                    'available, but the current status is "%s".'
                    % snapshot.status)
            content = self._data[snapshot.id]
        parent = earlier = None
        if incremental:
            parents = [b for b in self._rows('backup', volume_id=volume.id)
                       if b.status == 'available']
            if not parents:
                raise self._bad_request('Invalid backup: No backups available '
                                        'to do an incremental backup.')
            parent = max(parents, key=lambda b: b._sequence)
            earlier = self._resolve(parent)
        backup_id = base.new_id('backup')
        # Where the posix driver writes: <id[0:2]>/<id[2:4]>/<id>.
        container = container or '/'.join([backup_id[:2], backup_id[2:4],
                                           backup_id])
        stamp = base.now()
        self._add('backup', id=backup_id, name=name, description=description,
                  volume_id=volume.id, snapshot_id=snapshot_id,
                  size=volume.size, status='creating',
                  is_incremental=bool(incremental),
                  has_dependent_backups=False, container=container,
                  object_count=len(content.blocks) + 1,
                  availability_zone=availability_zone or 'nova',
                  metadata=dict(metadata or {}), data_timestamp=stamp,
                  created_at=stamp, updated_at=stamp, fail_reason=None,
                  _parent_id=parent and parent.id, _sequence=self._next())
        outcome = 'available'
        if parent is not None and earlier is None:
            outcome = 'error'  # the parent's files are out of reach
        else:
            self._site.backup_repository[backup_id] = {
                'size': content.size,
                'changes': content.changes_since(earlier or data_mod.Blob())}
        if parent is not None:
            parent['has_dependent_backups'] = True
        during, after = {}, {('backup', backup_id): outcome}
        if volume.status == 'available':
            during[('volume', volume.id)] = 'backing-up'
            after[('volume', volume.id)] = 'available'
        self._begin(during, after)
        # Cinder answers with the id and the name; the SDK keeps what it
        # sent: no size, no status yet.
        return self._types['backup']({
            'id': backup_id, 'name': name, 'description': description,
            'volume_id': volume.id, 'snapshot_id': snapshot_id,
            'is_incremental': bool(incremental)})

    def _resolve(self, backup):
        """The bytes a restore of ``backup`` gives here, None if unreachable.

        The chain is read from this site's backup rows, the files from the
        repository the site sees.
        """
        chain = []
        while backup is not None:
            files = self._site.backup_repository.get(backup.id)
            if files is None:
                return None
            chain.append(files)
            parent_id = backup._parent_id
            if parent_id is None:
                break
            backup = self._tables['backup'].get(parent_id)
            if backup is None:
                return None
        blob = data_mod.Blob()
        for files in reversed(chain):
            blob = blob.patched(files['size'], files['changes'])
        return blob

    def delete_backup(self, backup, ignore_missing=True, force=False):
        backup_id = base.ident(backup)
        row = self._tables['backup'].get(backup_id)
        if row is None:
            return self._delete('backup', backup_id, ignore_missing)
        self._advance('backup', row)
        if row.status not in ('available', 'error') and not force:
            raise self._bad_request(
                'Invalid backup: Backup status must be available or error')
        if self._rows('backup', _parent_id=backup_id):
            raise self._bad_request('Invalid backup: Incremental backups '
                                    'exist for this backup.')
        self._delete('backup', backup_id, False)
        # The driver deletes the backup's files, wherever they are seen.
        self._site.backup_repository.pop(backup_id, None)
        parent = self._tables['backup'].get(row._parent_id)
        if parent is not None:
            parent['has_dependent_backups'] = bool(
                self._rows('backup', _parent_id=parent.id))

    def restore_backup(self, backup, volume=None, name=None, volume_id=None):
        """Restore into ``volume``, or a new volume named ``name``.

        As the SDK, this returns a Backup with only the ``volume_id`` and
        ``volume_name`` restored to.
        """
        volume = volume or volume_id
        if not (volume or name):
            raise os_exc.SDKException(
                'Either of `name` or `volume_id` must be specified.')
        row = self._get('backup', backup)
        if row.status != 'available':
            raise self._bad_request(
                'Invalid backup: Backup status must be available')
        blob = self._resolve(row)
        if volume:
            target = self._get('volume', volume)
            if target.status != 'available':
                raise self._bad_request('Invalid volume: Volume to be '
                                        'restored to must be available')
            if target.size < row.size:
                raise self._bad_request(
                    'Invalid volume: volume size %d is too small to restore '
                    'backup of size %d.' % (target.size, row.size))
        else:
            self._check_quota(volumes=1, gigabytes=row.size)
            # As Cinder, which marks the volumes it makes for a restore.
            target = self._new_volume(
                row.size, name=name,
                description='auto-created_from_restore_from_backup')
        if blob is not None:
            self._data[target.id] = blob.copy(target.size * data_mod.GIB)
        target['is_bootable'] = False
        self._begin({('volume', target.id): 'restoring-backup',
                     ('backup', row.id): 'restoring'},
                    {('volume', target.id): ('available' if blob is not None
                                             else 'error_restoring'),
                     ('backup', row.id): 'available'})
        return base.resource_type(_backup.Backup)(
            id=row.id, volume_id=target.id, volume_name=target.name)

    # -- backup records: export, and the import by raw request ----------------

    def export_backup(self, backup):
        """``{'backup-record': {'backup_service', 'backup_url'}}``."""
        row = self._get('backup', backup)
        if row.status != 'available':
            raise self._bad_request('Invalid backup: Backup status must be '
                                    'available and not restoring.')
        record = {'id': row.id, 'parent_id': row._parent_id,
                  'display_name': row.name,
                  'display_description': row.description,
                  'volume_id': row.volume_id, 'snapshot_id': row.snapshot_id,
                  'size': row.size, 'container': row.container,
                  'object_count': row.object_count,
                  'is_incremental': row.is_incremental,
                  'availability_zone': row.availability_zone,
                  'data_timestamp': row.data_timestamp,
                  'metadata': row.metadata, 'service': BACKUP_SERVICE}
        url = base64.b64encode(json.dumps(record).encode()).decode()
        return {'backup-record': {'backup_service': BACKUP_SERVICE,
                                  'backup_url': url}}

    def export_record(self, backup):
        """The deprecated form: the raw response of the export."""
        return self.get('/backups/%s/export_record' % base.ident(backup))

    def import_backup(self, service, url):
        """As openstacksdk 4.22's: it posts to the wrong path, a 404."""
        response = self.post('/backups/export_record', json={
            'backup-record': {'backup_service': service, 'backup_url': url}})
        os_exc.raise_from_response(response)

    def get(self, path, **kwargs):
        """A raw GET: ``/backups/<id>/export_record`` is answered."""
        parts = path.strip('/').split('/')
        if (len(parts) == 3 and parts[0] == 'backups' and
                parts[2] == 'export_record'):
            try:
                return base.FakeResponse(200, self.export_backup(parts[1]),
                                         url=self._url + path)
            except os_exc.HttpException as error:
                return error.response
        return base.error_response(404, 'The resource could not be found.',
                                   self._url + path)

    def post(self, path, json=None, **kwargs):
        """A raw POST: ``/backups/import_record`` imports a backup record.

        As with openstacksdk's proxies, an error is an answer, not an
        exception: check ``status_code`` (or use
        ``openstack.exceptions.raise_from_response``).
        """
        url = self._url + path
        if path.rstrip('/') != IMPORT_PATH:
            return base.error_response(
                404, 'The resource could not be found.', url, 'POST')
        try:
            row = self._import((json or {})['backup-record'])
        except (KeyError, TypeError, ValueError, binascii.Error):
            return base.error_response(400, 'Invalid input received: '
                                            "Can't parse backup record.",
                                       url, 'POST')
        except os_exc.HttpException as error:
            return base.error_response(error.status_code, error.details,
                                       url, 'POST')
        return base.FakeResponse(201, {'backup': {
            'id': row.id, 'name': row.name, 'links': []}}, url=url,
            method='POST')

    def _import(self, record):
        fields = json.loads(base64.b64decode(record['backup_url']))
        if fields['id'] in self._tables['backup']:
            raise self._bad_request(
                'Invalid backup: Backup already exists in database.')
        stamp = base.now()
        # Cinder does not count dependents on import: the parent here keeps
        # has_dependent_backups false (RECIPE.md 3a).  The backup is
        # "creating", of size 0 and of no volume until the backup service
        # has read the record.
        self._add('backup', id=fields['id'], name=None, description=None,
                  volume_id=IMPORT_VOLUME_ID, snapshot_id=None, size=0,
                  status='creating', is_incremental=False,
                  has_dependent_backups=False, container=None,
                  object_count=0, availability_zone=None, metadata={},
                  data_timestamp=stamp, created_at=stamp, updated_at=stamp,
                  fail_reason=None, _parent_id=fields['parent_id'],
                  _sequence=self._next(), _when_done={
                      'name': fields['display_name'],
                      'description': fields['display_description'],
                      'volume_id': fields['volume_id'],
                      'snapshot_id': fields['snapshot_id'],
                      'size': fields['size'],
                      'is_incremental': fields['is_incremental'],
                      'container': fields['container'],
                      'object_count': fields['object_count'],
                      'availability_zone': fields['availability_zone'],
                      'metadata': fields['metadata'],
                      'data_timestamp': fields['data_timestamp']})
        self._begin({}, {('backup', fields['id']): 'available'})
        return self._tables['backup'][fields['id']]

    # -- images ---------------------------------------------------------------

    def upload_volume_to_image(self, volume, image_name, force=False,
                               disk_format=None, container_format=None,
                               visibility=None, protected=None):
        row = self._get('volume', volume)
        # Cinder ignores force unless enable_force_upload is set.
        force = force and self._site.enable_force_upload
        allowed = ('available', 'in-use') if force else ('available',)
        if row.status not in allowed:
            raise self._bad_request('Invalid volume: Volume %s status must '
                                    'be %s' % (row.id, ' or '.join(allowed)))
        glance = self._site._raw_image
        # Cinder copies the volume's image metadata but Glance's core
        # properties into the image's properties.
        properties = {k: v for k, v in (row.get('volume_image_metadata')
                                        or {}).items()
                      if k not in GLANCE_CORE_PROPERTIES}
        image = glance.create_image(
            image_name, disk_format=disk_format or 'raw',
            container_format=container_format or 'bare',
            visibility=visibility or 'private',
            is_protected=bool(protected), allow_duplicates=True,
            meta=properties)
        glance._upload(image.id, self._data[row.id].copy(),
                       reads=self._site.storage_reads)
        self._begin({('volume', row.id): 'uploading'},
                    {('volume', row.id): row.status})
        return {'id': row.id, 'updated_at': base.now(), 'status': 'uploading',
                'display_description': row.description, 'size': row.size,
                'volume_type': {'name': row.volume_type},
                'image_id': image.id, 'image_name': image_name,
                'container_format': image.container_format,
                'disk_format': image.disk_format,
                'visibility': image.visibility,
                'protected': image.is_protected}

    # -- volume types and replication -----------------------------------------
    #
    # A volume is replicated when its type's extra spec replication_enabled
    # is '<is> True' (``site.add_volume_type``): its replication_status is
    # then 'enabled', else 'disabled'.  Failovers are Cinder's: of a
    # replication group (``site.replication_group``), or of the backend
    # (the cinder-volume service ``HOST``); each makes its replicated
    # volumes 'failed-over', and refuses a second time, as Cinder does.

    def _type_row(self, name):
        return {'id': 'type-' + name, 'name': name, 'is_public': True,
                'description': None,
                'extra_specs': dict(self._site.volume_type_specs.get(
                    name, {}))}

    def types(self, **query):
        return [self._types['type'](self._type_row(name))
                for name in sorted(self._site.volume_types)
                if all(self._type_row(name).get(k) == v
                       for k, v in query.items())]

    def get_type(self, type):
        name = base.ident(type)
        name = name[len('type-'):] if name.startswith('type-') else name
        if name not in self._site.volume_types:
            raise self._error(404, 'Volume type %s could not be found.'
                              % base.ident(type))
        return self._types['type'](self._type_row(name))

    def find_type(self, name_or_id, ignore_missing=True):
        try:
            return self.get_type(name_or_id)
        except os_exc.NotFoundException:
            if ignore_missing:
                return None
            raise

    def _add_group(self, name, volume_ids):
        group = self._add('group', name=name, status='available',
                          replication_status='enabled',
                          volumes=list(volume_ids), group_type='replicated',
                          volume_types=[])
        for volume_id in volume_ids:
            self._get('volume', volume_id)['group_id'] = group.id
        return group

    def groups(self, details=True, **query):
        return self._list('group', **query)

    def get_group(self, group):
        return self._out('group', self._get('group', group))

    def failover_group_replication(self, group, allowed_attached_volume=False,
                                   secondary_backend_id=None):
        row = self._get('group', group)
        if row.replication_status != 'enabled':
            raise self._bad_request(
                'Invalid group: Replication status should be enabled or '
                'failed-over, but current status is: %s.'
                % row.replication_status)
        volumes = [self._get('volume', v) for v in row.volumes]
        if not allowed_attached_volume and any(v.attachments
                                               for v in volumes):
            raise self._bad_request(
                'Invalid group: Volume in group %s is attached. Need to '
                'allow attached volumes to be failed over.' % row.id)
        row['replication_status'] = 'failed-over'
        for volume in volumes:
            volume['replication_status'] = 'failed-over'

    def services(self, **query):
        row = {'id': HOST, 'binary': 'cinder-volume', 'host': HOST,
               'status': 'enabled', 'state': 'up', 'zone': 'nova',
               'replication_status': self._site.replication_state[0],
               'active_backend_id': self._site.replication_state[1]}
        return [self._types['service'](row)
                for row in (row,) if all(row.get(k) == v for k, v in
                                         query.items() if v is not None)]

    def failover_service(self, service, cluster=None, backend_id=None):
        host = getattr(service, 'host', None) or base.ident(service)
        if host != HOST:
            raise self._error(404, 'Host %s could not be found.' % host)
        if self._site.replication_state[0] != 'enabled':
            raise self._bad_request(
                'Invalid input received: Host is not enabled for '
                'replication or is already failed over (%s).'
                % self._site.replication_state[0])
        self._site.replication_state = ['failed-over',
                                        backend_id or 'secondary']
        for row in self._tables['volume'].values():
            if row.host.split('#')[0] == host and \
                    row.replication_status == 'enabled':
                row['replication_status'] = 'failed-over'
        return self.services()[0]
