"""Validation of a plan: the published JSON Schema, then semantic checks.

Every problem is collected (an operator fixes a plan in one pass, not one
error per run) and carries the path of the value it is about.
"""

import functools
import ipaddress
import json
import os
import reprlib
import sys

import jsonschema

from geoflows.plan import checker
from geoflows.plan import protection
from geoflows import text

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'schemas', 'plan-v1.schema.json')


class Problem(object):
    """One thing wrong with a plan, at ``path`` (a tuple of keys/indexes)."""

    def __init__(self, path, message, position=None, at_key=False):
        self.path = tuple(path)
        self.message = message
        self.position = position
        self.at_key = at_key  # about the key at path, not its value

    @property
    def place(self):
        return format_path(self.path)

    def format(self, source=None):
        """One printable line: SOURCE:LINE:COLUMN: PATH: MESSAGE.

        Whatever came from the plan or the command line is escaped
        (:func:`geoflows.text.escape`): a key holding a newline stays on
        the line, a lone surrogate cannot break printing.
        """
        where = text.escape(source or '')
        if self.position is not None:
            where = '%s:%d:%d' % (where, self.position.line,
                                  self.position.column)
        prefix = '%s: ' % where if where else ''
        place = '%s: ' % text.escape(self.place) if self.path else ''
        return '%s%s%s' % (prefix, place, text.escape(self.message))

    def to_dict(self):
        return {'path': text.escape(self.place),
                'line': self.position.line if self.position else None,
                'column': self.position.column if self.position else None,
                'message': text.escape(self.message)}

    def __repr__(self):
        return 'Problem(%s: %s)' % (self.place, self.message)


def format_path(path):
    text = ''
    for part in path:
        if isinstance(part, int):
            text += '[%d]' % part
        else:
            text += ('.' if text else '') + str(part)
    return text


@functools.lru_cache(maxsize=1)
def schema():
    with open(SCHEMA_FILE) as f:
        return json.load(f)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxdict = 4
_REPR.maxlevel = 2


def show(value):
    """``value`` for a message: repr, cut if long.

    A plan's values may be megabytes long, or one mapping reached through a
    thousand aliases.
    """
    return _REPR.repr(value)


_TYPE_NAMES = {'object': 'a mapping', 'array': 'a list',
               'string': 'a string', 'integer': 'an integer',
               'boolean': 'a boolean', 'number': 'a number'}


def _describe_type(value):
    return {dict: 'a mapping', list: 'a list', str: 'a string',
            bool: 'a boolean', int: 'an integer', float: 'a number',
            type(None): 'nothing'}.get(type(value), type(value).__name__)


_PATTERN_HINTS = {
    ('env',): 'a variable name: letters, digits and _, not starting with a '
              'digit',
    ('route_targets',): 'a route target is ASN:number or IPv4:number, e.g. '
                        '64512:100',
}


def _pattern_hint(path, schema_part):
    for suffix, hint in _PATTERN_HINTS.items():
        tail = tuple(p for p in path if not isinstance(p, int))
        if tail[-len(suffix):] == suffix:
            return hint
    return schema_part.get('description', 'expected pattern %s'
                           % schema_part.get('pattern'))


def _schema_message(error):
    """Turn a jsonschema error into (path, message, at_key)."""
    kind = error.validator
    value = error.instance
    path = tuple(error.absolute_path)
    if 'propertyNames' in error.schema_path:
        # The error is about a key of the mapping at ``path``.
        return path + (value,), '%s is not a valid name: %s' % (
            show(value), _pattern_hint(path, error.schema)), True
    if path and path[-1] == 'psk' and kind in ('type', 'minProperties'):
        return path, ('a pre-shared key is never written in a plan; use '
                      '{derive: true}, {env: VARIABLE} or {file: PATH}'), False
    if kind == 'additionalProperties':
        allowed = sorted(error.schema.get('properties', {}))
        extra = sorted(set(value) - set(allowed))
        return path + (extra[0],), 'unknown key %s (allowed here: %s)' % (
            show(extra[0]), ', '.join(allowed)), True
    if kind == 'required':
        return path, error.message.replace('is a required property',
                                           'is required here'), False
    if kind == 'const' and path == ('version',):
        return path, ('unsupported plan version %s: this geoflows reads '
                      'version 1' % show(value)), False
    if kind == 'const' and error.validator_value is True:
        return path, 'the only value allowed here is true', False
    if kind == 'const':
        return path, 'must be %r' % (error.validator_value,), False
    if kind == 'enum':
        return path, '%s is not one of: %s' % (
            show(value), ', '.join(str(v) for v in error.validator_value)), \
            False
    if kind == 'type':
        wanted = error.validator_value
        return path, 'expected %s, got %s' % (' or '.join(
            _TYPE_NAMES.get(name, name) for name in (
                wanted if isinstance(wanted, list) else [wanted])),
            _describe_type(value)), False
    if kind == 'pattern':
        return path, '%s is not valid: %s' % (
            show(value), _pattern_hint(path, error.schema)), False
    if kind in ('maxProperties', 'minProperties') and path[-1:] == ('psk',):
        return path, 'give exactly one of derive, env or file', False
    if kind == 'minProperties':
        return path, 'must not be empty', False
    if kind in ('minimum', 'maximum'):
        return path, '%s is %s the %s %r' % (
            show(value), 'below' if kind == 'minimum' else 'above', kind,
            error.validator_value), False
    if kind in ('minItems', 'minLength'):
        return path, 'must not be empty', False
    if kind == 'maxLength':
        return path, 'is %d characters long, more than the %d allowed' % (
            len(value), error.validator_value), False
    return path, text.escape(error.message)[:200], False


_ecma = functools.lru_cache(maxsize=64)(checker.ecma_pattern)


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, 'string') and \
            not _ecma(pattern).search(instance):
        yield jsonschema.ValidationError(
            '%r does not match %r' % (instance, pattern))


# jsonschema, where the compiled checker cannot go, with JSON Schema's own
# patterns (ECMA-262: "$" does not match before a final newline).
_JsonschemaValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {'pattern': _ecma_pattern})


@functools.lru_cache(maxsize=1)
def _checker():
    return checker.compile(schema())


def _schema_errors(data, shared, cap):
    compiled = _checker()
    if compiled is not None:
        errors = compiled.errors(data, shared, cap)
        return errors.items, errors.count
    kept, count = [], 0
    for error in _JsonschemaValidator(schema()).iter_errors(data):
        # Errors under if/then show up once per branch; keep the leaves.
        for leaf in (error.context or [error]):
            count += 1
            if len(kept) < cap:
                kept.append(leaf)
    return kept, count


def schema_check(data, shared=frozenset(), cap=None):
    """(problems, how many there are) of ``data`` against the schema.

    At most ``cap`` problems are returned (all if None); ``shared`` holds
    the ids of mappings and lists found at several places (aliases), which
    are checked only once.
    """
    errors, count = _schema_errors(data, shared,
                                   sys.maxsize if cap is None else cap)
    problems = []
    seen = set()
    for error in errors:
        path, message, at_key = _schema_message(error)
        if (path, message) not in seen:
            seen.add((path, message))
            problems.append(Problem(path, message, at_key=at_key))
        else:
            count -= 1
    return problems, count


def schema_problems(data):
    """Every problem of ``data`` against the schema."""
    return schema_check(data)[0]


class _Problems(list):
    """Problems found: the first ``cap`` kept, all of them counted.

    Checks that may find a problem per pair of values look at ``full``
    before they format one, and only count it (``count += 1``) if so.
    """

    def __init__(self, cap=None):
        super().__init__()
        self.cap = sys.maxsize if cap is None else cap
        self.count = 0
        self.full = self.cap <= 0

    def append(self, problem):
        self.count += 1
        if not self.full:
            super().append(problem)
            self.full = len(self) >= self.cap


@functools.lru_cache(maxsize=4096)
def _parse_cidr(value):
    """(network, None), or (None, what is wrong).

    Cached: a plan may repeat one range through aliases a hundred thousand
    times.
    """
    try:
        return ipaddress.ip_network(value, strict=True), None
    except ValueError:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None, '%s is not a CIDR such as 10.10.0.0/24' % show(value)
        return None, '%s has host bits set; did you mean %s?' % (
            show(value), loose)


def _check_cidr(problems, path, value):
    network, wrong = _parse_cidr(value)
    if wrong:
        problems.append(Problem(path, wrong))
    return network


def _check_gateway(problems, path, gateway, cidr):
    if gateway is None or cidr is None:
        return
    try:
        address = ipaddress.ip_address(gateway)
    except ValueError:
        problems.append(Problem(path, '%s is not an IP address'
                                % show(gateway)))
        return
    if address not in cidr:
        problems.append(Problem(path, '%s is outside %s' % (address, cidr)))


def _endpoint_cidrs(problems, base, endpoint):
    """(path, network) for every address range the plan gives an endpoint.

    The path is built lazily (:func:`_range_path`): a plan may give an
    endpoint 200,000 networks.
    """
    cidrs = []
    networks = base + ('networks',)
    for i, net in enumerate(endpoint.networks):
        cidr = _check_cidr(problems, networks + (i, 'cidr'), net['cidr'])
        gateway = net.get('gateway_ip')
        if gateway is not None:
            _check_gateway(problems, networks + (i, 'gateway_ip'), gateway,
                           cidr)
        if cidr is not None:
            cidrs.append((networks, i, cidr))
    if endpoint.segment:
        path = base + ('segment',)
        cidr = _check_cidr(problems, path + ('cidr',),
                           endpoint.segment['cidr'])
        _check_gateway(problems, path + ('gateway_ip',),
                       endpoint.segment.get('gateway_ip'), cidr)
        if cidr is not None:
            cidrs.append((path, None, cidr))
    return cidrs


def _range_path(entry):
    prefix, index, _cidr = entry
    return prefix + ('cidr',) if index is None else prefix + (index, 'cidr')


def _check_overlaps(problems, ic, local, remote):
    """One problem per range that overlaps a range given before it.

    Two CIDRs overlap when one holds the other, so the distinct networks
    sorted by first address, larger first, form trees in which a network
    overlaps exactly its ancestors and its descendants (and the ranges
    that are the same network).  Two sweeps find, for each network, the
    earliest range of the plan above and below it: the time and memory go
    with the number of distinct networks, however many ranges repeat them
    (not one problem per pair: 500 ranges of one network gave 124,750).
    """
    ranges = local + remote  # (prefix, index, network), in plan order
    if len(ranges) < 2:
        return
    # Equal texts give the same network object (_parse_cidr is cached), so
    # ranges are grouped by object; two equal networks that are distinct
    # objects nest in each other below, which is as right.
    groups = {}  # id(network) -> the first range that is it
    distinct = []
    for i, entry in enumerate(ranges):
        if groups.setdefault(id(entry[2]), i) == i:
            distinct.append(entry[2])
    nets = sorted(distinct, key=lambda net: (
        net.version, int(net.network_address), -int(net.broadcast_address)))
    rank = {id(net): k for k, net in enumerate(nets)}
    ends = [int(net.broadcast_address) for net in nets]
    first = [groups[id(net)] for net in nets]
    parent = [-1] * len(nets)
    stack = []
    for k, net in enumerate(nets):
        while stack and not (nets[stack[-1]].version == net.version and
                             ends[k] <= ends[stack[-1]]):
            stack.pop()
        if stack:
            parent[k] = stack[-1]
        stack.append(k)
    none = len(ranges)
    above = [none] * len(nets)  # the earliest range among the ancestors
    for k, p in enumerate(parent):  # parents come before their children
        if p >= 0:
            above[k] = min(first[p], above[p])
    below = [none] * len(nets)  # ... among the descendants
    for k in range(len(nets) - 1, -1, -1):
        p = parent[k]
        if p >= 0:
            below[p] = min(below[p], first[k], below[k])
    earliest_of = [min(above[k], below[k]) for k in range(len(nets))]
    for i, entry in enumerate(ranges):
        k = rank[id(entry[2])]
        earliest = earliest_of[k]
        if first[k] < i and first[k] < earliest:
            earliest = first[k]
        if earliest >= i:
            continue
        if problems.full:
            problems.count += 1
            continue
        path, cidr = _range_path(entry), entry[2]
        other_path, other = _range_path(ranges[earliest]), \
            ranges[earliest][2]
        if ranges[earliest][0][:-1] == entry[0][:-1]:  # the same side
            why = 'two ranges of one side must be distinct'
        else:
            why = ('the %s overlay routes between the two sides at L3, '
                   'so their ranges must be distinct' % _overlay_name(ic))
        problems.append(Problem(path, '%s overlaps %s%s (%s): %s' % (
            cidr, _HERE, format_path(other_path), other, why)))


def _some(names, limit=10):
    """``names`` joined, the first ``limit`` of them."""
    if len(names) <= limit:
        return ', '.join(names)
    return '%s and %d more' % (', '.join(names[:limit]),
                               len(names) - limit)


def _overlay_name(ic):
    if ic.overlay['type'] == 'bgpvpn':
        return '%s bgpvpn' % ic.overlay['vpn_type']
    return ic.overlay['type']


def _check_duplicates(problems, base, items, what):
    first = {}
    for i, item in enumerate(items):
        if item in first and problems.full:
            problems.count += 1
        elif item in first:
            problems.append(Problem(base + (i,), 'duplicate %s %s (also at '
                                    'index %d)' % (what, show(item),
                                                   first[item])))
        else:
            first[item] = i


def _check_endpoint_shape(problems, base, ic, endpoint, site):
    """Which endpoint keys each overlay uses."""
    kind = ic.overlay['type']
    has_nets = bool(endpoint.networks or endpoint.subnets)

    def forbid(key, why):
        if getattr(endpoint, key):
            problems.append(Problem(base + (key,), why))

    if kind == 'segments':
        for key in ('networks', 'subnets', 'router'):
            forbid(key, 'the segments overlay builds one shared network; '
                   'give this cell its "segment" instead of %s' % key)
        if not endpoint.segment:
            problems.append(Problem(base, 'the segments overlay needs a '
                                    '"segment" (cidr, segmentation_id) for '
                                    'each cell'))
        elif ic.overlay['network_type'] == 'vlan' and \
                'segmentation_id' not in endpoint.segment:
            problems.append(Problem(base + ('segment',), 'a vlan segment '
                                    'needs a segmentation_id'))
        elif ic.overlay['network_type'] == 'flat' and \
                'segmentation_id' in endpoint.segment:
            problems.append(Problem(base + ('segment', 'segmentation_id'),
                                    'a flat segment has no segmentation_id'))
        if site is not None and site.cell is None:
            problems.append(Problem(base + ('site',), 'site %s is not a cell:'
                                    ' the segments overlay joins two cells of'
                                    ' one region (give the site a "cell")'
                                    % show(site.name)))
        return
    forbid('segment', 'only the segments overlay uses "segment"')
    if kind == 'ipsec':
        router = endpoint.router or {}
        if not router.get('external_network'):
            problems.append(Problem(base + ('router',), 'the ipsec overlay '
                                    'needs a router with an external_network'
                                    ' (the VPN service lives on its '
                                    'gateway)'))
        if not has_nets:
            problems.append(Problem(base, 'the ipsec overlay needs at least '
                                    'one network or subnet to protect'))
    elif kind == 'bgpvpn':
        if ic.overlay['associate'] == 'router':
            if not endpoint.router:
                problems.append(Problem(base + ('router',), 'associate: '
                                        'router needs a router on each '
                                        'side'))
        elif not has_nets:
            problems.append(Problem(base, 'the bgpvpn overlay needs at least '
                                    'one network or subnet to associate'))


def _managed_names(ic):
    """(role, subpath, kind, name) of what the interconnect creates.

    ``subpath`` is a tuple, or for networks their index in the endpoint's
    networks (the path is built only for a problem).
    """
    for role in ('local', 'remote'):
        endpoint = getattr(ic, role)
        for j, net in enumerate(endpoint.networks):
            yield role, j, 'network', net['name']
        if endpoint.router:
            yield role, ('router', 'name'), 'router', endpoint.router['name']
    if ic.overlay['type'] == 'segments' and ic.overlay.get('network'):
        yield 'local', ('overlay', 'network'), 'network', \
            ic.overlay['network']


def _check_shared_resources(problems, plan):
    # Each interconnect owns what it creates: two units of one job would
    # otherwise race to create the same network, and a teardown of one
    # interconnect would break the other.
    owners = {}
    for i, ic in enumerate(plan.interconnects):
        sites = {role: plan.sites.get(getattr(ic, role).site)
                 for role in ('local', 'remote')}
        for role, subpath, kind, name in _managed_names(ic):
            site = sites[role]
            if site is None:
                continue
            # Names live in a region's Neutron, which its cells share.
            key = (site.cloud, site.region, kind, name)
            owner = owners.setdefault(key, i)
            if owner == i:
                continue
            if problems.full:
                problems.count += 1
                continue
            if isinstance(subpath, int):
                subpath = (role, 'networks', subpath, 'name')
            elif subpath[0] != 'overlay':
                subpath = (role,) + subpath
            problems.append(Problem(('interconnects', i) + subpath, (
                '%s %s on site %s is already managed by interconnects[%d]'
                '; each interconnect needs its own' % (
                    kind, show(name), show(site.name), owner))))


def semantic_problems(plan):
    """Every problem of ``plan`` (built from schema-valid data)."""
    return semantic_check(plan)[0]


def semantic_check(plan, cap=None):
    """(problems, how many there are): at most ``cap`` are returned.

    What an interconnect holds is checked once per distinct interconnect
    (the same one repeated through aliases is checked once, its problems
    repeated at each place); what ties interconnects together (names,
    route targets, what they manage), once per place.
    """
    problems = _Problems(cap)
    site_names = _some(sorted(plan.sites))
    first_ic = {}
    route_targets = {}
    checked = {}  # id of an interconnect -> its own problems, relative
    _check_shared_resources(problems, plan)
    for i, ic in enumerate(plan.interconnects):
        base = ('interconnects', i)
        if ic.name in first_ic and problems.full:
            problems.count += 1
        elif ic.name in first_ic:
            problems.append(Problem(base + ('name',), 'duplicate interconnect'
                                    ' name %s (also interconnects[%d])'
                                    % (show(ic.name), first_ic[ic.name])))
        else:
            first_ic[ic.name] = i
        own = checked.get(id(ic))
        if own is None:
            own = checked[id(ic)] = _Problems(problems.cap)
            _check_interconnect(own, plan, ic, site_names)
        _add_rooted(problems, own, base)
        for j, rt in enumerate(ic.overlay.get('route_targets') or ()):
            if rt in route_targets and route_targets[rt][0] != i and \
                    problems.full:
                problems.count += 1
            elif rt in route_targets and route_targets[rt][0] != i:
                problems.append(Problem(base + ('overlay', 'route_targets',
                                                j), (
                    'route target %s is also used by interconnects[%d]; two '
                    'interconnects must not share route targets'
                    % (rt, route_targets[rt][0]))))
            route_targets.setdefault(rt, (i, j))
    _check_protection(problems, plan)
    return list(problems), problems.count


def _check_protection(problems, plan):
    from geoflows import hooks
    from geoflows import replication
    methods = replication.names()
    found = protection.problems(plan, methods)
    for i, group in enumerate(plan.protection_groups):
        for j, vnf in enumerate(group.vnfs):
            base = ('protection_groups', i, 'vnfs', j)
            for subpath, message in hooks.spec_problems(vnf.hooks):
                found.append((base + ('hooks',) + tuple(subpath), message))
            for k, item in enumerate(vnf.data):
                if item.method not in methods:
                    continue
                for subpath, message in replication.get(
                        item.method).problems(
                            {'volume': item.volume, 'method': item.method,
                             'options': item.options}):
                    found.append((base + ('data', k) + tuple(subpath),
                                  message))
    for path, message in found:
        if problems.full:
            problems.count += 1
        else:
            problems.append(Problem(path, message))


# In the messages of an interconnect's own problems, where the path of the
# interconnect goes (they are checked once, and placed at each use).
_HERE = '\x00interconnect\x00'


def _add_rooted(problems, own, base):
    """Add the relative problems ``own`` of the interconnect at ``base``."""
    if not own.count:
        return
    added = 0
    if not problems.full:
        here = format_path(base) + '.'
        for problem in own:
            if problems.full:
                break
            problems.append(Problem(base + problem.path,
                                    problem.message.replace(_HERE, here)))
            added += 1
    problems.count += own.count - added


def _check_interconnect(problems, plan, ic, site_names):
    """The problems of ``ic`` alone; paths relative to the interconnect."""
    base = ()
    if ic.overlay['type'] == 'bgpvpn' and \
            ic.overlay['vpn_type'] == 'l2' and \
            ic.overlay['associate'] == 'router':
        problems.append(Problem(base + ('overlay', 'associate'), (
            'an l2 BGPVPN can only be associated with networks, not a '
            'router')))
    ends = {}
    for role in ('local', 'remote'):
        endpoint = getattr(ic, role)
        path = base + (role,)
        site = plan.sites.get(endpoint.site)
        if site is None:
            problems.append(Problem(path + ('site',), 'unknown site %s '
                                    '(sites of this plan: %s)' % (
                                        show(endpoint.site), site_names)))
        ends[role] = site
        _check_endpoint_shape(problems, path, ic, endpoint, site)
        _check_duplicates(problems, path + ('networks',),
                          [n['name'] for n in endpoint.networks],
                          'network')
        _check_duplicates(problems, path + ('subnets',),
                          list(endpoint.subnets), 'subnet')
    local, remote = ends['local'], ends['remote']
    if local is not None and remote is not None:
        if local.name == remote.name:
            problems.append(Problem(base + ('remote', 'site'), 'both '
                                    'ends are on site %s: an interconnect'
                                    ' joins two different sites'
                                    % show(local.name)))
        elif (local.cloud, local.region) == (
                remote.cloud, remote.region) and \
                bool(local.cell) != bool(remote.cell) and \
                ic.overlay['type'] != 'segments':
            cell, region = ((local, remote) if local.cell
                            else (remote, local))
            problems.append(Problem(base + ('remote', 'site'), (
                'site %s is a cell of the region of site %s (cloud %s, '
                'region %s): they are not separate failure domains'
                % (show(cell.name), show(region.name), show(local.cloud),
                   show(local.region)))))
        elif local.domain == remote.domain:
            problems.append(Problem(base + ('remote', 'site'), (
                'sites %s and %s are the same OpenStack region (cloud '
                '%s, region %s): an interconnect joins two failure '
                'domains' % (show(local.name), show(remote.name),
                             show(local.cloud), show(local.region)))))
        if ic.overlay['type'] == 'segments' and local.cell and \
                remote.cell:
            _check_cells(problems, base, ic, local, remote)
    local_cidrs = _endpoint_cidrs(problems, base + ('local',), ic.local)
    remote_cidrs = _endpoint_cidrs(problems, base + ('remote',), ic.remote)
    if ic.routes_at_l3:
        _check_overlaps(problems, ic, local_cidrs, remote_cidrs)


def _check_cells(problems, base, ic, local, remote):
    if (local.cloud, local.region) != (remote.cloud, remote.region):
        problems.append(Problem(base + ('remote', 'site'), (
            'the segments overlay joins two cells of one region, but %s is '
            'cloud %s region %s and %s is cloud %s region %s' % (
                show(local.name), show(local.cloud), show(local.region),
                show(remote.name), show(remote.cloud), show(remote.region)))))
    if local.cell.physical_network == remote.cell.physical_network:
        seg_local = (ic.local.segment or {}).get('segmentation_id')
        seg_remote = (ic.remote.segment or {}).get('segmentation_id')
        if ic.overlay['network_type'] == 'flat' or seg_local == seg_remote:
            problems.append(Problem(base + ('remote', 'segment'), (
                'cells %s and %s share physical network %s, so their '
                'segments need different segmentation ids' % (
                    show(local.name), show(remote.name),
                    show(local.cell.physical_network)))))
