"""Smoke test of the two-region minicloud, through openstacksdk.

Per region: a network, subnet and router; two servers booted on ports (one
with a fixed IP), ACTIVE and bound; a volume created, attached, snapshotted,
written to (known bytes), backed up and restored (the same sha256); an
in-use volume refused as an image; an image uploaded; a BGPVPN with a
network association; an SFC port chain over the two servers' ports.
Between the regions: an IPsec site connection each way, and the two ways
geoflows moves volume data to a DR site:

* the volume's backup record exported from RegionOne, imported in
  RegionTwo and restored there, from the repository both regions'
  cinder-backup share; then an incremental after more bytes; the records
  deleted in both regions, in both orders;
* a clone of the volume uploaded to RegionOne's Glance as a qcow2 image,
  copied to RegionTwo's Glance (same id and checksums) and a volume created
  from it.

Each restored or copied volume must have the source's sha256.  Everything
is deleted afterwards: the regions must be left with the ports, volumes,
backups, images, volume files and backup files they had.

``run(connect, minicloud)`` returns the timings; ``connect(region)`` gives
an admin connection to a region, ``minicloud`` is the
``cloud.Minicloud`` whose files the test reads and writes.
``geoflows-minicloud smoke`` runs it.
"""

import os
import tempfile
import time
import uuid

import openstack.exceptions

from geoflows.testing.minicloud import process

CIDRS = {'RegionOne': '10.98.1.0/24', 'RegionTwo': '10.98.2.0/24'}
TIMEOUT = 180
# How often the data-path steps poll (their timings are reported).
POLL = 0.5
MIB = 1024 * 1024
# Where the test writes 1 MiB of a pattern into a 1 GiB volume: the first
# and the last MiB and two between; then two more for an incremental backup.
FULL_MIB = (0, 1, 512, 1023)
MORE_MIB = (100, 600)


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
        self.backups = []  # ids of the backups made here

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


def _pattern(tag, offset_mib):
    line = ('smoke %s at %d MiB\n' % (tag, offset_mib)).encode()
    return (line * (MIB // len(line) + 1))[:MIB]


def _write(mc, region, volume, tag, offsets_mib):
    """Write the patterns into a volume; its sha256 afterwards."""
    for offset in offsets_mib:
        mc.write_volume(region, volume, offset * MIB, _pattern(tag, offset))
    return mc.volume_sha256(region, volume)


def _check_same_data(mc, region, volume, digest, what):
    _check(mc.volume_sha256(region, volume) == digest,
           '%s: %s %s does not hold the bytes of its source' % (
               region, what, getattr(volume, 'id', volume)))


def _volume_id(reply):
    return reply['volume_id'] if isinstance(reply, dict) else reply.volume_id


def _wait_volume(r, volume_id, what):
    bs = r.conn.block_storage
    try:
        return bs.wait_for_status(bs.get_volume(volume_id), 'available',
                                  failures=['error', 'error_restoring'],
                                  interval=POLL, wait=TIMEOUT)
    except openstack.exceptions.SDKException as e:
        raise SmokeError('%s: %s %s did not become available (%s); see the '
                         'region\'s cinder-volume and cinder-backup logs' % (
                             r.name, what, volume_id, e))


def _volumes(r, mc, server, timings):
    """A volume with known bytes, backed up and restored in its region."""
    bs, compute = r.conn.block_storage, r.conn.compute
    started = time.monotonic()
    volume = bs.create_volume(size=1, name='smoke-%s' % r.tag)
    r.made('volume', lambda: _delete_volume(bs, volume))
    volume = bs.wait_for_status(volume, 'available', failures=['error'],
                                wait=TIMEOUT)
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
    digest = _write(mc, r.name, volume, r.tag, FULL_MIB)
    timings['write %d MiB, sha256' % len(FULL_MIB)] = (time.monotonic() -
                                                       started)
    _upload_in_use_refused(r, volume)
    started = time.monotonic()
    backup = bs.create_backup(volume_id=volume.id, force=True,
                              name='smoke-%s' % r.tag)
    r.made('backup', lambda: _forget_backup(bs, backup.id))
    r.backups.append(backup.id)
    bs.wait_for_status(backup, 'available', failures=['error'],
                       interval=POLL, wait=TIMEOUT)
    timings['backup'] = time.monotonic() - started
    started = time.monotonic()
    compute.delete_volume_attachment(server, volume.id)
    bs.wait_for_status(volume, 'available', wait=TIMEOUT)
    timings['detach'] = time.monotonic() - started
    started = time.monotonic()
    restored_id = _volume_id(bs.restore_backup(
        backup, name='smoke-%s-restored' % r.tag))
    r.made('restored volume', lambda: _delete_volume(bs, restored_id))
    _wait_volume(r, restored_id, 'restored volume')
    timings['restore'] = time.monotonic() - started
    _check_same_data(mc, r.name, restored_id, digest, 'restored volume')
    return {'volume': volume, 'backup': backup, 'sha256': digest}


def _upload_in_use_refused(r, volume):
    """enable_force_upload is off, as in most clouds: DR code must clone."""
    bs = r.conn.block_storage
    try:
        reply = bs.upload_volume_to_image(
            volume, 'smoke-%s-in-use' % r.tag, force=True,
            disk_format='raw', container_format='bare')
    except openstack.exceptions.BadRequestException:
        return
    r.made('image', lambda: r.conn.image.delete_image(reply['image_id']))
    raise SmokeError('%s: an in-use volume was uploaded to an image: '
                     'enable_force_upload must stay false' % r.name)


def _delete_volume(bs, volume):
    bs.delete_volume(volume)
    try:
        current = bs.get_volume(volume) if isinstance(volume, str) \
            else volume
    except openstack.exceptions.NotFoundException:
        return  # already gone: deleted before it could be read again
    bs.wait_for_delete(current, wait=TIMEOUT)


def _backup_status(bs, backup_id):
    try:
        return bs.get_backup(backup_id).status
    except openstack.exceptions.NotFoundException:
        return None


def _forget_backup(bs, backup_id):
    """Delete a backup record if it is there; wait until it has gone."""
    if _backup_status(bs, backup_id) is None:
        return
    bs.delete_backup(backup_id)
    _wait(lambda: _backup_status(bs, backup_id) is None,
          'backup %s deleted' % backup_id)


def _delete_backup(r, backup_id):
    """Delete a backup record of ``r``: it must go, not end in error."""
    bs = r.conn.block_storage
    bs.delete_backup(backup_id)
    state = _wait(lambda: (lambda s: None if s == 'deleting' else
                           s or 'deleted')(_backup_status(bs, backup_id)),
                  '%s: backup %s deleted' % (r.name, backup_id))
    _check(state == 'deleted', '%s: deleting backup %s left it %s' % (
        r.name, backup_id, state))


def _copy_backup_record(one, two, backup_id):
    """Export a backup's record from ``one``, import it into ``two``.

    The import goes through raw REST: openstacksdk's Backup.import_record
    posts to the export URL.  The record keeps the backup's id.
    """
    record = one.conn.block_storage.get(
        '/backups/%s/export_record' % backup_id).json()['backup-record']
    bs = two.conn.block_storage
    bs.post('/backups/import_record', json={'backup-record': record})
    two.made('imported backup', lambda: _forget_backup(bs, backup_id))
    bs.wait_for_status(bs.get_backup(backup_id), 'available',
                       failures=['error'], interval=POLL, wait=TIMEOUT)


def _backup_files(mc, backup_id):
    return [f for f in mc.backup_repository_files() if backup_id in f]


def _dr_backups(one, two, mc, source, timings):
    """``source``'s backups, made in ``one``, restored in ``two``."""
    full = source['backup']
    started = time.monotonic()
    _copy_backup_record(one, two, full.id)
    timings['backup export + import'] = time.monotonic() - started
    started = time.monotonic()
    restored = _restore(two, full.id, 'full')
    timings['restore full'] = time.monotonic() - started
    _check_same_data(mc, two.name, restored, source['sha256'],
                     'volume restored from an imported backup')
    a = one.conn.block_storage
    digest = _write(mc, one.name, source['volume'], one.tag + '-more',
                    MORE_MIB)
    started = time.monotonic()
    incremental = a.create_backup(volume_id=source['volume'].id,
                                  is_incremental=True,
                                  name='smoke-%s-incremental' % one.tag)
    one.made('incremental backup', lambda: _forget_backup(
        a, incremental.id))
    one.backups.append(incremental.id)
    a.wait_for_status(incremental, 'available', failures=['error'],
                      interval=POLL, wait=TIMEOUT)
    timings['incremental backup'] = time.monotonic() - started
    started = time.monotonic()
    _copy_backup_record(one, two, incremental.id)
    timings['incremental export + import'] = time.monotonic() - started
    started = time.monotonic()
    restored = _restore(two, incremental.id, 'incremental')
    timings['restore incremental'] = time.monotonic() - started
    _check_same_data(mc, two.name, restored, digest,
                     'volume restored from an imported incremental')
    started = time.monotonic()
    _delete_both(one, two, mc, full.id, incremental.id)
    timings['delete the records in both'] = time.monotonic() - started
    return digest


def _restore(r, backup_id, what):
    bs = r.conn.block_storage
    volume_id = _volume_id(bs.restore_backup(
        backup_id, name='smoke-%s-%s' % (r.tag, what)))
    r.made('restored volume', lambda: _delete_volume(bs, volume_id))
    _wait_volume(r, volume_id, 'volume restored from %s' % what)
    return volume_id


def _delete_both(one, two, mc, full_id, incremental_id):
    """A backup's records in both regions share one copy of its files.

    Whichever region deletes first removes the files; the other record
    then points at nothing (its restore ends in error_restoring) and its
    delete succeeds and removes only the record.  DR code deletes the DR
    region's record first (done here for the incremental): a crash between
    the two deletes then leaves no record at the DR site that would fail a
    takeover.  The other order (the full here) must work too.
    """
    try:
        two.conn.block_storage.delete_backup(full_id)
    except openstack.exceptions.BadRequestException:
        pass  # "Incremental backups exist for this backup."
    else:
        raise SmokeError('%s: an imported backup was deleted although an '
                         'imported incremental depends on it' % two.name)
    for first, second, backup_id in ((two, one, incremental_id),
                                     (one, two, full_id)):
        _delete_backup(first, backup_id)
        _check(not _backup_files(mc, backup_id), 'deleting backup %s in %s '
               'left its files in the shared repository' % (backup_id,
                                                            first.name))
        _delete_backup(second, backup_id)


def _dr_image(one, two, mc, source, digest, workdir, timings):
    """A clone of ``source`` in ``one`` as an image, a volume in ``two``."""
    a, b = one.conn, two.conn
    started = time.monotonic()
    clone = a.block_storage.create_volume(
        source_volume_id=source['volume'].id, size=1,
        name='smoke-%s-clone' % one.tag)
    one.made('clone', lambda: _delete_volume(a.block_storage, clone))
    _wait_volume(one, clone.id, 'clone')
    timings['clone'] = time.monotonic() - started
    started = time.monotonic()
    # qcow2 (compressed by Cinder) carries the data only; raw would carry
    # the whole 1 GiB through both Glances.
    image_id = a.block_storage.upload_volume_to_image(
        clone, 'smoke-%s' % one.tag, disk_format='qcow2',
        container_format='bare')['image_id']
    one.made('image', lambda: a.image.delete_image(image_id))
    image = _wait(lambda: (lambda i: i if i.status == 'active' else None)(
        a.image.get_image(image_id)), 'volume uploaded to an image')
    _wait_volume(one, clone.id, 'clone after its upload')
    timings['upload to image (qcow2)'] = time.monotonic() - started
    started = time.monotonic()
    path = os.path.join(workdir, image.id)
    a.image.download_image(image, output=path)
    copy = b.image.create_image(
        name=image.name, id=image.id, filename=path,
        disk_format=image.disk_format,
        container_format=image.container_format, wait=True,
        timeout=TIMEOUT)
    two.made('image', lambda: b.image.delete_image(copy))
    # What create_image returns is the image before its data (queued).
    copy = b.image.get_image(copy.id)
    _check((copy.id, copy.status, copy.checksum, copy.hash_value) ==
           (image.id, 'active', image.checksum, image.hash_value),
           '%s: the copy of image %s differs: %s %s %s' % (
               two.name, image.id, copy.status, copy.checksum,
               copy.hash_value))
    timings['image copy'] = time.monotonic() - started
    started = time.monotonic()
    volume = b.block_storage.create_volume(
        size=1, image_id=copy.id, name='smoke-%s-from-image' % two.tag)
    two.made('volume', lambda: _delete_volume(b.block_storage, volume))
    _wait_volume(two, volume.id, 'volume from image')
    timings['volume from image'] = time.monotonic() - started
    _check_same_data(mc, two.name, volume, digest,
                     'volume created from a copied image')


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
    bs = conn.block_storage
    return {'ports': {p.id for p in conn.network.ports()},
            'volumes': {v.id for v in bs.volumes(all_projects=True)},
            'backups': {b.id for b in bs.backups(
                details=False, all_projects=True)},
            'images': {i.id for i in conn.image.images()}}


def _files(mc, regions):
    found = {'shared backup repository': set(mc.backup_repository_files())}
    for name in regions:
        found['%s volume files' % name] = set(os.listdir(mc.volume_dir(name)))
    return found


def _left_behind(before, after):
    return ['%s %s' % (what, sorted(after[what] - before[what]))
            for what in sorted(after) if after[what] - before[what]]


def run(connect, minicloud, regions=('RegionOne', 'RegionTwo'),
        report=None):
    """The smoke test; {region or "A->B": {step: seconds}}.

    Raises SmokeError.
    """
    mc = minicloud
    tag = uuid.uuid4().hex[:6]
    made = {name: _Region(name, connect(name), '%s-%s' % (
        tag, name[-3:].lower())) for name in regions}
    before = {name: _inventory(r.conn) for name, r in made.items()}
    files_before = _files(mc, regions)
    timings = {name: {} for name in regions}
    routers, subnets, sources = {}, {}, {}
    errors = []
    try:
        with tempfile.TemporaryDirectory(prefix='geoflows-smoke-') as work:
            for name, r in made.items():
                network, subnet, router = _network(r, timings[name])
                routers[name], subnets[name] = router, subnet
                image = _image(r, timings[name])
                servers, ports = _servers(r, network, subnet, image,
                                          timings[name])
                sources[name] = _volumes(r, mc, servers[0], timings[name])
                _bgpvpn(r, network, timings[name])
                _sfc(r, ports, timings[name])
            if len(regions) == 2:
                one, two = regions
                _vpn(made[one], made[two], subnets[one], routers[two],
                     routers[one], timings[one])
                _vpn(made[two], made[one], subnets[two], routers[one],
                     routers[two], timings[two])
                dr = timings['%s->%s' % (one, two)] = {}
                digest = _dr_backups(made[one], made[two], mc, sources[one],
                                     dr)
                _dr_image(made[one], made[two], mc, sources[one], digest,
                          work, dr)
    finally:
        for r in made.values():
            r.cleanup(errors)
        mc.remove_backup_containers(
            [b for r in made.values() for b in r.backups])
    for name, r in made.items():
        left = _left_behind(before[name], _inventory(r.conn))
        if left:
            errors.append('%s: left behind %s' % (name, '; '.join(left)))
    left = _left_behind(files_before, _files(mc, regions))
    if left:
        errors.append('left behind %s' % '; '.join(left))
    if errors:
        raise SmokeError('; '.join(errors))
    return timings
