"""Read-only tasks that turn step results into a unit's report."""

from taskflow import task

from geoflows.tasks import bgpvpn


class _Collect(task.Task):
    """Require the results named ``keys``; they arrive as ``**results``."""

    def __init__(self, name, keys, provides='report'):
        super().__init__(name=name, requires=list(keys), provides=provides)
        self.keys = list(keys)


class SetupReport(_Collect):
    """What the setup made or found, per resource."""

    def __init__(self, spec, resources, name='report'):
        super().__init__(name, [r.key for r in resources])
        self.spec = spec
        self.resources = resources

    def execute(self, **results):
        report = {'interconnect': self.spec['name'],
                  'overlay': self.spec['overlay']['type'],
                  'resources': []}
        for resource in self.resources:
            found = results[resource.key]
            report['resources'].append({
                'site': resource.site['name'], 'kind': resource.kind,
                'name': resource.name, 'id': found.get('id'),
                'action': 'created' if found.get('created') else 'existing'})
        report['created'] = sum(1 for r in report['resources']
                                if r['action'] == 'created')
        return report


class TeardownReport(_Collect):

    def __init__(self, spec, resources, name='report'):
        super().__init__(name, [r.key + '.deleted' for r in resources])
        self.spec = spec
        self.resources = resources

    def execute(self, **results):
        report = {'interconnect': self.spec['name'],
                  'overlay': self.spec['overlay']['type'],
                  'resources': []}
        for resource in reversed(self.resources):  # deletion order
            outcome = results[resource.key + '.deleted']
            if outcome.get('reason') == 'absent':
                continue
            report['resources'].append({
                'site': resource.site['name'], 'kind': resource.kind,
                'name': resource.name, 'id': outcome.get('id'),
                'action': 'deleted' if outcome['deleted'] else 'kept',
                'reason': outcome.get('reason')})
        report['deleted'] = sum(1 for r in report['resources']
                                if r['action'] == 'deleted')
        return report


class CheckReport(_Collect):
    """Compare what exists on both sides with the plan.

    ``extra`` names further results the cross-side checks read:
    ``route_targets`` (bgpvpn) and ``psk`` (ipsec).
    """

    def __init__(self, spec, resources, required, extra=(), name='report'):
        keys = [r.key for r in list(required) + list(resources)]
        super().__init__(name, keys + list(extra))
        self.spec = spec
        self.resources = resources
        self.required = required

    def execute(self, **results):
        findings = []

        def finding(resource, problem, site=None):
            findings.append({'site': site or resource.site['name'],
                             'resource': resource.label,
                             'problem': problem})

        for resource in self.required:
            parents = [results[key] for key in resource.parents.values()]
            if results[resource.key] is None and None not in parents:
                finding(resource, 'is missing; %s' % resource.missing_hint)
        for resource in list(self.resources):
            found = results[resource.key]
            parents = {name: results[key]
                       for name, key in resource.parents.items()}
            if found is None:
                if all(parent is not None for parent in parents.values()):
                    finding(resource, 'is missing')
                continue
            for problem in resource.drift(found, parents):
                finding(resource, problem)
        overlay = self.spec['overlay']['type']
        if overlay == 'bgpvpn':
            findings.extend(self._check_route_targets(results))
        elif overlay == 'ipsec':
            for role, verdict in sorted(results['psk'].items()):
                if verdict == 'differs':
                    findings.append({
                        'site': self.spec[role]['site']['name'],
                        'resource': 'IPsec site connection',
                        'problem': 'its pre-shared key differs from the '
                                   'plan\'s source'})
        return {'interconnect': self.spec['name'], 'overlay': overlay,
                'status': 'drift' if findings else 'ok',
                'checked': len(self.resources) + len(self.required),
                'findings': findings}

    def _check_route_targets(self, results):
        local, remote = results.get('local.bgpvpn'), results.get(
            'remote.bgpvpn')
        if not local or not remote:
            return []
        findings = []
        for src, dst, src_vpn, dst_vpn in (('local', 'remote', local, remote),
                                           ('remote', 'local', remote, local)):
            missing = bgpvpn.exports(src_vpn) - bgpvpn.imports(dst_vpn)
            if missing:
                findings.append({
                    'site': self.spec[dst]['site']['name'],
                    'resource': 'BGPVPN %r' % dst_vpn.get('name'),
                    'problem': 'asymmetric route targets: it does not import'
                               ' %s, exported by the %s side' % (
                                   ', '.join(sorted(missing)), src)})
        return findings
