"""Would a takeover from this checkpoint work at its DR site today?

``geoflows checkpoint show|diff`` read the DR site and warn of what a
takeover from the checkpoint would stumble on, before the night it is
needed: a flavor, an image or a network (or one of its subnets) the VNFs
need and the DR site lacks, and a quota too small for what the takeover
makes there.  The quota counted is conservative: every server of a cold
VNF (and of a hot or warm one whose standby is missing), and one new
volume per data copy (a restore makes one).

    warnings = readiness.check(clouds, checkpoint)
"""

from geoflows.checkpoints import capture
from geoflows.checkpoints import inventory
from geoflows import clouds as clouds_mod
from geoflows.flows import site_copy
from geoflows.tasks import compute as compute_tasks
from geoflows.tasks import image as image_tasks


def _call(site, action, fn, *args, **kwargs):
    with clouds_mod.api_errors(site['name'], action):
        return fn(*args, **kwargs)


def check(clouds, checkpoint):
    """Sentences, one per thing that would fail; empty: nothing found."""
    doc = checkpoint.document
    group_doc = doc.get('group_doc', {})
    target = doc['target']
    where = 'at DR site %r' % target['name']
    fix = ('; a sync copies it ("geoflows sync --plan P %s")'
           % checkpoint.group_name)
    warnings = []
    servers = [(vnf, s) for vnf, part in sorted(checkpoint.vnfs.items())
               for s in part['servers']]

    compute = clouds.compute(target)
    dr_flavors = []
    for flavor in _call(target, 'list the flavors', list,
                        compute.flavors(details=True)):
        specs = flavor.extra_specs
        if specs is None:
            specs = _call(target, 'read the extra specs of flavor %s'
                          % flavor.name, compute.fetch_flavor_extra_specs,
                          flavor).extra_specs
        specs = {k: v for k, v in (specs or {}).items()
                 if k != compute_tasks.FLAVOR_MARK}
        dr_flavors.append((flavor.name,
                           capture.flavor_key(capture.flavor(flavor, specs))))
    flavors = {f['name']: f for f in group_doc.get('flavors', ())}
    for name in sorted({s['flavor'] for _vnf, s in servers}):
        wanted = flavors.get(name)
        if wanted is None:
            continue
        key = capture.flavor_key(wanted)
        if not any(k == key for _n, k in dr_flavors):
            users = sorted(s['name'] for _v, s in servers
                           if s['flavor'] == name)
            warnings.append('flavor %s (of %s) is missing %s, or differs '
                            'there%s' % (name, ', '.join(users), where, fix))

    glance = clouds.image(target)
    images = {i['source_id']: i for i in group_doc.get('images', ())}
    copied = set()
    for image in _call(target, 'list the images', list, glance.images()):
        props = dict(getattr(image, 'properties', None) or {})
        source = props.get(image_tasks.SOURCE_PROPERTY) or getattr(
            image, image_tasks.SOURCE_PROPERTY, None)
        if source and image.status == 'active':
            copied.add(source)
    for source_id in sorted({s['image'] for _v, s in servers
                             if s.get('image')}):
        if source_id not in copied:
            name = images.get(source_id, {}).get('name', source_id)
            warnings.append('image %s is not copied %s (or not active)%s'
                            % (name, where, fix))

    net = clouds.network(target)
    dr_networks = {n.name: n for n in _call(
        target, 'list the networks', list, net.networks())}
    dr_cidrs = {}
    for subnet in _call(target, 'list the subnets', list, net.subnets()):
        dr_cidrs.setdefault(subnet.network_id, set()).add(subnet.cidr)
    for network in group_doc.get('networks', ()):
        found = dr_networks.get(network['dr_name'])
        if found is None:
            warnings.append('network %s is missing %s%s' % (
                network['dr_name'], where, fix))
            continue
        for subnet in network.get('subnets', ()):
            if subnet['cidr'] not in dr_cidrs.get(found.id, ()):
                warnings.append('network %s %s has no subnet %s%s' % (
                    network['dr_name'], where, subnet['cidr'], fix))

    standbys = {}
    marker = site_copy.marker(checkpoint.plan_name, checkpoint.group_name)
    for server in _call(target, 'list the servers', list,
                        compute.servers(details=True)):
        if (server.metadata or {}).get(compute_tasks.MARK_KEY) == marker:
            standbys[server.name] = server
    to_boot = [s for vnf, s in servers
               if checkpoint.vnfs[vnf].get('standby') == 'cold' or
               s['name'] not in standbys]
    volumes = [record for part in checkpoint.vnfs.values()
               for record in part.get('copies', ())]
    need = inventory.need_of(group_doc, to_boot,
                             [{'size': r.get('size')} for r in volumes])
    short = inventory.quota_shortfall(clouds, target, need)
    if short:
        warnings.append('the quota %s is too small for the takeover (%s); '
                        'raise the quota of the project there' % (
                            where, '; '.join(short)))
    return warnings
