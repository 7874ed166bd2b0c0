"""The network proxy of a fake site: Neutron and its extensions.

The subset of openstacksdk's network proxy that geoflows calls, with
Neutron's rules where they matter (409 when deleting a resource in use, 400
for a VPN service on a router without gateway, ...).
"""

import ipaddress

from geoflows.testing.fakecloud import base


class FakeNetwork(base.FakeProxy):
    """The network proxy of one fake site."""

    service = 'network'

    # -- networks, subnets, segments -----------------------------------------

    def networks(self, **query):
        return self._list('network', **query)

    def find_network(self, name_or_id, ignore_missing=True):
        return self._find('network', name_or_id, ignore_missing)

    def get_network(self, ident):
        return self._out('network', self._get('network', ident))

    def create_network(self, name=None, description='',
                       provider_network_type=None,
                       provider_physical_network=None,
                       provider_segmentation_id=None,
                       availability_zone_hints=None, is_router_external=False,
                       **other):
        for zone in availability_zone_hints or ():
            if zone not in self._site.availability_zones:
                raise self._not_found('AvailabilityZone', zone)
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
            raise self._conflict(
                'Unable to complete operation on network %s. There are one '
                'or more ports still in use on the network.' % ident)
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
                raise self._bad_request(
                    'Network %s is not an external network' % ext.id)
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
            raise self._conflict('Router %s still has ports' % ident)
        if self._list('vpnservice', router_id=ident):
            raise self._conflict('Router %s is used by a VPN service' % ident)
        self._delete('router', ident, ignore_missing)

    def ports(self, **query):
        return self._list('port', **query)

    def get_port(self, ident):
        return self._out('port', self._get('port', ident))

    def update_port(self, ident, **attrs):
        return self._update('port', ident, **attrs)

    def add_interface_to_router(self, router, subnet_id=None, port_id=None):
        router_id = getattr(router, 'id', router)
        self._get('router', router_id)
        subnet = self._get('subnet', subnet_id)
        for port in self._list('port', device_id=router_id):
            if any(ip['subnet_id'] == subnet_id for ip in port.fixed_ips):
                raise self._bad_request(
                    'Router already has a port on subnet %s' % subnet_id)
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
        raise self._not_found('router interface', port_id or subnet_id)

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
