"""networking-sfc resources: port pairs, port pair groups, flow
classifiers and port chains.

A chain rebuilt at another site keeps its shape: its groups in order, each
with its pairs, its classifiers and its chain parameters; ports are those
of the other site (parents, found by name).  Identities: by name (geoflows
names them as the source's, or derived from the source's ids when the
source's have none).

What the API accepts but breaks traffic is never done here: a group that
is in a chain is never emptied, a chain never loses its last classifier
(see the failback's make-before-break).
"""

from geoflows.tasks import base


def pair_name(doc):
    """The name of a captured port pair's copy (its own, or from its id)."""
    return doc['name'] or 'gf-pair-%s' % doc['source_id'][:8]


def group_name(doc):
    """The name of a captured port pair group's copy."""
    return doc['name'] or 'gf-group-%s' % doc['source_id'][:8]


def classifier_name(doc):
    """The name of a captured flow classifier's copy."""
    return doc['name'] or 'gf-classifier-%s' % doc['source_id'][:8]


def _one_named(items, name, what):
    return base.only((i for i in items if i.name == name),
                     '%s named %r' % (what, name))


class PortPair(base.Resource):
    """Parents ``ingress`` and ``egress``: ports (bound to one server)."""

    kind = 'port pair'

    def find(self, net, parents):
        return _one_named(net.sfc_port_pairs(), self.name, 'port pairs')

    def create(self, net, parents):
        attrs = {'name': self.name, 'description': self.marker,
                 'ingress': parents['ingress']['id'],
                 'egress': parents['egress']['id']}
        if self.params.get('parameters'):
            attrs['service_function_parameters'] = self.params['parameters']
        return net.create_sfc_port_pair(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_sfc_port_pair(resource_id, ignore_missing=False)


class PortPairGroup(base.Resource):
    """Parents ``pair_N``: its port pairs, in order."""

    kind = 'port pair group'

    def _pairs(self, parents):
        return [parents['pair_%d' % i]['id']
                for i in range(self.params['pairs'])]

    def find(self, net, parents):
        return _one_named(net.sfc_port_pair_groups(), self.name,
                          'port pair groups')

    def create(self, net, parents):
        attrs = {'name': self.name, 'description': self.marker,
                 'port_pairs': self._pairs(parents)}
        if self.params.get('parameters'):
            attrs['port_pair_group_parameters'] = self.params['parameters']
        return net.create_sfc_port_pair_group(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_sfc_port_pair_group(resource_id, ignore_missing=False)

    def drift(self, found, parents):
        return []


class FlowClassifier(base.Resource):
    """A flow classifier.

    Parents ``logical_source_port`` / ``logical_destination_port`` when the
    classifier names ports.
    """

    kind = 'flow classifier'
    FIELDS = ('ethertype', 'protocol', 'source_ip_prefix',
              'destination_ip_prefix', 'source_port_range_min',
              'source_port_range_max', 'destination_port_range_min',
              'destination_port_range_max', 'l7_parameters')

    def find(self, net, parents):
        return _one_named(net.sfc_flow_classifiers(), self.name,
                          'flow classifiers')

    def create(self, net, parents):
        attrs = {key: self.params[key] for key in self.FIELDS
                 if self.params.get(key) not in (None, {})}
        for key in ('logical_source_port', 'logical_destination_port'):
            if key in parents:
                attrs[key] = parents[key]['id']
        return net.create_sfc_flow_classifier(
            name=self.name, description=self.marker, **attrs)

    def delete(self, net, resource_id, parents):
        net.delete_sfc_flow_classifier(resource_id, ignore_missing=False)


class PortChain(base.Resource):
    """Parents ``group_N`` (in order) and ``classifier_N``."""

    kind = 'port chain'

    def _ids(self, parents, prefix, count):
        return [parents['%s_%d' % (prefix, i)]['id'] for i in range(count)]

    def find(self, net, parents):
        return _one_named(net.sfc_port_chains(), self.name, 'port chains')

    def create(self, net, parents):
        attrs = {'name': self.name, 'description': self.marker,
                 'port_pair_groups': self._ids(parents, 'group',
                                               self.params['groups']),
                 'flow_classifiers': self._ids(parents, 'classifier',
                                               self.params['classifiers'])}
        if self.params.get('chain_parameters'):
            attrs['chain_parameters'] = self.params['chain_parameters']
        return net.create_sfc_port_chain(**attrs)

    def delete(self, net, resource_id, parents):
        net.delete_sfc_port_chain(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(port_pair_groups=list(obj.port_pair_groups or ()),
                      flow_classifiers=list(obj.flow_classifiers or ()))
        return result
