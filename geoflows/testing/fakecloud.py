"""An in-memory OpenStack for unit tests and benchmarks.

:class:`FakeClouds` stands in for :class:`geoflows.clouds.Clouds`: each
(cloud, region) pair is a :class:`FakeSite` whose ``network`` attribute
answers the subset of openstacksdk's network proxy that geoflows calls, with
Neutron's rules where they matter (409 when deleting a resource in use, 400
for a VPN service on a router without gateway, ...).

Faults and timing can be injected per site:

* ``site.fail('create_bgpvpn', times=1)`` makes the next call raise HTTP 500
  (or the exception given);
* ``latency`` (seconds per call) and ``max_concurrent_calls`` model a remote
  API: calls beyond the cap wait for a free worker, as behind a real API's
  worker pool (see :class:`Workers`).
"""

import collections
import contextlib
import copy
import heapq
import ipaddress
import itertools
import threading
import time
import zlib

from openstack import exceptions as os_exc

_ids = itertools.count(1)


def new_id(kind):
    return '%s-%06d' % (kind, next(_ids))


class FakeResource(dict):
    """A resource: a dict whose keys read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def to_dict(self):
        return dict(self)


def _conflict(message):
    return os_exc.ConflictException(message=message, http_status=409)


def _bad_request(message):
    return os_exc.BadRequestException(message=message, http_status=400)


def _not_found(kind, ident):
    return os_exc.NotFoundException(
        message='%s %s could not be found' % (kind, ident), http_status=404)


class FakeNetwork(object):
    """The network proxy of one fake site."""

    def __init__(self, site):
        self._site = site
        self._tables = collections.defaultdict(collections.OrderedDict)

    # -- generic helpers -------------------------------------------------

    def _add(self, kind, **attrs):
        resource = FakeResource(id=new_id(kind), **attrs)
        self._tables[kind][resource['id']] = resource
        return FakeResource(resource)

    def _get(self, kind, ident):
        ident = getattr(ident, 'id', ident)
        try:
            return self._tables[kind][ident]
        except KeyError:
            raise _not_found(kind, ident)

    def _list(self, kind, **query):
        return [FakeResource(r) for r in self._tables[kind].values()
                if all(r.get(k) == v for k, v in query.items()
                       if v is not None)]

    def _delete(self, kind, ident, ignore_missing):
        ident = getattr(ident, 'id', ident)
        if ident not in self._tables[kind]:
            if ignore_missing:
                return
            raise _not_found(kind, ident)
        del self._tables[kind][ident]

    def _find(self, kind, name_or_id, ignore_missing):
        if name_or_id in self._tables[kind]:
            return FakeResource(self._tables[kind][name_or_id])
        found = self._list(kind, name=name_or_id)
        if len(found) > 1:
            raise os_exc.DuplicateResource('more than one %s named %s'
                                           % (kind, name_or_id))
        if found:
            return found[0]
        if ignore_missing:
            return None
        raise _not_found(kind, name_or_id)

    def _update(self, kind, ident, **attrs):
        resource = self._get(kind, ident)
        resource.update(attrs)
        return FakeResource(resource)

    def resources(self, kind):
        """Everything of ``kind`` (for tests)."""
        return self._list(kind)

    # -- networks, subnets, segments -----------------------------------------

    def networks(self, **query):
        return self._list('network', **query)

    def find_network(self, name_or_id, ignore_missing=True):
        return self._find('network', name_or_id, ignore_missing)

    def get_network(self, ident):
        return FakeResource(self._get('network', ident))

    def create_network(self, name=None, description='',
                       provider_network_type=None,
                       provider_physical_network=None,
                       provider_segmentation_id=None,
                       availability_zone_hints=None, is_router_external=False,
                       **other):
        for zone in availability_zone_hints or ():
            if zone not in self._site.availability_zones:
                raise _not_found('AvailabilityZone', zone)
        network = self._add(
            'network', name=name, description=description or '',
            availability_zone_hints=list(availability_zone_hints or []),
            is_router_external=is_router_external,
            provider_network_type=provider_network_type,
            provider_physical_network=provider_physical_network)
        self._add('segment', network_id=network.id, name=None,
                  description='',
                  network_type=provider_network_type or 'vxlan',
                  physical_network=provider_physical_network,
                  segmentation_id=provider_segmentation_id)
        return network

    def delete_network(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if any(p.network_id == ident for p in self._list('port')):
            raise _conflict('Unable to complete operation on network %s. '
                            'There are one or more ports still in use on '
                            'the network.' % ident)
        if ident in self._tables['network']:
            for subnet in self._list('subnet', network_id=ident):
                self._delete('subnet', subnet.id, True)
            for segment in self._list('segment', network_id=ident):
                self._delete('segment', segment.id, True)
            for kind in ('bgpvpn_network_association',):
                for assoc in self._list(kind, network_id=ident):
                    self._delete(kind, assoc.id, True)
        self._delete('network', ident, ignore_missing)

    def subnets(self, **query):
        return self._list('subnet', **query)

    def find_subnet(self, name_or_id, ignore_missing=True):
        return self._find('subnet', name_or_id, ignore_missing)

    def create_subnet(self, network_id, cidr, ip_version=4, name=None,
                      description='', gateway_ip=None, segment_id=None,
                      **other):
        self._get('network', network_id)
        cidr = str(ipaddress.ip_network(cidr))
        if segment_id is not None:
            self._get('segment', segment_id)
        return self._add('subnet', name=name, description=description or '',
                         network_id=network_id, cidr=cidr,
                         ip_version=ip_version, segment_id=segment_id,
                         gateway_ip=gateway_ip or str(next(
                             ipaddress.ip_network(cidr).hosts())))

    def delete_subnet(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if any(any(ip['subnet_id'] == ident for ip in p.fixed_ips)
               for p in self._list('port')):
            raise _conflict('Unable to complete operation on subnet %s: One '
                            'or more ports have an IP allocation from this '
                            'subnet.' % ident)
        self._delete('subnet', ident, ignore_missing)

    def segments(self, **query):
        return self._list('segment', **query)

    def create_segment(self, network_id, network_type, physical_network=None,
                       segmentation_id=None, name=None, description=''):
        self._get('network', network_id)
        for other in self._list('segment', physical_network=physical_network,
                                segmentation_id=segmentation_id):
            if segmentation_id is not None:
                raise _conflict('segment %s:%s is in use' % (
                    physical_network, segmentation_id))
        return self._add('segment', network_id=network_id, name=name,
                         description=description or '',
                         network_type=network_type,
                         physical_network=physical_network,
                         segmentation_id=segmentation_id)

    def update_segment(self, ident, **attrs):
        return self._update('segment', ident, **attrs)

    def delete_segment(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('subnet', segment_id=ident):
            raise _conflict('Segment %s has subnets' % ident)
        self._delete('segment', ident, ignore_missing)

    # -- routers and ports ---------------------------------------------------

    def routers(self, **query):
        return self._list('router', **query)

    def create_router(self, name=None, description='',
                      external_gateway_info=None, **other):
        router = self._add('router', name=name,
                           description=description or '',
                           external_gateway_info=None)
        if external_gateway_info:
            return self.update_router(router.id,
                                      external_gateway_info=(
                                          external_gateway_info))
        return router

    def update_router(self, ident, external_gateway_info=None, **attrs):
        if external_gateway_info:
            ext = self._get('network', external_gateway_info['network_id'])
            if not ext.is_router_external:
                raise _bad_request('Network %s is not an external network'
                                   % ext.id)
            address = '172.24.%d.%d' % (self._site.index,
                                        len(self._tables['router']) + 10)
            attrs['external_gateway_info'] = {
                'network_id': ext.id,
                'external_fixed_ips': [{'ip_address': address}]}
        elif external_gateway_info is not None:
            attrs['external_gateway_info'] = None
        return self._update('router', ident, **attrs)

    def delete_router(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('port', device_id=ident):
            raise _conflict('Router %s still has ports' % ident)
        if self._list('vpnservice', router_id=ident):
            raise _conflict('Router %s is used by a VPN service' % ident)
        self._delete('router', ident, ignore_missing)

    def ports(self, **query):
        return self._list('port', **query)

    def get_port(self, ident):
        return FakeResource(self._get('port', ident))

    def update_port(self, ident, **attrs):
        return self._update('port', ident, **attrs)

    def add_interface_to_router(self, router, subnet_id=None, port_id=None):
        router_id = getattr(router, 'id', router)
        self._get('router', router_id)
        subnet = self._get('subnet', subnet_id)
        for port in self._list('port', device_id=router_id):
            if any(ip['subnet_id'] == subnet_id for ip in port.fixed_ips):
                raise _bad_request('Router already has a port on subnet %s'
                                   % subnet_id)
        port = self._add('port', device_id=router_id, description='',
                         device_owner='network:router_interface',
                         network_id=subnet.network_id,
                         fixed_ips=[{'subnet_id': subnet_id,
                                     'ip_address': subnet.gateway_ip}])
        return {'id': router_id, 'port_id': port.id, 'subnet_id': subnet_id}

    def remove_interface_from_router(self, router, subnet_id=None,
                                     port_id=None):
        router_id = getattr(router, 'id', router)
        for port in self._list('port', device_id=router_id):
            if port.id == port_id or any(ip['subnet_id'] == subnet_id
                                         for ip in port.fixed_ips):
                self._delete('port', port.id, False)
                return {'id': router_id, 'port_id': port.id}
        raise _not_found('router interface', port_id or subnet_id)

    # -- BGPVPN --------------------------------------------------------------

    def bgpvpns(self, **query):
        return self._list('bgpvpn', **query)

    def create_bgpvpn(self, name=None, type='l3', route_targets=None,
                      import_targets=None, export_targets=None, **other):
        return self._add('bgpvpn', name=name, type=type,
                         route_targets=list(route_targets or []),
                         import_targets=list(import_targets or []),
                         export_targets=list(export_targets or []))

    def update_bgpvpn(self, ident, **attrs):
        return self._update('bgpvpn', ident, **attrs)

    def delete_bgpvpn(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        for kind in ('bgpvpn_network_association',
                     'bgpvpn_router_association'):
            for assoc in self._list(kind, bgpvpn_id=ident):
                self._delete(kind, assoc.id, True)
        self._delete('bgpvpn', ident, ignore_missing)

    def bgpvpn_network_associations(self, bgpvpn, **query):
        return self._list('bgpvpn_network_association',
                          bgpvpn_id=getattr(bgpvpn, 'id', bgpvpn), **query)

    def create_bgpvpn_network_association(self, bgpvpn, network_id):
        bgpvpn_id = getattr(bgpvpn, 'id', bgpvpn)
        self._get('bgpvpn', bgpvpn_id)
        self._get('network', network_id)
        if self._list('bgpvpn_network_association', bgpvpn_id=bgpvpn_id,
                      network_id=network_id):
            raise _conflict('network %s is already associated' % network_id)
        return self._add('bgpvpn_network_association', bgpvpn_id=bgpvpn_id,
                         network_id=network_id)

    def delete_bgpvpn_network_association(self, bgpvpn, association,
                                          ignore_missing=True):
        self._delete('bgpvpn_network_association', association,
                     ignore_missing)

    def bgpvpn_router_associations(self, bgpvpn, **query):
        return self._list('bgpvpn_router_association',
                          bgpvpn_id=getattr(bgpvpn, 'id', bgpvpn), **query)

    def create_bgpvpn_router_association(self, bgpvpn, router_id):
        bgpvpn_id = getattr(bgpvpn, 'id', bgpvpn)
        if self._get('bgpvpn', bgpvpn_id).type != 'l3':
            raise _bad_request('Router associations require the bgpvpn to '
                               'be of type l3.')
        self._get('router', router_id)
        return self._add('bgpvpn_router_association', bgpvpn_id=bgpvpn_id,
                         router_id=router_id)

    def delete_bgpvpn_router_association(self, bgpvpn, association,
                                         ignore_missing=True):
        self._delete('bgpvpn_router_association', association,
                     ignore_missing)

    # -- the benchmark's synthetic calls -------------------------------------

    def bench_call(self, vnf, step, undo=False):
        kind = 'bench_undo' if undo else 'bench'
        return self._add(kind, vnf=vnf, step=step)

    # -- VPNaaS --------------------------------------------------------------

    def _vpn_list(self, kind, query):
        resources = self._list(kind, **query)
        for resource in resources:
            # The agent reports the new status after the API call.
            stored = self._tables[kind][resource.id]
            if stored.get('status') == 'PENDING_CREATE':
                pending = stored.get('reads_until_active', 0)
                if pending <= 0:
                    stored['status'] = resource['status'] = \
                        self._site.vpn_status
                else:
                    stored['reads_until_active'] = pending - 1
        return resources

    def vpn_ike_policies(self, **query):
        return self._list('ikepolicy', **query)

    def create_vpn_ike_policy(self, **attrs):
        return self._add('ikepolicy', **attrs)

    def delete_vpn_ike_policy(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('ipsec_site_connection', ikepolicy_id=ident):
            raise _conflict('IKE policy %s is in use' % ident)
        self._delete('ikepolicy', ident, ignore_missing)

    def vpn_ipsec_policies(self, **query):
        return self._list('ipsecpolicy', **query)

    def create_vpn_ipsec_policy(self, **attrs):
        return self._add('ipsecpolicy', **attrs)

    def delete_vpn_ipsec_policy(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('ipsec_site_connection', ipsecpolicy_id=ident):
            raise _conflict('IPsec policy %s is in use' % ident)
        self._delete('ipsecpolicy', ident, ignore_missing)

    def vpn_services(self, **query):
        return self._vpn_list('vpnservice', query)

    def create_vpn_service(self, router_id, name=None, description='',
                           **other):
        router = self._get('router', router_id)
        gateway = router.external_gateway_info
        if not gateway:
            raise _bad_request('Router %s has no external network gateway '
                               'set' % router_id)
        return self._add(
            'vpnservice', name=name, description=description or '',
            router_id=router_id, status='PENDING_CREATE',
            reads_until_active=self._site.reads_until_active,
            external_v4_ip=gateway['external_fixed_ips'][0]['ip_address'])

    def delete_vpn_service(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('ipsec_site_connection', vpnservice_id=ident):
            raise _conflict('VPN service %s is in use' % ident)
        self._delete('vpnservice', ident, ignore_missing)

    def vpn_endpoint_groups(self, **query):
        return self._list('endpoint_group', **query)

    def create_vpn_endpoint_group(self, name=None, description='',
                                  type=None, endpoints=()):
        return self._add('endpoint_group', name=name,
                         description=description or '', type=type,
                         endpoints=list(endpoints))

    def delete_vpn_endpoint_group(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        for conn in self._list('ipsec_site_connection'):
            if ident in (conn.local_ep_group_id, conn.peer_ep_group_id):
                raise _conflict('Endpoint group %s is in use' % ident)
        self._delete('endpoint_group', ident, ignore_missing)

    def vpn_ipsec_site_connections(self, **query):
        return self._vpn_list('ipsec_site_connection', query)

    def create_vpn_ipsec_site_connection(self, **attrs):
        for kind, key in (('vpnservice', 'vpnservice_id'),
                          ('ikepolicy', 'ikepolicy_id'),
                          ('ipsecpolicy', 'ipsecpolicy_id'),
                          ('endpoint_group', 'local_ep_group_id'),
                          ('endpoint_group', 'peer_ep_group_id')):
            self._get(kind, attrs[key])
        return self._add('ipsec_site_connection', status='PENDING_CREATE',
                         reads_until_active=self._site.reads_until_active,
                         **attrs)

    def delete_vpn_ipsec_site_connection(self, ident, ignore_missing=True):
        self._delete('ipsec_site_connection', ident, ignore_missing)


class Workers(object):
    """A site's API workers: ``cap`` of them, first come first served.

    A call that arrives while every worker is busy starts when the first
    one is done; each call takes the site's latency.  A call's schedule is
    fixed when it arrives, as a server would run it: a worker is free again
    as soon as it has answered, however late the client thread then gets
    to read the answer.
    """

    def __init__(self, cap):
        self._free_at = [0.0] * cap  # a heap: when each worker is free
        self._lock = threading.Lock()

    def reserve(self, now, latency):
        """Schedule a call arriving at ``now``: (start, end)."""
        with self._lock:
            start = max(now, heapq.heappop(self._free_at))
            heapq.heappush(self._free_at, start + latency)
        return start, start + latency

    def serve(self, latency):
        """Wait until a call arriving now is answered."""
        _, end = self.reserve(time.monotonic(), latency)
        wait = end - time.monotonic()
        if wait > 0:
            time.sleep(wait)


class _Instrumented(object):
    """Wraps a FakeNetwork: latency, a concurrency cap, faults, counts."""

    def __init__(self, site, target):
        self._site = site
        self._target = target

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if name.startswith('_') or not callable(attr):
            return attr
        site = self._site

        def call(*args, **kwargs):
            if site.first_call_at is None:
                site.first_call_at = time.monotonic()
            site.count(name)
            if site.latency:
                site.workers.serve(site.latency)
            fault = site.take_fault(name)
            if fault is not None:
                raise fault
            with site.lock:
                return attr(*args, **kwargs)
        # Made once per method (benchmarks call them a lot).
        setattr(self, name, call)
        return call


class FakeSite(object):

    def __init__(self, name, index, latency=0.0, max_concurrent_calls=None,
                 availability_zones=('az1', 'az2')):
        self.name = name
        self.index = index
        self.latency = latency
        self.workers = Workers(max_concurrent_calls or 1000)
        self.lock = threading.RLock()
        self.availability_zones = set(availability_zones)
        self.calls = collections.Counter()
        self.first_call_at = None  # time.monotonic() of the first call
        self.reads_until_active = 0
        self.vpn_status = 'ACTIVE'
        self._faults = collections.defaultdict(list)
        self._raw_network = FakeNetwork(self)
        self.network = _Instrumented(self, self._raw_network)
        public = self._raw_network.create_network(
            name='public', is_router_external=True,
            provider_network_type='flat',
            provider_physical_network='public')
        self._raw_network.create_subnet(public.id, '172.24.%d.0/24' % index)

    def count(self, name):
        with self.lock:
            self.calls[name] += 1

    def fail(self, method, times=1, error=None):
        """Make the next ``times`` calls of ``method`` fail."""
        error = error or os_exc.HttpException(
            message='Internal Server Error (injected)', http_status=500)
        with self.lock:
            self._faults[method].extend([error] * times)

    def take_fault(self, method):
        if not self._faults:
            return None
        with self.lock:
            faults = self._faults.get(method)
            return faults.pop(0) if faults else None

    def inventory(self):
        """{kind: sorted descriptions}: what exists, free of generated ids.

        Two sites that went through the same operations have equal
        inventories, even if their resources were created in another
        order.
        """
        tables = self._raw_network._tables
        names = {}
        for kind in ('network', 'router', 'bgpvpn', 'vpnservice',
                     'subnet', 'segment', 'ikepolicy', 'ipsecpolicy',
                     'endpoint_group'):
            for resource in tables[kind].values():
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
                             if key not in ('id', 'reads_until_active',
                                            'external_gateway_info',
                                            'external_v4_ip', 'peer_address',
                                            'peer_id', 'fixed_ips',
                                            'device_id', 'psk') and
                             value not in (None, '', [])))
                for r in table.values())
        return result


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

    def network(self, site):
        return self.site(site['cloud'], site.get('region')).network

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
            for key, site in self.sites.items():
                copy_site = twin.site(*key)
                copy_site._raw_network._tables = copy.deepcopy(
                    site._raw_network._tables)
        return twin

    def close(self):
        pass
