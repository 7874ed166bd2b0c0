"""Flows of the takeover operation: the DR site takes the group's VNFs over.

Units of a takeover job (see geoflows.takeover_units), for each group:

* ``GROUP.fence`` (disaster): what can still be stopped at the primary is
  (its protected servers stopped, their ports taken down, its networks
  removed from the interconnect), within a bound; if the primary does not
  answer, the group is recorded "not fenced".
* ``GROUP/VNF.final`` (planned), one per VNF: quiesce hooks, the primary's
  servers stopped, then their volumes copied (the job's own checkpoint:
  nothing written before the stop is lost); ``GROUP.final`` completes
  that checkpoint.
* ``GROUP/VNF`` (:func:`vnf`), one per VNF: its volumes restored from the
  checkpoint's copies, ports with the same fixed IPs and MAC addresses on
  the mapped networks, servers booted with the recorded flavor, image,
  keypair, security groups, server group and metadata (a warm or hot
  standby is already there), volumes attached in the recorded order,
  servers ACTIVE; a hot VNF's standby promoted (its ``promote`` hooks);
  ``post_takeover`` hooks.  In priority order (``GROUP.priority.N``
  barriers: a priority starts once the previous one ended), after the VNFs
  it depends on.
* ``GROUP.chain.NAME`` (:func:`chain`), once its VNFs are up: the service
  chain rebuilt at the DR site from the DR ports.
* ``GROUP.join`` (:func:`join`): the DR networks joined to the group's
  interconnect (its BGPVPN at the DR site).
* ``GROUP.done`` (:func:`done`), last: what runs at the DR site compared
  with the checkpoint, the group recorded as running at the DR site, and
  the report (RPO and measured RTO per VNF).

A unit that fails is undone alone; the VNFs that depend on it are skipped,
the others go on (the job ends PARTIAL).
"""

from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow

from geoflows.flows import site_copy
from geoflows import hooks as hooks_mod
from geoflows import replication
from geoflows.tasks import base
from geoflows.tasks import compute
from geoflows.tasks import hooks
from geoflows.tasks import network
from geoflows.tasks import replication as replication_steps
from geoflows.tasks import sfc
from geoflows.tasks import takeover as takeover_tasks
from geoflows.tasks import volume as volume_tasks

BOOT_DEVICES = compute.BOOT_DEVICES


def _paced(key, options, *tasks):
    return linear_flow.Flow(key + '.wait', retry=base.PacedRetry(
        key + '.retry', options['ready_attempts'],
        options['ready_interval'])).add(*tasks)


def items(spec, options):
    """(method, Item, server name, volume doc) of the VNF's volumes."""
    found = []
    for server in spec['vnf']['servers']:
        for volume in server['volumes']:
            method = replication.get(spec['methods'][volume['source_id']])
            key = 'data.%s.%s' % (server['name'], volume['source_id'])
            found.append((method, replication.Item(
                key=key, source=spec['source'], target=spec['target'],
                volume=volume, marker=site_copy.spec_marker(spec),
                name='gf-%s-%s-%s' % (spec['group'], spec['checkpoint_tag'],
                                      volume['source_id'][:13]),
                chain_prefix='gf-%s-' % spec['group'],
                options=dict(spec.get('options', {}).get(
                    volume['source_id'], {})),
                retention=spec.get('retention', 3),
                wait=(options['ready_attempts'],
                      options['ready_interval'])), server, volume))
    return found


def _volume_name(server, volume):
    name = volume['name'] or volume['source_id'][:8]
    # A volume named after its server keeps its name: a failback, which
    # restores the DR site's volumes at the origin, gives them back theirs.
    if name.startswith(server['name']):
        return name
    return '%s-%s' % (server['name'], name)


def vnf(spec, options):
    """Bring one VNF up at the DR site."""
    standby = spec['vnf']['standby']
    data = [] if standby == 'hot' else items(spec, options)
    boot = {}
    for method, item, server, volume in data:
        if volume['device'] in BOOT_DEVICES and not server['image']:
            boot[server['name']] = item.key + '.volume'
    layout = site_copy.VnfLayout(spec, standby=True, boot_volumes=boot,
                                 hot=False)
    # Added to the graph at once: each add() copies the graph and checks
    # it for cycles, which costs more than the VNF's calls.
    steps = []

    def add(*atoms):
        steps.extend(atoms)
    for resource in layout.lookups:
        if standby == 'cold':
            add(base.Require(resource))
        else:
            # A running standby needs none of them; one that is gone is
            # made again, and then says what it lacks.
            add(base.Probe(resource, provides=resource.key))
    for method, item, server, volume in data:
        add(replication_steps.LookupCopy(
            item, method, spec['vnf']['name'], spec.get('checkpoint')))
        add(*method.restore(item, _volume_name(server, volume)))
        if volume['bootable']:
            add(volume_tasks.SetBootable(
                item.key + '.bootable', spec['target'],
                item.key + '.volume', after=[item.key + '.volume.ready']))
    for resource in layout.resources:
        add(base.Probe(resource), base.Ensure(resource))
    for server in layout.servers:
        add(_paced(server.key, options, compute.WaitServer(server)))
    servers = {s.name: s for s in layout.servers}
    for method, item, server, volume in data:
        if server['name'] in boot and \
                boot[server['name']] == item.key + '.volume':
            continue  # attached by the boot itself
        attachment = compute.VolumeAttachment(
            item.key + '.attachment', spec['target'],
            volume['name'] or volume['source_id'],
            server_name=server['name'], device=volume['device'],
            parents={'server': servers[server['name']].key,
                     'volume': item.key + '.volume'},
            after=['%s.ready' % servers[server['name']].key,
                   item.key + '.volume.ready'])
        add(base.Probe(attachment), base.Ensure(attachment))
    spec = dict(spec, hook_options=options.get('hook_options', {}))
    after = []
    if standby == 'hot' and hooks_mod.has_hooks(spec['hooks'],
                                                hooks_mod.PROMOTE):
        after.append(hooks.HookTask('hooks.promote', spec,
                                    hooks_mod.PROMOTE))
    if hooks_mod.has_hooks(spec['hooks'], hooks_mod.POST_TAKEOVER):
        after.append(hooks.HookTask('hooks.post_takeover', spec,
                                    hooks_mod.POST_TAKEOVER))
    if after or not all(step.provides for step in steps):
        flow = linear_flow.Flow('takeover').add(
            graph_flow.Flow('takeover-vnf').add(*steps), *after)
        flow.add(takeover_tasks.Ready('ready', spec['target'],
                                      [r.key for r in layout.resources]))
        return flow
    # Without hooks, one graph: "ready" needs the results nothing else
    # needs, so it comes after every step (each provides one).  A graph
    # inside a chain would cost a second pass of Taskflow's compiler over
    # the whole unit.
    # One add(): each add() checks every step already there again.
    return graph_flow.Flow('takeover-vnf').add(
        *steps, takeover_tasks.Ready('ready', spec['target'],
                                     _last_results(steps)))


def _last_results(steps):
    """What the steps provide that no other step needs."""
    needed = set()
    for step in steps:
        needed.update(step.requires)
    return sorted(name for step in steps for name in step.provides
                  if name not in needed)


def chain(spec, options):
    """Rebuild one service chain at the DR site from the DR ports."""
    target = spec['target']
    doc = spec['chain']
    mark = site_copy.spec_marker(spec)
    flow = graph_flow.Flow('takeover-chain')
    ports = {}

    def port(owner):
        name = owner['port']
        if name not in ports:
            net_key = site_copy.network_key(spec['ports'][name])
            if net_key not in ports:
                flow.add(base.Require(network.Network(
                    net_key, target, spec['ports'][name])))
                ports[net_key] = net_key
            key = 'port.%s' % name
            flow.add(base.Require(network.Port(
                key, target, name, parents={'network': net_key})))
            ports[name] = key
        return ports[name]

    groups = []
    for i, group in enumerate(doc['port_pair_groups']):
        pairs = {}
        for j, pair in enumerate(group['port_pairs']):
            name = sfc.pair_name(pair)
            resource = sfc.PortPair(
                'pair.%s' % name, target, name, marker=mark,
                parents={'ingress': port(pair['ingress']),
                         'egress': port(pair['egress'])},
                parameters=pair['parameters'])
            flow.add(base.Probe(resource), base.Ensure(resource))
            pairs['pair_%d' % j] = resource.key
        name = sfc.group_name(group)
        resource = sfc.PortPairGroup(
            'group.%s' % name, target, name, marker=mark, parents=pairs,
            pairs=len(pairs), parameters=group['parameters'])
        flow.add(base.Probe(resource), base.Ensure(resource))
        groups.append(resource.key)
    classifiers = []
    for fc in doc['flow_classifiers']:
        name = sfc.classifier_name(fc)
        parents = {key: port(fc[key]) for key in (
            'logical_source_port', 'logical_destination_port')
            if fc.get(key)}
        resource = sfc.FlowClassifier(
            'classifier.%s' % name, target, name, marker=mark,
            parents=parents,
            **{key: fc.get(key) for key in sfc.FlowClassifier.FIELDS})
        flow.add(base.Probe(resource), base.Ensure(resource))
        classifiers.append(resource.key)
    parents = {'group_%d' % i: key for i, key in enumerate(groups)}
    parents.update({'classifier_%d' % i: key
                    for i, key in enumerate(classifiers)})
    resource = sfc.PortChain('chain', target, doc['name'], marker=mark,
                             parents=parents, groups=len(groups),
                             classifiers=len(classifiers),
                             chain_parameters=doc['chain_parameters'])
    flow.add(base.Probe(resource), base.Ensure(resource))
    flow.add(takeover_tasks.Ready('ready', target, ['chain']))
    return flow


def join(spec, options):
    """Join the group's DR networks to its interconnect (a BGPVPN)."""
    target = spec['target']
    flow = graph_flow.Flow('takeover-join')
    vpn = takeover_tasks.ExistingBgpvpn('bgpvpn', target, spec['bgpvpn'])
    flow.add(base.Require(vpn))
    resources = []
    for name in spec['networks']:
        net_key = site_copy.network_key(name)
        flow.add(base.Require(network.Network(net_key, target, name)))
        association = takeover_tasks.Association(
            'association.%s' % name, target, name, vpn_name=spec['bgpvpn'],
            parents={'bgpvpn': 'bgpvpn', 'network': net_key})
        flow.add(base.Probe(association), base.Ensure(association))
        resources.append(association.key)
    flow.add(takeover_tasks.Ready('ready', target, resources))
    return flow


def fence(spec, options):
    """Stop what can still run at the primary; record whether it could."""
    return linear_flow.Flow('takeover-fence').add(
        takeover_tasks.Fence('fence', spec))


def final(spec, options):
    """Planned: quiesce, stop the primary's servers, copy their volumes."""
    from geoflows.flows import sync
    flow = linear_flow.Flow('takeover-final')
    spec = dict(spec, hook_options=options.get('hook_options', {}))
    servers = spec['vnf']['servers']
    if hooks_mod.has_hooks(spec['hooks'], hooks_mod.QUIESCE):
        for server in hooks_mod.quiesce_order(servers):
            flow.add(hooks.Quiesce('quiesce.%s' % server['name'], spec,
                                   server, 'unquiesce.%s' % server['name']))
    for server in servers:
        flow.add(takeover_tasks.StopSource('stop.%s' % server['name'],
                                           spec, server))
    for server in servers:
        flow.add(_paced('stop.%s' % server['name'], options,
                        takeover_tasks.WaitStopped(
                            'stop.%s.stopped' % server['name'], spec,
                            server)))
    data = sync.items(spec, options)
    # The copies after the snapshots, as in a sync: a backup of a snapshot
    # that is not yet available is refused.
    snapshots = graph_flow.Flow('final-snapshots')
    copies = graph_flow.Flow('final-copies')
    for method, item in data:
        snapshots.add(*method.snapshot(item))
        copies.add(*method.copy(item))
    flow.add(snapshots, copies, sync.WindowClosed('window.closed'))
    from geoflows.tasks import protection
    flow.add(protection.SaveVnf('checkpoint.vnf', spec,
                                [item.record_key for _m, item in data],
                                'window.closed'))
    return flow


def final_checkpoint(spec, options):
    from geoflows.tasks import protection
    return linear_flow.Flow('takeover-final-checkpoint').add(
        protection.CompleteCheckpoint('checkpoint', spec))


def barrier(spec, options):
    """The end of a priority: nothing to do, a point in the unit graph."""
    return linear_flow.Flow('takeover-barrier').add(
        takeover_tasks.Ready('ready', None, []))


def done(spec, options):
    """The end of a group's takeover.

    What runs at the DR site compared with the checkpoint, the group
    recorded as running there, the takeover's report.
    """
    return linear_flow.Flow('takeover-done').add(
        takeover_tasks.Verify('verify', spec),
        takeover_tasks.MarkTakenOver('taken-over', spec),
        takeover_tasks.TakeoverReport('report', spec))
