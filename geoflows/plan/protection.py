"""Protection groups: what a plan protects, where, and how.

A protection group names a primary site and a DR site of the plan, the
VNFs to protect there (each with a priority, dependencies, a standby mode,
its servers, how its data is replicated, its consistency hooks and the
service chains it sits in), and the group's targets: RPO, RTO, how often a
sync runs and how many checkpoints are kept.

This module builds the group objects from a schema-valid document and makes
the checks a schema cannot: names that refer to other parts of the plan,
dependency cycles, priorities, targets that contradict each other.
"""

import dataclasses
import re
from typing import Optional

STANDBY_MODES = ('hot', 'warm', 'cold')
HOOK_POINTS = ('quiesce', 'unquiesce', 'pre_sync', 'post_sync',
               'post_takeover', 'promote', 'drain')
DEFAULT_METHOD = 'backup'

_DURATION = re.compile(r'^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')
_UNITS = (86400, 3600, 60, 1)


def seconds(value):
    """Seconds of a duration: an integer, or text such as 90s, 5m, 1h30m.

    Raises ValueError for anything else (the schema lets only these
    shapes through; this is for callers outside a plan).
    """
    if isinstance(value, bool):
        raise ValueError('%r is not a duration' % (value,))
    if isinstance(value, int):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not value or not match or not any(match.groups()):
        raise ValueError('%r is not a duration such as 90s, 5m or 1h30m'
                         % (value,))
    return sum(int(part) * unit for part, unit in zip(match.groups(), _UNITS)
               if part)


def describe_seconds(value):
    """A duration for people: 90 -> '1m30s'."""
    value = int(round(value))
    if value < 60:
        return '%ds' % value
    parts = []
    for unit, suffix in zip(_UNITS, 'dhms'):
        if value >= unit:
            parts.append('%d%s' % (value // unit, suffix))
            value %= unit
    return ''.join(parts)


@dataclasses.dataclass(frozen=True)
class DataItem:
    """A volume of the VNF's servers and how it is replicated."""
    volume: str
    method: str
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Vnf:
    name: str
    priority: int
    standby: str
    servers: tuple = ()
    #: server metadata a server must carry to belong to the VNF
    selector: Optional[dict] = None
    depends_on: tuple = ()
    #: the method of the volumes ``data`` does not name
    replication: str = DEFAULT_METHOD
    data: tuple = ()
    hooks: dict = dataclasses.field(default_factory=dict)
    chains: tuple = ()

    def method_of(self, volume_name):
        for item in self.data:
            if item.volume == volume_name:
                return item
        return DataItem(volume_name, self.replication)

    def to_spec(self):
        return {'name': self.name, 'priority': self.priority,
                'standby': self.standby, 'servers': list(self.servers),
                'selector': dict(self.selector) if self.selector else None,
                'depends_on': list(self.depends_on),
                'replication': self.replication,
                'data': [dataclasses.asdict(item) for item in self.data],
                'hooks': {point: [dict(h) for h in hooks]
                          for point, hooks in self.hooks.items()},
                'chains': list(self.chains)}


@dataclasses.dataclass(frozen=True)
class ProtectionGroup:
    name: str
    primary: str
    dr: str
    rpo: int
    rto: int
    sync_interval: int
    retention: int
    vnfs: tuple
    interconnect: Optional[str] = None
    #: primary network name -> DR network name (default: the same name)
    networks: dict = dataclasses.field(default_factory=dict)
    #: at takeover, may a priority start before the previous one is ready
    overlap_priorities: bool = False
    description: str = ''

    def vnf(self, name):
        for vnf in self.vnfs:
            if vnf.name == name:
                return vnf
        return None

    def dr_network(self, primary_name):
        return self.networks.get(primary_name, primary_name)


def build(data):
    """The protection groups of schema-valid plan ``data``."""
    groups = []
    for group in data.get('protection_groups', ()):
        vnfs = []
        for vnf in group['vnfs']:
            servers = vnf.get('servers', ())
            vnfs.append(Vnf(
                name=vnf['name'], priority=vnf['priority'],
                standby=vnf['standby'],
                servers=tuple(servers) if isinstance(servers, list) else (),
                selector=(dict(servers['selector'])
                          if isinstance(servers, dict) else None),
                depends_on=tuple(vnf.get('depends_on', ())),
                replication=vnf.get('replication', DEFAULT_METHOD),
                data=tuple(DataItem(
                    item['volume'],
                    item.get('method', vnf.get('replication',
                                               DEFAULT_METHOD)),
                    dict(item.get('options', {})))
                    for item in vnf.get('data', ())),
                hooks={point: tuple(dict(h) for h in hooks)
                       for point, hooks in vnf.get('hooks', {}).items()},
                chains=tuple(vnf.get('chains', ()))))
        groups.append(ProtectionGroup(
            name=group['name'], primary=group['primary'], dr=group['dr'],
            rpo=seconds(group['rpo']), rto=seconds(group['rto']),
            sync_interval=seconds(group['sync_interval']),
            retention=group.get('retention', 3), vnfs=tuple(vnfs),
            interconnect=group.get('interconnect'),
            networks={m['primary']: m.get('dr', m['primary'])
                      for m in group.get('networks', ())},
            overlap_priorities=group.get('overlap_priorities', False),
            description=group.get('description', '')))
    return tuple(groups)


def problems(plan, methods=None):
    """(path, message) of what is wrong with the plan's protection groups.

    ``methods``: the names of the replication methods installed (None: do
    not check them).
    """
    found = []
    names = {}
    # A server belongs to one VNF: (primary cloud, region, server) -> place.
    servers = {}
    for i, group in enumerate(plan.protection_groups):
        base = ('protection_groups', i)
        if group.name in names:
            found.append((base + ('name',), 'duplicate protection group %r '
                          '(also protection_groups[%d])'
                          % (group.name, names[group.name])))
        names.setdefault(group.name, i)
        _check_sites(found, plan, base, group)
        _check_targets(found, base, group)
        _check_networks(found, base, group)
        _check_vnfs(found, base, group, methods)
        primary = plan.sites.get(group.primary)
        for j, vnf in enumerate(group.vnfs):
            for k, server in enumerate(vnf.servers):
                key = (primary.cloud, primary.region, server) if primary \
                    else (group.primary, server)
                path = base + ('vnfs', j, 'servers', k)
                if key in servers:
                    found.append((path, 'server %r is already protected by '
                                  '%s; a server belongs to one VNF'
                                  % (server, servers[key])))
                else:
                    servers[key] = 'protection_groups[%d].vnfs[%d] (%s)' % (
                        i, j, vnf.name)
    return found


def _check_sites(found, plan, base, group):
    for key in ('primary', 'dr'):
        if getattr(group, key) not in plan.sites:
            found.append((base + (key,), 'unknown site %r (sites of this '
                          'plan: %s)' % (getattr(group, key),
                                         ', '.join(sorted(plan.sites)))))
    primary, dr = plan.sites.get(group.primary), plan.sites.get(group.dr)
    if primary and dr:
        if primary.name == dr.name:
            found.append((base + ('dr',), 'the DR site must differ from the '
                          'primary site %r' % primary.name))
        elif primary.domain == dr.domain:
            found.append((base + ('dr',), 'sites %r and %r are the same '
                          'OpenStack region (cloud %r, region %r): a DR site '
                          'is another failure domain' % (
                              primary.name, dr.name, primary.cloud,
                              primary.region)))
    if group.interconnect is None:
        return
    ic = plan.interconnect(group.interconnect)
    if ic is None:
        found.append((base + ('interconnect',), 'unknown interconnect %r '
                      '(interconnects of this plan: %s)' % (
                          group.interconnect, ', '.join(
                              i.name for i in plan.interconnects) or
                          'none')))
    elif primary and dr and \
            {ic.local.site, ic.remote.site} != {group.primary, group.dr}:
        found.append((base + ('interconnect',), 'interconnect %r joins %r '
                      'and %r, not the group\'s sites %r and %r' % (
                          ic.name, ic.local.site, ic.remote.site,
                          group.primary, group.dr)))


def _check_targets(found, base, group):
    if group.rpo < group.sync_interval:
        found.append((base + ('rpo',), 'an RPO of %s cannot be met with a '
                      'sync every %s: make sync_interval at most the RPO' % (
                          describe_seconds(group.rpo),
                          describe_seconds(group.sync_interval))))


def _check_networks(found, base, group):
    seen = {}
    for j, (primary, dr) in enumerate(group.networks.items()):
        if dr in seen:
            found.append((base + ('networks', j, 'dr'), 'DR network %r is '
                          'also the DR network of %r; each primary network '
                          'needs its own' % (dr, seen[dr])))
        seen.setdefault(dr, primary)


def _check_vnfs(found, base, group, methods):
    index = {}
    by_name = {}
    for j, vnf in enumerate(group.vnfs):
        by_name.setdefault(vnf.name, vnf)
        path = base + ('vnfs', j)
        if vnf.name in index:
            found.append((path + ('name',), 'duplicate VNF %r (also '
                          'vnfs[%d])' % (vnf.name, index[vnf.name])))
            continue
        index[vnf.name] = j
    for j, vnf in enumerate(group.vnfs):
        path = base + ('vnfs', j)
        for k, name in enumerate(vnf.depends_on):
            other = by_name.get(name)
            where = path + ('depends_on', k)
            if name == vnf.name:
                found.append((where, 'VNF %r depends on itself' % name))
            elif other is None:
                found.append((where, 'unknown VNF %r (VNFs of group %r: %s)'
                              % (name, group.name, ', '.join(sorted(
                                  index)))))
            elif other.priority > vnf.priority:
                found.append((where, 'VNF %r (priority %d) depends on %r, '
                              'which has a lower priority (%d): it would '
                              'wait for it at takeover; give %r priority %d '
                              'or less' % (vnf.name, vnf.priority, name,
                                           other.priority, name,
                                           vnf.priority)))
        _check_data(found, path, vnf, methods)
        _check_duplicates(found, path + ('chains',), vnf.chains, 'chain')
        _check_duplicates(found, path + ('servers',), vnf.servers, 'server')
    cycle = _cycle(group, by_name)
    if cycle:
        first = index[cycle[0]]
        found.append((base + ('vnfs', first, 'depends_on'),
                      'dependency cycle: %s' % ' -> '.join(
                          cycle + [cycle[0]])))


def _check_data(found, path, vnf, methods):
    seen = {}
    for k, item in enumerate(vnf.data):
        where = path + ('data', k)
        if item.volume in seen:
            found.append((where + ('volume',), 'volume %r is already listed '
                          'at data[%d]' % (item.volume, seen[item.volume])))
        seen.setdefault(item.volume, k)
        if methods is not None and item.method not in methods:
            found.append((where + ('method',), 'unknown replication method '
                          '%r (installed: %s)' % (item.method,
                                                  ', '.join(sorted(methods)))))
    if methods is not None and vnf.replication not in methods:
        found.append((path + ('replication',), 'unknown replication method '
                      '%r (installed: %s)' % (vnf.replication,
                                              ', '.join(sorted(methods)))))


def _check_duplicates(found, path, items, what):
    first = {}
    for k, item in enumerate(items):
        if item in first:
            found.append((path + (k,), 'duplicate %s %r (also at index %d)'
                          % (what, item, first[item])))
        first.setdefault(item, k)


def _cycle(group, by_name):
    """One dependency cycle of the group's VNFs, as names, or None.

    An iterative depth-first search, linear in the VNFs and their
    dependencies (networkx's find_cycle is quadratic on long chains).
    """
    edges = {vnf.name: [name for name in vnf.depends_on
                        if name != vnf.name and name in by_name]
             for vnf in group.vnfs}
    done, on_path = set(), {}
    for start in edges:
        if start in done:
            continue
        path = [start]
        on_path[start] = 0
        stack = [iter(edges[start])]
        while stack:
            name = next(stack[-1], None)
            if name is None:
                stack.pop()
                finished = path.pop()
                del on_path[finished]
                done.add(finished)
                continue
            if name in on_path:
                return path[on_path[name]:]
            if name in done:
                continue
            on_path[name] = len(path)
            path.append(name)
            stack.append(iter(edges[name]))
    return None
