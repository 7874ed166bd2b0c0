"""Neutron core resources: networks, subnets, routers, interfaces, segments.

Identities (how a re-run finds what an earlier attempt made):

* network, router: by name;
* subnet: by network and CIDR (so a network that already exists with a
  subnet of the planned range is used as it is);
* router interface: the router's interface port on the subnet;
* segment: by network, physical network and segmentation id.
"""

import ipaddress

from geoflows import exceptions
from geoflows.tasks import base


class Network(base.Resource):
    """A network; ``provider`` and ``availability_zones`` are optional."""

    kind = 'network'

    def find(self, net, parents):
        return base.only(net.networks(name=self.name),
                         'networks named %r' % self.name)

    def create(self, net, parents):
        attrs = {'name': self.name, 'description': self.marker}
        provider = self.params.get('provider')
        if provider:
            attrs['provider_network_type'] = provider['network_type']
            attrs['provider_physical_network'] = provider[
                'physical_network']
            if provider.get('segmentation_id') is not None:
                attrs['provider_segmentation_id'] = provider[
                    'segmentation_id']
        zones = self.params.get('availability_zones')
        if zones:
            attrs['availability_zone_hints'] = list(zones)
        # A copy of another site's network (protection) keeps its settings.
        if self.params.get('mtu'):
            attrs['mtu'] = self.params['mtu']
        if self.params.get('port_security_enabled') is not None:
            attrs['is_port_security_enabled'] = self.params[
                'port_security_enabled']
        return net.create_network(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_network(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result['availability_zone_hints'] = list(
            obj.availability_zone_hints or [])
        return result

    def drift(self, found, parents):
        missing = sorted(set(self.params.get('availability_zones') or ())
                         - set(found.get('availability_zone_hints') or ()))
        if missing:
            return ['availability zone hints lack %s'
                    % ', '.join(missing)]
        return []


class Subnet(base.Resource):
    """The subnet of ``cidr`` on the parent ``network`` (and ``segment``)."""

    kind = 'subnet'

    def find(self, net, parents):
        cidr = str(ipaddress.ip_network(self.params['cidr']))
        return base.only(net.subnets(network_id=parents['network']['id'],
                                     cidr=cidr),
                         'subnets of %s on network %s' % (
                             cidr, parents['network']['id']))

    def create(self, net, parents):
        cidr = ipaddress.ip_network(self.params['cidr'])
        attrs = {'name': self.name, 'description': self.marker,
                 'network_id': parents['network']['id'],
                 'cidr': str(cidr), 'ip_version': cidr.version}
        if self.params.get('gateway_ip'):
            attrs['gateway_ip'] = self.params['gateway_ip']
        if 'segment' in parents:
            attrs['segment_id'] = parents['segment']['id']
        # A copy of another site's subnet (protection) keeps its settings.
        for key, attr in (('allocation_pools', 'allocation_pools'),
                          ('enable_dhcp', 'is_dhcp_enabled'),
                          ('dns_nameservers', 'dns_nameservers'),
                          ('host_routes', 'host_routes'),
                          ('ipv6_ra_mode', 'ipv6_ra_mode'),
                          ('ipv6_address_mode', 'ipv6_address_mode')):
            if self.params.get(key) not in (None, []):
                attrs[attr] = self.params[key]
        return net.create_subnet(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_subnet(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(cidr=obj.cidr, network_id=obj.network_id,
                      segment_id=obj.segment_id)
        return result

    def drift(self, found, parents):
        if 'segment' in parents and parents['segment'] and \
                found.get('segment_id') != parents['segment']['id']:
            return ['is on segment %s, not on the cell\'s segment %s'
                    % (found.get('segment_id'), parents['segment']['id'])]
        return []


class ExistingSubnet(base.Resource):
    """A subnet the plan names (name or id); never created or deleted."""

    kind = 'subnet'

    def find(self, net, parents):
        return net.find_subnet(self.name, ignore_missing=True)

    def create(self, net, parents):
        raise exceptions.ResourceError('%s is not created by geoflows'
                                       % self.label)

    def delete(self, net, resource_id, parents):
        raise exceptions.ResourceError('%s is not deleted by geoflows'
                                       % self.label)

    def owned(self, obj, parents):
        return False

    def describe(self, obj, parents):
        return {'id': obj.id, 'name': obj.name, 'owned': False,
                'cidr': obj.cidr, 'network_id': obj.network_id}


class Router(base.Resource):
    """A router, with a gateway on ``external_network`` if given."""

    kind = 'router'

    def _external_network(self, net):
        name = self.params.get('external_network')
        if not name:
            return None
        ext = net.find_network(name, ignore_missing=True)
        if ext is None or not ext.is_router_external:
            raise exceptions.ResourceError(
                'site %r has no external network %r for the gateway of '
                'router %r; name an existing external network in the plan'
                % (self.site['name'], name, self.name))
        return ext

    def find(self, net, parents):
        return base.only(net.routers(name=self.name),
                         'routers named %r' % self.name)

    def create(self, net, parents):
        attrs = {'name': self.name, 'description': self.marker}
        ext = self._external_network(net)
        if ext is not None:
            attrs['external_gateway_info'] = {'network_id': ext.id}
        return net.create_router(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_router(resource_id, ignore_missing=False)

    def converge(self, net, obj, parents):
        ext = self._external_network(net)
        if ext is None or (obj.external_gateway_info or {}).get(
                'network_id'):
            return None
        updated = net.update_router(
            obj, external_gateway_info={'network_id': ext.id})
        obj.external_gateway_info = updated.external_gateway_info
        return {'external_gateway_info': None}

    def restore(self, net, resource_id, previous, parents):
        net.update_router(resource_id, external_gateway_info={})

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        gateway = obj.external_gateway_info or {}
        result['external_network_id'] = gateway.get('network_id')
        return result

    def drift(self, found, parents):
        if self.params.get('external_network') and \
                not found.get('external_network_id'):
            return ['has no gateway on external network %r'
                    % self.params['external_network']]
        return []


class RouterInterface(base.Resource):
    """The interface of parent ``router`` on parent ``subnet``."""

    kind = 'router interface'

    @property
    def label(self):
        return 'interface of router %r on subnet %r (site %r)' % (
            self.params['router_name'], self.name, self.site['name'])

    def find(self, net, parents):
        subnet_id = parents['subnet']['id']
        ports = [p for p in net.ports(device_id=parents['router']['id'])
                 if p.device_owner.startswith('network:router_interface')
                 and any(ip.get('subnet_id') == subnet_id
                         for ip in p.fixed_ips or ())]
        return base.only(ports, 'interfaces on subnet %s' % subnet_id)

    def create(self, net, parents):
        answer = net.add_interface_to_router(
            parents['router']['id'], subnet_id=parents['subnet']['id'])
        return net.get_port(answer['port_id'])

    def claim(self, net, obj, parents):
        # Neutron creates the interface's port: mark it afterwards.
        if obj.description != self.marker:
            net.update_port(obj.id, description=self.marker)
            obj.description = self.marker

    def delete(self, net, resource_id, parents):
        net.remove_interface_from_router(parents['router']['id'],
                                         port_id=resource_id)

    def owned(self, obj, parents):
        # Also geoflows' when its router or subnet is (the mark may be
        # missing if a crash came between the two calls of create+claim).
        return bool(super().owned(obj, parents)
                    or parents['router'].get('owned')
                    or parents['subnet'].get('owned'))


class Segment(base.Resource):
    """A segment of parent ``network`` (one cell of a routed network)."""

    kind = 'segment'

    def find(self, net, parents):
        segments = [s for s in net.segments(
            network_id=parents['network']['id'])
            if s.physical_network == self.params['physical_network']
            and s.segmentation_id == self.params.get('segmentation_id')]
        return base.only(segments, 'segments on %s' % self.params[
            'physical_network'])

    def create(self, net, parents):
        return net.create_segment(
            network_id=parents['network']['id'], name=self.name,
            description=self.marker,
            network_type=self.params['network_type'],
            physical_network=self.params['physical_network'],
            segmentation_id=self.params.get('segmentation_id'))

    def delete(self, net, resource_id, parents):
        net.delete_segment(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(physical_network=obj.physical_network,
                      segmentation_id=obj.segmentation_id,
                      network_type=obj.network_type)
        return result


class FirstSegment(Segment):
    """The segment a provider network is created with.

    It is never deleted on its own: it goes with its network.
    """

    missing_hint = ('the network exists without the cell\'s segment; fix '
                    'or delete the network, then run the setup again')

    def create(self, net, parents):
        raise exceptions.ResourceError('%s comes with its network'
                                       % self.label)

    def delete(self, net, resource_id, parents):
        raise exceptions.ResourceError('%s goes with its network'
                                       % self.label)

    def owned(self, obj, parents):
        return False


class SecurityGroup(base.Resource):
    """A security group, by name (its rules are resources of their own)."""

    kind = 'security group'

    def find(self, net, parents):
        return base.only(net.security_groups(name=self.name),
                         'security groups named %r' % self.name)

    def create(self, net, parents):
        return net.create_security_group(
            name=self.name, description=self.marker,
            stateful=self.params.get('stateful', True))

    def delete(self, net, resource_id, parents):
        net.delete_security_group(resource_id, ignore_missing=False)


class SecurityGroupRule(base.Resource):
    """A rule of parent ``group``.

    Parent ``remote_group`` when the rule refers to another group.  Found
    by what it matches (direction, protocol, ports, remote): a rule
    that already exists, e.g. the default egress rules of a new group, is
    used as it is.
    """

    kind = 'security group rule'
    _MATCH = ('direction', 'ethertype', 'protocol', 'port_range_min',
              'port_range_max', 'remote_ip_prefix')

    @property
    def label(self):
        return 'rule %s of security group %r (site %r)' % (
            self.name, self.params['group_name'], self.site['name'])

    def _remote(self, parents):
        remote = parents.get('remote_group')
        return remote['id'] if remote else None

    # openstacksdk's names of the API's fields.
    _SDK_NAMES = {'ethertype': 'ether_type'}

    def find(self, net, parents):
        remote = self._remote(parents)
        for rule in net.security_group_rules(
                security_group_id=parents['group']['id']):
            if all(_same(getattr(rule, self._SDK_NAMES.get(key, key), None),
                         self.params.get(key)) for key in self._MATCH) and \
                    (rule.remote_group_id or None) == remote:
                return rule
        return None

    def create(self, net, parents):
        attrs = {self._SDK_NAMES.get(key, key): self.params[key]
                 for key in self._MATCH if self.params.get(key) is not None}
        if self._remote(parents):
            attrs['remote_group_id'] = self._remote(parents)
        return net.create_security_group_rule(
            security_group_id=parents['group']['id'],
            description=self.marker, **attrs)

    def delete(self, net, resource_id, parents):
        net.delete_security_group_rule(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        # Also geoflows' when its group is: deleting the group takes them.
        return bool(super().owned(obj, parents) or
                    parents['group'].get('owned'))


def _same(found, wanted):
    # Neutron answers None, '' or 'any' for "no constraint" depending on
    # the field and the version.
    empty = (None, '', 'any')
    if found in empty and wanted in empty:
        return True
    return found == wanted


class Port(base.Resource):
    """A port of parent ``network`` with fixed IPs and a MAC address.

    Found by name on its network.  ``fixed_ips`` name subnets by parent
    key: ``[{'subnet': KEY, 'ip_address': IP}]``; ``security_groups`` are
    parent keys too.
    """

    kind = 'port'

    def find(self, net, parents):
        return base.only(net.ports(network_id=parents['network']['id'],
                                   name=self.name),
                         'ports named %r on network %s' % (
                             self.name, parents['network']['id']))

    def create(self, net, parents):
        attrs = {'name': self.name, 'description': self.marker,
                 'network_id': parents['network']['id'],
                 'fixed_ips': [{'subnet_id': parents[ip['subnet']]['id'],
                                'ip_address': ip['ip_address']}
                               for ip in self.params.get('fixed_ips', ())],
                 'security_group_ids': [
                     parents[key]['id']
                     for key in self.params.get('security_groups', ())],
                 'is_admin_state_up': self.params.get('admin_state_up',
                                                      True)}
        if self.params.get('mac_address'):
            attrs['mac_address'] = self.params['mac_address']
        if self.params.get('allowed_address_pairs'):
            attrs['allowed_address_pairs'] = self.params[
                'allowed_address_pairs']
        if self.params.get('port_security_enabled') is False:
            attrs['is_port_security_enabled'] = False
            attrs['security_group_ids'] = []
        if self.params.get('vnic_type') not in (None, 'normal'):
            attrs['binding_vnic_type'] = self.params['vnic_type']
        return net.create_port(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_port(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(mac_address=obj.mac_address,
                      fixed_ips=[{'subnet_id': ip['subnet_id'],
                                  'ip_address': ip['ip_address']}
                                 for ip in obj.fixed_ips or ()],
                      device_id=obj.device_id or None)
        return result

    def drift(self, found, parents):
        problems = []
        if self.params.get('mac_address') and \
                found.get('mac_address') != self.params['mac_address']:
            problems.append('has MAC %s, not %s' % (
                found.get('mac_address'), self.params['mac_address']))
        want = sorted(ip['ip_address'] for ip in
                      self.params.get('fixed_ips', ()))
        have = sorted(ip['ip_address'] for ip in
                      found.get('fixed_ips', ()))
        if want != have:
            problems.append('has addresses %s, not %s' % (
                ', '.join(have) or 'none', ', '.join(want)))
        return problems
