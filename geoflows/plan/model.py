"""The plan as objects, built from a document that passed validation."""

import copy
import dataclasses
import hashlib
import json
from typing import Optional

from geoflows.plan import protection

DEFAULT_IKE = {'auth_algorithm': 'sha256', 'encryption_algorithm': 'aes-256',
               'pfs': 'group14', 'lifetime': 3600, 'ike_version': 'v2'}
DEFAULT_IPSEC = {'auth_algorithm': 'sha256', 'encryption_algorithm': 'aes-256',
                 'pfs': 'group14', 'lifetime': 3600,
                 'transform_protocol': 'esp', 'encapsulation_mode': 'tunnel'}

# Overlays whose two sides are routed to each other at L3: their address
# ranges must not overlap.  An l2 BGPVPN stretches one segment instead.
L3_OVERLAYS = ('ipsec', 'segments')


@dataclasses.dataclass(frozen=True)
class Cell:
    availability_zone: str
    physical_network: str


@dataclasses.dataclass(frozen=True)
class Site:
    name: str
    cloud: str
    region: Optional[str] = None
    cell: Optional[Cell] = None

    @property
    def domain(self):
        """What makes two sites the same failure domain."""
        return (self.cloud, self.region,
                self.cell.availability_zone if self.cell else None)

    def to_spec(self):
        spec = {'name': self.name, 'cloud': self.cloud,
                'region': self.region}
        if self.cell:
            spec['cell'] = dataclasses.asdict(self.cell)
        return spec


@dataclasses.dataclass(frozen=True)
class Endpoint:
    site: str
    networks: tuple = ()
    subnets: tuple = ()
    router: Optional[dict] = None
    segment: Optional[dict] = None


@dataclasses.dataclass(frozen=True)
class Interconnect:
    name: str
    local: Endpoint
    remote: Endpoint
    overlay: dict
    description: str = ''

    @property
    def routes_at_l3(self):
        overlay_type = self.overlay['type']
        return overlay_type in L3_OVERLAYS or (
            overlay_type == 'bgpvpn' and self.overlay['vpn_type'] == 'l3')


@dataclasses.dataclass(frozen=True)
class Plan:
    name: str
    version: int
    sites: dict
    interconnects: tuple
    description: str = ''
    document: dict = dataclasses.field(default_factory=dict, repr=False)
    source: str = '<plan>'
    #: geoflows.plan.protection.ProtectionGroup, in plan order
    protection_groups: tuple = ()
    #: where each value was in the text (a loader.Document), if known
    positions: object = dataclasses.field(default=None, repr=False,
                                          compare=False)

    def position(self, path):
        """The line and column of the value at ``path``, or None."""
        if self.positions is None:
            return None
        return self.positions.position(tuple(path))

    @property
    def digest(self):
        """sha256 of the canonical plan document (formatting-independent)."""
        canonical = json.dumps(self.document, sort_keys=True,
                               separators=(',', ':'))
        return 'sha256:' + hashlib.sha256(canonical.encode()).hexdigest()

    def interconnect(self, name):
        for ic in self.interconnects:
            if ic.name == name:
                return ic
        return None

    def protection_group(self, name):
        for group in self.protection_groups:
            if group.name == name:
                return group
        return None

    def group_index(self, group):
        """The place of ``group`` (or a group of its name) in the plan."""
        for i, found in enumerate(self.protection_groups):
            if found.name == group.name:
                return i
        raise ValueError('plan %r has no protection group %r'
                         % (self.name, group.name))

    def interconnect_spec(self, ic):
        """Everything the interconnect flows need, as JSON-able data."""
        def endpoint(role, ep):
            return {'role': role,
                    'site': self.sites[ep.site].to_spec(),
                    'networks': [dict(n) for n in ep.networks],
                    'subnets': list(ep.subnets),
                    'router': dict(ep.router) if ep.router else None,
                    'segment': dict(ep.segment) if ep.segment else None}
        # A deep copy: whoever changes the spec must not change the plan.
        return copy.deepcopy({'plan': self.name, 'name': ic.name,
                              'overlay': ic.overlay,
                              'local': endpoint('local', ic.local),
                              'remote': endpoint('remote', ic.remote)})


def _overlay_with_defaults(overlay):
    overlay = copy.deepcopy(overlay)
    kind = overlay['type']
    if kind == 'bgpvpn':
        overlay.setdefault('vpn_type', 'l3')
        overlay.setdefault('associate', 'networks')
        overlay.setdefault('route_targets', None)
    elif kind == 'ipsec':
        overlay.setdefault('psk', {'derive': True})
        overlay['ike'] = dict(DEFAULT_IKE, **overlay.get('ike', {}))
        overlay['ipsec'] = dict(DEFAULT_IPSEC, **overlay.get('ipsec', {}))
        overlay.setdefault('mtu', 1500)
        overlay.setdefault('initiator', 'bi-directional')
    elif kind == 'segments':
        overlay.setdefault('network', None)
        overlay.setdefault('network_type', 'vlan')
    return overlay


def build(data, source, positions=None):
    """Build a :class:`Plan` from schema-valid ``data``."""
    sites = {}
    for name, site in data['sites'].items():
        cell = site.get('cell')
        sites[name] = Site(name=name, cloud=site['cloud'],
                           region=site.get('region'),
                           cell=Cell(**cell) if cell else None)

    def endpoint(ep):
        return Endpoint(site=ep['site'],
                        networks=tuple(ep.get('networks', ())),
                        subnets=tuple(ep.get('subnets', ())),
                        router=ep.get('router'),
                        segment=ep.get('segment'))

    # An interconnect repeated through YAML aliases is one mapping: one
    # (frozen) Interconnect serves each place.
    built = {}

    def interconnect(ic):
        if id(ic) not in built:
            built[id(ic)] = Interconnect(
                name=ic['name'], local=endpoint(ic['local']),
                remote=endpoint(ic['remote']),
                overlay=_overlay_with_defaults(ic['overlay']),
                description=ic.get('description', ''))
        return built[id(ic)]

    interconnects = tuple(interconnect(ic)
                          for ic in data.get('interconnects', ()))
    return Plan(name=data['name'], version=data['version'], sites=sites,
                interconnects=interconnects,
                description=data.get('description', ''),
                document=data, source=source,
                protection_groups=protection.build(data),
                positions=positions)
