"""The resources a DR site needs to run a protection group's VNFs.

Built from a capture of the source (see geoflows.checkpoints.inventory):
the same networks and subnets (same CIDRs, gateways, allocation pools,
DHCP; under the DR names of the group's network mapping), routers with
their interfaces and a gateway on the DR site's external network of the
same name, security groups and their rules (remote groups mapped by name),
keypairs, flavors (an equal flavor that exists is used), server groups and
the images the servers boot from, copied with their checksums.

:class:`GroupLayout` lists them for the group's unit (protect creates them,
a sync creates what is new since); :class:`VnfLayout` lists what one VNF
needs on top (its ports and, for hot and warm VNFs, its standby servers),
with lookups of the group's resources it hangs off.  Keys are stable: they
name the steps and their results.
"""

import ipaddress

from geoflows.tasks import base
from geoflows.tasks import compute
from geoflows.tasks import image
from geoflows.tasks import network
from geoflows.tasks import volume


def marker(plan, group):
    """What geoflows puts on what it creates for a protection group."""
    return 'geoflows plan=%s group=%s' % (plan, group)


def spec_marker(spec):
    """The mark of what a unit's spec makes: a drill's copy has its own."""
    return spec.get('marker') or marker(spec['plan'], spec['group'])


def network_key(name):
    return 'network.%s' % name


def subnet_key(network_name, cidr):
    return 'subnet.%s.%s' % (network_name,
                             str(ipaddress.ip_network(cidr)))


def group_key(name):
    return 'secgroup.%s' % name


class GroupLayout(object):
    """The group-wide resources at the target, from the group document."""

    def __init__(self, spec, options=None):
        self.spec = spec
        self.marker = spec_marker(spec)
        target = spec['target']
        doc = spec['doc']
        work_dir = (options or {}).get('image_work_dir')
        self.resources = []
        self.waits = []
        self.subnet_keys = {}  # source subnet id -> key
        for net in doc['networks']:
            key = network_key(net['dr_name'])
            self._add(network.Network(
                key, target, net['dr_name'], marker=self.marker,
                mtu=net.get('mtu'),
                port_security_enabled=net.get('port_security_enabled')))
            for sub in net['subnets']:
                skey = subnet_key(net['dr_name'], sub['cidr'])
                self.subnet_keys[sub['source_id']] = skey
                self._add(network.Subnet(
                    skey, target, sub['name'] or net['dr_name'],
                    parents={'network': key}, marker=self.marker,
                    **{k: sub.get(k) for k in (
                        'cidr', 'gateway_ip', 'allocation_pools',
                        'enable_dhcp', 'dns_nameservers', 'host_routes',
                        'ipv6_ra_mode', 'ipv6_address_mode')}))
        for router in doc['routers']:
            rkey = 'router.%s' % router['name']
            self._add(network.Router(
                rkey, target, router['name'], marker=self.marker,
                external_network=router.get('external_network')))
            for interface in router['interfaces']:
                skey = self.subnet_keys.get(interface['subnet_id'])
                if skey is None:
                    continue
                self._add(network.RouterInterface(
                    '%s.interface.%s' % (rkey, skey), target,
                    interface['subnet'], marker=self.marker,
                    router_name=router['name'],
                    parents={'router': rkey, 'subnet': skey}))
        for group in doc['security_groups']:
            self._add(network.SecurityGroup(
                group_key(group['name']), target, group['name'],
                marker=self.marker, stateful=group.get('stateful', True)))
        for group in doc['security_groups']:
            for i, rule in enumerate(group['rules']):
                parents = {'group': group_key(group['name'])}
                if rule.get('remote_group'):
                    parents['remote_group'] = group_key(rule['remote_group'])
                self._add(network.SecurityGroupRule(
                    '%s.rule.%d' % (group_key(group['name']), i), target,
                    str(i), marker=self.marker, parents=parents,
                    group_name=group['name'],
                    **{k: rule.get(k) for k in
                       network.SecurityGroupRule._MATCH}))
        for keypair in doc['keypairs']:
            self._add(compute.Keypair(
                'keypair.%s' % keypair['name'], target, keypair['name'],
                public_key=keypair['public_key'], type=keypair['type'],
                fingerprint=keypair['fingerprint']))
        for flavor in doc['flavors']:
            self._add(compute.Flavor(
                'flavor.%s' % flavor['name'], target, flavor['name'],
                marker=self.marker, flavor=flavor))
        for group in doc['server_groups']:
            self._add(compute.ServerGroup(
                'server-group.%s' % group['name'], target, group['name'],
                policy=group['policy'], rules=group.get('rules')))
        for captured in doc['images']:
            copy = image.ImageCopy(
                'image.%s' % captured['source_id'], target,
                captured['name'], marker=self.marker,
                source=spec['source'], image=captured, work_dir=work_dir)
            self._add(copy)

    def _add(self, resource):
        self.resources.append(resource)
        return resource.key


class VnfLayout(object):
    """What one VNF needs at the target on top of the group's resources.

    ``lookups``: the group's resources its resources hang off (found by
    the same identities the group's unit created them with);
    ``ports``/``servers``: the standby of a hot or warm VNF (nothing for a
    cold one: its servers are made at takeover).
    """

    def __init__(self, spec, standby=None, boot_volumes=None, hot=None):
        """What to lay out.

        ``standby``: make the servers (default: for hot and warm VNFs);
        ``boot_volumes``: {server name: key of its boot volume} for servers
        that boot from a volume; ``hot``: give hot VNFs' servers empty
        volumes (default: when making a standby of a hot VNF).
        """
        self.spec = spec
        self.marker = spec_marker(spec)
        self.group = GroupLayout(dict(spec, doc=spec['group_doc']))
        by_key = {r.key: r for r in self.group.resources}
        self.lookups = []
        self.resources = []
        self.servers = []
        self.volumes = []
        wanted = []
        standby = spec['vnf']['standby'] in ('hot', 'warm') \
            if standby is None else standby
        networks = {n['name']: n['dr_name']
                    for n in spec['group_doc']['networks']}
        subnets = self.group.subnet_keys
        target = spec['target']
        if not standby:
            return
        for server in spec['vnf']['servers']:
            parents = {}
            for i, port in enumerate(server['ports']):
                net_key = network_key(networks[port['network']])
                wanted.append(net_key)
                port_parents = {'network': net_key}
                fixed_ips = []
                for j, ip in enumerate(port['fixed_ips']):
                    skey = self._subnet_of(networks[port['network']], ip,
                                           subnets, by_key)
                    if skey is None:
                        continue
                    wanted.append(skey)
                    port_parents['subnet_%d' % j] = skey
                    fixed_ips.append({'subnet': 'subnet_%d' % j,
                                      'ip_address': ip['ip_address']})
                groups = []
                for k, name in enumerate(port['security_groups']):
                    wanted.append(group_key(name))
                    port_parents['group_%d' % k] = group_key(name)
                    groups.append('group_%d' % k)
                pkey = 'port.%s.%s' % (server['name'], port['name'])
                self.resources.append(network.Port(
                    pkey, target, port['name'], marker=self.marker,
                    parents=port_parents, fixed_ips=fixed_ips,
                    security_groups=groups,
                    mac_address=port['mac_address'],
                    allowed_address_pairs=port['allowed_address_pairs'],
                    port_security_enabled=port['port_security_enabled'],
                    vnic_type=port['vnic_type'],
                    admin_state_up=port['admin_state_up']))
                parents['port_%d' % i] = pkey
            parents['flavor'] = 'flavor.%s' % server['flavor']
            wanted.append(parents['flavor'])
            if (boot_volumes or {}).get(server['name']):
                parents['boot_volume'] = boot_volumes[server['name']]
            elif server['image']:
                parents['image'] = 'image.%s' % server['image']
                wanted.append(parents['image'])
            if server['key_name'] and 'keypair.%s' % server['key_name'] \
                    in by_key:
                parents['keypair'] = 'keypair.%s' % server['key_name']
                wanted.append(parents['keypair'])
            if server['server_group']:
                parents['server_group'] = 'server-group.%s' % server[
                    'server_group']
                wanted.append(parents['server_group'])
            skey = 'server.%s' % server['name']
            resource = compute.Server(
                skey, target, server['name'], marker=self.marker,
                parents=parents, ports=server['ports'],
                metadata=server['metadata'], source_id=server['source_id'],
                availability_zone=(target.get('cell') or {}).get(
                    'availability_zone'))
            self.resources.append(resource)
            self.servers.append(resource)
            if (hot if hot is not None
                    else spec['vnf']['standby'] == 'hot'):
                # The application replicates its state into volumes of
                # its own at the DR site.
                for volume_doc in server['volumes']:
                    vkey = 'volume.%s.%s' % (server['name'],
                                             volume_doc['source_id'])
                    self.resources.append(volume.Volume(
                        vkey, target, _standby_volume_name(
                            server, volume_doc), marker=self.marker,
                        size=volume_doc['size'],
                        volume_type=volume_doc['volume_type'],
                        source_id=volume_doc['source_id']))
                    self.volumes.append(vkey)
                    self.resources.append(compute.VolumeAttachment(
                        '%s.attachment' % vkey, target,
                        volume_doc['name'] or volume_doc['source_id'],
                        server_name=server['name'],
                        device=volume_doc['device'],
                        parents={'server': skey, 'volume': vkey},
                        after=['%s.ready' % skey, '%s.ready' % vkey]))
        seen = set()
        for key in wanted:
            if key not in seen and key in by_key:
                seen.add(key)
                self.lookups.append(by_key[key])

    @staticmethod
    def _subnet_of(dr_network, ip, subnets, by_key):
        """The key of the subnet of ``dr_network`` that holds ``ip``."""
        address = ipaddress.ip_address(ip['ip_address'])
        prefix = 'subnet.%s.' % dr_network
        for key in subnets.values():
            cidr = ipaddress.ip_network(by_key[key].params['cidr'])
            if key.startswith(prefix) and \
                    address.version == cidr.version and address in cidr:
                return key
        return None


def _standby_volume_name(server, volume_doc):
    name = volume_doc['name'] or volume_doc['source_id'][:8]
    # Named after its server already: the same name (a group replicating
    # back, then forward again, finds its standby's volume by it).
    if name.startswith(server['name']):
        return name
    return '%s-%s' % (server['name'], name)


def lookups(resources):
    """Read-only steps that find the group's resources a unit needs."""
    return [base.Require(resource) for resource in resources]


def subset(group_doc, vnf_doc):
    """The part of the group's document that one VNF's servers use.

    (A VNF's unit needs the group's resources its own hang off, not the
    whole group: with thousands of VNFs, the job would hold the group's
    document thousands of times.)
    """
    networks, groups, flavors, images, keypairs, server_groups = (
        set(), set(), set(), set(), set(), set())
    for server in vnf_doc['servers']:
        for port in server['ports']:
            networks.add(port['network'])
            groups.update(port['security_groups'])
        flavors.add(server['flavor'])
        if server['image']:
            images.add(server['image'])
        if server['key_name']:
            keypairs.add(server['key_name'])
        if server['server_group']:
            server_groups.add(server['server_group'])
    return {
        'networks': [n for n in group_doc['networks']
                     if n['name'] in networks],
        'routers': [],
        'security_groups': [g for g in group_doc['security_groups']
                            if g['name'] in groups],
        'keypairs': [k for k in group_doc['keypairs']
                     if k['name'] in keypairs],
        'flavors': [f for f in group_doc['flavors']
                    if f['name'] in flavors],
        'server_groups': [g for g in group_doc['server_groups']
                          if g['name'] in server_groups],
        'images': [i for i in group_doc['images']
                   if i['source_id'] in images],
        'chains': [],
    }
