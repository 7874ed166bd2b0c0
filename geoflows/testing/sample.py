"""The sample VNFs of the protection group ``core`` of the minicloud plan.

The plan is etc/plans/minicloud.yaml.

Deployed at a primary site for demos, functional tests and unit tests (on
the fake cloud as on the minicloud's RegionOne), through openstacksdk's
proxies only:

* networks ``vnf-mgmt`` (10.50.0.0/24) and ``vnf-data`` (10.51.0.0/24),
  a router ``vnf-edge`` with a gateway on ``public`` and an interface on
  each;
* a security group ``vnf-sg`` (SSH, ICMP from 10/8, TCP 8000-8100 from
  its own members), a keypair ``vnf-key``, a flavor ``vnf-small`` with an
  extra spec, a 1 MiB raw image ``vnf-image``, a server group
  ``hss-group``;
* six servers on ports with fixed IPs: ``hss-1`` and ``hss-2`` (hot, in
  the server group), ``pgw-1`` and ``pgw-2`` (warm), ``fw-1`` and
  ``fw-2`` (cold, metadata ``vnf=fw``); a 1 GiB volume on ``hss-1``,
  ``pgw-1`` and ``fw-1``;
* a port chain ``edge`` through ``pgw-1`` and ``fw-1`` (their data ports),
  for traffic from ``hss-1`` to TCP port 80.

Every name can carry a prefix (tests use their own); :func:`group_yaml`
gives the matching protection group of a plan.

    sample.deploy(conn, prefix='t1-')       # conn: .network, .compute, ...
    sample.remove(conn, prefix='t1-')
"""

import hashlib
import time

NETWORKS = (('vnf-mgmt', '10.50.0.0/24'), ('vnf-data', '10.51.0.0/24'))
SERVERS = (
    # name, ports (network, last octet), volume, group, metadata
    ('hss-1', (('vnf-mgmt', 11), ('vnf-data', 11)), 'hss-1-db', 'hss-group',
     {'vnf': 'hss'}),
    ('hss-2', (('vnf-mgmt', 12),), None, 'hss-group', {'vnf': 'hss'}),
    ('pgw-1', (('vnf-mgmt', 21), ('vnf-data', 21)), 'pgw-1-cfg', None,
     {'vnf': 'pgw'}),
    ('pgw-2', (('vnf-mgmt', 22),), None, None, {'vnf': 'pgw'}),
    ('fw-1', (('vnf-mgmt', 31), ('vnf-data', 31)), 'fw-1-logs', None,
     {'vnf': 'fw'}),
    ('fw-2', (('vnf-mgmt', 32),), None, None, {'vnf': 'fw'}),
)
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIxZ1c2zGq0m3p8ef2bEQnQ'
              'm6mQyS5m9w0cV1o9yUuFZ geoflows-sample')
IMAGE_SIZE = 1024 * 1024
FLAVOR = {'vcpus': 1, 'ram': 256, 'disk': 1}
FLAVOR_SPECS = {'hw:cpu_policy': 'shared', 'geoflows:sample': 'vnf'}


def image_data():
    """The sample image's bytes (deterministic, not all zeros)."""
    block = hashlib.sha256(b'geoflows sample image').digest()
    return (block * (IMAGE_SIZE // len(block) + 1))[:IMAGE_SIZE]


def ip(cidr, octet):
    return '%s.%d' % (cidr.rsplit('.', 1)[0], octet)


def group_yaml(prefix='', name='core', primary='east', dr='west',
               interconnect=None, rpo='10m', rto='15m', sync_interval='5m',
               retention=3, hooks=None, data=None):
    """The protection group of the sample VNFs, as plan YAML text.

    ``hooks``: {vnf: {point: [hook, ...]}} (as JSON-compatible YAML);
    ``data``: {vnf: [{volume, method, options}, ...]}, the VNFs' data
    items (a volume's name without the prefix, which is added).
    """
    import json
    hooks = hooks or {}
    data = data or {}

    def vnf_hooks(vnf):
        text = ('        hooks: %s\n' % json.dumps(hooks[vnf])
                if vnf in hooks else '')
        if vnf in data:
            text += '        data: %s\n' % json.dumps([
                dict(item, volume=prefix + item['volume'])
                for item in data[vnf]])
        return text
    return ''.join([
        'protection_groups:\n',
        '  - name: %s\n' % name,
        '    primary: %s\n' % primary,
        '    dr: %s\n' % dr,
        '    interconnect: %s\n' % interconnect if interconnect else '',
        '    rpo: %s\n    rto: %s\n    sync_interval: %s\n' % (
            rpo, rto, sync_interval),
        '    retention: %d\n' % retention,
        '    vnfs:\n',
        '      - name: hss\n        priority: 1\n        standby: hot\n',
        '        servers: [%shss-1, %shss-2]\n' % (prefix, prefix),
        '        replication: application\n',
        vnf_hooks('hss'),
        '      - name: pgw\n        priority: 2\n        standby: warm\n',
        '        depends_on: [hss]\n',
        '        servers: [%spgw-1, %spgw-2]\n' % (prefix, prefix),
        '        replication: backup\n',
        '        chains: [%sedge]\n' % prefix,
        vnf_hooks('pgw'),
        '      - name: fw\n        priority: 2\n        standby: cold\n',
        '        servers: {selector: {vnf: fw, sample: %s}}\n'
        % (prefix or 'default'),
        '        replication: backup\n',
        '        chains: [%sedge]\n' % prefix,
        vnf_hooks('fw'),
    ])


def deploy(conn, prefix='', public='public', wait=120.0, servers=None):
    """Create the sample at the site of ``conn``; return ids by name.

    ``servers``: only these of :data:`SERVERS` (default: all six), for a
    test of fewer VNFs on a site of small quotas; the chain ``edge`` is
    made only with ``pgw-1`` and ``fw-1``.
    """
    net, compute, cinder, glance = (conn.network, conn.compute,
                                    conn.block_storage, conn.image)
    chosen = [entry for entry in SERVERS
              if servers is None or entry[0] in servers]
    unknown = set(servers or ()) - {entry[0] for entry in SERVERS}
    if unknown:
        raise ValueError('the sample has no server %s'
                         % ', '.join(sorted(unknown)))
    ids = {}
    subnets = {}
    for name, cidr in NETWORKS:
        network = net.create_network(name=prefix + name)
        subnet = net.create_subnet(network_id=network.id, name=prefix + name,
                                   cidr=cidr, ip_version=4,
                                   gateway_ip=ip(cidr, 1),
                                   allocation_pools=[{
                                       'start': ip(cidr, 100),
                                       'end': ip(cidr, 200)}])
        ids[name] = network.id
        subnets[name] = (subnet.id, cidr)
    ext = net.find_network(public, ignore_missing=True)
    router = net.create_router(
        name=prefix + 'vnf-edge',
        **({'external_gateway_info': {'network_id': ext.id}} if ext else {}))
    ids['vnf-edge'] = router.id
    for name, (subnet_id, _cidr) in subnets.items():
        net.add_interface_to_router(router.id, subnet_id=subnet_id)
    group = net.create_security_group(name=prefix + 'vnf-sg',
                                      description='sample VNFs')
    ids['vnf-sg'] = group.id
    for rule in ({'protocol': 'tcp', 'port_range_min': 22,
                  'port_range_max': 22, 'remote_ip_prefix': '0.0.0.0/0'},
                 {'protocol': 'icmp', 'remote_ip_prefix': '10.0.0.0/8'},
                 {'protocol': 'tcp', 'port_range_min': 8000,
                  'port_range_max': 8100, 'remote_group_id': group.id}):
        net.create_security_group_rule(security_group_id=group.id,
                                       direction='ingress',
                                       ether_type='IPv4', **rule)
    compute.create_keypair(name=prefix + 'vnf-key', public_key=PUBLIC_KEY)
    flavor = compute.create_flavor(name=prefix + 'vnf-small', **FLAVOR)
    compute.create_flavor_extra_specs(flavor, FLAVOR_SPECS)
    ids['vnf-small'] = flavor.id
    image = glance.create_image(prefix + 'vnf-image', data=image_data(),
                                disk_format='raw', container_format='bare',
                                min_disk=1, allow_duplicates=True,
                                geoflows_sample='vnf')
    ids['vnf-image'] = image.id
    server_group = compute.create_server_group(
        name=prefix + 'hss-group', policy='soft-anti-affinity')
    ids['hss-group'] = server_group.id
    _wait_image(glance, image.id, wait)
    for name, ports, volume, in_group, metadata in chosen:
        port_ids = []
        for network, octet in ports:
            subnet_id, cidr = subnets[network]
            port = net.create_port(
                network_id=ids[network], name='%s%s-%s' % (
                    prefix, name, network.split('-')[1]),
                fixed_ips=[{'subnet_id': subnet_id,
                            'ip_address': ip(cidr, octet)}],
                security_group_ids=[group.id])
            port_ids.append(port.id)
            ids['%s-%s' % (name, network)] = port.id
        attrs = {'name': prefix + name, 'flavor_id': flavor.id,
                 'image_id': image.id, 'key_name': prefix + 'vnf-key',
                 'networks': [{'port': p} for p in port_ids],
                 'metadata': dict(metadata, sample=prefix or 'default')}
        if in_group:
            attrs['scheduler_hints'] = {'group': server_group.id}
        ids[name] = compute.create_server(**attrs).id
        if volume:
            ids[volume] = cinder.create_volume(name=prefix + volume,
                                               size=1).id
    for name, _ports, volume, _group, _meta in chosen:
        _wait(lambda: compute.get_server(ids[name]).status, 'ACTIVE',
              'server %s%s' % (prefix, name), wait)
        if volume:
            _wait(lambda: cinder.get_volume(ids[volume]).status,
                  'available', 'volume %s%s' % (prefix, volume), wait)
            compute.create_volume_attachment(ids[name], volume=ids[volume])
    for name, _ports, volume, _group, _meta in chosen:
        if volume:
            _wait(lambda: cinder.get_volume(ids[volume]).status, 'in-use',
                  'volume %s%s' % (prefix, volume), wait)
    if 'pgw-1' in ids and 'fw-1' in ids:
        _chain(net, prefix, ids)
    return ids


def _chain(net, prefix, ids):
    groups = []
    for name in ('pgw-1', 'fw-1'):
        port = ids['%s-vnf-data' % name]
        pair = net.create_sfc_port_pair(name='%s%s-pair' % (prefix, name),
                                        ingress=port, egress=port)
        groups.append(net.create_sfc_port_pair_group(
            name='%s%s-group' % (prefix, name.split('-')[0]),
            port_pairs=[pair.id]).id)
    classifier = net.create_sfc_flow_classifier(
        name=prefix + 'edge-web', ethertype='IPv4', protocol='tcp',
        source_ip_prefix=ip(NETWORKS[1][1], 11) + '/32',
        destination_port_range_min=80, destination_port_range_max=80,
        logical_source_port=ids['hss-1-vnf-data'])
    ids['edge'] = net.create_sfc_port_chain(
        name=prefix + 'edge', port_pair_groups=groups,
        flow_classifiers=[classifier.id],
        chain_parameters={'correlation': 'mpls', 'symmetric': False}).id


def _wait_image(glance, image_id, wait):
    _wait(lambda: glance.get_image(image_id).status, 'active',
          'image %s' % image_id, wait)


def _wait(read, status, what, timeout):
    deadline = time.monotonic() + timeout
    while True:
        now = read()
        if now == status:
            return
        if now in ('ERROR', 'error') or time.monotonic() > deadline:
            raise RuntimeError('%s is %s, not %s' % (what, now, status))
        time.sleep(0.2)


def remove(conn, prefix=''):
    """Delete what :func:`deploy` made (whatever of it exists)."""
    net, compute, cinder, glance = (conn.network, conn.compute,
                                    conn.block_storage, conn.image)

    def named(items, name):
        return [i for i in items if i.name == prefix + name]

    for chain in named(net.sfc_port_chains(), 'edge'):
        net.delete_sfc_port_chain(chain.id)
    for name in ('pgw-group', 'fw-group'):
        for group in named(net.sfc_port_pair_groups(), name):
            net.delete_sfc_port_pair_group(group.id)
    for name in ('pgw-1-pair', 'fw-1-pair'):
        for pair in named(net.sfc_port_pairs(), name):
            net.delete_sfc_port_pair(pair.id)
    for fc in named(net.sfc_flow_classifiers(), 'edge-web'):
        net.delete_sfc_flow_classifier(fc.id)
    servers = [s for name, *_ in SERVERS
               for s in named(compute.servers(), name)]
    for server in servers:
        compute.delete_server(server.id)
    for server in servers:
        _gone(lambda: compute.get_server(server.id))
    for name, _ports, volume, _group, _meta in SERVERS:
        if volume:
            for vol in named(cinder.volumes(), volume):
                _wait(lambda: cinder.get_volume(vol.id).status, 'available',
                      'volume %s' % vol.name, 60)
                cinder.delete_volume(vol.id)
    for port in net.ports():
        if (port.name or '').startswith(prefix) and any(
                port.name == '%s%s-%s' % (prefix, s[0], n.split('-')[1])
                for s in SERVERS for n, _c in NETWORKS):
            net.delete_port(port.id)
    for router in named(net.routers(), 'vnf-edge'):
        for port in net.ports(device_id=router.id):
            if port.device_owner.startswith('network:router_interface'):
                net.remove_interface_from_router(router.id, port_id=port.id)
        net.delete_router(router.id)
    for name, _cidr in NETWORKS:
        for network in named(net.networks(), name):
            net.delete_network(network.id)
    for group in named(net.security_groups(), 'vnf-sg'):
        net.delete_security_group(group.id)
    for group in named(compute.server_groups(), 'hss-group'):
        compute.delete_server_group(group.id)
    for flavor in named(compute.flavors(), 'vnf-small'):
        compute.delete_flavor(flavor.id)
    compute.delete_keypair(prefix + 'vnf-key', ignore_missing=True)
    for image in named(glance.images(), 'vnf-image'):
        glance.delete_image(image.id)


def _gone(read, timeout=60.0):
    from openstack import exceptions as os_exc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            read()
        except os_exc.NotFoundException:
            return
        time.sleep(0.2)
    raise RuntimeError('still there after %ds' % timeout)
