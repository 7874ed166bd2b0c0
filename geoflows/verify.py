"""Compare what runs at a site with the checkpoint it came from.

``geoflows protection verify`` and the end of every takeover (and drill)
read the site the checkpoint's copies are at and list every difference
(ids aside): servers per VNF and their state, flavors, images, ports with
their IPs, MAC addresses and security groups, attached volumes, networks
and subnets, security groups and their rules, and the service chains with
their pairs, groups and classifiers.  An empty list: the site is what the
checkpoint says.

    differences = verify.compare(clouds, checkpoint)
"""

from concurrent import futures

from geoflows.checkpoints import capture
from geoflows import clouds as clouds_mod
from geoflows.flows import site_copy
from geoflows.tasks import compute as compute_tasks
from geoflows.tasks import image as image_tasks


#: servers whose volume attachments are read at once (at most)
ATTACHMENT_READERS = 32


def _call(site, action, fn, *args, **kwargs):
    with clouds_mod.api_errors(site['name'], action):
        return fn(*args, **kwargs)


def _listed(fn):
    return list(fn())


class _Site(object):
    """What is at the site, read once.

    The listings are read side by side, and then the images the servers
    boot from: one after the other, each call's latency would add to the
    end of every takeover.
    """

    def __init__(self, clouds, site, marker, dr_names,
                 readers=ATTACHMENT_READERS, chains=False):
        self.site = site
        self.compute = clouds.compute(site)
        self.net = clouds.network(site)
        self.glance = clouds.image(site)
        self.marker = marker
        self.dr_names = dr_names
        self.readers = readers
        self.attachments = {}
        listings = {
            'servers': ('list the servers',
                        lambda: self.compute.servers(details=True)),
            'networks': ('list the networks', self.net.networks),
            'subnets': ('list the subnets', self.net.subnets),
            'ports': ('list the ports', self.net.ports),
            'security_groups': ('list the security groups',
                                self.net.security_groups),
        }
        if chains:  # only then: a site may have no networking-sfc
            listings.update({
                'port_chains': ('list the port chains',
                                self.net.sfc_port_chains),
                'port_pair_groups': ('list the port pair groups',
                                     self.net.sfc_port_pair_groups),
                'port_pairs': ('list the port pairs',
                               self.net.sfc_port_pairs),
                'flow_classifiers': ('list the flow classifiers',
                                     self.net.sfc_flow_classifiers),
            })
        found = self._side_by_side(
            {key: (action, _listed, fn)
             for key, (action, fn) in listings.items()})
        self.servers = {
            server.name: server for server in found['servers']
            if (server.metadata or {}).get(compute_tasks.MARK_KEY) == marker}
        networks = {n.id: n.name for n in found['networks']}
        self.networks = {n: i for i, n in networks.items()}
        self.ports = {(networks.get(port.network_id), port.name): port
                      for port in found['ports']}
        self.subnets = {}  # network id -> its subnets
        for subnet in found['subnets']:
            self.subnets.setdefault(subnet.network_id, []).append(subnet)
        self.security_groups = found['security_groups']
        self.port_chains = found.get('port_chains', [])
        self.sfc = {kind: {item.id: item for item in found.get(kind, ())}
                    for kind in ('port_pair_groups', 'port_pairs',
                                 'flow_classifiers')}
        self.names = capture.Names(self.net, networks=networks, groups={
            g.id: g.name for g in self.security_groups})
        image_ids = {dict(s.image or {}).get('id')
                     for s in self.servers.values() if s.image}
        image_ids.discard(None)
        self._images = self._side_by_side(
            {ident: ('read image %s' % ident, self._read_image, ident)
             for ident in image_ids})

    def _side_by_side(self, calls):
        """{key: (action, fn, arg)} -> {key: fn(arg)}, at most readers."""
        if len(calls) <= 1:
            return {key: _call(self.site, action, fn, arg)
                    for key, (action, fn, arg) in calls.items()}
        with futures.ThreadPoolExecutor(min(self.readers,
                                            len(calls))) as pool:
            pending = {key: pool.submit(_call, self.site, action, fn, arg)
                       for key, (action, fn, arg) in calls.items()}
            return {key: future.result() for key, future in pending.items()}

    def sfc_item(self, kind, ident):
        """A port pair group, port pair or classifier, from the listing.

        One the chain names but the listing lacks (removed in between)
        is read on its own, so that a missing one still fails clearly.
        """
        item = self.sfc[kind].get(ident)
        if item is None:
            read = getattr(self.net, 'get_sfc_' + kind[:-1])
            item = self.sfc[kind][ident] = _call(
                self.site, 'read %s %s' % (kind[:-1].replace('_', ' '),
                                           ident), read, ident)
        return item

    def _read_image(self, image_id):
        try:
            return self.glance.get_image(image_id)
        except clouds_mod.NotFound:
            return None

    def image(self, image_id):
        """Image ``image_id``, read once: the VNFs share a few images."""
        if image_id not in self._images:
            self._images[image_id] = _call(
                self.site, 'read image %s' % image_id, self._read_image,
                image_id)
        return self._images[image_id]

    def read_attachments(self, names):
        """The volumes attached to servers ``names``.

        Nova's listing of the servers says which volumes each has
        (``attached_volumes``); only a server it says nothing of is asked,
        one call each, side by side (one after the other, thousands of
        them would add their latencies to the end of a takeover).
        """
        servers = []
        for name in names:
            server = self.servers.get(name)
            if server is None:
                continue
            attached = getattr(server, 'attached_volumes', None)
            if attached is None:
                servers.append(server)
            else:
                self.attachments[name] = list(attached)

        self.attachments.update(self._side_by_side(
            {server.name: ('list the volumes of server %s' % server.name,
                           self._attached, server) for server in servers}))

    def _attached(self, server):
        return list(self.compute.volume_attachments(server))


def compare(clouds, checkpoint, vnfs=None, site=None, standbys=False,
            readers=ATTACHMENT_READERS, at_source=False, marker=None):
    """The differences between a site and ``checkpoint``, as sentences.

    ``site``: default, the checkpoint's target; ``vnfs``: only these VNFs;
    ``standbys``: before a takeover, only what the DR site runs then: the
    standbys of hot and warm VNFs (not the volumes a warm standby is given
    by the takeover), the networks and security groups; no cold VNF and no
    chain (the takeover makes them).  ``readers``: how many compute calls
    it makes at once (callers keep it within a cap on them).
    ``at_source``: ``site`` is the one the checkpoint was read at (an
    origin after its failback): its networks have their own names, not
    the DR site's.  ``marker``: what marks the servers compared (default:
    the group's; a drill's copy has its own).
    """
    doc = checkpoint.document
    group_doc = doc['group_doc']
    site = site or doc['target']
    marker = marker or site_copy.marker(doc['plan'], doc['group'])
    name_key = 'name' if at_source else 'dr_name'
    dr_names = {n['name']: n[name_key] for n in group_doc['networks']}
    chains = [] if standbys else [
        chain for chain in group_doc.get('chains', ())
        if vnfs is None or _chain_vnfs(chain) & set(vnfs)]
    here = _Site(clouds, site, marker, dr_names, readers,
                 chains=bool(chains))
    found = []
    flavors = {f['name']: f for f in group_doc['flavors']}
    checked = [(name, part) for name, part in sorted(checkpoint.vnfs.items())
               if (vnfs is None or name in vnfs) and
               not (standbys and part.get('standby') == 'cold')]
    here.read_attachments([
        server['name'] for _name, part in checked
        if not (standbys and part.get('standby') == 'warm')
        for server in part['servers']])
    for name, part in checked:
        volumes = not (standbys and part.get('standby') == 'warm')
        for server in part['servers']:
            found.extend('VNF %s: %s' % (name, text) for text in
                         _server(here, server, flavors, volumes))
    found.extend(_networks(here, group_doc, name_key))
    found.extend(_security_groups(here, group_doc))
    for chain in chains:
        found.extend(_chain(here, chain))
    return found


def _chain_vnfs(chain):
    owners = [pair[end] for group in chain['port_pair_groups']
              for pair in group['port_pairs'] for end in ('ingress',
                                                          'egress')]
    return {o['vnf'] for o in owners if 'vnf' in o}


def _server(here, doc, flavors, volumes=True):
    found = []
    server = here.servers.get(doc['name'])
    if server is None:
        return ['server %s is missing' % doc['name']]
    if server.status != 'ACTIVE':
        found.append('server %s is %s, not ACTIVE' % (doc['name'],
                                                      server.status))
    wanted = flavors.get(doc['flavor'])
    embedded = dict(server.flavor or {})
    if wanted is not None:
        have = capture.flavor_key({
            'vcpus': embedded.get('vcpus'), 'ram': embedded.get('ram'),
            'disk': embedded.get('disk'),
            'ephemeral': embedded.get('ephemeral', 0) or 0,
            'swap': embedded.get('swap') or 0,
            'extra_specs': {k: v for k, v in (embedded.get(
                'extra_specs') or {}).items()
                if k != compute_tasks.FLAVOR_MARK}})
        if have != capture.flavor_key(wanted):
            found.append('server %s has another flavor than %s (%s vCPU, '
                         '%s MiB, %s GiB)' % (doc['name'], doc['flavor'],
                                              wanted['vcpus'], wanted['ram'],
                                              wanted['disk']))
    image_id = dict(server.image or {}).get('id') if server.image else None
    if doc['image'] and image_id:
        image = here.image(image_id)
        if image is None:
            found.append('server %s boots from image %s, which no longer '
                         'exists' % (doc['name'], image_id))
        source = image and (image_tasks._properties(here.glance, image).get(
            image_tasks.SOURCE_PROPERTY) or image.id)
        if image and source != doc['image']:
            found.append('server %s boots from image %s, not the copy of %s'
                         % (doc['name'], image_id, doc['image']))
    for port in doc['ports']:
        found.extend('server %s: %s' % (doc['name'], text) for text in
                     _port(here, port))
    if not volumes:
        return found
    attached = here.attachments[doc['name']]
    if len(attached) != len(doc['volumes']):
        found.append('server %s has %d volumes attached, the checkpoint '
                     '%d' % (doc['name'], len(attached),
                             len(doc['volumes'])))
    return found


def _port(here, doc):
    network = here.dr_names.get(doc['network'], doc['network'])
    port = here.ports.get((network, doc['name']))
    if port is None:
        return ['port %s on network %s is missing' % (doc['name'], network)]
    found = []
    if port.mac_address != doc['mac_address']:
        found.append('port %s has MAC %s, the checkpoint %s' % (
            doc['name'], port.mac_address, doc['mac_address']))
    have = sorted(ip['ip_address'] for ip in port.fixed_ips or ())
    want = sorted(ip['ip_address'] for ip in doc['fixed_ips'])
    if have != want:
        found.append('port %s has addresses %s, the checkpoint %s' % (
            doc['name'], ', '.join(have) or 'none', ', '.join(want)))
    groups = sorted(here.names.security_group(g)
                    for g in port.security_group_ids or ())
    if doc['port_security_enabled'] and groups != doc['security_groups']:
        found.append('port %s is in security groups %s, the checkpoint '
                     'says %s' % (doc['name'], ', '.join(groups) or 'none',
                                  ', '.join(doc['security_groups'])))
    return found


def _networks(here, group_doc, name_key='dr_name'):
    found = []
    for net in group_doc['networks']:
        name = net[name_key]
        network_id = here.networks.get(name)
        if network_id is None:
            found.append('network %s is missing' % name)
            continue
        have = {s.cidr: s for s in here.subnets.get(network_id, ())}
        for sub in net['subnets']:
            subnet = have.get(sub['cidr'])
            if subnet is None:
                found.append('network %s has no subnet %s' % (
                    name, sub['cidr']))
            elif sub['gateway_ip'] != subnet.gateway_ip:
                found.append('subnet %s of network %s has gateway %s, the '
                             'checkpoint %s' % (sub['cidr'], name,
                                                subnet.gateway_ip,
                                                sub['gateway_ip']))
    return found


def _security_groups(here, group_doc):
    found = []
    existing = {g.name: g for g in here.security_groups}
    for wanted in group_doc['security_groups']:
        group = existing.get(wanted['name'])
        if group is None:
            found.append('security group %s is missing' % wanted['name'])
            continue
        have = {capture.rule_key(capture.rule(r, here.names))
                for r in group.security_group_rules or ()}
        want = {capture.rule_key(r) for r in wanted['rules']}
        for rule in sorted(want - have, key=repr):
            found.append('security group %s lacks the rule %s' % (
                wanted['name'], _rule_text(rule)))
        for rule in sorted(have - want, key=repr):
            found.append('security group %s has a rule the checkpoint has '
                         'not: %s' % (wanted['name'], _rule_text(rule)))
    return found


def _rule_text(key):
    return ', '.join('%s=%s' % (k, v) for k, v in key if v is not None)


def _chain(here, doc):
    chains = [c for c in here.port_chains if c.name == doc['name']]
    if not chains:
        return ['chain %s is missing' % doc['name']]
    chain = chains[0]
    found = []
    ports = {p.id: p.name for p in here.ports.values()}
    groups = [here.sfc_item('port_pair_groups', g)
              for g in chain.port_pair_groups or ()]
    if len(groups) != len(doc['port_pair_groups']):
        found.append('chain %s has %d port pair groups, the checkpoint %d'
                     % (doc['name'], len(groups),
                        len(doc['port_pair_groups'])))
    for group, wanted in zip(groups, doc['port_pair_groups']):
        pairs = [here.sfc_item('port_pairs', p)
                 for p in group.port_pairs or ()]
        have = [(ports.get(p.ingress), ports.get(p.egress)) for p in pairs]
        want = [(p['ingress'].get('port'), p['egress'].get('port'))
                for p in wanted['port_pairs']]
        if have != want:
            found.append('chain %s: group %s goes through %s, the '
                         'checkpoint %s' % (doc['name'], wanted['name'],
                                            have, want))
    classifiers = [here.sfc_item('flow_classifiers', c)
                   for c in chain.flow_classifiers or ()]
    if len(classifiers) != len(doc['flow_classifiers']):
        found.append('chain %s has %d flow classifiers, the checkpoint %d'
                     % (doc['name'], len(classifiers),
                        len(doc['flow_classifiers'])))
    for fc, wanted in zip(classifiers, doc['flow_classifiers']):
        for key in ('protocol', 'source_ip_prefix', 'destination_ip_prefix',
                    'destination_port_range_min',
                    'destination_port_range_max'):
            if getattr(fc, key) != wanted.get(key):
                found.append('chain %s: classifier %s has %s %s, the '
                             'checkpoint %s' % (doc['name'], wanted['name'],
                                                key, getattr(fc, key),
                                                wanted.get(key)))
        source = wanted.get('logical_source_port')
        if source and ports.get(fc.logical_source_port) != source.get(
                'port'):
            found.append('chain %s: classifier %s starts at port %s, the '
                         'checkpoint %s' % (doc['name'], wanted['name'],
                                            ports.get(fc.logical_source_port),
                                            source.get('port')))
    if dict(chain.chain_parameters or {}) != doc['chain_parameters']:
        found.append('chain %s has parameters %s, the checkpoint %s' % (
            doc['name'], dict(chain.chain_parameters or {}),
            doc['chain_parameters']))
    return found
