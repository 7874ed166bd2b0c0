"""Tests of the fake block storage proxy: volumes, snapshots, backups."""

from openstack import exceptions as os_exc

from geoflows.testing import fakecloud
from geoflows.testing.fakecloud import data
from tests.unit.testing.fakecloud import base

MIB = 1024 * 1024


class StorageTestCase(base.FakeCloudTestCase):

    def volume(self, size=1, site=None, **attrs):
        """A new volume, read once so that it is available."""
        storage = (site or self.site).block_storage
        volume = storage.create_volume(size=size, **attrs)
        return storage.get_volume(volume.id)

    def ready(self, kind, resource, site=None):
        storage = (site or self.site).block_storage
        return getattr(storage, 'get_%s' % kind)(resource.id)

    def in_use(self, volume):
        server = self.boot()
        self.compute.create_volume_attachment(server, volume)
        return server


class TestVolumes(StorageTestCase):

    def test_new_volume_is_creating_then_available(self):
        self.site.storage_reads = 1
        volume = self.storage.create_volume(size=2, name='data')

        statuses = [volume.status] + [
            self.storage.get_volume(volume.id).status for _ in range(2)]

        self.assertEqual(['creating', 'creating', 'available'], statuses)

    def test_call_using_a_new_volume_sees_it_available(self):
        volume = self.storage.create_volume(size=1)

        self.storage.delete_volume(volume.id)

        self.assertEqual([], self.storage.volumes())

    def test_call_using_a_volume_still_creating_is_refused(self):
        self.site.storage_reads = 1
        volume = self.storage.create_volume(size=1)

        self.assertHttpError(400, 'Volume status must be available',
                             self.storage.delete_volume, volume.id)
        self.storage.delete_volume(volume.id)

    def test_volume_shows_cinder_attributes(self):
        volume = self.volume(size=2, name='data', metadata={'k': 'v'},
                             availability_zone='az1')

        self.assertEqual(
            (2, False, [], '__DEFAULT__', 'az1', {'k': 'v'}, 'disabled',
             False),
            (volume.size, volume.is_bootable, volume.attachments,
             volume.volume_type, volume.availability_zone, volume.metadata,
             volume.replication_status, volume.is_multiattach))

    def test_unknown_type_and_zone_are_refused(self):
        self.assertHttpError(404, 'Volume type with name gold could not be '
                             'found.', self.storage.create_volume, size=1,
                             volume_type='gold')
        self.assertHttpError(400, "Availability zone 'az9' is invalid.",
                             self.storage.create_volume, size=1,
                             availability_zone='az9')

    def test_volume_in_use_cannot_be_deleted(self):
        volume = self.volume()
        self.in_use(volume)

        self.assertHttpError(400, 'must not be migrating, attached',
                             self.storage.delete_volume, volume.id)

    def test_volume_with_snapshots_needs_cascade(self):
        volume = self.volume()
        self.storage.create_snapshot(volume_id=volume.id)

        self.assertHttpError(400, 'have snapshots',
                             self.storage.delete_volume, volume.id)
        self.storage.delete_volume(volume.id, cascade=True)
        self.assertEqual(([], []), (self.storage.volumes(),
                                    self.storage.snapshots()))

    def test_bootable_flag_and_extension(self):
        volume = self.volume()
        self.site.write_volume(volume.id, 0, b'boot')

        self.storage.set_volume_bootable_status(volume, True)
        self.storage.extend_volume(volume, 2)

        got = self.storage.get_volume(volume.id)
        self.assertEqual((True, 2), (got.is_bootable, got.size))
        self.assertEqual(b'boot', self.site.read_volume(volume.id, 0, 4))
        self.assertHttpError(400, 'New size for extend must be greater',
                             self.storage.extend_volume, volume, 1)

    def test_volume_from_an_image_has_its_bytes_and_boots(self):
        image = self.make_image(data=b'\x01' * 5000, min_disk=1)

        volume = self.volume(image_id=image.id)

        self.assertEqual(b'\x01' * 5000 + b'\x00',
                         self.site.read_volume(volume.id, 0, 5001))
        self.assertEqual((True, image.id), (
            volume.is_bootable, volume.volume_image_metadata['image_id']))

    def test_volume_from_a_volume_is_a_copy(self):
        source = self.volume()
        self.site.write_volume(source.id, MIB, b'data')

        clone = self.volume(source_volume_id=source.id)
        self.site.write_volume(source.id, MIB, b'more')

        self.assertEqual(b'data', self.site.read_volume(clone.id, MIB, 4))
        self.assertHttpError(400, 'cannot be smaller than the volume size',
                             self.storage.create_volume, size=1,
                             source_volume_id=self.volume(size=2).id)

    def test_quota_of_volumes_and_gigabytes(self):
        self.site.set_quota(volumes=2, gigabytes=3)
        self.volume(size=2)

        self.assertHttpError(413, 'Requested volume or snapshot exceeds '
                             'allowed gigabytes quota. Requested 2G, quota '
                             'is 3G and 2G has been consumed.',
                             self.storage.create_volume, size=2)
        self.volume(size=1)
        self.assertHttpError(413, 'Maximum number of volumes allowed (2) '
                             "exceeded for quota 'volumes'.",
                             self.storage.create_volume, size=1)
        quota = self.storage.get_quota_set('project', usage=True)
        self.assertEqual((2, 3, {'volumes': 2, 'gigabytes': 3}),
                         (quota.volumes, quota.gigabytes, {
                             k: quota.usage[k] for k in ('volumes',
                                                         'gigabytes')}))


class TestVolumeBytes(StorageTestCase):

    def test_sha256_of_zeros_with_writes(self):
        volume = self.volume()
        empty = self.site.volume_sha256(volume.id)

        self.site.write_volume(volume.id, 512 * MIB, b'pattern' * 100)
        written = self.site.volume_sha256(volume.id)
        self.site.write_volume(volume.id, 512 * MIB, bytes(700))

        self.assertNotEqual(empty, written)
        self.assertEqual(empty, self.site.volume_sha256(volume.id))

    def test_write_beyond_the_volume_is_refused(self):
        volume = self.volume()

        self.assertRaises(ValueError, self.site.write_volume, volume.id,
                          data.GIB - 1, b'xy')

    def test_missing_volume_is_not_found(self):
        self.assertRaises(os_exc.NotFoundException, self.site.volume_sha256,
                          'nope')


class TestSnapshots(StorageTestCase):

    def test_in_use_volume_needs_force(self):
        volume = self.volume()
        self.in_use(volume)

        self.assertHttpError(400, 'Volume %s status must be available, but '
                             'current status is: in-use.' % volume.id,
                             self.storage.create_snapshot,
                             volume_id=volume.id)
        snapshot = self.storage.create_snapshot(volume_id=volume.id,
                                                force=True)
        self.assertEqual('available', self.ready('snapshot', snapshot).status)

    def test_volume_from_a_snapshot_has_the_bytes_of_its_time(self):
        volume = self.volume()
        self.site.write_volume(volume.id, 0, b'before')
        snapshot = self.storage.create_snapshot(volume_id=volume.id,
                                                name='s1')
        self.site.write_volume(volume.id, 0, b'after!')

        restored = self.volume(snapshot_id=self.ready('snapshot',
                                                      snapshot).id)

        self.assertEqual(b'before', self.site.read_volume(restored.id, 0, 6))


class TestBackups(StorageTestCase):

    def setUp(self):
        super().setUp()
        self.source = self.volume(name='data')
        self.site.write_volume(self.source.id, 0, b'first')

    def backup(self, site=None, **attrs):
        storage = (site or self.site).block_storage
        backup = storage.create_backup(volume_id=self.source.id, **attrs)
        return storage.get_backup(backup.id)

    def restore(self, backup, site=None):
        storage = (site or self.site).block_storage
        result = storage.restore_backup(backup.id, name='restored')
        return storage.get_volume(result.volume_id)

    def test_backup_is_creating_then_available(self):
        self.site.storage_reads = 1
        backup = self.storage.create_backup(volume_id=self.source.id)

        # As Cinder's answer (the id and the name): no status nor size yet.
        self.assertEqual([None, None], [backup.status, backup.size])
        self.assertEqual(['creating', 'backing-up'], [
            self.storage.get_backup(backup.id).status,
            self.storage.get_volume(self.source.id).status])
        self.assertEqual(['available', 'available'], [
            self.storage.get_backup(backup.id).status,
            self.storage.get_volume(self.source.id).status])

    def test_in_use_volume_needs_force(self):
        self.in_use(self.source)

        self.assertHttpError(400, 'Backing up an in-use volume must use the '
                             'force flag.', self.storage.create_backup,
                             volume_id=self.source.id)
        self.assertEqual('available', self.backup(force=True).status)

    def test_incremental_needs_an_earlier_backup(self):
        self.assertHttpError(400, 'No backups available to do an incremental '
                             'backup.', self.storage.create_backup,
                             volume_id=self.source.id, is_incremental=True)

    def test_restore_gives_the_bytes_of_the_backup_time(self):
        full = self.backup()
        at_full = self.site.volume_sha256(self.source.id)
        self.site.write_volume(self.source.id, 100 * MIB, b'second')
        incremental = self.backup(is_incremental=True)
        at_incremental = self.site.volume_sha256(self.source.id)
        self.site.write_volume(self.source.id, 600 * MIB, b'third')

        from_full = self.restore(full)
        from_incremental = self.restore(incremental)

        self.assertTrue(incremental.is_incremental)
        self.assertEqual(
            (at_full, at_incremental, 'available', False),
            (self.site.volume_sha256(from_full.id),
             self.site.volume_sha256(from_incremental.id),
             from_incremental.status, from_incremental.is_bootable))

    def test_parent_with_incrementals_cannot_be_deleted(self):
        full = self.backup()
        incremental = self.backup(is_incremental=True)

        self.assertTrue(self.storage.get_backup(
            full.id).has_dependent_backups)
        self.assertHttpError(400, 'Incremental backups exist for this '
                             'backup.', self.storage.delete_backup, full.id)
        self.storage.delete_backup(incremental.id)
        self.assertFalse(self.storage.get_backup(
            full.id).has_dependent_backups)
        self.storage.delete_backup(full.id)

    def test_restore_into_a_volume_too_small_is_refused(self):
        backup = self.backup()
        small = self.volume(size=1)
        self.storage.extend_volume(self.source, 2)
        bigger = self.backup()

        self.assertHttpError(400, 'volume size 1 is too small to restore '
                             'backup of size 2.', self.storage.restore_backup,
                             bigger.id, volume_id=small.id)
        result = self.storage.restore_backup(backup.id, volume=small.id)
        self.assertEqual((backup.id, small.id), (result.id, result.volume_id))

    def test_restore_needs_a_name_or_a_volume(self):
        backup = self.backup()

        self.assertRaises(os_exc.SDKException, self.storage.restore_backup,
                          backup.id)

    def test_restored_volume_shows_restoring_then_available(self):
        backup = self.backup()
        self.site.storage_reads = 1

        result = self.storage.restore_backup(backup.id, name='restored')

        self.assertEqual(['restoring-backup', 'restoring'], [
            self.storage.get_volume(result.volume_id).status,
            self.storage.get_backup(backup.id).status])
        self.assertEqual('available',
                         self.storage.get_volume(result.volume_id).status)


class TestBackupRecords(StorageTestCase):
    """Export, import and restore at another site (RECIPE.md 3a)."""

    shared = True

    def setUp(self):
        super().setUp()
        self.clouds = fakecloud.FakeClouds(
            shared_backup_repository=self.shared)
        self.site = self.clouds.site('telco', 'paris')
        self.lyon = self.clouds.site('telco', 'lyon')
        self.storage = self.site.block_storage
        self.source = self.volume(name='data')
        self.site.write_volume(self.source.id, 0, b'first')

    def backup(self, **attrs):
        backup = self.storage.create_backup(volume_id=self.source.id,
                                            force=True, **attrs)
        return self.storage.get_backup(backup.id)

    def import_into(self, site, backup):
        record = self.storage.export_backup(backup.id)
        return site.block_storage.post('/backups/import_record',
                                       json=record)

    def restore_at(self, site, backup):
        storage = site.block_storage
        result = storage.restore_backup(backup.id, name='restored')
        return storage.get_volume(result.volume_id)


class TestSharedRepository(TestBackupRecords):

    def test_export_record_is_the_backup_row(self):
        backup = self.backup()

        record = self.storage.export_backup(backup.id)['backup-record']

        self.assertEqual('cinder.backup.drivers.posix.PosixBackupDriver',
                         record['backup_service'])
        self.assertEqual(
            record, self.storage.get(
                '/backups/%s/export_record' % backup.id).json()[
                    'backup-record'])

    def test_every_sdk_way_to_export_gives_the_record(self):
        backup = self.backup()
        record = self.storage.export_backup(backup.id)

        self.assertEqual([record, record], [
            backup.export_record(self.storage),
            self.storage.export_record(backup).json()])

    def test_imported_backup_keeps_its_id_and_restores(self):
        backup = self.backup(name='nightly')

        response = self.import_into(self.lyon, backup)

        self.assertEqual(201, response.status_code)
        self.assertEqual(backup.id, response.json()['backup']['id'])
        imported = self.lyon.block_storage.get_backup(backup.id)
        self.assertEqual(('available', 'nightly'), (imported.status,
                                                    imported.name))
        restored = self.restore_at(self.lyon, backup)
        self.assertEqual('available', restored.status)
        self.assertEqual(self.site.volume_sha256(self.source.id),
                         self.lyon.volume_sha256(restored.id))

    def test_an_imported_backup_is_filled_in_once_available(self):
        backup = self.backup(name='nightly')
        self.lyon.storage_reads = 1

        self.import_into(self.lyon, backup)

        storage = self.lyon.block_storage
        first = storage.get_backup(backup.id)
        self.assertEqual(('creating', 0, None), (first.status, first.size,
                                                 first.name))
        later = storage.get_backup(backup.id)
        self.assertEqual(('available', backup.size, 'nightly',
                          self.source.id), (later.status, later.size,
                                            later.name, later.volume_id))

    def test_importing_twice_is_refused(self):
        backup = self.backup()
        self.import_into(self.lyon, backup)

        response = self.import_into(self.lyon, backup)

        self.assertEqual(400, response.status_code)
        error = self.assertRaises(os_exc.BadRequestException,
                                  os_exc.raise_from_response, response)
        self.assertIn('Backup already exists in database.', error.details)

    def test_import_after_delete_is_accepted(self):
        backup = self.backup()
        self.import_into(self.lyon, backup)
        self.lyon.block_storage.delete_backup(backup.id)

        self.assertEqual(201, self.import_into(self.lyon, backup).status_code)

    def test_sdk_import_posts_to_the_wrong_path(self):
        record = self.storage.export_backup(self.backup().id)['backup-record']

        self.assertRaises(os_exc.NotFoundException,
                          self.lyon.block_storage.import_backup,
                          record['backup_service'], record['backup_url'])

    def test_bad_record_is_refused(self):
        response = self.lyon.block_storage.post(
            '/backups/import_record', json={'backup-record': {
                'backup_service': 'x', 'backup_url': 'not base64!'}})

        self.assertEqual(400, response.status_code)

    def test_incremental_chain_restores_at_the_other_site(self):
        full = self.backup()
        self.site.write_volume(self.source.id, 100 * MIB, b'second')
        incremental = self.backup(is_incremental=True)
        self.import_into(self.lyon, full)
        self.import_into(self.lyon, incremental)

        restored = self.restore_at(self.lyon, incremental)

        self.assertEqual(self.site.volume_sha256(self.source.id),
                         self.lyon.volume_sha256(restored.id))
        # Cinder does not count the dependents of an imported parent.
        self.assertFalse(self.lyon.block_storage.get_backup(
            full.id).has_dependent_backups)

    def test_incremental_without_its_parent_imported_fails(self):
        self.backup()
        incremental = self.backup(is_incremental=True)
        self.import_into(self.lyon, incremental)

        self.assertEqual('error_restoring',
                         self.restore_at(self.lyon, incremental).status)

    def test_deleting_a_record_deletes_the_shared_files(self):
        backup = self.backup()
        self.import_into(self.lyon, backup)

        self.lyon.block_storage.delete_backup(backup.id)

        restored = self.restore_at(self.site, backup)
        self.assertEqual('error_restoring', restored.status)


class TestSeparateRepositories(TestBackupRecords):

    shared = False

    def test_restore_without_the_files_ends_in_error_restoring(self):
        backup = self.backup()
        self.import_into(self.lyon, backup)

        restored = self.restore_at(self.lyon, backup)

        self.assertEqual('error_restoring', restored.status)
        self.assertEqual('available', self.lyon.block_storage.get_backup(
            backup.id).status)

    def test_restore_works_once_the_files_are_copied(self):
        backup = self.backup()
        self.import_into(self.lyon, backup)

        self.lyon.copy_backup_files(backup.id, self.site)

        restored = self.restore_at(self.lyon, backup)
        self.assertEqual('available', restored.status)
        self.assertEqual(self.site.volume_sha256(self.source.id),
                         self.lyon.volume_sha256(restored.id))


class TestUploadToImage(StorageTestCase):

    def test_in_use_volume_is_refused_even_with_force(self):
        volume = self.volume()
        self.in_use(volume)

        self.assertHttpError(400, 'Volume %s status must be available'
                             % volume.id,
                             self.storage.upload_volume_to_image, volume,
                             'copy', force=True)

    def test_force_works_where_cinder_allows_it(self):
        volume = self.volume()
        self.in_use(volume)
        self.site.enable_force_upload = True

        result = self.storage.upload_volume_to_image(
            volume, 'copy', force=True, disk_format='raw',
            container_format='bare')

        self.assertEqual('active', self.images.get_image(
            result['image_id']).status)

    def test_image_carries_the_volume_bytes_to_another_volume(self):
        volume = self.volume()
        self.site.write_volume(volume.id, 3 * MIB, b'payload')

        result = self.storage.upload_volume_to_image(volume, 'copy')
        image = self.images.get_image(result['image_id'])
        copy = self.volume(image_id=image.id)

        self.assertEqual((data.GIB, 'private', 'raw'),
                         (image.size, image.visibility, image.disk_format))
        self.assertEqual(self.site.volume_sha256(volume.id),
                         self.site.volume_sha256(copy.id))
        self.assertEqual('uploading', result['status'])
