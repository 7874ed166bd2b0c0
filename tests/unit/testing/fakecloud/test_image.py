"""Tests of the fake image proxy (Glance v2 as openstacksdk shows it)."""

import hashlib
import io
import os

from geoflows.testing.fakecloud import data
from tests.unit.testing.fakecloud import base

DATA = b'a small image\n' * 1000


class TestImages(base.FakeCloudTestCase):

    def create(self, name='img', **attrs):
        attrs.setdefault('disk_format', 'raw')
        attrs.setdefault('container_format', 'bare')
        return self.images.create_image(name, **attrs)

    def test_uploaded_image_is_active_with_its_checksums(self):
        created = self.create(data=DATA)

        image = self.images.get_image(created.id)

        self.assertEqual('queued', created.status)  # as the SDK returns it
        self.assertEqual(
            ('active', len(DATA), hashlib.md5(DATA).hexdigest(), 'sha512',
             hashlib.sha512(DATA).hexdigest()),
            (image.status, image.size, image.checksum, image.hash_algo,
             image.hash_value))

    def test_image_without_data_stays_queued_and_downloads_nothing(self):
        image = self.create()

        response = self.images.download_image(image.id)

        self.assertEqual(('queued', None), (self.images.get_image(
            image.id).status, image.size))
        self.assertEqual((204, b''), (response.status_code, response.content))

    def test_deleted_image_id_is_never_reused(self):
        image = self.create(id='0ab29e61', data=DATA)
        self.images.delete_image(image.id)

        self.assertHttpError(409, 'Image ID 0ab29e61 already exists!',
                             self.create, id='0ab29e61', data=DATA)

    def test_image_keeps_the_given_id(self):
        image = self.create(id='0ab29e61', data=DATA)

        self.assertEqual('0ab29e61', self.images.find_image('img').id)
        self.assertEqual(image.id, self.images.get_image('0ab29e61').id)

    def test_properties_as_the_sdk_shows_them(self):
        image = self.create(data=DATA, min_disk=1, min_ram=128,
                            visibility='private', os_distro='cirros',
                            hw_disk_bus='scsi', lab_role='vnf')

        got = self.images.get_image(image.id)

        self.assertEqual(('cirros', 'scsi', 1, 128, 'private'),
                         (got.os_distro, got.hw_disk_bus, got.min_disk,
                          got.min_ram, got.visibility))
        self.assertEqual({'lab_role': 'vnf',
                          'owner_specified.openstack.md5': '',
                          'owner_specified.openstack.sha256': '',
                          'owner_specified.openstack.object': 'images/img'},
                         got.properties)

    def test_raw_json_has_every_property(self):
        image = self.create(data=DATA, os_distro='cirros', lab_role='vnf')

        raw = self.images.get('/images/%s' % image.id).json()

        self.assertEqual(('cirros', 'vnf', 'sha512', False),
                         (raw['os_distro'], raw['lab_role'],
                          raw['os_hash_algo'], raw['protected']))
        self.assertEqual(404, self.images.get('/images/nope').status_code)

    def test_default_visibility_is_shared(self):
        self.assertEqual('shared', self.create().visibility)

    def test_read_only_attribute_is_forbidden(self):
        self.assertHttpError(403, "Attribute 'checksum' is read-only.",
                             self.create, checksum='x')
        image = self.create(name='other')
        self.assertHttpError(403, "Attribute 'os_hash_value' is read-only.",
                             self.images.update_image, image,
                             hash_value='x')

    def test_update_sets_a_property(self):
        image = self.create()

        self.images.update_image(image, lab_role='standby')

        self.assertEqual('standby', self.images.get_image(
            image.id).properties['lab_role'])

    def test_protected_image_cannot_be_deleted(self):
        image = self.create(is_protected=True)

        self.assertHttpError(403, 'is protected and cannot be deleted',
                             self.images.delete_image, image.id)

    def test_download_gives_the_bytes_in_every_mode(self):
        image = self.create(data=io.BytesIO(DATA))
        path = os.path.join(self.tmp, 'image.raw')
        stream = io.BytesIO()

        whole = self.images.download_image(image.id).content
        chunks = b''.join(self.images.download_image(
            image, stream=True).iter_content(1000))
        self.images.download_image(image.id, output=path)
        self.images.download_image(image.id, output=stream)

        with open(path, 'rb') as f:
            self.assertEqual([DATA] * 4, [whole, chunks, f.read(),
                                          stream.getvalue()])

    def test_upload_from_a_file(self):
        path = os.path.join(self.tmp, 'image.raw')
        with open(path, 'wb') as f:
            f.write(DATA)

        image = self.create(filename=path)

        self.assertEqual(hashlib.md5(DATA).hexdigest(),
                         self.images.get_image(image.id).checksum)

    def test_copy_to_another_site_keeps_id_and_checksums(self):
        source = self.images.get_image(self.create(data=DATA,
                                                   os_distro='x').id)
        other = self.other_site().image

        other.create_image(source.name, id=source.id,
                           data=self.images.download_image(source.id),
                           disk_format='raw', container_format='bare')

        copy = other.get_image(source.id)
        self.assertEqual((source.checksum, source.hash_value),
                         (copy.checksum, copy.hash_value))

    def test_large_image_digest_is_sparse_and_stable(self):
        blob = data.Blob(data.REAL_DIGEST_LIMIT + data.BLOCK_SIZE)
        blob.write(10, b'x')
        image = self.create()
        self.site._raw_image._upload(image.id, blob)

        got = self.images.get_image(image.id)

        self.assertEqual(blob.digest('md5'), got.checksum)
        self.assertEqual(blob.size, got.size)
