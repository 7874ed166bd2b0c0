"""Tests of the fake compute proxy: servers, flavors, keypairs, quotas."""

from openstack import exceptions as os_exc

from geoflows.testing.fakecloud import compute
from geoflows.testing.fakecloud import sfc
from tests.unit.testing.fakecloud import base


class TestBoot(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network()
        self.flavor = self.make_flavor()
        self.image = self.make_image()

    def boot_on(self, port, **attrs):
        return self.compute.create_server(
            name='vnf', flavor_id=self.flavor.id, image_id=self.image.id,
            networks=[{'port': port.id}], **attrs)

    def test_boot_binds_the_port_and_shows_its_address(self):
        port = self.make_port(self.network,
                              fixed_ips=[{'ip_address': '10.7.0.11'}])

        server = self.boot_on(port)

        bound = self.net.get_port(port.id)
        self.assertEqual((server.id, 'compute:nova', 'compute-nova',
                          'ACTIVE'),
                         (bound.device_id, bound.device_owner,
                          bound.binding_host_id, bound.status))
        self.assertEqual({'net': [{
            'addr': '10.7.0.11', 'version': 4, 'OS-EXT-IPS:type': 'fixed',
            'OS-EXT-IPS-MAC:mac_addr': port.mac_address}]},
            server.addresses)

    def test_boot_on_a_bound_port_is_refused(self):
        port = self.make_port(self.network)
        self.boot_on(port)

        self.assertHttpError(409, 'Port %s is still in use.' % port.id,
                             self.boot_on, port)

    def test_boot_on_a_missing_port_is_refused(self):
        self.assertHttpError(400, 'Port id nope could not be found.',
                             self.compute.create_server, name='vnf',
                             flavor_id=self.flavor.id, image_id=self.image.id,
                             networks=[{'port': 'nope'}])

    def test_network_request_makes_a_port_deleted_with_the_server(self):
        server = self.compute.create_server(
            name='vnf', flavor_id=self.flavor.id, image_id=self.image.id,
            networks=[{'uuid': self.network.id, 'fixed_ip': '10.7.0.50'}])
        [port] = self.net.ports(device_id=server.id)
        self.assertEqual('10.7.0.50', port.fixed_ips[0]['ip_address'])

        self.compute.delete_server(server.id)

        self.assertEqual([], self.net.ports(network_id=self.network.id))

    def test_refused_port_request_leaves_nothing_behind(self):
        taken = self.make_port(self.network,
                               fixed_ips=[{'ip_address': '10.7.0.50'}])
        free = self.make_port(self.network)

        self.assertHttpError(
            409, 'IP address 10.7.0.50 already allocated',
            self.compute.create_server, name='vnf', flavor_id=self.flavor.id,
            image_id=self.image.id, networks=[
                {'port': free.id},
                {'uuid': self.network.id, 'fixed_ip': '10.7.0.50'}])

        self.assertEqual([], self.compute.servers())
        self.assertEqual(sorted([free.id, taken.id]), sorted(
            p.id for p in self.net.ports(network_id=self.network.id)))
        self.assertEqual('', self.net.get_port(free.id).device_id)

    def test_deleting_the_server_unbinds_a_port_given_to_it(self):
        port = self.make_port(self.network)
        server = self.boot_on(port)

        self.compute.delete_server(server)

        unbound = self.net.get_port(port.id)
        self.assertEqual(('', '', ''), (unbound.device_id,
                                        unbound.device_owner,
                                        unbound.binding_host_id))
        self.assertIsNone(self.compute.find_server('vnf'))

    def test_networks_are_required(self):
        self.assertHttpError(400, "'networks' is a required property",
                             self.compute.create_server, name='vnf',
                             flavor_id=self.flavor.id, image_id=self.image.id)

    def test_unknown_flavor_image_keypair_group_are_refused(self):
        port = self.make_port(self.network)
        cases = (
            ('Invalid flavorRef provided.', {'flavor_id': 'nope'}),
            ('Can not find requested image', {'image_id': 'nope'}),
            ('Invalid key_name provided.', {'key_name': 'nope'}),
            ('Instance group nope could not be found.',
             {'scheduler_hints': {'group': 'nope'}}))
        for message, attrs in cases:
            kwargs = dict(name='vnf', flavor_id=self.flavor.id,
                          image_id=self.image.id,
                          networks=[{'port': port.id}])
            kwargs.update(attrs)
            self.assertHttpError(400, message, self.compute.create_server,
                                 **kwargs)

    def test_image_must_be_active(self):
        queued = self.images.create_image('empty', disk_format='raw',
                                          container_format='bare')

        self.assertHttpError(400, 'Image %s is not active.' % queued.id,
                             self.compute.create_server, name='vnf',
                             flavor_id=self.flavor.id, image_id=queued.id,
                             networks='none')

    def test_server_shows_what_nova_shows(self):
        self.compute.create_flavor_extra_specs(self.flavor,
                                               {'hw:cpu_policy': 'shared'})
        key = self.compute.create_keypair('key', base.PUBLIC_KEY)
        group = self.compute.create_server_group('g', 'soft-anti-affinity')
        port = self.make_port(self.network)

        server = self.boot_on(port, key_name=key.name,
                              metadata={'role': 'vnf'},
                              scheduler_hints={'group': group.id},
                              availability_zone='az1')

        self.assertEqual(
            ('ACTIVE', 'small', 'small', 2, {'hw:cpu_policy': 'shared'},
             self.image.id, 'key', {'role': 'vnf'}, 'az1', [group.id]),
            (server.status, server.flavor.original_name, server.flavor.id,
             server.flavor['vcpus'], server.flavor.extra_specs,
             server.image.id, server.key_name, server.metadata,
             server.availability_zone, server.server_groups))
        self.assertEqual([server.id], self.compute.get_server_group(
            group.id).member_ids)
        self.assertEqual('compute:az1',
                         self.net.get_port(port.id).device_owner)

    def test_name_filter_is_a_regular_expression(self):
        for name in ('vnf-1', 'vnf-10'):
            self.compute.create_server(name=name, flavor_id=self.flavor.id,
                                       image_id=self.image.id,
                                       networks='none')

        self.assertEqual(['vnf-1', 'vnf-10'], sorted(
            s.name for s in self.compute.servers(name='vnf-1')))
        self.assertEqual('vnf-1', self.compute.find_server('vnf-1').name)


class TestBuild(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network()
        self.port = self.make_port(self.network)

    def test_server_is_build_for_the_reads_asked(self):
        self.site.server_build_reads = 2
        server = self.boot(networks=[{'port': self.port.id}])

        statuses = [server.status] + [
            self.compute.get_server(server.id).status for _ in range(3)]

        self.assertEqual(['BUILD', 'BUILD', 'BUILD', 'ACTIVE'], statuses)

    def test_failed_build_ends_in_error_and_frees_its_port(self):
        self.site.fail_builds(name='vnf')

        server = self.boot(networks=[{'port': self.port.id}])

        self.assertEqual(('ERROR', 500, compute.NO_VALID_HOST),
                         (server.status, server.fault['code'],
                          server.fault['message']))
        self.assertEqual('', self.net.get_port(self.port.id).device_id)
        self.assertEqual({}, server.addresses)

    def test_build_failure_waits_for_its_server_name(self):
        self.site.fail_builds(name='other')

        server = self.boot(networks=[{'port': self.port.id}])

        self.assertEqual('ACTIVE', server.status)

    def test_failure_shows_after_the_build_reads(self):
        self.site.server_build_reads = 1
        self.site.fail_builds()

        server = self.boot(networks=[{'port': self.port.id}])

        self.assertEqual(['BUILD', 'BUILD'], [
            server.status, self.compute.get_server(server.id).status])
        self.assertEqual(server.id, self.net.get_port(self.port.id).device_id)
        self.assertEqual('ERROR', self.compute.get_server(server.id).status)
        self.assertEqual('', self.net.get_port(self.port.id).device_id)

    def test_stop_and_start(self):
        server = self.boot(networks=[{'port': self.port.id}])

        self.compute.stop_server(server)
        stopped = self.compute.get_server(server.id)
        self.assertHttpError(409, "Cannot 'stop' instance %s while it is in "
                             "vm_state stopped" % server.id,
                             self.compute.stop_server, server.id)
        self.compute.start_server(server)

        self.assertEqual(('SHUTOFF', 4, 'ACTIVE'),
                         (stopped.status, stopped.power_state,
                          self.compute.get_server(server.id).status))


class TestBootFromVolume(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.flavor = self.make_flavor()
        self.volume = self.storage.create_volume(size=1, name='root')
        self.storage.get_volume(self.volume.id)

    def bdm(self, delete=False):
        return [{'uuid': self.volume.id, 'source_type': 'volume',
                 'destination_type': 'volume', 'boot_index': 0,
                 'delete_on_termination': delete}]

    def boot_volume(self, delete=False):
        return self.compute.create_server(
            name='vnf', flavor_id=self.flavor.id, networks='none',
            block_device_mapping_v2=self.bdm(delete))

    def test_volume_not_bootable_is_refused(self):
        self.assertHttpError(400, 'Block Device %s is not bootable.'
                             % self.volume.id, self.boot_volume)

    def test_bootable_volume_boots_and_is_in_use(self):
        self.storage.set_volume_bootable_status(self.volume, True)

        server = self.boot_volume()

        volume = self.storage.get_volume(self.volume.id)
        self.assertEqual(('in-use', server.id, '/dev/vda'), (
            volume.status, volume.attachments[0]['server_id'],
            volume.attachments[0]['device']))
        self.assertEqual([{'id': self.volume.id,
                           'delete_on_termination': False}],
                         server.attached_volumes)
        self.assertIsNone(server.image.id)

    def test_delete_on_termination_deletes_the_volume(self):
        self.storage.set_volume_bootable_status(self.volume, True)
        server = self.boot_volume(delete=True)

        self.compute.delete_server(server)

        self.assertIsNone(self.storage.find_volume('root'))

    def test_volume_in_use_cannot_boot_another_server(self):
        self.storage.set_volume_bootable_status(self.volume, True)
        self.boot_volume()

        self.assertHttpError(400, 'status must be available',
                             self.boot_volume)


class TestVolumeAttachments(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.boot()
        self.volume = self.storage.create_volume(size=1, name='data')
        self.storage.get_volume(self.volume.id)

    def test_attachment_puts_the_volume_in_use(self):
        attachment = self.compute.create_volume_attachment(
            self.server, volume_id=self.volume.id)

        volume = self.storage.get_volume(self.volume.id)
        self.assertEqual(('/dev/vdb', 'in-use', self.server.id),
                         (attachment.device, volume.status,
                          volume.attachments[0]['server_id']))
        self.assertEqual([self.volume.id], [
            v['id'] for v in self.compute.get_server(
                self.server.id).attached_volumes])
        self.assertEqual([self.volume.id], [
            a.volume_id for a in self.compute.volume_attachments(
                self.server)])

    def test_detachment_makes_it_available(self):
        self.compute.create_volume_attachment(self.server, self.volume)

        self.compute.delete_volume_attachment(self.server, self.volume)

        volume = self.storage.get_volume(self.volume.id)
        self.assertEqual(('available', []), (volume.status,
                                             volume.attachments))

    def test_volume_in_use_cannot_be_attached_again(self):
        self.compute.create_volume_attachment(self.server, self.volume)

        self.assertHttpError(400, 'must be available or downloading to '
                             'reserve', self.compute.create_volume_attachment,
                             self.server, self.volume)


class TestFlavorsKeypairsGroups(base.FakeCloudTestCase):

    def test_flavor_with_an_id_and_extra_specs(self):
        flavor = self.compute.create_flavor(id='42', name='gold', vcpus=4,
                                            ram=4096, disk=20, ephemeral=5,
                                            swap=512)
        self.compute.create_flavor_extra_specs(flavor, {'lab:tier': 'gold'})

        got = self.compute.fetch_flavor_extra_specs('42')

        self.assertEqual(('gold', 5, 512, {'lab:tier': 'gold'}),
                         (got.name, got.ephemeral, got.swap, got.extra_specs))
        self.assertEqual('42', self.compute.find_flavor('gold').id)

    def test_flavor_id_taken_is_refused_and_free_again_after_delete(self):
        self.compute.create_flavor(id='42', name='gold', vcpus=1, ram=1)

        self.assertHttpError(409, 'Flavor with ID 42 already exists.',
                             self.compute.create_flavor, id='42',
                             name='other', vcpus=1, ram=1)
        self.compute.delete_flavor('42')
        self.assertEqual('42', self.compute.create_flavor(
            id='42', name='gold', vcpus=1, ram=1).id)

    def test_keypair_fingerprint_is_computed_from_the_key(self):
        key = self.compute.create_keypair('key', public_key=base.PUBLIC_KEY)

        self.assertEqual(base.PUBLIC_KEY_MD5, key.fingerprint)
        self.assertEqual(('key', 'ssh'), (key.id, key.type))

    def test_keypair_twice_is_refused(self):
        self.compute.create_keypair('key', base.PUBLIC_KEY)

        self.assertHttpError(409, "Key pair 'key' already exists.",
                             self.compute.create_keypair, 'key',
                             base.PUBLIC_KEY)

    def test_server_group_rules_none_is_refused(self):
        self.assertHttpError(400, 'Invalid input for field/attribute rules. '
                             "Value: None. None is not of type 'object'",
                             self.compute.create_server_group, 'g',
                             'anti-affinity', rules=None)

    def test_server_group_with_rules(self):
        group = self.compute.create_server_group(
            'g', 'anti-affinity', rules={'max_server_per_host': 2})

        self.assertEqual(('anti-affinity', {'max_server_per_host': 2}, []),
                         (group.policy, group.rules, group.member_ids))


class TestQuotas(base.FakeCloudTestCase):

    def test_limits_show_the_quota_and_the_usage(self):
        self.site.set_quota(instances=5, cores=8, ram=8192)
        self.boot()

        absolute = self.compute.get_limits().absolute

        self.assertEqual((5, 1, 8, 2, 8192, 2048),
                         (absolute.max_total_instances,
                          absolute.total_instances_used,
                          absolute.max_total_cores, absolute.total_cores_used,
                          absolute.max_total_ram_size,
                          absolute.total_ram_used))
        self.assertEqual((5, 1), (absolute.instances,
                                  absolute.instances_used))

    def test_boot_beyond_the_quota_is_forbidden(self):
        self.site.set_quota(cores=3)
        self.boot('vnf-1')

        error = self.assertHttpError(
            403, 'Quota exceeded for cores: Requested 2, but already used 2 '
            'of 3 cores', self.boot, 'vnf-2')
        self.assertIsInstance(error, os_exc.ForbiddenException)

    def test_unknown_quota_is_refused(self):
        self.assertRaises(ValueError, self.site.set_quota, floating_ips=1)


class TestServerUnderPortPair(base.FakeCloudTestCase):

    def test_deleting_a_server_under_a_port_pair_is_recorded(self):
        server = self.compute.create_server(
            name='sf', flavor_id=self.make_flavor().id,
            image_id=self.make_image().id,
            networks=[{'uuid': self.make_network().id}])
        [port] = self.net.ports(device_id=server.id)
        self.net.create_sfc_port_pair(ingress=port.id, egress=port.id)

        self.compute.delete_server(server.id)

        [violation] = self.site.sfc_violations
        self.assertEqual((sfc.SERVER_UNDER_PAIR, server.id, port.id),
                         (violation['rule'], violation['server_id'],
                          violation['port_id']))
        self.assertEqual('', self.net.get_port(port.id).device_id)
