"""IPsec site-to-site VPNs (neutron-vpnaas).

Each side gets IKE and IPsec policies, a VPN service on its router, a local
endpoint group (its subnets), a peer endpoint group (the other side's
ranges) and a site connection to the other side's VPN address.

The pre-shared key is resolved from its source only inside the step that
creates a connection (and the check that compares keys).  It is never a
task result, never logged, and is registered for masking the moment it is
known; what openstacksdk hands back (which includes the key) is reduced to a
description without it.
"""

import hmac

from geoflows import clouds
from geoflows import secrets
from geoflows.tasks import base


def psk_purpose(spec):
    return 'psk/%s/%s' % (spec['plan'], spec['name'])


class IkePolicy(base.Resource):

    kind = 'IKE policy'

    def find(self, net, parents):
        return base.only(net.vpn_ike_policies(name=self.name),
                         'IKE policies named %r' % self.name)

    def create(self, net, parents):
        return net.create_vpn_ike_policy(
            name=self.name, description=self.marker,
            auth_algorithm=self.params['auth_algorithm'],
            encryption_algorithm=self.params['encryption_algorithm'],
            pfs=self.params['pfs'], ike_version=self.params['ike_version'],
            lifetime={'units': 'seconds', 'value': self.params['lifetime']})

    def delete(self, net, resource_id, parents):
        net.delete_vpn_ike_policy(resource_id, ignore_missing=False)


class IpsecPolicy(base.Resource):

    kind = 'IPsec policy'

    def find(self, net, parents):
        return base.only(net.vpn_ipsec_policies(name=self.name),
                         'IPsec policies named %r' % self.name)

    def create(self, net, parents):
        return net.create_vpn_ipsec_policy(
            name=self.name, description=self.marker,
            auth_algorithm=self.params['auth_algorithm'],
            encryption_algorithm=self.params['encryption_algorithm'],
            pfs=self.params['pfs'],
            transform_protocol=self.params['transform_protocol'],
            encapsulation_mode=self.params['encapsulation_mode'],
            lifetime={'units': 'seconds', 'value': self.params['lifetime']})

    def delete(self, net, resource_id, parents):
        net.delete_vpn_ipsec_policy(resource_id, ignore_missing=False)


class VpnService(base.Resource):
    """The VPN service on parent ``router``."""

    kind = 'VPN service'

    def find(self, net, parents):
        return base.only(net.vpn_services(name=self.name),
                         'VPN services named %r' % self.name)

    def create(self, net, parents):
        return net.create_vpn_service(name=self.name,
                                      description=self.marker,
                                      router_id=parents['router']['id'])

    def delete(self, net, resource_id, parents):
        net.delete_vpn_service(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(status=obj.status, external_ip=obj.external_v4_ip,
                      router_id=obj.router_id)
        return result

    def drift(self, found, parents):
        problems = []
        if found.get('status') != 'ACTIVE':
            problems.append('is %s, not ACTIVE' % found.get('status'))
        if found.get('router_id') != (parents.get('router') or {}).get('id'):
            problems.append('is not on the interconnect\'s router')
        return problems


class EndpointGroup(base.Resource):
    """An endpoint group of subnets or of CIDRs.

    ``group_type`` 'subnet': the parents ``subnet_N``, by id; 'cidr': the
    parents ``peer_N``, by their CIDR.
    """

    kind = 'endpoint group'

    def endpoints(self, parents):
        if self.params['group_type'] == 'subnet':
            return sorted(parents[k]['id'] for k in parents
                          if k.startswith('subnet_'))
        return sorted(parents[k]['cidr'] for k in parents
                      if k.startswith('peer_'))

    def find(self, net, parents):
        return base.only(net.vpn_endpoint_groups(name=self.name),
                         'endpoint groups named %r' % self.name)

    def create(self, net, parents):
        return net.create_vpn_endpoint_group(
            name=self.name, description=self.marker,
            type=self.params['group_type'],
            endpoints=self.endpoints(parents))

    def delete(self, net, resource_id, parents):
        net.delete_vpn_endpoint_group(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result['endpoints'] = sorted(obj.endpoints or [])
        return result

    def drift(self, found, parents):
        if any(value is None for value in parents.values()):
            return []
        wanted = self.endpoints(parents)
        if found.get('endpoints') != wanted:
            return ['holds %s, expected %s' % (
                ', '.join(found.get('endpoints') or ['nothing']),
                ', '.join(wanted))]
        return []


class SiteConnection(base.Resource):
    """The IPsec site connection of one side, to the ``peer`` VPN service.

    Parents: vpnservice, ikepolicy, ipsecpolicy, local_group, peer_group and
    peer (the other side's VPN service, for its address).
    """

    kind = 'IPsec site connection'

    def find(self, net, parents):
        return base.only(net.vpn_ipsec_site_connections(name=self.name),
                         'IPsec site connections named %r' % self.name)

    def create(self, net, parents):
        peer_address = parents['peer']['external_ip']
        psk = self.secrets.resolve(self.params['psk'], self.params['purpose'])
        return net.create_vpn_ipsec_site_connection(
            name=self.name, description=self.marker,
            vpnservice_id=parents['vpnservice']['id'],
            ikepolicy_id=parents['ikepolicy']['id'],
            ipsecpolicy_id=parents['ipsecpolicy']['id'],
            local_ep_group_id=parents['local_group']['id'],
            peer_ep_group_id=parents['peer_group']['id'],
            peer_address=peer_address, peer_id=peer_address, psk=psk,
            mtu=self.params['mtu'], initiator=self.params['initiator'])

    def delete(self, net, resource_id, parents):
        net.delete_vpn_ipsec_site_connection(resource_id,
                                             ignore_missing=False)

    def describe(self, obj, parents):
        # Never the psk: only what a report may show.
        result = super().describe(obj, parents)
        result.update(status=obj.status, peer_address=obj.peer_address,
                      vpnservice_id=obj.vpnservice_id)
        return result

    def drift(self, found, parents):
        problems = []
        if found.get('status') != 'ACTIVE':
            problems.append('is %s, not ACTIVE' % found.get('status'))
        peer = parents.get('peer') or {}
        if peer.get('external_ip') and \
                found.get('peer_address') != peer['external_ip']:
            problems.append('points at %s, but the other side\'s VPN '
                            'address is %s' % (found.get('peer_address'),
                                               peer['external_ip']))
        return problems


class ComparePsk(base.GeoflowsTask):
    """Check that both sides hold the key of the plan's source (read-only).

    Keys are compared in memory; the result holds only verdicts.
    """

    def __init__(self, name, spec, connection_name):
        super().__init__(name, spec['local']['site'], provides=name)
        self.spec = spec
        self.connection_name = connection_name

    def execute(self):
        ctx = self.ctx
        wanted = ctx.secrets.resolve(self.spec['overlay']['psk'],
                                     psk_purpose(self.spec))
        verdicts = {}
        for role in ('local', 'remote'):
            site = self.spec[role]['site']
            net = self.network(site)
            with clouds.api_errors(site['name'], 'read the site connection'):
                conn = base.only(net.vpn_ipsec_site_connections(
                    name=self.connection_name), 'IPsec site connections')
            if conn is None:
                verdicts[role] = 'absent'
            else:
                actual = conn.psk or ''
                secrets.register(actual)
                verdicts[role] = ('matches' if hmac.compare_digest(
                    actual.encode(), wanted.encode()) else 'differs')
        return verdicts
