"""The units of drill jobs, and the isolated copy they make.

A drill is a takeover of a group into an isolated copy at its DR site, from
the group's newest checkpoint: nothing of the primary, of the DR site's
standbys or of the interconnect changes.  Per group (see
geoflows.flows.drill):

* ``GROUP.drill.network``: the copy recorded as present (before anything
  exists), then its own networks, subnets (the same CIDRs, gateways and
  pools) and routers, without an external gateway and joined to no
  interconnect: nothing routes in or out;
* ``GROUP/VNF`` (a takeover's unit), by priority and dependencies: every
  VNF as a cold one, fresh servers on ports with the same IPs and MACs on
  the copy's networks, volumes restored from the checkpoint's copies, its
  ``post_takeover`` hooks told it is a drill;
* ``GROUP.chain.NAME``: the chains rebuilt through the copy's ports;
* ``GROUP.done``: the copy compared with the checkpoint, the report (the
  measured RTO per VNF) recorded;
* ``GROUP.cleanup`` (unless kept): everything of the copy removed, found
  by its mark, whatever the units before it did or failed to do.

What the copy makes carries the drill's own mark (``geoflows plan=P
group=G drill=TAG``) and, where a name must be unique at the site
(networks, routers, chains and their parts, volumes), the drill's tag.
A ``drill.cleanup`` job (``geoflows drill cleanup ID``, or a conductor
when a kept copy's time ran out) has one ``GROUP.cleanup`` unit per copy
still present.
"""

import copy as copy_mod
import uuid

from geoflows import checkpoints
from geoflows.checkpoints import drills
from geoflows import exceptions
from geoflows import jobs
from geoflows import protection_units
from geoflows.tasks import sfc

#: the method whose restore would end the replication (a failover)
UNDRILLABLE = ('storage',)
_CLEANUP_NAMESPACE = uuid.UUID('5d0c2a57-84b1-4e39-9f6e-1c2b3a4d5e6f')


def tag_of(drill_id):
    """The short tag in the names of a drill's resources."""
    return 'gfd-%s' % drill_id[:8]


def marker(plan_name, group_name, drill_id):
    """The mark of what a drill's copy of a group holds."""
    return 'geoflows plan=%s group=%s drill=%s' % (plan_name, group_name,
                                                   drill_id[:8])


def cleanup_job_id(drill_id):
    """The id of the cleanup job of a drill: one, whoever starts it."""
    return str(uuid.uuid5(_CLEANUP_NAMESPACE, drill_id))


def _named(tag, name):
    return '%s-%s' % (tag, name)


def isolate(group_doc, vnf_docs, drill_id):
    """The documents of the isolated copy: (group doc, {VNF: doc}).

    Networks, subnets, routers, chains and their parts, volumes renamed
    with the drill's tag; routers without an external gateway; every VNF
    cold (fresh servers: the DR site's standbys are left alone).  Servers
    and ports keep their names (the copy's servers carry the drill's mark,
    its ports are on the copy's networks).
    """
    from geoflows.flows import takeover
    tag = tag_of(drill_id)
    group_doc = copy_mod.deepcopy(group_doc)
    for net in group_doc['networks']:
        net['dr_name'] = _named(tag, net['dr_name'])
        for sub in net['subnets']:
            sub['name'] = _named(tag, sub['name'] or net['name'])
    for router in group_doc['routers']:
        router['name'] = _named(tag, router['name'])
        router['external_network'] = None
    for chain in group_doc.get('chains', ()):
        chain['name'] = _named(tag, chain['name'])
        for group in chain['port_pair_groups']:
            group['name'] = _named(tag, sfc.group_name(group))
            for pair in group['port_pairs']:
                pair['name'] = _named(tag, sfc.pair_name(pair))
        for fc in chain['flow_classifiers']:
            fc['name'] = _named(tag, sfc.classifier_name(fc))
    isolated = {}
    for name, doc in vnf_docs.items():
        doc = copy_mod.deepcopy(doc)
        doc['standby'] = 'cold'
        for server in doc['servers']:
            for volume in server['volumes']:
                volume['name'] = '%s-%s' % (
                    takeover._volume_name(server, volume), tag)
        isolated[name] = doc
    return group_doc, isolated


class IsolatedCheckpoint(object):
    """A checkpoint as the drill's copy should match it (for verify)."""

    def __init__(self, checkpoint, drill_id):
        self.id = checkpoint.id
        group_doc, vnfs = isolate(checkpoint.document['group_doc'],
                                  checkpoint.vnfs, drill_id)
        self.document = dict(checkpoint.document, group_doc=group_doc)
        self.vnfs = vnfs


def drillable_problems(plan, group, checkpoint, path):
    """Why a group's checkpoint cannot be drilled (a list)."""
    found = []
    for name, part in sorted(checkpoint.vnfs.items()):
        for record in part.get('copies', ()):
            if record['method'] in UNDRILLABLE:
                found.append((path, (
                    'VNF %s: volume %s is replicated by the storage array: '
                    'restoring it means failing its replica over, which '
                    'ends the replication; a drill never does that. Drill '
                    'the other groups, or give the volume another method '
                    '(backup, image) for rehearsals' % (
                        name, record['volume']))))
    return found


def build(operation, plan, names, context, options):
    if operation == 'drill.cleanup':
        return _cleanup_units(plan, names, context, options)
    from geoflows import takeover_units
    units, problems = [], []
    for group in protection_units.select_groups(plan, names):
        units.extend(takeover_units._group(plan, group, context, options,
                                           takeover_units.DRILL, problems))
    if problems:
        raise exceptions.PreflightError(plan, 'drill', problems)
    return units


def network_unit(plan, group, base, group_doc, options):
    """The copy's first unit: recorded, then its networks."""
    keep = options.get('keep_for')
    return {'name': '%s.drill.network' % group.name,
            'flow': 'drill.network',
            'args': dict(base, doc={
                'networks': group_doc['networks'],
                'routers': group_doc['routers'], 'security_groups': [],
                'keypairs': [], 'flavors': [], 'server_groups': [],
                'images': []},
                plan_document=plan.document,
                vnfs_digest=drills.vnfs_digest(group),
                keep_for=keep),
            'after': [], 'locks': []}


def cleanup_unit(group_name, base, after):
    """Remove the copy of one group (all of it, found by its mark)."""
    return {'name': '%s.cleanup' % group_name, 'flow': 'drill.cleanup',
            'args': dict(base), 'after': [], 'follows': list(after),
            'locks': [], 'again': True}


def _cleanup_units(plan, names, context, options):
    drill_id = options.get('drill')
    copies = [c for c in drills.get(context.store, drill_id or '')
              if c.present]
    if not copies:
        raise exceptions.GeoflowsError(
            'drill %s has no copy left to remove ("geoflows drill list" '
            'shows the copies still present)' % drill_id)
    drill = context.store.get_job(drill_id)
    if drill is not None and drill.state in (jobs.PENDING, jobs.RUNNING):
        from geoflows import queries
        job = queries.Queries(context.store).get(drill_id)
        if not job.stale:
            raise exceptions.GeoflowsError(
                'drill %s is still %s: its own cleanup comes at its end '
                '(or abort it: "geoflows job abort %s")' % (
                    drill_id, job.display_state, drill_id))
    units = []
    for found in copies:
        group = plan.protection_group(found.group_name)
        if group is None:
            raise exceptions.GeoflowsError(
                'the plan of drill %s has no group %s any more' % (
                    drill_id, found.group_name))
        base = {'plan': plan.name, 'group': group.name,
                'target': plan.sites[found.site].to_spec(),
                'source': plan.sites[group.primary].to_spec(),
                'drill': drill_id,
                'marker': marker(plan.name, group.name, drill_id),
                'tag': tag_of(drill_id)}
        units.append(cleanup_unit(group.name, base, []))
    return units


def checked_keep(keep_for, limit):
    """Seconds a kept copy lives: 0 < keep_for <= limit."""
    if keep_for is None:
        return None
    if isinstance(keep_for, bool) or not isinstance(keep_for, (int, float)) \
            or not 0 < keep_for <= limit:
        raise exceptions.GeoflowsError(
            'a drill\'s copy is kept from 1 second to %d seconds (the '
            '[protection] drill_max_keep option), not %r' % (limit,
                                                             keep_for))
    return keep_for


def expiry(copy):
    """When a kept copy ends, as text."""
    return checkpoints.isoformat(copy.keep_until) if copy.keep_until \
        else None
