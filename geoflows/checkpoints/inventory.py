"""What a protection group is made of at its source site, read before a job.

A protect or sync job is built from this inventory: the VNFs' servers
(found by name or by metadata selector), their ports, volumes, flavors,
images, keypairs, server groups and security groups, the networks, subnets
and routers those ports sit on, and the service chains the plan names.
Reading it before the job starts means that everything wrong with the plan
or the sites (a server that does not exist, a chain that is not there, a
DR site that does not answer or whose quota is too small) is reported at
once, with its place in the plan, before anything changes; and that the
job's flows are built from data, without I/O.

    inv = inventory.read(clouds, plan, group)
    inv.group_doc, inv.vnfs['hss'], inv.problems
"""

import collections
import logging

from geoflows.checkpoints import capture
from geoflows import clouds as clouds_mod
from geoflows import exceptions

LOG = logging.getLogger(__name__)

ROUTER_INTERFACE = capture.ROUTER_INTERFACE


class Inventory(object):

    def __init__(self, group_index, group):
        self.base = ('protection_groups', group_index)
        self.group = group
        self.group_doc = {}
        self.vnfs = collections.OrderedDict()
        self.problems = []  # (path, message)
        self.warnings = []  # (path, message)

    def problem(self, subpath, message):
        self.problems.append((self.base + tuple(subpath), message))

    def warn(self, subpath, message):
        self.warnings.append((self.base + tuple(subpath), message))


def _call(site, action, fn, *args, **kwargs):
    with clouds_mod.api_errors(site['name'], action):
        return fn(*args, **kwargs)


def read(clouds, plan, group, source=None, target=None,
         check_target=True, replaced=None):
    """The :class:`Inventory` of ``group`` at its source site.

    ``source`` and ``target`` are site specs (default: the group's primary
    and DR sites).  ``replaced``: (group document, servers) captured at the
    target that the group's servers will replace there (an origin's old
    VNFs, before a failback): those of them still there free their room.
    Problems are collected, not raised.
    """
    index = plan.group_index(group)
    inv = Inventory(index, group)
    source = source or plan.sites[group.primary].to_spec()
    target = target or plan.sites[group.dr].to_spec()
    inv.source, inv.target = source, target
    try:
        _read_source(clouds, plan, group, source, inv)
    except exceptions.SiteError as e:
        inv.problem(('primary',), '%s; the source site must answer to '
                    'protect or sync its VNFs' % e)
        return inv
    if check_target:
        try:
            _check_target(clouds, group, target, inv, replaced)
        except exceptions.SiteError as e:
            inv.problem(('dr',), '%s; the DR site must answer' % e)
    return inv


def _read_source(clouds, plan, group, site, inv):
    compute = clouds.compute(site)
    net = clouds.network(site)
    cinder = clouds.block_storage(site)
    glance = clouds.image(site)
    names = capture.Names(net)
    servers = _call(site, 'list the servers', list,
                    compute.servers(details=True))
    by_name = collections.defaultdict(list)
    for server in servers:
        by_name[server.name].append(server)
    groups_of = {}
    for server_group in _call(site, 'list the server groups', list,
                              compute.server_groups()):
        for member in server_group.member_ids or ():
            groups_of[member] = server_group
    picked = collections.OrderedDict()
    for j, vnf in enumerate(group.vnfs):
        picked[vnf.name] = _pick(inv, j, vnf, by_name, servers, site)
    used = {'networks': {}, 'groups': {}, 'keypairs': set(),
            'flavors': {}, 'server_groups': {}, 'images': set()}
    owners = {}
    for j, vnf in enumerate(group.vnfs):
        docs = []
        for server in picked[vnf.name]:
            docs.append(_server(inv, site, compute, net, cinder, names,
                                server, groups_of, used, owners, vnf))
        inv.vnfs[vnf.name] = {'name': vnf.name, 'priority': vnf.priority,
                              'standby': vnf.standby,
                              'depends_on': list(vnf.depends_on),
                              'servers': docs}
    inv.group_doc = _shared(inv, site, compute, net, glance, names, used)
    inv.group_doc['chains'] = _chains(inv, site, net, group, owners)


def _pick(inv, j, vnf, by_name, servers, site):
    if vnf.selector:
        chosen = sorted((s for s in servers if all(
            (s.metadata or {}).get(k) == v
            for k, v in vnf.selector.items())), key=lambda s: s.name)
        if not chosen:
            inv.problem(('vnfs', j, 'servers', 'selector'), (
                'no server at site %r has the metadata %s; tag the VNF\'s '
                'servers or correct the selector' % (site['name'], ', '.join(
                    '%s=%s' % item for item in sorted(
                        vnf.selector.items())))))
        return chosen
    chosen = []
    for k, name in enumerate(vnf.servers):
        found = by_name.get(name, [])
        if not found:
            inv.problem(('vnfs', j, 'servers', k), (
                'no server %r at site %r (cloud %r); create it, or correct '
                'the name in the plan' % (name, site['name'],
                                          site['cloud'])))
        elif len(found) > 1:
            inv.problem(('vnfs', j, 'servers', k), (
                '%d servers are named %r at site %r (ids %s); give them '
                'distinct names' % (len(found), name, site['name'],
                                    ', '.join(s.id for s in found))))
        else:
            chosen.append(found[0])
    return chosen


def _server(inv, site, compute, net, cinder, names, server, groups_of,
            used, owners, vnf):
    ports = []
    interfaces = _call(site, 'list the interfaces of server %s'
                       % server.name, list,
                       compute.server_interfaces(server))
    for i, interface in enumerate(interfaces):
        port = _call(site, 'read port %s' % interface.port_id,
                     net.get_port, interface.port_id)
        captured = capture.port(port, names)
        if not captured['name']:
            # Unnamed: the DR copy needs a name to be found again.
            captured['name'] = '%s-port-%d' % (server.name, i)
        ports.append(captured)
        used['networks'][port.network_id] = captured['network']
        for group_id in port.security_group_ids or ():
            used['groups'][group_id] = names.security_group(group_id)
        owners[port.id] = {'vnf': vnf.name, 'server': server.name,
                           'port': captured['name']}
    volumes = []
    attachments = _call(site, 'list the volumes of server %s' % server.name,
                        list, compute.volume_attachments(server))
    for attachment in sorted(attachments,
                             key=lambda a: (a.device or '', a.volume_id)):
        volume = _call(site, 'read volume %s' % attachment.volume_id,
                       cinder.get_volume, attachment.volume_id)
        volumes.append(capture.volume(volume, attachment.device))
    if server.key_name:
        used['keypairs'].add(server.key_name)
    flavor = dict(server.flavor or {})
    flavor_name = flavor.get('original_name') or flavor.get('name')
    used['flavors'][flavor_name] = flavor
    group = groups_of.get(server.id)
    if group is not None:
        used['server_groups'][group.id] = group
    doc = capture.server(server, ports, volumes,
                         group.name if group is not None else None)
    if doc['image']:
        used['images'].add(doc['image'])
    elif not any(v['device'] in ('/dev/vda', '/dev/sda') for v in volumes):
        inv.warn(('vnfs',), 'server %r boots from neither an image nor an '
                 'attached volume geoflows can see' % server.name)
    return doc


def _shared(inv, site, compute, net, glance, names, used):
    doc = {'networks': [], 'routers': [], 'security_groups': [],
           'keypairs': [], 'flavors': [], 'server_groups': [],
           'images': []}
    subnets = set()
    for network_id in sorted(used['networks']):
        obj = _call(site, 'read network %s' % network_id, net.get_network,
                    network_id)
        captured = capture.network(net, obj)
        captured['dr_name'] = inv.group.dr_network(obj.name)
        doc['networks'].append(captured)
        subnets.update(s['source_id'] for s in captured['subnets'])
    routers = {}
    for port in _call(site, 'list the router interfaces', list,
                      net.ports(device_owner=ROUTER_INTERFACE)):
        if any(ip['subnet_id'] in subnets for ip in port.fixed_ips or ()):
            routers[port.device_id] = True
    for router_id in sorted(routers):
        obj = _call(site, 'read router %s' % router_id, net.get_router,
                    router_id)
        captured = capture.router(net, obj, names)
        # Only the interfaces on the group's subnets are the group's.
        captured['interfaces'] = [i for i in captured['interfaces']
                                  if i['subnet_id'] in subnets]
        doc['routers'].append(captured)
    pending = list(used['groups'])
    seen = set()
    while pending:  # the groups the rules refer to are needed too
        group_id = pending.pop()
        if group_id in seen:
            continue
        seen.add(group_id)
        obj = _call(site, 'read security group %s' % group_id,
                    net.get_security_group, group_id)
        doc['security_groups'].append(capture.security_group(obj, names))
        pending.extend(r['remote_group_id'] for r in
                       obj.security_group_rules or ()
                       if r.get('remote_group_id'))
    doc['security_groups'].sort(key=lambda g: g['name'])
    for name in sorted(used['keypairs']):
        try:
            obj = _call(site, 'read keypair %s' % name, compute.get_keypair,
                        name)
        except clouds_mod.NotFound:
            inv.warn(('primary',), 'keypair %r of the servers is not '
                     'visible to the user of site %r: it cannot be copied'
                     % (name, site['name']))
            continue
        doc['keypairs'].append(capture.keypair(obj))
    for name, embedded in sorted(used['flavors'].items(),
                                 key=lambda item: str(item[0])):
        obj = _call(site, 'look up flavor %s' % name, compute.find_flavor,
                    name, ignore_missing=True)
        if obj is None:
            # Deleted since the servers booted: what they embed is enough.
            doc['flavors'].append({
                'name': name, 'vcpus': embedded.get('vcpus'),
                'ram': embedded.get('ram'), 'disk': embedded.get('disk'),
                'ephemeral': embedded.get('ephemeral', 0),
                'swap': embedded.get('swap') or 0, 'is_public': True,
                'extra_specs': dict(embedded.get('extra_specs') or {}),
                'source_id': None})
            continue
        specs = _call(site, 'read the extra specs of flavor %s' % name,
                      compute.fetch_flavor_extra_specs, obj).extra_specs
        doc['flavors'].append(capture.flavor(obj, specs or {}))
    for group_id, obj in sorted(used['server_groups'].items()):
        doc['server_groups'].append(capture.server_group(obj))
    for image_id in sorted(used['images']):
        try:
            obj = _call(site, 'read image %s' % image_id, glance.get_image,
                        image_id)
        except clouds_mod.NotFound:
            inv.problem(('primary',), 'image %s that servers of the group '
                        'boot from no longer exists at site %r: it cannot '
                        'be copied to the DR site' % (image_id,
                                                      site['name']))
            continue
        doc['images'].append(capture.image(glance, obj))
    return doc


def _chains(inv, site, net, group, owners):
    wanted = collections.OrderedDict()
    for j, vnf in enumerate(group.vnfs):
        for k, name in enumerate(vnf.chains):
            wanted.setdefault(name, ('vnfs', j, 'chains', k))
    found = []
    for name, path in wanted.items():
        chains = _call(site, 'look up port chain %s' % name, list,
                       net.sfc_port_chains(name=name))
        if not chains:
            inv.problem(path, 'no port chain %r at site %r; create it or '
                        'remove it from the plan' % (name, site['name']))
            continue
        if len(chains) > 1:
            inv.problem(path, '%d port chains are named %r at site %r'
                        % (len(chains), name, site['name']))
            continue
        doc = _call(site, 'read port chain %s' % name, capture.chain, net,
                    chains[0], owners)
        for group_doc in doc['port_pair_groups']:
            for pair in group_doc['port_pairs']:
                for end in ('ingress', 'egress'):
                    if 'vnf' not in pair[end]:
                        inv.problem(path, 'port chain %r goes through port '
                                    '%s, which belongs to no protected '
                                    'VNF: protect its VNF too' % (
                                        name, pair[end]['port_id']))
        found.append(doc)
    return found


def _check_target(clouds, group, target, inv, replaced=None):
    """The DR site answers and can hold the group's servers and volumes."""
    need = need_of(inv.group_doc, [server for vnf in inv.vnfs.values()
                                   for server in vnf['servers']])
    if replaced:
        old_doc, old_servers = replaced
        there = {s.id for s in _call(target, 'list the servers', list,
                                     clouds.compute(target).servers())}
        freed = need_of(old_doc, [s for s in old_servers
                                  if s['source_id'] in there], volumes=[])
        need = {k: max(0, v - freed[k]) for k, v in need.items()}
    short = quota_shortfall(clouds, target, need)
    if short:
        inv.problem(('dr',), 'the quota at DR site %r is too small for the '
                    'group\'s servers and volumes (%s); raise the quota of '
                    'the project at the DR site before protecting the group'
                    % (target['name'], '; '.join(short)))


QUOTA_KINDS = ('instances', 'cores', 'ram', 'volumes', 'gigabytes')


def need_of(group_doc, servers, volumes=None):
    """The quota ``servers`` (captured) take, with their volumes.

    ``volumes``: the volumes to count (default: the servers' own).
    """
    need = dict.fromkeys(QUOTA_KINDS, 0)
    flavors = {f['name']: f for f in group_doc.get('flavors', ())}
    for server in servers:
        flavor = flavors.get(server['flavor']) or {}
        need['instances'] += 1
        need['cores'] += flavor.get('vcpus') or 0
        need['ram'] += flavor.get('ram') or 0
    if volumes is None:
        volumes = [v for server in servers for v in server['volumes']]
    for volume in volumes:
        need['volumes'] += 1
        need['gigabytes'] += volume.get('size') or 0
    return need


def quota_shortfall(clouds, target, need):
    """What ``need`` lacks at site ``target``: 'ram: 512 needed, 256 free'."""
    compute = clouds.compute(target)
    cinder = clouds.block_storage(target)
    absolute = _call(target, 'read the compute quota',
                     compute.get_limits).absolute
    room = {'instances': _room(absolute.instances, absolute.instances_used),
            'cores': _room(absolute.total_cores, absolute.total_cores_used),
            'ram': _room(absolute.total_ram, absolute.total_ram_used)}
    volume_limits = _call(target, 'read the block storage quota',
                          cinder.get_limits).absolute
    room['volumes'] = _room(volume_limits.max_total_volumes,
                            volume_limits.total_volumes_used)
    room['gigabytes'] = _room(volume_limits.max_total_volume_gigabytes,
                              volume_limits.total_gigabytes_used)
    return ['%s: %d needed, %d free' % (what, need[what], room[what])
            for what in QUOTA_KINDS
            if room[what] is not None and need[what] > room[what]]


def _room(maximum, used):
    if maximum is None or maximum < 0:  # -1: unlimited
        return None
    return maximum - (used or 0)
