"""Fake sites, and the fake of :class:`geoflows.clouds.Clouds` over them."""

import collections
import contextlib
import copy
import threading
import zlib


from geoflows.testing.fakecloud import base
from geoflows.testing.fakecloud import network

# What inventories leave out: generated values, and what differs between
# two sites that went through the same calls.
_VOLATILE = frozenset([
    'id', 'reads_until_active', 'external_gateway_info', 'external_v4_ip',
    'peer_address', 'peer_id', 'fixed_ips', 'device_id', 'psk',
    'mac_address', 'allowed_address_pairs', 'created_at', 'updated_at',
    'data_timestamp', 'container', 'chain_id'])


class FakeSite(object):
    """One site: a proxy per service, and what tests tune or inject.

    Faults and timing:

    * ``fail(method, times=1, error=None)`` makes the next calls of
      ``method`` (``'create_port'`` on any proxy, or
      ``'network.create_port'``) raise HTTP 500, or ``error``;
    * ``latency`` (seconds per call) and ``max_concurrent_calls`` model a
      remote API: calls beyond the cap wait for a free worker, as behind a
      real API's worker pool (see :class:`~.base.Workers`); every proxy of
      the site shares the cap;
    * ``calls`` counts the calls by method name and by qualified name;
    * ``reads_until_active``: how many reads still show a new VPN service
      or IPsec connection PENDING_CREATE; ``vpn_status`` what it becomes.
    """

    def __init__(self, name, index, latency=0.0, max_concurrent_calls=None,
                 availability_zones=('az1', 'az2')):
        self.name = name
        self.index = index
        self.latency = latency
        self.workers = base.Workers(max_concurrent_calls or 1000)
        self.lock = threading.RLock()
        self.availability_zones = set(availability_zones)
        self.calls = collections.Counter()
        self.first_call_at = None  # time.monotonic() of the first call
        self.reads_until_active = 0
        self.vpn_status = 'ACTIVE'
        self.sfc_violations = []
        self._faults = collections.defaultdict(list)
        self._raw_network = network.FakeNetwork(self)
        self._proxies = {'network': self._raw_network}
        self.network = base._Instrumented(self, self._raw_network, 'network')
        public = self._raw_network.create_network(
            name='public', is_router_external=True,
            provider_network_type='flat',
            provider_physical_network='public')
        self._raw_network.create_subnet(public.id, '172.24.%d.0/24' % index)

    def count(self, *names):
        with self.lock:
            for name in names:
                self.calls[name] += 1

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
                return tuple(sorted((k, name(v)) for k, v in value.items()))
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
        """Everything the site's services know (what clones copy)."""
        return {service: {attr: getattr(proxy, attr) for attr in proxy.state}
                for service, proxy in self._proxies.items()}

    def _restore(self, state):
        for service, attrs in state.items():
            for attr, value in attrs.items():
                setattr(self._proxies[service], attr, value)


class FakeClouds(object):
    """Drop-in for :class:`geoflows.clouds.Clouds` backed by FakeSites."""

    def __init__(self, latency=0.0, max_concurrent_calls=None):
        self.latency = latency
        self.max_concurrent_calls = max_concurrent_calls
        self.sites = {}
        self._lock = threading.Lock()

    def site(self, cloud, region=None):
        key = (cloud, region)
        with self._lock:
            if key not in self.sites:
                # The site's public range depends on its name only, so two
                # fake clouds that saw the same calls are equal.
                index = 4 + zlib.crc32(repr(key).encode()) % 200
                self.sites[key] = FakeSite(
                    '%s/%s' % key, index, self.latency,
                    self.max_concurrent_calls)
            return self.sites[key]

    def _site_of(self, site):
        return self.site(site['cloud'], site.get('region'))

    def network(self, site):
        return self._site_of(site).network

    @contextlib.contextmanager
    def frozen(self):
        """Hold every site still: no call completes while inside."""
        with contextlib.ExitStack() as stack:
            for site in list(self.sites.values()):
                stack.enter_context(site.lock)
            yield

    def clone(self):
        """An independent copy of every site as it is now."""
        twin = FakeClouds(self.latency, self.max_concurrent_calls)
        with self.frozen():
            states = copy.deepcopy({key: site._state()
                                    for key, site in self.sites.items()})
        for key, state in states.items():
            twin.site(*key)._restore(state)
        return twin

    def close(self):
        pass
