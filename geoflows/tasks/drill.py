"""Steps of a drill that are not one resource's.

The copy recorded (before anything of it exists), verified against the
checkpoint as the copy should hold it, its report kept; and its cleanup:
everything carrying the drill's mark (or, for what Cinder made before it
could be marked, its tag) removed in the order the services need.  Each
cleanup step reads the site again, so that a cleanup killed anywhere and
run again removes what is left, and nothing of anyone else.
"""

import datetime
import logging

from geoflows import checkpoints
from geoflows.checkpoints import drills
from geoflows import clouds as clouds_mod
from geoflows import exceptions
from geoflows.tasks import base
from geoflows.tasks import compute as compute_tasks
from geoflows.tasks import failback as failback_tasks
from geoflows.tasks import takeover as takeover_tasks
from geoflows.tasks import volume as volume_tasks

LOG = logging.getLogger(__name__)

#: seconds a cleanup step waits for servers and volumes to be gone
GONE_WAIT = failback_tasks.GONE_WAIT


class _DrillTask(base.GeoflowsTask):

    def __init__(self, name, spec, requires=()):
        super().__init__(name, spec['target'], provides=name,
                         requires=list(requires))
        self.spec = spec


class RegisterCopy(_DrillTask):
    """The copy is present from now on (``geoflows drill list``)."""

    def __init__(self, name, spec):
        super().__init__(name, spec, requires=['job_id'])

    def execute(self, job_id):
        spec = self.spec
        keep_until = None
        if spec.get('keep_for'):
            job = self.ctx.store.get_job(job_id)
            keep_until = (job.started_at or checkpoints.utcnow()) + \
                datetime.timedelta(seconds=spec['keep_for'])
        drills.register(self.ctx.store, spec['drill'], spec['group'],
                        spec['plan'], spec['target']['name'],
                        spec['plan_document'], spec['vnfs_digest'],
                        keep_until=keep_until)
        return {'drill': spec['drill'], 'keep_until':
                checkpoints.isoformat(keep_until)}


class VerifyCopy(takeover_tasks.Verify):
    """The copy compared with the checkpoint, as the copy should hold it."""

    def differences(self, job_id, vnfs=None):
        from geoflows import drill_units
        from geoflows import verify
        cid = self.spec['checkpoint']
        checkpoint = drill_units.IsolatedCheckpoint(
            checkpoints.get(self.ctx.store, cid), self.spec['drill'])
        cap = (getattr(self.ctx, 'call_caps', None) or {}).get('compute')
        return cid, verify.compare(
            self.ctx.clouds, checkpoint, vnfs, site=self.spec['target'],
            readers=min(cap or verify.ATTACHMENT_READERS,
                        verify.ATTACHMENT_READERS),
            marker=self.spec['marker'])


class KeepReport(_DrillTask):
    """The drill's report of the group, kept with the copy's record."""

    def __init__(self, name, spec):
        super().__init__(name, spec, requires=['report'])

    def execute(self, report):
        drills.record_report(self.ctx.store, self.spec['drill'],
                             self.spec['group'], report)
        return {'recorded': True}


# -- cleanup -----------------------------------------------------------------

class _Cleanup(_DrillTask):
    """One kind of the copy's resources removed (what is left of it)."""

    def owned(self, obj):
        return getattr(obj, 'description', None) == self.spec['marker']

    def tagged(self, obj):
        return (getattr(obj, 'name', None) or '').startswith(
            self.spec['tag'] + '-')

    def delete_and_wait(self, kind, found, delete, read):
        """Delete ``found`` (a listing's objects), then wait until gone."""
        removed = ['%s %s' % (kind, obj.name) for obj in found
                   if failback_tasks._deleted(delete, obj.id)]
        for obj in found:
            failback_tasks._wait_gone(lambda: read(obj.id), GONE_WAIT,
                                      '%s %s' % (kind, obj.name))
        return removed

    def execute(self):
        with self.api('remove the drill\'s %s' % self.what):
            removed = self.remove()
        if removed:
            LOG.info('drill %s, group %s: removed %s', self.spec['drill'],
                     self.spec['group'], ', '.join(removed))
        return {'removed': removed}


class RemoveChains(_Cleanup):
    """Chains first, then their groups, pairs and classifiers."""

    what = 'service chains'

    def remove(self):
        net = self.network()
        removed = []
        kinds = [('port chain', net.sfc_port_chains,
                  net.delete_sfc_port_chain),
                 ('port pair group', net.sfc_port_pair_groups,
                  net.delete_sfc_port_pair_group),
                 ('port pair', net.sfc_port_pairs, net.delete_sfc_port_pair),
                 ('flow classifier', net.sfc_flow_classifiers,
                  net.delete_sfc_flow_classifier)]
        for kind, listing, delete in kinds:
            for item in list(listing()):
                if self.owned(item) and failback_tasks._deleted(delete,
                                                                item.id):
                    removed.append('%s %s' % (kind, item.name))
        return removed


class RemoveServers(_Cleanup):
    """The copy's servers (its mark in their metadata), waited gone."""

    what = 'servers'

    def remove(self):
        compute = self.client('compute')
        mine = [s for s in compute.servers(details=True)
                if (s.metadata or {}).get(compute_tasks.MARK_KEY) ==
                self.spec['marker']]
        return self.delete_and_wait('server', mine, compute.delete_server,
                                    compute.get_server)


class RemovePorts(_Cleanup):
    """The copy's ports (the servers', not the routers' or DHCP's)."""

    what = 'ports'

    def remove(self):
        net = self.network()
        networks = {n.id for n in net.networks() if self.owned(n)}
        removed = []
        for port in list(net.ports()):
            # A router's interface goes with the router (RemoveNetworks).
            if port.network_id in networks and self.owned(port) and \
                    not (port.device_owner or '').startswith('network:') \
                    and failback_tasks._deleted(net.delete_port, port.id):
                removed.append('port %s' % port.name)
        return removed


class RemoveVolumes(_Cleanup):
    """The copy's volumes, once detached (their servers are gone)."""

    what = 'volumes'

    def mine(self, volume):
        if (volume.metadata or {}).get(volume_tasks.MARK_KEY) == \
                self.spec['marker']:
            return True
        # Restored by Cinder, not yet marked when the drill was killed:
        # named with the drill's tag.
        return (volume.name or '').endswith('-' + self.spec['tag']) and \
            volume.description == volume_tasks.RESTORE_DESCRIPTION

    def remove(self):
        cinder = self.client('block_storage')
        mine = [v for v in cinder.volumes(details=True) if self.mine(v)]
        for volume in mine:  # Cinder deletes no volume in use or busy
            failback_tasks._wait_until(
                lambda: cinder.get_volume(volume.id).status,
                lambda status: status not in volume_tasks._BUSY + (
                    'in-use',),
                GONE_WAIT, 'volume %s' % volume.name)
        return self.delete_and_wait('volume', mine, cinder.delete_volume,
                                    cinder.get_volume)


class RemoveNetworks(_Cleanup):
    """Routers (their interfaces first), then networks with their subnets."""

    what = 'networks'

    def remove(self):
        net = self.network()
        removed = []
        for router in list(net.routers()):
            if not self.owned(router):
                continue
            for port in list(net.ports(device_id=router.id)):
                if (port.device_owner or '').startswith(
                        'network:router_interface'):
                    try:
                        net.remove_interface_from_router(router.id,
                                                         port_id=port.id)
                    except clouds_mod.NotFound:
                        pass
            if failback_tasks._deleted(net.delete_router, router.id):
                removed.append('router %s' % router.name)
        for network in list(net.networks()):
            if self.owned(network) and self.tagged(network) and \
                    failback_tasks._deleted(net.delete_network, network.id):
                removed.append('network %s' % network.name)
        return removed


class MarkRemoved(_DrillTask):
    """Nothing of the copy is left: checked, then recorded."""

    def execute(self):
        left = self.left()
        if left:
            raise exceptions.ResourceError(
                'the drill\'s copy of group %s still has %s at site %s; '
                'run the cleanup again ("geoflows drill cleanup %s")' % (
                    self.spec['group'], ', '.join(left[:10]),
                    self.site['name'], self.spec['drill']))
        drills.mark_removed(self.ctx.store, self.spec['drill'],
                            self.spec['group'])
        return {'removed': True}

    def left(self):
        marker = self.spec['marker']
        with self.api('list what is left of the drill'):
            net = self.network()
            compute = self.client('compute')
            cinder = self.client('block_storage')
            found = ['server %s' % s.name
                     for s in compute.servers(details=True)
                     if (s.metadata or {}).get(compute_tasks.MARK_KEY) ==
                     marker]
            found += ['volume %s' % v.name
                      for v in cinder.volumes(details=True)
                      if (v.metadata or {}).get(volume_tasks.MARK_KEY) ==
                      marker]
            for kind, listing in (('network', net.networks),
                                  ('router', net.routers),
                                  ('port', net.ports),
                                  ('port chain', net.sfc_port_chains),
                                  ('port pair group',
                                   net.sfc_port_pair_groups),
                                  ('port pair', net.sfc_port_pairs),
                                  ('flow classifier',
                                   net.sfc_flow_classifiers)):
                found += ['%s %s' % (kind, i.name) for i in listing()
                          if getattr(i, 'description', None) == marker]
        return found
