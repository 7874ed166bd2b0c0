"""Unit tests of the minicloud's pieces that need no server."""

import configparser
import hashlib
import os
import socket
import uuid

import fixtures
import yaml

from geoflows.testing.minicloud import cloud
from geoflows.testing.minicloud import configs
from geoflows.testing.minicloud import infra
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import regions
from geoflows.testing.minicloud import stack
from geoflows.testing.minicloud import volumes
from tests.unit import base

MIB = 1024 * 1024


def _parse(text):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    return parser


class TestNames(base.TestCase):

    def test_databases_and_vhosts_carry_the_run_and_the_region(self):
        self.assertEqual('gfmc_ab12cd_r1_nova_api',
                         infra.database_name('ab12cd', 'r1', 'nova_api'))
        self.assertEqual('gfmc_ab12cd_regionone',
                         infra.vhost_name('ab12cd', 'RegionOne'))
        self.assertEqual(
            'rabbit://guest:guest@127.0.0.1:5672/gfmc_ab12cd_regionone',
            infra.transport_url('gfmc_ab12cd_regionone'))

    def test_names_cannot_inject_sql(self):
        self.assertRaises(ValueError, infra.database_name, 'x; DROP', 'r1',
                          'nova')

    def test_two_runs_never_share_a_name(self):
        self.assertNotEqual(regions.new_run_id(), regions.new_run_id())


class TestConfigs(base.TestCase):

    def setUp(self):
        super().setUp()
        self.region = regions.Region(
            'RegionTwo', self.tmp, '/venv', 'ab12cd', 'http://127.0.0.1:5000',
            {'placement': 1, 'glance': 2, 'nova': 3, 'cinder': 4,
             'neutron': 5})

    def test_nova_uses_its_region_databases_and_vhost(self):
        nova = _parse(configs.nova(self.region))
        self.assertEqual('fake.FakeDriverWithoutFakeNodes',
                         nova['DEFAULT']['compute_driver'])
        self.assertEqual(infra.transport_url('gfmc_ab12cd_regiontwo'),
                         nova['DEFAULT']['transport_url'])
        self.assertTrue(nova['api_database']['connection'].endswith(
            '/gfmc_ab12cd_r2_nova_api'))
        self.assertTrue(nova['database']['connection'].endswith(
            '/gfmc_ab12cd_r2_nova_cell1'))
        for section in ('placement', 'neutron', 'glance'):
            self.assertEqual('RegionTwo', nova[section]['region_name'])
        self.assertEqual('RegionTwo', nova['cinder']['os_region_name'])
        self.assertEqual('minicloud-r2-compute', nova['DEFAULT']['host'])
        # Detaching a volume needs the service token.
        self.assertEqual('true',
                         nova['service_user']['send_service_user_token'])

    def test_cinder_backs_volumes_with_files_and_backs_up_to_posix(self):
        cinder = _parse(configs.cinder(self.region, '/venv'))
        self.assertEqual('filevolume.FileVolumeDriver',
                         cinder['file']['volume_driver'])
        self.assertIn('PosixBackupDriver', cinder['DEFAULT']['backup_driver'])
        self.assertEqual('http://127.0.0.1:2',
                         cinder['DEFAULT']['glance_api_servers'])
        self.assertIn('--config-file %s/cinder.conf'
                      % self.region.dir('cinder'),
                      cinder['privsep_osbrick']['helper_command'])

    def test_both_regions_back_up_to_one_repository(self):
        one = regions.Region(
            'RegionOne', self.tmp, '/venv', 'ab12cd', 'http://127.0.0.1:5000',
            self.region.ports)
        paths = {_parse(configs.cinder(r, '/venv'))['DEFAULT'][
            'backup_posix_path'] for r in (one, self.region)}
        self.assertEqual({os.path.join(self.tmp, 'shared-backups')}, paths)

    def test_volume_files_are_where_the_harness_reads_them(self):
        cinder = _parse(configs.cinder(self.region, '/venv'))
        self.assertEqual(
            os.path.join(self.tmp, 'regions', 'RegionTwo', 'cinder',
                         'volumes'), cinder['file']['file_volume_dir'])
        self.assertEqual(cinder['file']['file_volume_dir'],
                         cloud.Minicloud(self.tmp).volume_dir('RegionTwo'))

    def test_cinder_privsep_contexts_have_a_helper(self):
        # os-brick's context and cinder's own (cinder.privsep, section
        # cinder_sys_admin: image format inspection).
        cinder = _parse(configs.cinder(self.region, '/venv'))
        for section in ('privsep_osbrick', 'cinder_sys_admin'):
            self.assertEqual(
                '/venv/bin/privsep-helper --config-file %s/cinder.conf'
                % self.region.dir('cinder'), cinder[section]['helper_command'])

    def test_in_use_volumes_are_not_uploaded_to_images(self):
        cinder = _parse(configs.cinder(self.region, '/venv'))
        self.assertEqual('false', cinder['DEFAULT'].get(
            'enable_force_upload', 'false'))

    def test_database_pools_are_small(self):
        for text, sections in (
                (configs.nova(self.region), ('api_database', 'database')),
                (configs.cinder(self.region, '/venv'), ('database',)),
                (configs.glance(self.region), ('database',)),
                (configs.placement(self.region), ('placement_database',))):
            parsed = _parse(text)
            for section in sections:
                self.assertEqual('1', parsed[section]['max_pool_size'])
                self.assertEqual('4', parsed[section]['max_overflow'])

    def test_every_service_authenticates_as_itself(self):
        for text, user in ((configs.placement(self.region), 'placement'),
                           (configs.glance(self.region), 'glance'),
                           (configs.nova(self.region), 'nova'),
                           (configs.cinder(self.region, '/venv'), 'cinder'),
                           (configs.neutron_keystone(self.region),
                            'neutron')):
            section = _parse(text)['keystone_authtoken']
            self.assertEqual(user, section['username'])
            self.assertEqual('http://127.0.0.1:5000', section['auth_url'])

    def test_catalog_points_each_region_at_its_own_services(self):
        self.assertEqual('http://127.0.0.1:3', self.region.url('nova'))
        served = {name: served_by for name, _kind, served_by, _path
                  in regions.CATALOG}
        self.assertEqual('cinder', served['cinderv3'])
        self.assertEqual({'placement', 'glance', 'nova', 'cinder',
                          'neutron'}, set(served.values()))


class TestPrerequisites(base.TestCase):

    def test_missing_servers_say_what_to_install(self):
        self.patch(infra, '_listening', lambda host, port: port != 5672)
        e = self.assertRaises(process.ServiceError, infra.check)
        self.assertIn('nothing listens on 127.0.0.1:5672', str(e))
        self.assertIn('apt install postgresql rabbitmq-server', str(e))

    def test_missing_qemu_img_says_what_to_install(self):
        self.patch(infra, '_listening', lambda host, port: True)
        self.patch(infra.shutil, 'which',
                   lambda name: None if name == 'qemu-img' else '/bin/' + name)
        e = self.assertRaises(process.ServiceError, infra.check)
        self.assertIn('qemu-img is not on the PATH', str(e))
        self.assertIn('qemu-utils', str(e))


class TestFreePort(base.TestCase):

    def test_ports_are_outside_the_ephemeral_range_and_never_repeat(self):
        # A port from the ephemeral range can be taken by an outgoing
        # connection before the service that was given it binds it.
        low, high = process.ephemeral_range()
        ports = [process.free_port() for _ in range(300)]
        self.assertEqual(len(ports), len(set(ports)))
        for port in ports:
            self.assertFalse(low <= port <= high, port)
            self.assertGreaterEqual(port, process.LOWEST_PORT)

    def test_a_port_in_use_is_not_given(self):
        with socket.socket() as busy:
            busy.bind(('127.0.0.1', 0))
            busy.listen()
            taken = busy.getsockname()[1]
            self.patch(process, 'ephemeral_range',
                       lambda: (taken + 1, 65535))
            self.patch(process, 'LOWEST_PORT', taken)
            # Only ``taken`` is a candidate: it is busy, so none is free.
            e = self.assertRaises(process.ServiceError, process.free_port)
        self.assertIn('no free TCP port on 127.0.0.1', str(e))

    def test_the_range_is_read_from_the_kernel_file(self):
        path = self.useFixture(fixtures.TempDir()).join('range')
        with open(path, 'w') as f:
            f.write('20000\t40000\n')
        self.assertEqual((20000, 40000), process.ephemeral_range(path))
        self.assertEqual((32768, 60999), process.ephemeral_range(
            path + '.missing'))


class TestDatabases(base.TestCase):

    def setUp(self):
        super().setUp()
        self.statements = []
        self.version = '150004'

        def psql(python, sql):
            self.statements.extend(sql)
            return [self.version] if sql == ['SHOW server_version_num'] \
                else []
        self.patch(infra, '_psql', psql)

    def test_idle_sessions_of_the_regions_databases_end(self):
        infra.create_databases('/venv/bin/python', ['gfmc_ab12cd_r1_nova'])
        self.assertIn('CREATE DATABASE gfmc_ab12cd_r1_nova', self.statements)
        self.assertIn("ALTER DATABASE gfmc_ab12cd_r1_nova SET "
                      "idle_session_timeout = '30s'", self.statements)

    def test_older_postgresql_keeps_its_idle_sessions(self):
        self.version = '130011'
        infra.create_databases('/venv/bin/python', ['gfmc_ab12cd_r1_nova'])
        self.assertIn('CREATE DATABASE gfmc_ab12cd_r1_nova', self.statements)
        self.assertFalse([s for s in self.statements if 'ALTER' in s])


class TestState(base.TestCase):

    def test_down_without_state_does_nothing(self):
        self.assertEqual([], cloud.Minicloud(self.tmp).down())

    def test_clouds_yaml_has_admin_and_demo_per_region(self):
        mc = cloud.Minicloud(self.tmp)
        mc._write_clouds_yaml('http://127.0.0.1:5000')
        with open(mc.clouds_yaml) as f:
            clouds = yaml.safe_load(f)['clouds']
        self.assertEqual({'site-a', 'site-a-demo', 'site-b', 'site-b-demo'},
                         set(clouds))
        self.assertEqual('RegionTwo', clouds['site-b-demo']['region_name'])
        self.assertEqual('demo', clouds['site-b-demo']['auth']['project_name'])
        self.assertEqual('admin', clouds['site-a']['auth']['username'])
        self.assertEqual(stack.CLOUD_NAMES['RegionOne'], 'site-a')

    def test_home_defaults_to_the_cache(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'GEOFLOWS_MINICLOUD_HOME'))
        self.useFixture(fixtures.EnvironmentVariable(
            'XDG_CACHE_HOME', self.tmp))
        self.assertEqual(os.path.join(self.tmp, 'geoflows', 'minicloud'),
                         cloud.Minicloud().home)


class TestVolumeData(base.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, 'volume')
        with open(self.path, 'wb') as f:
            f.truncate(64 * MIB)

    def full_read_sha256(self):
        with open(self.path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()

    def test_sha256_is_that_of_the_whole_file(self):
        for offset in (0, 3 * MIB + 5, 40 * MIB):
            volumes.write_at(self.path, offset, b'data at %d' % offset * 999)
        self.assertEqual(self.full_read_sha256(), volumes.sha256(self.path))

    def test_sha256_of_data_up_to_the_end(self):
        volumes.write_at(self.path, 64 * MIB - 3, b'end')
        self.assertEqual(self.full_read_sha256(), volumes.sha256(self.path))

    def test_sha256_of_a_file_without_holes_and_of_an_empty_one(self):
        with open(self.path, 'wb') as f:
            f.write(os.urandom(3 * MIB + 1))
        self.assertEqual(self.full_read_sha256(), volumes.sha256(self.path))
        open(self.path, 'wb').close()
        self.assertEqual(hashlib.sha256().hexdigest(),
                         volumes.sha256(self.path))

    def test_holes_and_written_zeros_hash_alike(self):
        other = os.path.join(self.tmp, 'zeros')
        with open(other, 'wb') as f:
            f.write(bytes(64 * MIB))
        self.assertEqual(volumes.sha256(other), volumes.sha256(self.path))

    def test_extents_hold_what_was_written(self):
        volumes.write_at(self.path, 10 * MIB, b'x' * MIB)
        with open(self.path, 'rb') as f:
            extents = list(volumes.data_extents(f.fileno(), 64 * MIB))
        self.assertTrue(extents)
        for start, end in extents:
            self.assertLessEqual(start, 10 * MIB)
            self.assertGreaterEqual(end, 11 * MIB)

    def test_write_keeps_the_size_and_the_holes(self):
        volumes.write_at(self.path, 5 * MIB, b'y' * 4096)
        self.assertEqual(64 * MIB, os.path.getsize(self.path))
        self.assertLess(volumes.allocated_bytes(self.path), MIB)
        with open(self.path, 'rb') as f:
            f.seek(5 * MIB)
            self.assertEqual(b'y' * 4096, f.read(4096))

    def test_a_write_past_the_end_is_refused(self):
        self.assertRaises(ValueError, volumes.write_at, self.path,
                          64 * MIB - 1, b'ab')
        self.assertRaises(ValueError, volumes.write_at, self.path, -1, b'a')
        self.assertEqual(64 * MIB, os.path.getsize(self.path))


class TestRegionFiles(base.TestCase):

    def setUp(self):
        super().setUp()
        self.mc = cloud.Minicloud(self.tmp)
        self.volume_id = str(uuid.uuid4())

    def test_a_volume_is_a_file_of_its_region(self):
        self.assertEqual(
            os.path.join(self.tmp, 'regions', 'RegionOne', 'cinder',
                         'volumes', 'volume-' + self.volume_id),
            self.mc.volume_file('RegionOne', self.volume_id))

    def test_unknown_regions_and_ids_are_refused(self):
        self.assertRaises(ValueError, self.mc.volume_file, 'RegionThree',
                          self.volume_id)
        self.assertRaises(ValueError, self.mc.volume_file, 'RegionOne',
                          '../../keystone/keystone.db')

    def test_write_then_hash_a_volume(self):
        path = self.mc.volume_file('RegionTwo', self.volume_id)
        os.makedirs(os.path.dirname(path))
        with open(path, 'wb') as f:
            f.truncate(8 * MIB)
        self.mc.write_volume('RegionTwo', self.volume_id, MIB, b'abc')
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(digest, self.mc.volume_sha256('RegionTwo',
                                                       self.volume_id))

    def test_a_new_run_starts_with_an_empty_repository(self):
        old = os.path.join(self.mc.backup_repository, 'ab', 'cd', 'x')
        os.makedirs(old)
        open(os.path.join(old, 'chunk'), 'w').close()
        self.assertEqual([os.path.join('ab', 'cd', 'x', 'chunk')],
                         self.mc.backup_repository_files())
        regions.reset_backup_repository(self.tmp)
        self.assertEqual([], self.mc.backup_repository_files())
        self.assertTrue(os.path.isdir(self.mc.backup_repository))

    def test_only_empty_containers_are_removed(self):
        gone, kept = str(uuid.uuid4()), 'ab' + str(uuid.uuid4())[2:]
        sibling = gone[:4] + str(uuid.uuid4())[4:]
        root = self.mc.backup_repository
        for backup_id in (gone, kept, sibling):
            os.makedirs(os.path.join(root, backup_id[:2], backup_id[2:4],
                                     backup_id))
        open(os.path.join(root, kept[:2], kept[2:4], kept, 'meta'),
             'w').close()
        self.mc.remove_backup_containers([gone, kept, str(uuid.uuid4())])
        self.assertFalse(os.path.exists(os.path.join(
            root, gone[:2], gone[2:4], gone)))
        self.assertTrue(os.path.isdir(os.path.join(
            root, sibling[:2], sibling[2:4], sibling)))
        self.assertEqual([os.path.join(kept[:2], kept[2:4], kept, 'meta')],
                         self.mc.backup_repository_files())
