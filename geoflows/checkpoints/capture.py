"""Read a site's resources into checkpoint documents (plain JSON).

Every reference between resources is kept by *name* (a port's network, a
rule's remote group, a server's flavor), because the ids of the other site
differ; the source ids are kept as ``source_id`` to match things up again
(a sync finds what changed, a failback what it replaces).

The functions take openstacksdk proxies (or the fake cloud's) and do reads
only.  What openstacksdk gives differently from the APIs is handled here
once: the embedded flavor of a server (no flavor id since microversion
2.47), image properties that the SDK's ``properties`` leaves out, security
groups that belong to ports rather than servers.
"""

ROUTER_INTERFACE = 'network:router_interface'
_RULE_FIELDS = ('direction', 'ethertype', 'protocol', 'port_range_min',
                'port_range_max', 'remote_ip_prefix', 'description')
_IMAGE_FIELDS = ('id', 'name', 'disk_format', 'container_format',
                 'min_disk', 'min_ram', 'checksum', 'os_hash_algo',
                 'os_hash_value', 'size', 'visibility', 'status', 'file',
                 'schema', 'self', 'created_at', 'updated_at', 'owner',
                 'protected', 'tags', 'virtual_size', 'direct_url',
                 'locations', 'stores', 'os_hidden')


class Names(object):
    """Names of a site's networks, subnets and security groups, by id."""

    def __init__(self, net, networks=None, groups=None):
        """``networks``, ``groups``: {id: name} when already listed."""
        self.net = net
        self._networks = networks
        self._subnets = None
        self._groups = groups

    def network(self, ident):
        if self._networks is None:
            self._networks = {n.id: n.name for n in self.net.networks()}
        return self._networks.get(ident, ident)

    def subnet(self, ident):
        if self._subnets is None:
            self._subnets = {s.id: s.name for s in self.net.subnets()}
        return self._subnets.get(ident, ident)

    def security_group(self, ident):
        if self._groups is None:
            self._groups = {g.id: g.name for g in
                            self.net.security_groups()}
        return self._groups.get(ident, ident)


def subnet(obj):
    return {'name': obj.name, 'cidr': obj.cidr,
            'ip_version': obj.ip_version, 'gateway_ip': obj.gateway_ip,
            'allocation_pools': [dict(p) for p in
                                 (obj.allocation_pools or ())],
            'enable_dhcp': bool(obj.is_dhcp_enabled),
            'dns_nameservers': list(obj.dns_nameservers or ()),
            'host_routes': [dict(r) for r in (obj.host_routes or ())],
            'ipv6_ra_mode': obj.ipv6_ra_mode,
            'ipv6_address_mode': obj.ipv6_address_mode,
            'source_id': obj.id}


def network(net, obj):
    """A network and its subnets."""
    return {'name': obj.name, 'description': obj.description or '',
            'mtu': obj.mtu,
            'admin_state_up': obj.is_admin_state_up is not False,
            'port_security_enabled': obj.is_port_security_enabled
            is not False,
            'shared': bool(obj.is_shared), 'source_id': obj.id,
            'subnets': sorted((subnet(s) for s in
                               net.subnets(network_id=obj.id)),
                              key=lambda s: (s['name'] or '', s['cidr']))}


def router(net, obj, names):
    """A router: its external network (by name), routes and interfaces."""
    gateway = dict(obj.external_gateway_info or {})
    interfaces = []
    for port in net.ports(device_id=obj.id, device_owner=ROUTER_INTERFACE):
        for ip in port.fixed_ips or ():
            interfaces.append({'subnet': names.subnet(ip['subnet_id']),
                               'subnet_id': ip['subnet_id'],
                               'ip_address': ip['ip_address']})
    return {'name': obj.name, 'description': obj.description or '',
            'external_network': (names.network(gateway['network_id'])
                                 if gateway.get('network_id') else None),
            'enable_snat': gateway.get('enable_snat'),
            'routes': [dict(r) for r in (obj.routes or ())],
            'interfaces': sorted(interfaces, key=lambda i: (
                i['subnet'], i['ip_address'])),
            'source_id': obj.id}


def rule(data, names):
    data = dict(data)
    captured = {key: data.get(key) for key in _RULE_FIELDS}
    captured['description'] = captured['description'] or ''
    captured['remote_group'] = (names.security_group(data['remote_group_id'])
                                if data.get('remote_group_id') else None)
    return captured


def rule_key(captured):
    """What makes two rules the same rule (descriptions aside)."""
    return tuple((key, captured.get(key)) for key in (
        'direction', 'ethertype', 'protocol', 'port_range_min',
        'port_range_max', 'remote_ip_prefix', 'remote_group'))


def security_group(obj, names):
    rules = [rule(r, names) for r in (obj.security_group_rules or ())]
    return {'name': obj.name, 'description': obj.description or '',
            'stateful': getattr(obj, 'stateful', True) is not False,
            'rules': sorted(rules, key=lambda r: repr(rule_key(r))),
            'source_id': obj.id}


def keypair(obj):
    return {'name': obj.name, 'type': getattr(obj, 'type', None) or 'ssh',
            'public_key': obj.public_key, 'fingerprint': obj.fingerprint}


#: the extra spec by which geoflows marks the flavors it makes: not the
#: VNF's (a group replicating back reads it on the DR site's copies)
FLAVOR_MARK = 'geoflows:owner'


def flavor(obj, extra_specs=None):
    specs = dict(extra_specs if extra_specs is not None
                 else (obj.extra_specs or {}))
    specs.pop(FLAVOR_MARK, None)
    return {'name': obj.name, 'vcpus': obj.vcpus, 'ram': obj.ram,
            'disk': obj.disk, 'ephemeral': obj.ephemeral or 0,
            'swap': obj.swap or 0, 'is_public': obj.is_public is not False,
            'extra_specs': specs, 'source_id': obj.id}


def flavor_key(captured):
    """What makes two flavors equal (names and ids aside)."""
    return (captured['vcpus'], captured['ram'], captured['disk'],
            captured['ephemeral'], captured['swap'],
            tuple(sorted(captured['extra_specs'].items())))


def server_group(obj):
    group = {'name': obj.name, 'policy': obj.policy, 'source_id': obj.id}
    if getattr(obj, 'rules', None):
        group['rules'] = dict(obj.rules)
    return group


def image(glance, obj):
    """An image with every property, from the raw API document.

    The SDK's ``properties`` leaves out every key it models as an attribute
    (os_distro, hw_disk_bus, ...).
    """
    raw = glance.get('/images/%s' % obj.id).json()
    return {'source_id': obj.id, 'name': obj.name,
            'disk_format': raw.get('disk_format'),
            'container_format': raw.get('container_format'),
            'min_disk': raw.get('min_disk') or 0,
            'min_ram': raw.get('min_ram') or 0,
            'visibility': raw.get('visibility'),
            'checksum': raw.get('checksum'),
            'hash_algo': raw.get('os_hash_algo'),
            'hash_value': raw.get('os_hash_value'),
            'size': raw.get('size'),
            'properties': {k: v for k, v in raw.items()
                           if k not in _IMAGE_FIELDS}}


def port(obj, names):
    return {'name': obj.name, 'network': names.network(obj.network_id),
            'mac_address': obj.mac_address,
            'fixed_ips': [{'subnet': names.subnet(ip['subnet_id']),
                           'ip_address': ip['ip_address']}
                          for ip in (obj.fixed_ips or ())],
            'security_groups': sorted(names.security_group(g) for g in
                                      (obj.security_group_ids or ())),
            'allowed_address_pairs': [
                {k: v for k, v in dict(p).items() if k != 'mac_address'}
                for p in (obj.allowed_address_pairs or ())],
            'port_security_enabled': obj.is_port_security_enabled
            is not False,
            'vnic_type': getattr(obj, 'binding_vnic_type', None) or 'normal',
            'admin_state_up': obj.is_admin_state_up is not False,
            'source_id': obj.id}


def volume(obj, device=None):
    return {'name': obj.name, 'size': obj.size,
            'volume_type': obj.volume_type,
            'bootable': _truth(obj.is_bootable),
            'availability_zone': obj.availability_zone,
            'metadata': dict(obj.metadata or {}),
            'device': device, 'source_id': obj.id}


def _truth(value):
    if isinstance(value, str):
        return value.lower() == 'true'
    return bool(value)


def server(obj, ports, volumes, group=None):
    """A server, with its captured ports and volumes.

    ``ports`` in interface order, ``volumes`` in attachment order.
    """
    embedded = dict(obj.flavor or {})
    image_ref = dict(obj.image or {}) if obj.image else {}
    return {'name': obj.name, 'source_id': obj.id,
            'flavor': embedded.get('original_name') or embedded.get('name')
            or embedded.get('id'),
            'image': image_ref.get('id') or None,
            'key_name': obj.key_name,
            'metadata': dict(obj.metadata or {}),
            'availability_zone': obj.availability_zone,
            'server_group': group,
            'description': getattr(obj, 'description', None),
            'tags': sorted(getattr(obj, 'tags', None) or ()),
            'status': obj.status,
            'ports': ports, 'volumes': volumes}


def chain(net, obj, port_owners):
    """A port chain: its groups in order, their pairs, its classifiers.

    ``port_owners`` maps a port id to ``{vnf, server, port}`` (names), so
    that the chain can be rebuilt from the other site's ports.
    """
    def owner(port_id):
        return port_owners.get(port_id) or {'port_id': port_id}

    groups = []
    for group_id in obj.port_pair_groups or ():
        group = net.get_sfc_port_pair_group(group_id)
        pairs = []
        for pair_id in group.port_pairs or ():
            pair = net.get_sfc_port_pair(pair_id)
            pairs.append({'name': pair.name,
                          'description': pair.description or '',
                          'ingress': owner(pair.ingress),
                          'egress': owner(pair.egress),
                          'parameters': dict(
                              pair.service_function_parameters or {}),
                          'source_id': pair.id})
        groups.append({'name': group.name,
                       'description': group.description or '',
                       'parameters': dict(
                           group.port_pair_group_parameters or {}),
                       'port_pairs': pairs, 'source_id': group.id})
    classifiers = []
    for fc_id in obj.flow_classifiers or ():
        fc = net.get_sfc_flow_classifier(fc_id)
        classifiers.append({
            'name': fc.name, 'description': fc.description or '',
            'ethertype': fc.ethertype, 'protocol': fc.protocol,
            'source_ip_prefix': fc.source_ip_prefix,
            'destination_ip_prefix': fc.destination_ip_prefix,
            'source_port_range_min': fc.source_port_range_min,
            'source_port_range_max': fc.source_port_range_max,
            'destination_port_range_min': fc.destination_port_range_min,
            'destination_port_range_max': fc.destination_port_range_max,
            'logical_source_port': (owner(fc.logical_source_port)
                                    if fc.logical_source_port else None),
            'logical_destination_port': (
                owner(fc.logical_destination_port)
                if fc.logical_destination_port else None),
            'l7_parameters': dict(fc.l7_parameters or {}),
            'source_id': fc.id})
    return {'name': obj.name, 'description': obj.description or '',
            'chain_parameters': dict(obj.chain_parameters or {}),
            'port_pair_groups': groups, 'flow_classifiers': classifiers,
            'source_id': obj.id}
