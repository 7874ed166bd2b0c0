"""Base classes and fixtures of the unit tests (no servers)."""

import copy
import os

import fixtures
from oslo_utils import uuidutils
from oslotest import base
from taskflow.persistence import models

from geoflows import context
from geoflows import plan as plan_mod
from geoflows import runner
from geoflows import secrets
from geoflows import store
from geoflows.testing import fakecloud

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
EXAMPLE_PLAN = os.path.join(REPO, 'etc', 'plans', 'example.yaml')

OPTIONS = {
    'route_target_pool': {'asn': 64512, 'first': 1000, 'last': 1099},
    'active_attempts': 5,
    'active_interval': 0.0,
    'ready_attempts': 5,
    'ready_interval': 0.0,
    'image_work_dir': None,
    'max_copies_per_site': 4,
    'fence_timeout': 5,
    'hook_options': {},
}

# A valid plan as data: two regions of one cloud, two cells of the first,
# one interconnect per overlay.
PLAN = {
    'version': 1,
    'name': 'test',
    'sites': {
        'paris': {'cloud': 'telco', 'region': 'paris'},
        'lyon': {'cloud': 'telco', 'region': 'lyon'},
        'cell1': {'cloud': 'telco', 'region': 'paris',
                  'cell': {'availability_zone': 'az1',
                           'physical_network': 'physnet1'}},
        'cell2': {'cloud': 'telco', 'region': 'paris',
                  'cell': {'availability_zone': 'az2',
                           'physical_network': 'physnet2'}},
    },
    'interconnects': [
        {'name': 'vpn',
         'local': {'site': 'paris',
                   'networks': [{'name': 'infra-p', 'cidr': '10.1.0.0/24'}]},
         'remote': {'site': 'lyon',
                    'networks': [{'name': 'infra-l', 'cidr': '10.2.0.0/24'}]},
         'overlay': {'type': 'bgpvpn'}},
        {'name': 'sec',
         'local': {'site': 'paris',
                   'networks': [{'name': 'oam-p', 'cidr': '10.3.0.0/24'}],
                   'router': {'name': 'edge-p',
                              'external_network': 'public'}},
         'remote': {'site': 'lyon',
                    'networks': [{'name': 'oam-l', 'cidr': '10.4.0.0/24'}],
                    'router': {'name': 'edge-l',
                               'external_network': 'public'}},
         'overlay': {'type': 'ipsec', 'psk': {'derive': True}}},
        {'name': 'cells',
         'local': {'site': 'cell1',
                   'segment': {'cidr': '10.5.1.0/24',
                               'segmentation_id': 110}},
         'remote': {'site': 'cell2',
                    'segment': {'cidr': '10.5.2.0/24',
                                'segmentation_id': 210}},
         'overlay': {'type': 'segments'}},
    ],
}


def plan_data(**changes):
    """A deep copy of PLAN with top-level keys replaced."""
    data = copy.deepcopy(PLAN)
    data.update(changes)
    return data


def make_plan(data=None):
    return plan_mod.from_document(data if data is not None else plan_data())


class TestCase(base.BaseTestCase):
    """A test with a temporary directory."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path


class UnitStoreTestCase(TestCase):
    """A SQLite state store holding one job's logbook with one unit.

    ``self.backend`` is the store's Taskflow backend, ``self.book`` the
    job's logbook, ``self.detail`` the unit's (empty) flow detail.
    """

    def setUp(self):
        super().setUp()
        self.store = store.StateStore('sqlite:///%s/state.sqlite' % self.tmp)
        self.store.upgrade()
        self.addCleanup(self.store.close)
        self.backend = self.store.taskflow_backend()
        self.book = models.LogBook('job')
        self.detail = models.FlowDetail('unit', uuidutils.generate_uuid())
        self.book.add(self.detail)
        self.backend.get_connection().save_logbook(self.book)


class CloudTestCase(TestCase):
    """A test with a fake cloud, a SQLite state store and a runner.

    They are also installed as the context of tasks that tests call
    directly; ``self.runner`` runs jobs on them.
    """

    def setUp(self):
        super().setUp()
        self.clouds = fakecloud.FakeClouds()
        self.store = store.StateStore(
            'sqlite:///%s' % os.path.join(self.tmp, 'state.sqlite'))
        self.resolver = secrets.SecretResolver(
            os.path.join(self.tmp, 'master.key'))
        # Tasks called directly by tests use the installed context; the
        # runner binds the tasks it runs to its own.
        previous = context.install(context.Context(self.clouds, self.store,
                                                   self.resolver))
        self.addCleanup(context.install, previous)
        self.runner = runner.Runner(self.store, self.clouds, self.resolver,
                                    OPTIONS, abort_poll_interval=0.1)
        self.addCleanup(self.store.close)
        self.addCleanup(self.runner.close)

    def site(self, region):
        """The fake site of region ``paris`` or ``lyon`` of cloud telco."""
        return self.clouds.site('telco', region)

    def inventory(self):
        return {region: self.site(region).inventory()
                for region in ('paris', 'lyon')}
