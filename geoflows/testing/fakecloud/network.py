"""The network proxy of a fake site: Neutron and its extensions.

The subset of openstacksdk's network proxy that geoflows calls, with
Neutron's rules where they matter: 409 when deleting a resource in use,
400 for a VPN service on a router without gateway, Neutron's IPAM (fixed
IPs from the allocation pools, 409 for an address or a MAC in use on the
network), security groups with their two default egress rules, and
networking-sfc (:mod:`.sfc`).  Not modelled: the project's ``default``
security group (a port created without ``security_group_ids`` has none),
DHCP and metadata ports, and policy (every call is an admin's).
"""

import ipaddress
import itertools

from openstack.network.v2 import network as _network
from openstack.network.v2 import port as _port
from openstack.network.v2 import router as _router
from openstack.network.v2 import security_group as _security_group
from openstack.network.v2 import security_group_rule as _rule
from openstack.network.v2 import subnet as _subnet

from geoflows.testing.fakecloud import base
from geoflows.testing.fakecloud import sfc

# API names openstacksdk accepts besides its attribute names.
_ALIASES = {
    'admin_state_up': 'is_admin_state_up',
    'port_security_enabled': 'is_port_security_enabled',
    'shared': 'is_shared',
    'security_groups': 'security_group_ids',
    'binding:vnic_type': 'binding_vnic_type',
    'binding:host_id': 'binding_host_id',
    'binding:profile': 'binding_profile',
    'enable_dhcp': 'is_dhcp_enabled',
    'ethertype': 'ether_type',
}
_PORT_ATTRS = frozenset([
    'name', 'description', 'fixed_ips', 'mac_address', 'device_id',
    'device_owner', 'security_group_ids', 'allowed_address_pairs',
    'is_port_security_enabled', 'is_admin_state_up', 'binding_vnic_type',
    'binding_host_id', 'binding_profile', 'extra_dhcp_opts'])
_macs = itertools.count(1)


def _sdk_names(attrs):
    return {_ALIASES.get(key, key): value for key, value in attrs.items()}


def _new_mac():
    """A MAC in the range Neutron uses (base_mac fa:16:3e:00:00:00)."""
    n = next(_macs)
    return 'fa:16:3e:%02x:%02x:%02x' % ((n >> 16) & 255, (n >> 8) & 255,
                                        n & 255)


def _address_pairs(pairs, mac_address):
    """allowed_address_pairs as Neutron stores them: the MAC filled in."""
    return [dict(pair, mac_address=pair.get('mac_address') or mac_address)
            for pair in pairs or ()]


def _default_pools(network, gateway_ip):
    """Neutron's default allocation pools: the hosts but the gateway."""
    first = network.network_address + 1
    last = (network.broadcast_address - 1 if network.version == 4
            else network.broadcast_address)
    gateway = ipaddress.ip_address(gateway_ip)
    pools = []
    if first <= gateway <= last:
        if first < gateway:
            pools.append((first, gateway - 1))
        if gateway < last:
            pools.append((gateway + 1, last))
    else:
        pools.append((first, last))
    return [{'start': str(start), 'end': str(end)} for start, end in pools]


def _fixed_ip_keys(fixed_ips):
    """The (subnet id, address) pairs of a port (the key of an index)."""
    return [(ip['subnet_id'], ip['ip_address']) for ip in fixed_ips]


def _addresses(port):
    return {(ip['subnet_id'], ip['ip_address']) for ip in port.fixed_ips}


class _Addresses(object):
    """The (subnet id, address) pairs in use on a network, but by a port.

    A set as far as :meth:`FakeNetwork._allocate_ips` is concerned (``in``,
    ``add``): a pair is looked up in the index of the ports' fixed IPs, or,
    once :meth:`everything` was called (to look for a free address), in
    the set of every pair of the network.
    """

    def __init__(self, net, network_id, port_id):
        self._net = net
        self._network_id = network_id
        self._port_id = port_id
        self._added = set()
        self._all = None
        # The ports the index cannot read raise here, as a scan would.
        for port in net._tables['port'].unreadable('fixed_ips',
                                                   _fixed_ip_keys):
            if self._counts(port):
                _addresses(port)

    def _counts(self, port):
        return ((self._network_id is None or
                 port.get('network_id') == self._network_id) and
                port.id != self._port_id)

    def _scan(self):
        return {pair for port in self._net._rows(
            'port', network_id=self._network_id)
            if port.id != self._port_id
            for pair in _addresses(port)} | self._added

    def everything(self):
        if self._all is None:
            self._all = self._scan()
        return self

    def __contains__(self, pair):
        if self._all is not None:
            return pair in self._all
        found = pair in self._added or any(
            self._counts(port) and pair in _addresses(port)
            for port in self._net._tables['port'].candidates(
                'fixed_ips', [pair], _fixed_ip_keys))
        if base.CHECK_INDEXES and found != (pair in self._scan()):
            raise AssertionError('the index of fixed IPs says %s of %r'
                                 % (found, pair))
        return found

    def add(self, pair):
        self._added.add(pair)
        if self._all is not None:
            self._all.add(pair)


class FakeNetwork(sfc.SfcApi, base.FakeProxy):
    """The network proxy of one fake site."""

    service = 'network'
    missing = {
        'AvailabilityZone': 'AvailabilityZone %s could not be found.',
        'security_group': 'Security group %s does not exist',
        'security_group_rule': 'Security group rule %s does not exist',
        'sfc_port_pair': 'Port Pair %s could not be found.',
        'sfc_port_pair_group': 'Port Pair Group %s could not be found.',
        'sfc_flow_classifier': 'Flow Classifier %s could not be found.',
        'sfc_port_chain': 'Port Chain %s could not be found.',
    }
    sdk_classes = dict(sfc.SDK_CLASSES, **{
        'network': _network.Network, 'subnet': _subnet.Subnet,
        'router': _router.Router, 'port': _port.Port,
        'security_group': _security_group.SecurityGroup,
        'security_group_rule': _rule.SecurityGroupRule})

    # -- networks, subnets, segments ------------------------------------------

    def networks(self, **query):
        return self._list('network', **_sdk_names(query))

    def find_network(self, name_or_id, ignore_missing=True):
        return self._find('network', name_or_id, ignore_missing)

    def get_network(self, ident):
        return self._out('network', self._get('network', ident))

    def create_network(self, name=None, description='',
                       provider_network_type=None,
                       provider_physical_network=None,
                       provider_segmentation_id=None,
                       availability_zone_hints=None, is_router_external=False,
                       mtu=None, **other):
        other = _sdk_names(other)
        for zone in availability_zone_hints or ():
            if zone not in self._site.availability_zones:
                raise self._not_found('AvailabilityZone', zone)
        network_type = provider_network_type or 'vxlan'
        network = self._add(
            'network', name=name, description=description or '',
            availability_zone_hints=list(availability_zone_hints or []),
            is_router_external=is_router_external,
            provider_network_type=provider_network_type,
            provider_physical_network=provider_physical_network,
            mtu=mtu or (1450 if network_type == 'vxlan' else 1500),
            is_admin_state_up=other.get('is_admin_state_up', True),
            is_port_security_enabled=other.get('is_port_security_enabled',
                                               True),
            is_shared=other.get('is_shared', False))
        self._add('segment', network_id=network.id, name=None,
                  description='', network_type=network_type,
                  physical_network=provider_physical_network,
                  segmentation_id=provider_segmentation_id)
        return network

    def delete_network(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._rows('port', network_id=ident):
            raise self._conflict(
                'Unable to complete operation on network %s. There are one '
                'or more ports still in use on the network.' % ident)
        if ident in self._tables['network']:
            for kind in ('subnet', 'segment', 'bgpvpn_network_association'):
                for row in self._rows(kind, network_id=ident):
                    self._delete(kind, row.id, True)
        self._delete('network', ident, ignore_missing)

    def subnets(self, **query):
        return self._list('subnet', **_sdk_names(query))

    def find_subnet(self, name_or_id, ignore_missing=True):
        return self._find('subnet', name_or_id, ignore_missing)

    def get_subnet(self, ident):
        return self._out('subnet', self._get('subnet', ident))

    def create_subnet(self, network_id, cidr, ip_version=4, name=None,
                      description='', gateway_ip=None, segment_id=None,
                      allocation_pools=None, dns_nameservers=None,
                      host_routes=None, ipv6_address_mode=None,
                      ipv6_ra_mode=None, **other):
        other = _sdk_names(other)
        self._get('network', network_id)
        network = ipaddress.ip_network(cidr)
        if segment_id is not None:
            self._get('segment', segment_id)
        gateway_ip = gateway_ip or str(next(network.hosts()))
        return self._add(
            'subnet', name=name, description=description or '',
            network_id=network_id, cidr=str(network), ip_version=ip_version,
            segment_id=segment_id, gateway_ip=gateway_ip,
            allocation_pools=list(allocation_pools or
                                  _default_pools(network, gateway_ip)),
            is_dhcp_enabled=other.get('is_dhcp_enabled', True),
            dns_nameservers=list(dns_nameservers or []),
            host_routes=list(host_routes or []),
            ipv6_address_mode=ipv6_address_mode, ipv6_ra_mode=ipv6_ra_mode)

    def delete_subnet(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if any(any(ip['subnet_id'] == ident for ip in p.fixed_ips)
               for p in self._rows('port')):
            raise self._conflict(
                'Unable to complete operation on subnet %s: One or more '
                'ports have an IP allocation from this subnet.' % ident)
        self._delete('subnet', ident, ignore_missing)

    def segments(self, **query):
        return self._list('segment', **query)

    def create_segment(self, network_id, network_type, physical_network=None,
                       segmentation_id=None, name=None, description=''):
        self._get('network', network_id)
        for other in self._list('segment', physical_network=physical_network,
                                segmentation_id=segmentation_id):
            if segmentation_id is not None:
                raise self._conflict('segment %s:%s is in use' % (
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
            raise self._conflict('Segment %s has subnets' % ident)
        self._delete('segment', ident, ignore_missing)

    # -- routers --------------------------------------------------------------

    def routers(self, **query):
        return self._list('router', **query)

    def get_router(self, ident):
        return self._out('router', self._get('router', ident))

    def create_router(self, name=None, description='',
                      external_gateway_info=None, routes=None, **other):
        router = self._add('router', name=name,
                           description=description or '',
                           external_gateway_info=None, routes=[])
        if external_gateway_info or routes:
            return self.update_router(router.id,
                                      external_gateway_info=(
                                          external_gateway_info),
                                      routes=routes)
        return router

    def update_router(self, ident, external_gateway_info=None, routes=None,
                      **attrs):
        router = self._get('router', ident)
        if external_gateway_info:
            ext = self._get('network', external_gateway_info['network_id'])
            if not ext.is_router_external:
                raise self._bad_request(
                    'Network %s is not an external network' % ext.id)
            address = '172.24.%d.%d' % (self._site.index,
                                        len(self._tables['router']) + 10)
            attrs['external_gateway_info'] = {
                'network_id': ext.id,
                'external_fixed_ips': [{'ip_address': address}]}
        elif external_gateway_info is not None:
            attrs['external_gateway_info'] = None
        if routes is not None:
            self._check_routes(router, routes)
            attrs['routes'] = [dict(r) for r in routes]
        return self._update('router', ident, **attrs)

    def _check_routes(self, router, routes):
        """Each nexthop must be on a subnet the router has an interface in."""
        cidrs = [
            ipaddress.ip_network(self._get('subnet', ip['subnet_id']).cidr)
            for port in self._rows('port', device_id=router.id)
            for ip in port.fixed_ips]
        for route in routes:
            nexthop = ipaddress.ip_address(route['nexthop'])
            if not any(nexthop in cidr for cidr in cidrs):
                raise self._bad_request(
                    'Invalid format for routes: %s, the nexthop is not '
                    'connected with router' % route)

    def delete_router(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('port', device_id=ident):
            raise self._conflict('Router %s still has ports' % ident)
        if self._list('vpnservice', router_id=ident):
            raise self._conflict('Router %s is used by a VPN service' % ident)
        self._delete('router', ident, ignore_missing)

    def add_interface_to_router(self, router, subnet_id=None, port_id=None):
        router_id = getattr(router, 'id', router)
        self._get('router', router_id)
        if port_id is not None:
            port = self._get('port', port_id)
            if port.device_id:
                raise self._conflict('Port %s is still in use.' % port_id)
            subnet_id = port.fixed_ips[0]['subnet_id']
        subnet = self._get('subnet', subnet_id)
        for port in self._rows('port', device_id=router_id):
            if any(ip['subnet_id'] == subnet_id for ip in port.fixed_ips):
                raise self._bad_request(
                    'Router already has a port on subnet %s' % subnet_id)
        if port_id is None:
            port_id = self._create_port(
                subnet.network_id, fixed_ips=[{
                    'subnet_id': subnet_id,
                    'ip_address': subnet.gateway_ip}]).id
        self._get('port', port_id).update(
            device_id=router_id, device_owner='network:router_interface',
            status='ACTIVE')
        return {'id': router_id, 'port_id': port_id, 'subnet_id': subnet_id}

    def remove_interface_from_router(self, router, subnet_id=None,
                                     port_id=None):
        router_id = getattr(router, 'id', router)
        for port in self._rows('port', device_id=router_id):
            if port.id == port_id or any(ip['subnet_id'] == subnet_id
                                         for ip in port.fixed_ips):
                self._delete('port', port.id, False)
                return {'id': router_id, 'port_id': port.id}
        raise self._not_found('router interface', port_id or subnet_id)

    # -- ports ----------------------------------------------------------------

    def ports(self, **query):
        query = _sdk_names(query)
        fixed_ips = query.pop('fixed_ips', None)
        ports = self._rows('port', **query)
        if fixed_ips:
            wanted = [dict([f.split('=', 1)]) for f in fixed_ips]
            ports = [p for p in ports if all(
                any(all(ip.get(k) == v for k, v in w.items())
                    for ip in p.fixed_ips) for w in wanted)]
        return [self._out('port', p) for p in ports]

    def get_port(self, ident):
        return self._out('port', self._get('port', ident))

    def find_port(self, name_or_id, ignore_missing=True, **query):
        return self._find('port', name_or_id, ignore_missing,
                          _sdk_names(query))

    def create_port(self, network_id, **attrs):
        """Create a port; openstacksdk's attribute or API names."""
        attrs = _sdk_names(attrs)
        unknown = set(attrs) - _PORT_ATTRS
        if unknown:
            raise TypeError('create_port: the fake cloud does not model %s'
                            % ', '.join(sorted(unknown)))
        return self._out('port', self._create_port(network_id, **attrs))

    def _create_port(self, network_id, name=None, description='',
                     fixed_ips=None, mac_address=None, device_id='',
                     device_owner='', security_group_ids=None,
                     allowed_address_pairs=None,
                     is_port_security_enabled=None, is_admin_state_up=True,
                     binding_vnic_type='normal', binding_host_id='',
                     binding_profile=None, extra_dhcp_opts=None):
        """Create and return the row of a port (also used by Nova)."""
        network = self._get('network', network_id)
        mac_address = mac_address or _new_mac()
        self._check_mac(network_id, mac_address)
        if is_port_security_enabled is None:
            is_port_security_enabled = network.is_port_security_enabled
        security_group_ids = list(security_group_ids or [])
        self._check_port_security(is_port_security_enabled,
                                  security_group_ids, allowed_address_pairs)
        row = self._tables['port'][self._add(
            'port', name=name, description=description or '',
            network_id=network_id, mac_address=mac_address,
            fixed_ips=self._allocate_ips(network_id, fixed_ips),
            device_id=device_id or '', device_owner=device_owner or '',
            security_group_ids=security_group_ids,
            allowed_address_pairs=_address_pairs(allowed_address_pairs,
                                                 mac_address),
            is_port_security_enabled=is_port_security_enabled,
            is_admin_state_up=is_admin_state_up,
            binding_vnic_type=binding_vnic_type,
            binding_host_id=binding_host_id or '',
            binding_profile=dict(binding_profile or {}),
            extra_dhcp_opts=list(extra_dhcp_opts or []),
            status='ACTIVE' if device_id else 'DOWN').id]
        return row

    def update_port(self, ident, **attrs):
        port = self._get('port', ident)
        attrs = _sdk_names(attrs)
        if 'mac_address' in attrs and attrs['mac_address'] != port.mac_address:
            if port.binding_host_id:
                raise self._conflict(
                    'Unable to complete operation on port %s, port is '
                    'already bound, port type: ovs, old_mac %s, new_mac %s.'
                    % (port.id, port.mac_address, attrs['mac_address']))
            self._check_mac(port.network_id, attrs['mac_address'])
        if 'fixed_ips' in attrs:
            attrs['fixed_ips'] = self._allocate_ips(
                port.network_id, attrs['fixed_ips'], port.id)
        self._check_port_security(
            attrs.get('is_port_security_enabled',
                      port.is_port_security_enabled),
            attrs.get('security_group_ids', port.security_group_ids),
            attrs.get('allowed_address_pairs', port.allowed_address_pairs))
        if 'allowed_address_pairs' in attrs:
            attrs['allowed_address_pairs'] = _address_pairs(
                attrs['allowed_address_pairs'],
                attrs.get('mac_address', port.mac_address))
        return self._update('port', ident, **attrs)

    def delete_port(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._pairs_of_port(ident):
            # networking-sfc's foreign key, which Neutron reports as a 500.
            raise self._error(500, 'Request Failed: internal server error '
                                   'while processing your request.')
        found = self._rows('port', id=ident)
        if found and (found[0].device_owner or '') in (
                'network:router_interface', 'network:router_gateway'):
            raise self._error(409, 'Port %s cannot be deleted directly via '
                                   'the port API: has device owner %s.' % (
                                       ident, found[0].device_owner))
        self._delete('port', ident, ignore_missing)

    def _pairs_of_port(self, port_id):
        """The port pairs whose ingress or egress is the port."""
        return [pair for pair in self._tables['sfc_port_pair'].select_any(
            [('ingress', port_id), ('egress', port_id)])
            if port_id in (pair.ingress, pair.egress)]

    def _check_mac(self, network_id, mac_address):
        if self._rows('port', network_id=network_id, mac_address=mac_address):
            raise self._conflict(
                'Unable to complete operation for network %s. The mac '
                'address %s is in use.' % (network_id, mac_address))

    def _check_port_security(self, enabled, security_group_ids, pairs):
        for group in security_group_ids or ():
            self._get('security_group', group)
        if not enabled and security_group_ids:
            raise self._bad_request(
                'Port security must be enabled and port must have an IP '
                'address in order to use security groups.')
        if not enabled and pairs:
            raise self._conflict(
                'Port Security must be enabled in order to have allowed '
                'address pairs on a port.')

    def _allocate_ips(self, network_id, requests, port_id=None):
        """The port's fixed_ips: Neutron's IPAM on the network's subnets."""
        subnets = self._rows('subnet', network_id=network_id)
        if requests is None:
            requests = [{'subnet_id': subnets[0].id}] if subnets else []
        used = _Addresses(self, network_id, port_id)
        result = []
        for request in requests:
            address = request.get('ip_address')
            subnet = self._subnet_for(network_id, subnets, request)
            if address is None:
                address = self._free_address(network_id, subnet,
                                             used.everything())
            elif (ipaddress.ip_address(address) not in
                    ipaddress.ip_network(subnet.cidr)):
                raise self._bad_request(
                    'IP address %s is not a valid IP for the specified '
                    'subnet.' % address)
            elif (subnet.id, address) in used:
                raise self._conflict(
                    'IP address %s already allocated in subnet %s'
                    % (address, subnet.id))
            used.add((subnet.id, address))
            result.append({'subnet_id': subnet.id, 'ip_address': address})
        return result

    def _subnet_for(self, network_id, subnets, request):
        if request.get('subnet_id'):
            for subnet in subnets:
                if subnet.id == request['subnet_id']:
                    return subnet
            raise self._bad_request(
                'Invalid input for operation: Failed to create port on '
                'network %s, because fixed_ips included invalid subnet %s.'
                % (network_id, request['subnet_id']))
        address = ipaddress.ip_address(request['ip_address'])
        for subnet in subnets:
            if address in ipaddress.ip_network(subnet.cidr):
                return subnet
        raise self._bad_request(
            'Invalid input for operation: IP address %s is not a valid IP '
            'for any of the subnets on the specified network.' % address)

    def _free_address(self, network_id, subnet, used):
        for pool in subnet.allocation_pools:
            address = ipaddress.ip_address(pool['start'])
            while address <= ipaddress.ip_address(pool['end']):
                if (subnet.id, str(address)) not in used:
                    return str(address)
                address += 1
        raise self._conflict('No more IP addresses available on network %s.'
                             % network_id)

    # -- security groups ------------------------------------------------------

    def security_groups(self, **query):
        return self._list('security_group', **query)

    def get_security_group(self, ident):
        return self._out('security_group', self._get('security_group', ident))

    def find_security_group(self, name_or_id, ignore_missing=True):
        return self._find('security_group', name_or_id, ignore_missing)

    def create_security_group(self, name=None, description='', stateful=True):
        group = self._add('security_group', name=name,
                          description=description or '', stateful=stateful)
        # Neutron gives a new group one egress rule per ethertype.
        for ether_type in ('IPv4', 'IPv6'):
            self.create_security_group_rule(group.id, direction='egress',
                                            ether_type=ether_type)
        return self.get_security_group(group.id)

    def delete_security_group(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if any(ident in p.security_group_ids for p in self._rows('port')):
            raise self._conflict('Security Group %s in use.' % ident)
        for rule in list(self._rows('security_group_rule')):
            if ident in (rule.security_group_id, rule.remote_group_id):
                self._delete('security_group_rule', rule.id, True)
        self._delete('security_group', ident, ignore_missing)

    def security_group_rules(self, **query):
        return self._list('security_group_rule', **_sdk_names(query))

    def get_security_group_rule(self, ident):
        return self._out('security_group_rule',
                         self._get('security_group_rule', ident))

    def create_security_group_rule(self, security_group_id,
                                   direction='ingress', ether_type='IPv4',
                                   protocol=None, port_range_min=None,
                                   port_range_max=None, remote_ip_prefix=None,
                                   remote_group_id=None, description='',
                                   ethertype=None):
        self._get('security_group', security_group_id)
        ether_type = ethertype or ether_type
        if direction not in ('ingress', 'egress'):
            raise self._bad_request(
                "Invalid input for direction. Reason: '%s' is not in "
                "['ingress', 'egress']." % direction)
        if remote_ip_prefix and remote_group_id:
            raise self._bad_request('Only remote_ip_prefix or remote_group_id '
                                    'may be provided.')
        if remote_group_id:
            self._get('security_group', remote_group_id)
        if remote_ip_prefix:
            remote_ip_prefix = str(ipaddress.ip_network(remote_ip_prefix,
                                                        strict=False))
        if protocol is None and (port_range_min is not None or
                                 port_range_max is not None):
            raise self._bad_request(
                'Must also specify protocol if port range is given.')
        rule = dict(security_group_id=security_group_id, direction=direction,
                    ether_type=ether_type, protocol=protocol,
                    port_range_min=port_range_min,
                    port_range_max=port_range_max,
                    remote_ip_prefix=remote_ip_prefix,
                    remote_group_id=remote_group_id)
        for existing in self._rows('security_group_rule', **rule):
            if all(existing.get(k) == v for k, v in rule.items()):
                raise self._conflict('Security group rule already exists. '
                                     'Rule id is %s.' % existing.id)
        return self._add('security_group_rule',
                         description=description or '', **rule)

    def delete_security_group_rule(self, ident, ignore_missing=True):
        self._delete('security_group_rule', ident, ignore_missing)

    def _view(self, kind, row, resource):
        if kind == 'security_group':
            # Neutron embeds the rules as its API writes them (ethertype,
            # not the SDK's ether_type).
            resource['security_group_rules'] = [
                {('ethertype' if k == 'ether_type' else k): v
                 for k, v in dict(rule).items()}
                for rule in self._list('security_group_rule',
                                       security_group_id=row.id)]
        return resource

    # -- BGPVPN ---------------------------------------------------------------

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
            raise self._conflict(
                'network %s is already associated' % network_id)
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
            raise self._bad_request(
                'Router associations require the bgpvpn to be of type l3.')
        self._get('router', router_id)
        return self._add('bgpvpn_router_association', bgpvpn_id=bgpvpn_id,
                         router_id=router_id)

    def delete_bgpvpn_router_association(self, bgpvpn, association,
                                         ignore_missing=True):
        self._delete('bgpvpn_router_association', association,
                     ignore_missing)

    # -- the benchmark's synthetic calls --------------------------------------

    def bench_call(self, vnf, step, undo=False):
        # A flat row: its shallow copy is a copy, and the benchmark measures
        # the runner, not the fake.
        kind = 'bench_undo' if undo else 'bench'
        row_id = base.new_id(kind)
        row = base.FakeResource(id=row_id, vnf=vnf, step=step)
        self._tables[kind][row_id] = row
        return base.FakeResource(row)

    # -- VPNaaS ---------------------------------------------------------------

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
            raise self._conflict('IKE policy %s is in use' % ident)
        self._delete('ikepolicy', ident, ignore_missing)

    def vpn_ipsec_policies(self, **query):
        return self._list('ipsecpolicy', **query)

    def create_vpn_ipsec_policy(self, **attrs):
        return self._add('ipsecpolicy', **attrs)

    def delete_vpn_ipsec_policy(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('ipsec_site_connection', ipsecpolicy_id=ident):
            raise self._conflict('IPsec policy %s is in use' % ident)
        self._delete('ipsecpolicy', ident, ignore_missing)

    def vpn_services(self, **query):
        return self._vpn_list('vpnservice', query)

    def create_vpn_service(self, router_id, name=None, description='',
                           **other):
        router = self._get('router', router_id)
        gateway = router.external_gateway_info
        if not gateway:
            raise self._bad_request(
                'Router %s has no external network gateway set' % router_id)
        return self._add(
            'vpnservice', name=name, description=description or '',
            router_id=router_id, status='PENDING_CREATE',
            reads_until_active=self._site.reads_until_active,
            external_v4_ip=gateway['external_fixed_ips'][0]['ip_address'])

    def delete_vpn_service(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._list('ipsec_site_connection', vpnservice_id=ident):
            raise self._conflict('VPN service %s is in use' % ident)
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
                raise self._conflict('Endpoint group %s is in use' % ident)
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
