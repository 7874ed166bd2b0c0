"""Unit tests of the minicloud's pieces that need no server."""

import configparser
import os

import fixtures
import yaml

from geoflows.testing.minicloud import cloud
from geoflows.testing.minicloud import configs
from geoflows.testing.minicloud import infra
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import regions
from geoflows.testing.minicloud import stack
from tests.unit import base


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
