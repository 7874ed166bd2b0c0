"""Steps of reprotect and failback that are not one resource's.

The group's replication turned back (and forward again), the origin's old
VNFs removed, the origin checked before the DR site is touched, a DR VNF
drained, a DR chain removed in the order networking-sfc needs (and rebuilt
by its revert), the DR networks out of the interconnect, a DR VNF back to
standby, the report.
"""

import abc
import logging
import time

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import clouds as clouds_mod
from geoflows import exceptions
from geoflows import hooks as hooks_mod
from geoflows.tasks import base
from geoflows.tasks import compute as compute_tasks
from geoflows.tasks import sfc
from geoflows.tasks import takeover as takeover_tasks

LOG = logging.getLogger(__name__)

#: seconds a step waits for a server to be gone, a volume to detach
GONE_WAIT = 120


def _state_values(state):
    """The fields of a group's state a revert puts back."""
    if state is None:
        return None
    return {'state': state.state, 'source_site': state.source_site,
            'target_site': state.target_site,
            'serving_site': state.serving_site,
            'takeover_job': state.takeover_job,
            'fence_state': state.fence_state,
            'fence_detail': state.fence_detail,
            'next_sync_at': checkpoints.isoformat(state.next_sync_at)}


def _put_back(store, spec, before):
    if before is None:
        return
    before = dict(before)
    if before.get('next_sync_at'):
        before['next_sync_at'] = checkpoints.parse_time(before['next_sync_at'])
    groups.update(store, spec['plan'], spec['group'], **before)


class _SpecTask(base.GeoflowsTask):
    """A step on its unit's target site, from the unit's spec.

    ``needs_job``: its execute() takes the job's id.
    """

    needs_job = False

    def __init__(self, name, spec):
        super().__init__(name, spec['target'], provides=name,
                         requires=['job_id'] if self.needs_job else ())
        self.spec = spec


class _StateTask(_SpecTask):
    """Change the group's state; the revert puts the old one back."""

    needs_job = True

    @abc.abstractmethod
    def values(self, job_id):
        """The group's new state: {field: value}."""

    def execute(self, job_id):
        store = self.ctx.store
        before = groups.get(store, self.spec['plan'], self.spec['group'])
        groups.update(store, self.spec['plan'], self.spec['group'],
                      **self.values(job_id))
        return {'before': _state_values(before)}

    def revert(self, result, *args, **kwargs):
        if isinstance(result, dict):
            _put_back(self.ctx.store, self.spec, result.get('before'))


class MarkReprotected(_StateTask):
    """The group replicates from the site serving it back to its origin.

    Its first reverse sync is due at once (the conductors start it, or the
    command that reprotected it).
    """

    def values(self, job_id):
        import json
        spec = self.spec
        return {'state': groups.REPROTECTED,
                'source_site': spec['source']['name'],
                'target_site': spec['target']['name'],
                'serving_site': spec['source']['name'],
                'plan': json.dumps(spec['plan_document'], sort_keys=True),
                'plan_digest': spec['plan_digest'],
                'sync_interval': spec['sync_interval'],
                'next_sync_at': checkpoints.utcnow(),
                'last_sync_error': None}


class MarkForward(_StateTask):
    """The origin serves the group; it replicates to the DR site again."""

    def values(self, job_id):
        spec = self.spec
        return {'state': groups.PROTECTED,
                'source_site': spec['source']['name'],
                'target_site': spec['target']['name'],
                'serving_site': None, 'takeover_job': None,
                'fence_state': None, 'fence_detail': None,
                'sync_interval': spec['sync_interval'],
                'next_sync_at': checkpoints.utcnow(),
                'last_sync_error': None}


def _wait_until(read, done, seconds, what):
    """Call ``read`` until ``done(its result)`` or NotFound.

    NotReady with ``what`` (and the last result) once ``seconds`` passed.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = read()
        except clouds_mod.NotFound:
            return
        if done(found):
            return
        if time.monotonic() >= deadline:
            raise exceptions.NotReady('%s is still %s after %ds'
                                      % (what, found, seconds))
        time.sleep(1.0)


def _wait_gone(read, seconds, what):
    """Call ``read`` until it raises NotFound."""
    _wait_until(lambda: getattr(read(), 'status', 'there'),
                lambda status: False, seconds, what)


def _deleted(delete, ident):
    """Whether delete(ident) deleted it (False: it was not there)."""
    try:
        delete(ident, ignore_missing=False)
        return True
    except clouds_mod.NotFound:
        return False


def _delete_chain(net, chain, site_name):
    """Delete a chain's objects by id, in the order networking-sfc takes.

    The chain first (its groups are then in no chain), then its groups,
    pairs and classifiers.  A group is never emptied while in a chain.
    Returns what was deleted.
    """
    done = []
    steps = [('port chain', net.delete_sfc_port_chain, [chain['id']]),
             ('port pair group', net.delete_sfc_port_pair_group,
              chain['port_pair_groups']),
             ('port pair', net.delete_sfc_port_pair, chain['port_pairs']),
             ('flow classifier', net.delete_sfc_flow_classifier,
              chain['flow_classifiers'])]
    for kind, delete, ids in steps:
        for ident in ids:
            if not ident:
                continue
            with clouds_mod.api_errors(site_name, 'delete %s %s'
                                       % (kind, ident)):
                if _deleted(delete, ident):
                    done.append('%s %s' % (kind, ident))
    return done


class RetireOld(_SpecTask):
    """Remove the old VNFs at the origin: fresh ones replace them.

    The chains that use their ports, then the servers (waited for until
    gone), then their ports (so that the fresh ports take the same MAC
    addresses: one MAC appears once on a network).  Their volumes stay,
    detached: they hold what the old primary wrote last, after the
    checkpoint the takeover came from.  Not undone by a revert: the old
    servers were stopped (fenced) and the DR site serves.
    """

    def execute(self):
        net = self.network()
        compute = self.client('compute')
        done = []
        for chain in self.spec['chains']:
            done.extend(_delete_chain(net, chain, self.site['name']))
        for server in self.spec['servers']:
            with self.api('delete old server %s' % server['name']):
                if _deleted(compute.delete_server, server['id']):
                    done.append('server %s' % server['name'])
        for server in self.spec['servers']:
            with self.api('wait for old server %s to go' % server['name']):
                _wait_gone(lambda s=server: compute.get_server(s['id']),
                           GONE_WAIT, 'old server %s at site %r' % (
                               server['name'], self.site['name']))
        for port in self.spec['ports']:
            with self.api('delete old port %s' % port['name']):
                if _deleted(net.delete_port, port['id']):
                    done.append('port %s' % port['name'])
        if done:
            LOG.info('failback of group %s: removed at %r the old %s',
                     self.spec['group'], self.site['name'], ', '.join(done))
        return {'removed': done}

    def revert(self, result, *args, **kwargs):
        if isinstance(result, dict) and result.get('removed'):
            LOG.warning('failback of group %s undone: the old VNFs removed '
                        'at %r stay removed (they were stopped; the DR site '
                        'serves): %s', self.spec['group'], self.site['name'],
                        ', '.join(result['removed']))


class VerifyOrigin(takeover_tasks.Verify):
    """The origin compared with the failback's checkpoint.

    Before the DR site changes: any difference stops the failback there.
    """

    def execute(self, job_id):
        cid, found = self.differences(job_id)
        if found:
            raise exceptions.ResourceError(
                'the origin %r differs from checkpoint %s, so its DR site '
                'keeps serving group %s: %s; correct it, then resume the '
                'failback' % (self.site['name'], cid, self.spec['group'],
                              '; '.join(found[:10])))
        return {'clean': True, 'checkpoint': cid,
                'checked_at': checkpoints.isoformat(checkpoints.utcnow())}


class Drain(_SpecTask):
    """Ask a DR VNF's ``drain`` hooks once whether it is drained.

    ``NotReady`` while they say "not yet": a ``PacedRetry`` around it asks
    again until its attempts run out (the VNF then stays in its chains, its
    unit failed, the DR site serving on).
    """

    needs_job = True

    def execute(self, job_id):
        spec = self.spec
        payload = hooks_mod.make_payload(
            hooks_mod.DRAIN, spec['plan'], {'name': spec['vnf']['name']},
            job_id, group=spec['group'])
        result = hooks_mod.run(spec['hooks'], payload, hooks_mod.DRAIN,
                               secret_resolver=self.ctx.secrets,
                               log_name=__name__,
                               **spec.get('hook_options', {}))
        if not result.drained:
            raise exceptions.NotReady(
                'VNF %s at site %r is not drained yet (its drain hooks '
                'say so)' % (spec['vnf']['name'], self.site['name']))
        return {'drained': True, 'by': 'hook',
                'at': checkpoints.isoformat(checkpoints.utcnow())}


class DrainTime(_SpecTask):
    """A DR VNF without a drain hook is given ``drain_time`` seconds."""

    def execute(self):
        time.sleep(self.spec['drain_time'])
        return {'drained': True, 'by': 'time',
                'seconds': self.spec['drain_time']}


class RetireChain(_SpecTask):
    """Remove a service chain at the DR site, once the origin's serves.

    Refused while the origin has no chain of that name.  The chain goes
    first, then its port pair groups (never emptied: a group in a chain
    keeps its pairs to the end), pairs and classifiers.  The revert
    rebuilds it from the chain's record (the DR ports, found by name).
    """

    def _ids(self, net):
        doc = self.spec['chain']

        def named(items, name):
            for item in items:
                if item.name == name:
                    return item.id
            return None
        with self.api('list the objects of chain %s' % doc['name']):
            return {'name': doc['name'],
                    'id': named(net.sfc_port_chains(), doc['name']),
                    'port_pair_groups': [
                        named(net.sfc_port_pair_groups(), sfc.group_name(g))
                        for g in doc['port_pair_groups']],
                    'port_pairs': [
                        named(net.sfc_port_pairs(), sfc.pair_name(p))
                        for g in doc['port_pair_groups']
                        for p in g['port_pairs']],
                    'flow_classifiers': [
                        named(net.sfc_flow_classifiers(),
                              sfc.classifier_name(f))
                        for f in doc['flow_classifiers']]}

    def execute(self):
        doc = self.spec['chain']
        origin = self.spec['source']
        origin_net = self.network(origin)
        with clouds_mod.api_errors(origin['name'], 'look up chain %s'
                                   % doc['name']):
            there = [c for c in origin_net.sfc_port_chains()
                     if c.name == doc['name']]
        if not there:
            raise exceptions.ResourceError(
                'chain %s does not exist at the origin %r: the DR site\'s '
                'stays (make-before-break); rebuild it there, then resume'
                % (doc['name'], origin['name']))
        net = self.network()
        removed = _delete_chain(net, self._ids(net), self.site['name'])
        return {'removed': removed}

    def revert(self, result, *args, **kwargs):
        # Also after a crash in the middle of execute(): whatever is
        # missing is made again, parents first, found by name.
        net = self.network()
        doc = self.spec['chain']
        site = self.site
        mark = self.spec['marker']

        def ensure(resource, parents):
            obj = resource.find(net, parents)
            if obj is None:
                obj = resource.create(net, parents)
            return {'id': obj.id}

        def port(owner):
            with self.api('look up port %s' % owner['port']):
                found = base.only(net.ports(name=owner['port']),
                                  'ports named %r' % owner['port'])
            if found is None:
                raise exceptions.ResourceError(
                    'port %s is gone at site %r: chain %s cannot be rebuilt'
                    % (owner['port'], site['name'], doc['name']))
            return {'id': found.id}

        with self.api('rebuild chain %s' % doc['name']):
            group_ids = []
            for group in doc['port_pair_groups']:
                pairs = {}
                for j, pair in enumerate(group['port_pairs']):
                    pairs['pair_%d' % j] = ensure(sfc.PortPair(
                        'pair', site, sfc.pair_name(pair), marker=mark,
                        parameters=pair['parameters']), {
                            'ingress': port(pair['ingress']),
                            'egress': port(pair['egress'])})
                group_ids.append(ensure(sfc.PortPairGroup(
                    'group', site, sfc.group_name(group), marker=mark,
                    pairs=len(pairs), parameters=group['parameters']),
                    pairs))
            classifiers = []
            for fc in doc['flow_classifiers']:
                parents = {key: port(fc[key]) for key in (
                    'logical_source_port', 'logical_destination_port')
                    if fc.get(key)}
                classifiers.append(ensure(sfc.FlowClassifier(
                    'classifier', site, sfc.classifier_name(fc), marker=mark,
                    **{key: fc.get(key) for key in sfc.FlowClassifier.FIELDS}
                ), parents))
            parents = {'group_%d' % i: g for i, g in enumerate(group_ids)}
            parents.update({'classifier_%d' % i: c
                            for i, c in enumerate(classifiers)})
            ensure(sfc.PortChain('chain', site, doc['name'], marker=mark,
                                 groups=len(group_ids),
                                 classifiers=len(classifiers),
                                 chain_parameters=doc['chain_parameters']),
                   parents)
        LOG.info('failback undone: chain %s rebuilt at %r', doc['name'],
                 site['name'])


class Unjoin(_SpecTask):
    """The DR networks leave the interconnect (the origin's joined first).

    The revert joins them again (each one that has no association).
    """

    def _vpns_and_networks(self, net):
        with self.api('look up BGPVPN %s' % self.spec['bgpvpn']):
            vpns = list(net.bgpvpns(name=self.spec['bgpvpn']))
            ids = {n.id for n in net.networks()
                   if n.name in self.spec['networks']}
        return vpns, ids

    def execute(self):
        net = self.network()
        vpns, ids = self._vpns_and_networks(net)
        removed = []
        with self.api('remove the DR networks from BGPVPN %s'
                      % self.spec['bgpvpn']):
            for vpn in vpns:
                for assoc in net.bgpvpn_network_associations(vpn.id):
                    if assoc.network_id in ids:
                        net.delete_bgpvpn_network_association(vpn.id,
                                                              assoc.id)
                        removed.append([vpn.id, assoc.network_id])
        return {'removed': removed}

    def revert(self, result, *args, **kwargs):
        net = self.network()
        vpns, ids = self._vpns_and_networks(net)
        with self.api('join the DR networks to BGPVPN %s again'
                      % self.spec['bgpvpn']):
            for vpn in vpns:
                have = {a.network_id for a in
                        net.bgpvpn_network_associations(vpn.id)}
                for network_id in sorted(ids - have):
                    net.create_bgpvpn_network_association(
                        vpn.id, network_id=network_id)


class Standby(_SpecTask):
    """A DR VNF back to its standby, as the policy says.

    ``cold``: its servers deleted, then their ports and the volumes the
    takeover restored (its copies stay: the checkpoints' backups).
    ``warm``: left running, the volumes the takeover gave it detached and
    deleted (a takeover restores them again).  ``hot``: left running as it
    is (its own volumes are the application's replica).  It runs once the
    origin serves: nothing here is undone by a revert.
    """

    def _marked_volumes(self, cinder, ids):
        from geoflows.tasks import volume as volume_tasks
        found = []
        for volume_id in ids:
            try:
                volume = cinder.get_volume(volume_id)
            except clouds_mod.NotFound:
                continue
            if (volume.metadata or {}).get(volume_tasks.MARK_KEY):
                found.append(volume.id)
        return found

    def execute(self):
        standby = self.spec['standby']
        if standby == 'hot':
            return {'standby': standby, 'removed': []}
        compute = self.client('compute')
        cinder = self.client('block_storage')
        net = self.network()
        removed = []
        for server in self.spec['vnf']['servers']:
            ids = [v['source_id'] for v in server['volumes']
                   if not (standby == 'warm' and not server['image'] and
                           v['device'] in compute_tasks.BOOT_DEVICES)]
            with self.api('look up the volumes of server %s'
                          % server['name']):
                volumes = self._marked_volumes(cinder, ids)
            if standby == 'cold':
                with self.api('delete server %s' % server['name']):
                    if _deleted(compute.delete_server, server['source_id']):
                        removed.append('server %s' % server['name'])
                    _wait_gone(lambda s=server: compute.get_server(
                        s['source_id']), GONE_WAIT, 'server %s' %
                        server['name'])
                for port in server['ports']:
                    with self.api('delete port %s' % port['name']):
                        if _deleted(net.delete_port, port['source_id']):
                            removed.append('port %s' % port['name'])
            else:
                for volume_id in volumes:
                    with self.api('detach volume %s from server %s' % (
                            volume_id, server['name'])):
                        try:
                            compute.delete_volume_attachment(
                                server['source_id'], volume_id)
                        except clouds_mod.NotFound:
                            pass
            for volume_id in volumes:
                with self.api('delete volume %s' % volume_id):
                    _wait_detached(cinder, volume_id)
                    if _deleted(cinder.delete_volume, volume_id):
                        removed.append('volume %s' % volume_id)
        return {'standby': standby, 'removed': removed}


def _wait_detached(cinder, volume_id, seconds=GONE_WAIT):
    _wait_until(lambda: cinder.get_volume(volume_id).status,
                lambda status: status in ('available', 'error'), seconds,
                'volume %s' % volume_id)


class FailbackReport(_SpecTask):
    """The failback's timings.

    Per VNF: when it was ready at the origin, drained at the DR site and
    back to standby there; when the origin served; the whole group's time.
    """

    needs_job = True

    def execute(self, job_id):
        spec = self.spec
        store = self.ctx.store
        job = store.get_job(job_id)
        started = job.started_at
        ends = {}
        for step in store.job_steps(job_id, data=False):
            if step['state'] == 'SUCCESS' and step['finished_at']:
                key = step['unit']
                ends[key] = max(ends.get(key, step['finished_at']),
                                step['finished_at'])

        def at(unit):
            end = ends.get(unit)
            return None if end is None else round(
                (end - started).total_seconds(), 3)
        group = spec['group']
        vnfs = {}
        for name, info in spec['vnfs'].items():
            vnfs[name] = {
                'priority': info['priority'], 'standby': info['standby'],
                'origin_ready': at('%s/%s' % (group, name)),
                'drained': at('%s/%s.drain' % (group, name)),
                'standby_at': at('%s/%s.standby' % (group, name))}
        now = checkpoints.utcnow()
        return {'group': group, 'stage': spec['stage'],
                'origin': spec['source']['name'],
                'dr': spec['target']['name'],
                'serving_at': at('%s.serving' % group),
                'seconds': round((now - started).total_seconds(), 3),
                'vnfs': vnfs}
