"""BGP/MPLS VPNs (networking-bgpvpn) and their route targets.

Both sides of an interconnect get a BGPVPN named ``gf-<plan>-<interconnect>``
with the same route targets (imported and exported), so each side imports
what the other exports.  Unless the plan gives them, the route target is
allocated from geoflows' pool ([bgpvpn] route_target_*), recorded in the
state store under ``<plan>/<interconnect>``, so that two interconnects never
share one, and values already used by other BGPVPNs of either site are
skipped.
"""

import abc
import logging

from geoflows import clouds
from geoflows.tasks import base

LOG = logging.getLogger(__name__)


def owner(plan, interconnect):
    return '%s/%s' % (plan, interconnect)


def vpn_name(plan, interconnect):
    return 'gf-%s-%s' % (plan, interconnect)


def _pool_values(route_targets, asn):
    values = set()
    for rt in route_targets or ():
        left, _sep, right = rt.partition(':')
        if left == str(asn) and right.isdigit():
            values.add(int(right))
    return values


class AllocateRouteTargets(base.GeoflowsTask):
    """Provide the interconnect's route targets, allocating one if needed.

    The result says whether this job made the allocation; only then does a
    revert release it.
    """

    def __init__(self, name, spec, pool, sites):
        super().__init__(name, sites[0], provides=name)
        self.spec = spec
        self.pool = pool
        self.sites = sites

    def _owner(self):
        return owner(self.spec['plan'], self.spec['name'])

    def execute(self, job_id):
        explicit = self.spec['overlay'].get('route_targets')
        if explicit:
            return {'route_targets': list(explicit), 'allocated': False}
        ctx = self.ctx
        ours = vpn_name(self.spec['plan'], self.spec['name'])
        in_use = set()
        for site in self.sites:
            net = self.network(site)
            with clouds.api_errors(site['name'], 'list the BGPVPNs in use'):
                for vpn in net.bgpvpns():
                    if vpn.name != ours:
                        for attr in ('route_targets', 'import_targets',
                                     'export_targets'):
                            in_use |= _pool_values(getattr(vpn, attr),
                                                   self.pool['asn'])
        value, holder = ctx.store.allocate_route_target(
            self._owner(), job_id, self.pool['asn'], self.pool['first'],
            self.pool['last'], exclude=in_use)
        LOG.info('route target of interconnect %s: %s', self._owner(), value)
        return {'route_targets': [value], 'allocated': holder == job_id}

    def revert(self, result, job_id, **kwargs):
        # Even after a failed execute the allocation may have been made:
        # release it if, and only if, this job made it.
        if self.ctx.store.release_route_target(self._owner(), job_id):
            LOG.info('released the route target of %s', self._owner())


class LookupRouteTargets(base.GeoflowsTask):
    """Provide the route targets the interconnect should have (read-only)."""

    def __init__(self, name, spec):
        super().__init__(name, spec['local']['site'], provides=name)
        self.spec = spec

    def execute(self):
        explicit = self.spec['overlay'].get('route_targets')
        if explicit:
            return {'route_targets': list(explicit)}
        value = self.ctx.store.route_target_of(
            owner(self.spec['plan'], self.spec['name']))
        return {'route_targets': [value] if value else None}


class ReleaseRouteTargets(base.GeoflowsTask):
    """Return the interconnect's route target to the pool (teardown)."""

    def __init__(self, name, spec):
        super().__init__(name, spec['local']['site'])
        self.spec = spec

    def execute(self):
        released = self.ctx.store.release_route_target(
            owner(self.spec['plan'], self.spec['name']))
        return {'released': released}


class Bgpvpn(base.Resource):
    """The BGPVPN of one side; parent ``route_targets`` gives its targets."""

    kind = 'BGPVPN'

    def find(self, net, parents):
        return base.only(net.bgpvpns(name=self.name),
                         'BGPVPNs named %r' % self.name)

    def create(self, net, parents):
        return net.create_bgpvpn(
            name=self.name, type=self.params['vpn_type'],
            route_targets=parents['route_targets']['route_targets'])

    def delete(self, net, resource_id, parents):
        net.delete_bgpvpn(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        # BGPVPNs have no description; the gf-<plan>-<interconnect> name
        # space is geoflows'.
        return obj.name == self.name

    def converge(self, net, obj, parents):
        wanted = sorted(parents['route_targets']['route_targets'])
        if sorted(obj.route_targets or []) == wanted:
            return None
        previous = list(obj.route_targets or [])
        net.update_bgpvpn(obj, route_targets=wanted)
        obj.route_targets = wanted
        return {'route_targets': previous}

    def restore(self, net, resource_id, previous, parents):
        net.update_bgpvpn(resource_id,
                          route_targets=previous['route_targets'])

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(type=obj.type,
                      route_targets=sorted(obj.route_targets or []),
                      import_targets=sorted(obj.import_targets or []),
                      export_targets=sorted(obj.export_targets or []))
        return result

    def drift(self, found, parents):
        problems = []
        if found.get('type') != self.params['vpn_type']:
            problems.append('is of type %s, the plan says %s'
                            % (found.get('type'), self.params['vpn_type']))
        wanted = (parents.get('route_targets') or {}).get('route_targets')
        if wanted and sorted(wanted) != found.get('route_targets'):
            problems.append('has route targets %s, expected %s' % (
                ', '.join(found.get('route_targets') or ['none']),
                ', '.join(sorted(wanted))))
        return problems


def imports(found):
    return set(found.get('route_targets') or ()) | set(
        found.get('import_targets') or ())


def exports(found):
    return set(found.get('route_targets') or ()) | set(
        found.get('export_targets') or ())


class _Association(base.Resource):

    target = None  # 'network' or 'router'

    @property
    def label(self):
        return '%s association of BGPVPN %r with %r (site %r)' % (
            self.target, self.params['vpn_name'], self.name,
            self.site['name'])

    @abc.abstractmethod
    def _list(self, net, bgpvpn_id):
        """The BGPVPN's associations of this kind."""

    def target_id(self, parents):
        # A network association may hang off a subnet the plan names: its
        # description carries the network's id.
        parent = parents[self.target]
        return parent.get('network_id') or parent['id']

    def find(self, net, parents):
        target_id = self.target_id(parents)
        return base.only(
            [a for a in self._list(net, parents['bgpvpn']['id'])
             if getattr(a, '%s_id' % self.target) == target_id],
            '%s associations with %s' % (self.target, target_id))

    def owned(self, obj, parents):
        return bool(parents['bgpvpn'].get('owned'))

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result['%s_id' % self.target] = getattr(obj, '%s_id' % self.target)
        return result


class NetworkAssociation(_Association):
    """Association of parent ``bgpvpn`` with parent ``network``."""

    kind = 'network association'
    target = 'network'

    def _list(self, net, bgpvpn_id):
        return net.bgpvpn_network_associations(bgpvpn_id)

    def create(self, net, parents):
        return net.create_bgpvpn_network_association(
            parents['bgpvpn']['id'], network_id=self.target_id(parents))

    def delete(self, net, resource_id, parents):
        net.delete_bgpvpn_network_association(
            parents['bgpvpn']['id'], resource_id, ignore_missing=False)


class RouterAssociation(_Association):
    """Association of parent ``bgpvpn`` with parent ``router``."""

    kind = 'router association'
    target = 'router'

    def _list(self, net, bgpvpn_id):
        return net.bgpvpn_router_associations(bgpvpn_id)

    def create(self, net, parents):
        return net.create_bgpvpn_router_association(
            parents['bgpvpn']['id'], router_id=parents['router']['id'])

    def delete(self, net, resource_id, parents):
        net.delete_bgpvpn_router_association(
            parents['bgpvpn']['id'], resource_id, ignore_missing=False)
