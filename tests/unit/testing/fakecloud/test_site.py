"""Tests of the fake sites: instrumentation, clones, inventories."""

from openstack import exceptions as os_exc

from geoflows.testing import fakecloud
from tests.unit.testing.fakecloud import base

PARIS = {'name': 'paris', 'cloud': 'telco', 'region': 'paris'}


class RecordingWorkers(object):
    """Workers that record the calls they serve."""

    def __init__(self):
        self.served = []

    def serve(self, latency):
        self.served.append(latency)


class TestInstrumentation(base.FakeCloudTestCase):

    def test_clouds_give_the_proxies_of_the_site(self):
        self.assertEqual(
            [self.site.network, self.site.compute, self.site.block_storage,
             self.site.image],
            [self.clouds.network(PARIS), self.clouds.compute(PARIS),
             self.clouds.block_storage(PARIS), self.clouds.image(PARIS)])

    def test_every_proxy_waits_for_the_site_workers(self):
        self.site.latency = 0.25
        self.site.workers = RecordingWorkers()

        self.site.network.networks()
        self.site.compute.flavors()
        self.site.block_storage.volumes()
        self.site.image.images()

        self.assertEqual([0.25] * 4, self.site.workers.served)

    def test_calls_are_counted_by_name_and_by_service(self):
        self.site.compute.get_limits()
        self.site.block_storage.get_limits()

        self.assertEqual((2, 1, 1), (
            self.site.calls['get_limits'],
            self.site.calls['compute.get_limits'],
            self.site.calls['block_storage.get_limits']))

    def test_qualified_fault_hits_only_its_service(self):
        self.site.fail('block_storage.get_limits')

        self.site.compute.get_limits()
        error = self.assertRaises(os_exc.HttpException,
                                  self.site.block_storage.get_limits)

        self.assertEqual(500, error.status_code)
        self.site.block_storage.get_limits()

    def test_bare_fault_hits_the_first_service_to_call(self):
        self.site.fail('get_limits', error=os_exc.ConflictException('x'))

        self.assertRaises(os_exc.ConflictException,
                          self.site.compute.get_limits)
        self.site.block_storage.get_limits()


class TestClone(base.FakeCloudTestCase):

    def populate(self):
        server = self.boot()
        volume = self.storage.create_volume(size=1, name='data')
        self.storage.get_volume(volume.id)
        self.site.write_volume(volume.id, 0, b'before')
        self.compute.create_volume_attachment(server, volume)
        backup = self.storage.create_backup(volume_id=volume.id, force=True)
        self.site.set_quota(instances=7)
        return server, volume, self.storage.get_backup(backup.id)

    def test_clone_copies_every_table_and_the_bytes(self):
        server, volume, backup = self.populate()

        twin = self.clouds.clone().site('telco', 'paris')
        self.compute.delete_server(server)
        self.site.write_volume(volume.id, 0, b'after!')
        self.storage.delete_backup(backup.id)
        self.site.set_quota(instances=1)

        self.assertEqual('ACTIVE', twin.compute.get_server(server.id).status)
        self.assertEqual(['in-use', b'before'], [
            twin.block_storage.get_volume(volume.id).status,
            twin.read_volume(volume.id, 0, 6)])
        self.assertEqual(7, twin.quotas['instances'])
        restored = twin.block_storage.restore_backup(backup.id, name='r')
        self.assertEqual('available', twin.block_storage.get_volume(
            restored.volume_id).status)

    def test_clone_keeps_the_repository_shared_by_its_sites(self):
        server, volume, backup = self.populate()
        twin_clouds = self.clouds.clone()
        twin, twin_lyon = (twin_clouds.site('telco', 'paris'),
                           twin_clouds.site('telco', 'lyon'))

        self.assertIs(twin.backup_repository, twin_lyon.backup_repository)
        self.assertIsNot(twin.backup_repository, self.site.backup_repository)
        self.assertIn(backup.id, twin.backup_repository)

    def test_clone_of_images_keeps_their_data_and_used_ids(self):
        image = self.make_image(data=b'bytes')
        self.images.delete_image(image.id)
        kept = self.make_image('kept', data=b'kept')

        twin = self.clouds.clone().site('telco', 'paris')

        self.assertEqual(b'kept', twin.image.download_image(kept.id).content)
        self.assertHttpError(409, 'already exists', twin.image.create_image,
                             'again', id=image.id)


class TestInventory(base.FakeCloudTestCase):

    def build(self, site, order):
        network = self.make_network(site=site)
        volume = site.block_storage.create_volume(size=1, name='data')
        site.block_storage.get_volume(volume.id)
        flavor = self.make_flavor(site=site)
        image = self.make_image(site=site)
        for name in order:
            port = self.make_port(network, site=site, name=name)
            site.compute.create_server(name=name, flavor_id=flavor.id,
                                       image_id=image.id,
                                       networks=[{'port': port.id}])
        server = site.compute.find_server('vnf-1')
        site.compute.create_volume_attachment(server, volume)

    def twin_site(self):
        """The same site of another fake cloud."""
        return fakecloud.FakeClouds().site('telco', 'paris')

    def test_different_servers_give_different_inventories(self):
        twin = self.twin_site()
        self.build(self.site, ['vnf-1', 'vnf-2'])
        self.build(twin, ['vnf-2', 'vnf-1'])
        self.site.compute.delete_server(
            self.site.compute.find_server('vnf-1'))
        twin.compute.delete_server(twin.compute.find_server('vnf-2'))

        self.assertNotEqual(self.site.inventory(), twin.inventory())

    def test_inventory_covers_the_new_services(self):
        twin = self.twin_site()
        self.build(self.site, ['vnf-1', 'vnf-2'])
        self.build(twin, ['vnf-2', 'vnf-1'])

        inventory = self.site.inventory()

        self.assertEqual(inventory, twin.inventory())
        for kind in ('server', 'flavor', 'volume', 'image', 'port'):
            self.assertIn(kind, inventory)


class TestFakeCloudsOptions(base.FakeCloudTestCase):

    def test_separate_repositories_are_not_shared(self):
        clouds = fakecloud.FakeClouds(shared_backup_repository=False)

        self.assertIsNot(clouds.site('a').backup_repository,
                         clouds.site('b').backup_repository)
        self.assertIs(self.site.backup_repository,
                      self.other_site().backup_repository)
