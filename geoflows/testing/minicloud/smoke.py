"""Smoke test of the two-region minicloud, through openstacksdk.

Per region: a network, subnet and router; two servers booted on ports (one
with a fixed IP), ACTIVE and bound; a volume created, attached, snapshotted,
backed up and restored; an image uploaded; a BGPVPN with a network
association; an SFC port chain over the two servers' ports.  Between the
regions: an IPsec site connection each way.  Everything is deleted
afterwards, and the regions must be left with the ports and volumes they
had.

``run(connect)`` returns the timings; ``connect(region)`` gives an admin
connection to a region.  ``geoflows-minicloud smoke`` runs it.
"""

import time
import uuid

from geoflows.testing.minicloud import process

CIDRS = {'RegionOne': '10.98.1.0/24', 'RegionTwo': '10.98.2.0/24'}
TIMEOUT = 180


class SmokeError(process.ServiceError):
    pass


def _check(condition, message):
    if not condition:
        raise SmokeError(message)


class _Region(object):
    """What the smoke test made in one region, to check and delete."""

    def __init__(self, name, conn, tag):
        self.name = name
        self.conn = conn
        self.tag = tag
        self.undo = []  # (what, callable), deleted last first

    def made(self, what, undo):
        self.undo.append((what, undo))

    def cleanup(self, errors):
        while self.undo:
            what, undo = self.undo.pop()
            try:
                undo()
            except Exception as e:  # go on: delete everything else
                errors.append('%s: deleting %s: %s' % (self.name, what, e))


def _wait(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise SmokeError('timed out waiting for %s' % what)


def _network(r, timings):
    net = r.conn.network
    started = time.monotonic()
    network = net.create_network(name='smoke-%s' % r.tag)
    r.made('network', lambda: net.delete_network(network))
    subnet = net.create_subnet(network_id=network.id, ip_version=4,
                               cidr=CIDRS[r.name], name='smoke-%s' % r.tag)
    public = net.find_network('public')
    router = net.create_router(name='smoke-%s' % r.tag,
                               external_gateway_info={'network_id':
                                                      public.id})
    r.made('router', lambda: net.delete_router(router))
    net.add_interface_to_router(router, subnet_id=subnet.id)
    r.made('router interface', lambda: net.remove_interface_from_router(
        router, subnet_id=subnet.id))
    timings['network, subnet, router'] = time.monotonic() - started
    return network, subnet, router


def _image(r, timings):
    started = time.monotonic()
    image = r.conn.image.create_image(
        name='smoke-%s' % r.tag, disk_format='raw', container_format='bare',
        data=b'\0' * 65536)
    r.made('image', lambda: r.conn.image.delete_image(image))
    image = _wait(lambda: (lambda i: i if i.status == 'active' else None)(
        r.conn.image.get_image(image)), 'image active')
    timings['image upload'] = time.monotonic() - started
    return image


def _servers(r, network, subnet, image, timings):
    compute, net = r.conn.compute, r.conn.network
    started = time.monotonic()
    flavor = compute.find_flavor('m1.tiny')
    fixed_ip = CIDRS[r.name].rsplit('.', 1)[0] + '.77'
    port = net.create_port(network_id=network.id, name='smoke-%s' % r.tag,
                           fixed_ips=[{'subnet_id': subnet.id,
                                       'ip_address': fixed_ip}])
    r.made('port', lambda: net.delete_port(port))
    servers = []
    for index, nics in enumerate(([{'port': port.id}],
                                  [{'uuid': network.id}])):
        server = compute.create_server(
            name='smoke-%s-%d' % (r.tag, index), flavor_id=flavor.id,
            image_id=image.id, networks=nics)
        r.made('server', lambda s=server: (compute.delete_server(s),
                                           compute.wait_for_delete(s)))
        servers.append(server)
    servers = [compute.wait_for_server(s, wait=TIMEOUT) for s in servers]
    timings['2 servers ACTIVE'] = time.monotonic() - started
    ports = []
    for server in servers:
        [server_port] = list(net.ports(device_id=server.id))
        _check(server_port.binding_vif_type == 'ovs' and
               server_port.binding_host_id, '%s: port %s of server %s is '
               'not bound (%s)' % (r.name, server_port.id, server.name,
                                   server_port.binding_vif_type))
        ports.append(server_port)
    _check(ports[0].fixed_ips[0]['ip_address'] == fixed_ip,
           '%s: the server did not keep its fixed IP' % r.name)
    return servers, ports


def _volumes(r, server, timings):
    bs, compute = r.conn.block_storage, r.conn.compute
    started = time.monotonic()
    volume = bs.create_volume(size=1, name='smoke-%s' % r.tag)
    r.made('volume', lambda: _delete_volume(bs, volume))
    volume = bs.wait_for_status(volume, 'available', wait=TIMEOUT)
    compute.create_volume_attachment(server, volume_id=volume.id)
    bs.wait_for_status(volume, 'in-use', wait=TIMEOUT)
    timings['volume created and attached'] = time.monotonic() - started
    started = time.monotonic()
    snapshot = bs.create_snapshot(volume_id=volume.id, force=True,
                                  name='smoke-%s' % r.tag)
    r.made('snapshot', lambda: (bs.delete_snapshot(snapshot),
                                bs.wait_for_delete(snapshot)))
    bs.wait_for_status(snapshot, 'available', wait=TIMEOUT)
    timings['snapshot'] = time.monotonic() - started
    started = time.monotonic()
    backup = bs.create_backup(volume_id=volume.id, force=True,
                              name='smoke-%s' % r.tag)
    r.made('backup', lambda: (bs.delete_backup(backup),
                              bs.wait_for_delete(backup, wait=TIMEOUT)))
    bs.wait_for_status(backup, 'available', wait=TIMEOUT)
    timings['backup'] = time.monotonic() - started
    started = time.monotonic()
    compute.delete_volume_attachment(server, volume.id)
    bs.wait_for_status(volume, 'available', wait=TIMEOUT)
    timings['detach'] = time.monotonic() - started
    started = time.monotonic()
    restored = bs.restore_backup(backup, name='smoke-%s-restored' % r.tag)
    restored_id = restored['volume_id'] if isinstance(restored, dict) \
        else restored.volume_id
    r.made('restored volume', lambda: _delete_volume(bs, restored_id))
    _wait(lambda: bs.get_volume(restored_id).status == 'available',
          'restored volume available')
    timings['restore'] = time.monotonic() - started


def _delete_volume(bs, volume):
    bs.delete_volume(volume)
    bs.wait_for_delete(bs.get_volume(volume) if isinstance(volume, str)
                       else volume, wait=TIMEOUT)


def _bgpvpn(r, network, timings):
    net = r.conn.network
    started = time.monotonic()
    vpn = net.create_bgpvpn(name='smoke-%s' % r.tag,
                            route_targets=['64512:%d' % (
                                900 + len(r.name))])
    r.made('bgpvpn', lambda: net.delete_bgpvpn(vpn))
    association = net.create_bgpvpn_network_association(
        vpn, network_id=network.id)
    r.made('bgpvpn association',
           lambda: net.delete_bgpvpn_network_association(vpn, association))
    _check([a.network_id for a in net.bgpvpn_network_associations(vpn)] ==
           [network.id], '%s: BGPVPN association missing' % r.name)
    timings['bgpvpn + association'] = time.monotonic() - started


def _sfc(r, ports, timings):
    net = r.conn.network
    started = time.monotonic()
    pair = net.create_sfc_port_pair(name='smoke-%s' % r.tag,
                                    ingress=ports[0].id, egress=ports[0].id)
    r.made('port pair', lambda: net.delete_sfc_port_pair(pair))
    group = net.create_sfc_port_pair_group(name='smoke-%s' % r.tag,
                                           port_pairs=[pair.id])
    r.made('port pair group', lambda: net.delete_sfc_port_pair_group(group))
    classifier = net.create_sfc_flow_classifier(
        name='smoke-%s' % r.tag, ethertype='IPv4', protocol='tcp',
        logical_source_port=ports[1].id)
    r.made('flow classifier',
           lambda: net.delete_sfc_flow_classifier(classifier))
    chain = net.create_sfc_port_chain(name='smoke-%s' % r.tag,
                                      port_pair_groups=[group.id],
                                      flow_classifiers=[classifier.id])
    r.made('port chain', lambda: net.delete_sfc_port_chain(chain))
    timings['sfc port chain'] = time.monotonic() - started


def _vpn(local, remote, local_subnet, remote_router, local_router, timings):
    net = local.conn.network
    started = time.monotonic()
    peer = remote.conn.network.get_router(remote_router)
    peer_ip = peer.external_gateway_info['external_fixed_ips'][0][
        'ip_address']
    ike = net.create_vpn_ike_policy(name='smoke-%s' % local.tag,
                                    auth_algorithm='sha256')
    local.made('ike policy', lambda: net.delete_vpn_ike_policy(ike))
    ipsec = net.create_vpn_ipsec_policy(name='smoke-%s' % local.tag,
                                        auth_algorithm='sha256')
    local.made('ipsec policy', lambda: net.delete_vpn_ipsec_policy(ipsec))
    service = net.create_vpn_service(name='smoke-%s' % local.tag,
                                     router_id=local_router.id)
    local.made('vpn service', lambda: net.delete_vpn_service(service))
    ours = net.create_vpn_endpoint_group(
        name='smoke-%s-local' % local.tag, type='subnet',
        endpoints=[local_subnet.id])
    local.made('endpoint group', lambda: net.delete_vpn_endpoint_group(ours))
    theirs = net.create_vpn_endpoint_group(
        name='smoke-%s-peer' % local.tag, type='cidr',
        endpoints=[CIDRS[remote.name]])
    local.made('endpoint group',
               lambda: net.delete_vpn_endpoint_group(theirs))
    connection = net.create_vpn_ipsec_site_connection(
        name='smoke-%s' % local.tag, vpnservice_id=service.id,
        ikepolicy_id=ike.id, ipsecpolicy_id=ipsec.id, peer_address=peer_ip,
        peer_id=peer_ip, local_ep_group_id=ours.id,
        peer_ep_group_id=theirs.id, psk='smoke-%s' % uuid.uuid4().hex)
    local.made('site connection',
               lambda: net.delete_vpn_ipsec_site_connection(connection))
    timings['vpn site connection'] = time.monotonic() - started


def _inventory(conn):
    return ({p.id for p in conn.network.ports()},
            {v.id for v in conn.block_storage.volumes(all_projects=True)})


def run(connect, regions=('RegionOne', 'RegionTwo'), report=None):
    """The smoke test; {region: {step: seconds}}.  Raises SmokeError."""
    tag = uuid.uuid4().hex[:6]
    made = {name: _Region(name, connect(name), '%s-%s' % (
        tag, name[-3:].lower())) for name in regions}
    before = {name: _inventory(r.conn) for name, r in made.items()}
    timings = {name: {} for name in regions}
    routers, subnets = {}, {}
    errors = []
    try:
        for name, r in made.items():
            network, subnet, router = _network(r, timings[name])
            routers[name], subnets[name] = router, subnet
            image = _image(r, timings[name])
            servers, ports = _servers(r, network, subnet, image,
                                      timings[name])
            _volumes(r, servers[0], timings[name])
            _bgpvpn(r, network, timings[name])
            _sfc(r, ports, timings[name])
        if len(regions) == 2:
            one, two = regions
            _vpn(made[one], made[two], subnets[one], routers[two],
                 routers[one], timings[one])
            _vpn(made[two], made[one], subnets[two], routers[one],
                 routers[two], timings[two])
    finally:
        for r in made.values():
            r.cleanup(errors)
    for name, r in made.items():
        after = _inventory(r.conn)
        ports = after[0] - before[name][0]
        volumes = after[1] - before[name][1]
        if ports or volumes:
            errors.append('%s: left behind ports %s, volumes %s' % (
                name, sorted(ports), sorted(volumes)))
    if errors:
        raise SmokeError('; '.join(errors))
    return timings
