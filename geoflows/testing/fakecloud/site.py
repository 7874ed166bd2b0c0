"""Fake sites, and the fake of :class:`geoflows.clouds.Clouds` over them."""

import collections
import contextlib
import copy
import threading
import zlib

from geoflows.testing.fakecloud import base
from geoflows.testing.fakecloud import block_storage
from geoflows.testing.fakecloud import compute
from geoflows.testing.fakecloud import image
from geoflows.testing.fakecloud import network

UNLIMITED = {'instances': -1, 'cores': -1, 'ram': -1, 'volumes': -1,
             'snapshots': -1, 'gigabytes': -1, 'backups': -1,
             'backup_gigabytes': -1}
# What a clone copies besides the proxies' tables.
_SETTINGS = ('reads_until_active', 'vpn_status', 'server_build_reads',
             'storage_reads', 'quotas', 'volume_types', 'volume_type_specs',
             'replication_state', 'enable_force_upload',
             'sfc_violations', 'backup_repository', '_build_failures')
# What inventories leave out: generated values, and what differs between
# two sites that went through the same calls.
_VOLATILE = frozenset([
    'id', 'reads_until_active', 'external_gateway_info', 'external_v4_ip',
    'peer_address', 'peer_id', 'fixed_ips', 'device_id', 'psk',
    'mac_address', 'allowed_address_pairs', 'created_at', 'updated_at',
    'data_timestamp', 'container', 'chain_id', 'file', 'self'])
# And in the dicts of a resource (volume attachments, server faults).
_NESTED_VOLATILE = frozenset(['attachment_id', 'attached_at', 'created'])


class FakeSite(object):
    """One site: a proxy per service, and what tests tune or inject.

    ``network``, ``compute``, ``block_storage`` and ``image`` stand for the
    openstacksdk proxies of the site's connection.

    Faults and timing, the same for every proxy:

    * ``fail(method, times=1, error=None)`` makes the next calls of
      ``method`` (``'create_port'`` on any proxy, or
      ``'network.create_port'``) raise HTTP 500, or ``error``;
    * ``latency`` (seconds per call) and ``max_concurrent_calls`` model a
      remote API: calls beyond the cap wait for a free worker, as behind a
      real API's worker pool (see :class:`~.base.Workers`); the proxies of
      a site share one cap;
    * ``calls`` counts the calls by method name and by qualified name;
    * ``reads_until_active``: how many reads still show a new VPN service
      or IPsec connection PENDING_CREATE; ``vpn_status`` what it becomes;
    * ``server_build_reads``: how many reads still show a new server
      BUILD (0: ACTIVE at once); ``fail_builds()`` makes builds end ERROR;
    * ``storage_reads``: how many reads still show Cinder's work under
      way (``creating``, ``restoring-backup``...; see :mod:`.block_storage`).

    What the site allows: ``set_quota()``; ``volume_types``,
    ``add_volume_type()`` (with extra specs: replication), and
    ``replication_group()``; ``enable_force_upload`` (Cinder's option,
    False as by default).

    What tests read: ``sfc_violations`` (see :mod:`.sfc`);
    ``write_volume()``, ``read_volume()``, ``volume_sha256()`` for the bytes
    of volumes; ``inventory()``.
    """

    def __init__(self, name, index, latency=0.0, max_concurrent_calls=None,
                 availability_zones=('az1', 'az2'), backup_repository=None):
        self.name = name
        self.index = index
        self.latency = latency
        self.workers = base.Workers(max_concurrent_calls or 1000)
        self.lock = threading.RLock()
        self.availability_zones = set(availability_zones)
        self.calls = collections.Counter()
        self.first_call_at = None  # time.monotonic() of the first call
        #: CPU seconds the site spent serving calls (its own work, which a
        #: real cloud does on its servers; benchmarks leave it out)
        self.serving_cpu = 0.0
        self.reads_until_active = 0
        self.vpn_status = 'ACTIVE'
        self.server_build_reads = 0
        self.storage_reads = 0
        self.quotas = dict(UNLIMITED)
        self.volume_types = {'__DEFAULT__'}
        self.volume_type_specs = {}  # {type name: extra specs}
        # The backend's (replication_status, active_backend_id).
        self.replication_state = ['enabled', None]
        self.enable_force_upload = False
        self.sfc_violations = []
        # The backup service's store ({backup id: files}), maybe shared.
        self.backup_repository = ({} if backup_repository is None
                                  else backup_repository)
        self._build_failures = []
        self._faults = collections.defaultdict(list)
        self._raw_network = network.FakeNetwork(self)
        self._raw_compute = compute.FakeCompute(self)
        self._raw_block_storage = block_storage.FakeBlockStorage(self)
        self._raw_image = image.FakeImage(self)
        self._proxies = {'network': self._raw_network,
                         'compute': self._raw_compute,
                         'block_storage': self._raw_block_storage,
                         'image': self._raw_image}
        for service, proxy in self._proxies.items():
            setattr(self, service, base._Instrumented(self, proxy, service))
        public = self._raw_network.create_network(
            name='public', is_router_external=True,
            provider_network_type='flat',
            provider_physical_network='public')
        self._raw_network.create_subnet(public.id, '172.24.%d.0/24' % index)

    def count(self, name, qualified=None):
        with self.lock:
            self.calls[name] += 1
            if qualified is not None:
                self.calls[qualified] += 1

    def fail(self, method, times=1, error=None):
        """Make the next ``times`` calls of ``method`` fail."""
        error = error or base.http_error(
            500, 'Internal Server Error (injected)')
        with self.lock:
            self._faults[method].extend([error] * times)

    def take_fault(self, *methods):
        if not self._faults:
            return None
        with self.lock:
            for method in methods:
                faults = self._faults.get(method)
                if faults:
                    return faults.pop(0)
        return None

    # -- what tests tune -------------------------------------------------

    def set_quota(self, **limits):
        """Set the site's quotas (-1, the default, is unlimited).

        Names: instances, cores, ram (MiB) for Nova; volumes, snapshots,
        gigabytes, backups, backup_gigabytes for Cinder.
        """
        unknown = set(limits) - set(UNLIMITED)
        if unknown:
            raise ValueError('unknown quotas: %s' % ', '.join(sorted(
                unknown)))
        with self.lock:
            self.quotas.update(limits)

    def add_volume_type(self, name, **extra_specs):
        """A volume type; ``replication_enabled='<is> True'`` replicates."""
        with self.lock:
            self.volume_types.add(name)
            self.volume_type_specs[name] = dict(extra_specs)

    def replication_group(self, name, volume_ids):
        """A group of volumes replicated together (enabled); its id."""
        with self.lock:
            return self._raw_block_storage._add_group(name, volume_ids).id

    def fail_builds(self, times=1, name=None, fault=compute.NO_VALID_HOST):
        """Make the next ``times`` builds end in ERROR with ``fault``.

        Only the builds of servers named ``name`` if given.
        """
        with self.lock:
            self._build_failures.extend([(name, fault)] * times)

    def _take_build_failure(self, server_name):
        for i, (name, fault) in enumerate(self._build_failures):
            if name in (None, server_name):
                del self._build_failures[i]
                return fault
        return None

    # -- the bytes of volumes ---------------------------------------------

    def _blob(self, volume_id):
        try:
            return self._raw_block_storage._data[volume_id]
        except KeyError:
            raise self._raw_block_storage._not_found('volume', volume_id)

    def write_volume(self, volume_id, offset, data):
        """Write ``data`` (bytes) at ``offset`` (bytes) of a volume."""
        with self.lock:
            self._blob(volume_id).write(offset, data)

    def read_volume(self, volume_id, offset=0, length=None):
        """Bytes of a volume: all of it if no length (a few GiB of RAM!)."""
        with self.lock:
            return self._blob(volume_id).read(offset, length)

    def volume_sha256(self, volume_id):
        """The sha256 of a volume's content, computed sparsely.

        It is the digest of the canonical sparse form of its ``size`` GiB
        (see :mod:`.data`), not of the raw bytes: equal for equal
        contents, whatever the copies in between.
        """
        with self.lock:
            return self._blob(volume_id).digest('sha256')

    def copy_backup_files(self, backup_id, source):
        """Copy a backup's files from the repository of site ``source``.

        What RECIPE.md 3a does by hand (``cp -a`` of the container) when
        the sites' backup services do not share a store.
        """
        with self.lock, source.lock:
            self.backup_repository[backup_id] = copy.deepcopy(
                source.backup_repository[backup_id])

    def inventory(self):
        """{kind: sorted descriptions}: what exists, free of generated ids.

        Two sites that went through the same operations have equal
        inventories, even if their resources were created in another
        order.
        """
        tables = {}
        for proxy in self._proxies.values():
            tables.update(proxy._tables)
        names = {}
        for kind, table in tables.items():
            for resource in table.values():
                names[resource['id']] = '%s:%s' % (
                    kind, resource.get('name') or resource.get('cidr') or
                    resource.get('physical_network'))

        def name(value):
            if isinstance(value, list):
                return tuple(sorted(name(v) for v in value))
            if isinstance(value, dict):
                return tuple(sorted((k, name(v)) for k, v in value.items()
                                    if k not in _NESTED_VOLATILE))
            return names.get(value, value)
        result = {}
        for kind, table in tables.items():
            if not table:
                continue
            result[kind] = sorted(
                tuple(sorted((key, name(value)) for key, value in r.items()
                             if key not in _VOLATILE and key[0] != '_' and
                             value not in (None, '', [])))
                for r in table.values())
        return result

    def _state(self):
        """Everything the site knows (what clones copy)."""
        return {'proxies': {
            service: {attr: getattr(proxy, attr) for attr in proxy.state}
            for service, proxy in self._proxies.items()},
            'site': {attr: getattr(self, attr) for attr in _SETTINGS}}

    def _restore(self, state):
        for service, attrs in state['proxies'].items():
            for attr, value in attrs.items():
                setattr(self._proxies[service], attr, value)
        for attr, value in state['site'].items():
            setattr(self, attr, value)


class FakeClouds(object):
    """Drop-in for :class:`geoflows.clouds.Clouds` backed by FakeSites.

    ``shared_backup_repository``: whether the sites' backup services share
    one store (True: a backup imported anywhere can be restored), or each
    has its own (a restore needs the files copied first, see
    :meth:`FakeSite.copy_backup_files`).
    """

    def __init__(self, latency=0.0, max_concurrent_calls=None,
                 shared_backup_repository=True):
        self.latency = latency
        self.max_concurrent_calls = max_concurrent_calls
        self.shared_backup_repository = shared_backup_repository
        self.sites = {}
        self._repositories = {}
        self._lock = threading.Lock()

    def site(self, cloud, region=None):
        key = (cloud, region)
        with self._lock:
            if key not in self.sites:
                # The site's public range depends on its name only, so two
                # fake clouds that saw the same calls are equal.
                index = 4 + zlib.crc32(repr(key).encode()) % 200
                name = '%s/%s' % key
                repository = self._repositories.setdefault(
                    'shared' if self.shared_backup_repository else name, {})
                self.sites[key] = FakeSite(
                    name, index, self.latency, self.max_concurrent_calls,
                    backup_repository=repository)
            return self.sites[key]

    def _site_of(self, site):
        return self.site(site['cloud'], site.get('region'))

    def network(self, site):
        return self._site_of(site).network

    def compute(self, site):
        return self._site_of(site).compute

    def block_storage(self, site):
        return self._site_of(site).block_storage

    def image(self, site):
        return self._site_of(site).image

    @contextlib.contextmanager
    def frozen(self):
        """Hold every site still: no call completes while inside."""
        with contextlib.ExitStack() as stack:
            for site in list(self.sites.values()):
                stack.enter_context(site.lock)
            yield

    def clone(self):
        """An independent copy of every site as it is now.

        One deep copy of every table of every proxy of every site, and of
        the backup repositories, which stay shared by the same sites.
        """
        twin = FakeClouds(self.latency, self.max_concurrent_calls,
                          self.shared_backup_repository)
        with self.frozen():
            states, twin._repositories = copy.deepcopy((
                {key: site._state() for key, site in self.sites.items()},
                self._repositories))
        for key, state in states.items():
            twin.site(*key)._restore(state)
        return twin

    def close(self):
        pass
