"""networking-sfc, as the fake network proxy answers it.

The rules the DR lab proved on networking-sfc 23 (RECIPE.md section 5):

* a port pair's ports must be bound to a server, the same one (400);
* a port pair in a group, a group or a flow classifier in a chain cannot
  be deleted (409), nor used by a second group or chain (409); deleting a
  Neutron port that a pair uses fails with a 500 (a foreign key);
* only names and descriptions can be updated, plus a group's
  ``port_pairs`` and a chain's ``port_pair_groups`` and
  ``flow_classifiers`` (400 ``Cannot update read-only attribute``); a chain
  needs a group (400).

Two updates that break traffic are accepted, as by the real API: emptying
a group that is in a chain (or putting an empty group in a chain), and
leaving a chain without flow classifiers.  The fake records them, with the
deletion of a server whose port is in a port pair, in
``site.sfc_violations`` (dicts with ``rule``, ``method`` and the ids
involved), so that tests can assert they never happen.
"""

import itertools

from openstack.network.v2 import sfc_flow_classifier as _classifier
from openstack.network.v2 import sfc_port_chain as _chain
from openstack.network.v2 import sfc_port_pair as _pair
from openstack.network.v2 import sfc_port_pair_group as _group

SDK_CLASSES = {
    'sfc_port_pair': _pair.SfcPortPair,
    'sfc_port_pair_group': _group.SfcPortPairGroup,
    'sfc_flow_classifier': _classifier.SfcFlowClassifier,
    'sfc_port_chain': _chain.SfcPortChain,
}
EMPTY_GROUP = 'empty port pair group in a port chain'
NO_CLASSIFIER = 'port chain left without flow classifiers'
SERVER_UNDER_PAIR = 'server deleted while its port is in a port pair'
_CLASSIFIER_FIELDS = (
    'protocol', 'source_port_range_min', 'source_port_range_max',
    'destination_port_range_min', 'destination_port_range_max',
    'source_ip_prefix', 'destination_ip_prefix', 'logical_source_port',
    'logical_destination_port')
_chain_ids = itertools.count(1)


class SfcApi(object):
    """The networking-sfc methods of the fake network proxy."""

    def _violation(self, rule, method, **ids):
        self._site.sfc_violations.append(dict(rule=rule, method=method,
                                              **ids))

    def _read_only(self, attrs, mutable):
        for name in sorted(attrs):
            if name not in mutable:
                raise self._bad_request(
                    'Cannot update read-only attribute %s' % name)

    # -- port pairs -----------------------------------------------------------

    def sfc_port_pairs(self, **query):
        return self._list('sfc_port_pair', **query)

    def get_sfc_port_pair(self, ident):
        return self._out('sfc_port_pair', self._get('sfc_port_pair', ident))

    def find_sfc_port_pair(self, name_or_id, ignore_missing=True):
        return self._find('sfc_port_pair', name_or_id, ignore_missing)

    def create_sfc_port_pair(self, ingress, egress, name='', description='',
                             service_function_parameters=None):
        ports = {}
        for role, port_id in (('ingress', ingress), ('egress', egress)):
            ports[role] = self._get('port', port_id)
            if not ports[role].device_id:
                raise self._bad_request(
                    'Port Pair %s port %s does not belong to a host.'
                    % (role, port_id))
        if ports['ingress'].device_id != ports['egress'].device_id:
            raise self._bad_request(
                'Port Pair ingress port %s egress port %s not in the same '
                'host.' % (ingress, egress))
        for pair in self._rows('sfc_port_pair', ingress=ingress,
                               egress=egress):
            raise self._conflict(
                'Port Pair with ingress port %s and egress port %s is '
                'already used by another Port Pair %s.'
                % (ingress, egress, pair.id))
        parameters = {'correlation': None, 'weight': 1}
        parameters.update(service_function_parameters or {})
        return self._add('sfc_port_pair', name=name or '',
                         description=description or '', ingress=ingress,
                         egress=egress,
                         service_function_parameters=parameters)

    def update_sfc_port_pair(self, ident, **attrs):
        self._read_only(attrs, ('name', 'description'))
        return self._update('sfc_port_pair', ident, **attrs)

    def delete_sfc_port_pair(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if any(ident in g.port_pairs
               for g in self._rows('sfc_port_pair_group')):
            raise self._conflict('Port Pair %s in use.' % ident)
        self._delete('sfc_port_pair', ident, ignore_missing)

    # -- port pair groups -----------------------------------------------------

    def sfc_port_pair_groups(self, **query):
        return self._list('sfc_port_pair_group', **query)

    def get_sfc_port_pair_group(self, ident):
        return self._out('sfc_port_pair_group',
                         self._get('sfc_port_pair_group', ident))

    def find_sfc_port_pair_group(self, name_or_id, ignore_missing=True):
        return self._find('sfc_port_pair_group', name_or_id, ignore_missing)

    def create_sfc_port_pair_group(self, port_pairs=(), name='',
                                   description='',
                                   port_pair_group_parameters=None,
                                   is_tap_enabled=False, tap_enabled=None):
        self._check_pairs(None, port_pairs)
        parameters = {'lb_fields': [], 'ppg_n_tuple_mapping': {
            'ingress_n_tuple': {}, 'egress_n_tuple': {}}}
        parameters.update(port_pair_group_parameters or {})
        return self._add(
            'sfc_port_pair_group', name=name or '',
            description=description or '', port_pairs=list(port_pairs),
            port_pair_group_parameters=parameters,
            is_tap_enabled=bool(is_tap_enabled if tap_enabled is None
                                else tap_enabled))

    def update_sfc_port_pair_group(self, ident, **attrs):
        group = self._get('sfc_port_pair_group', ident)
        self._read_only(attrs, ('name', 'description', 'port_pairs'))
        if 'port_pairs' in attrs:
            attrs['port_pairs'] = list(attrs['port_pairs'])
            self._check_pairs(group.id, attrs['port_pairs'])
            if not attrs['port_pairs']:
                for chain in self._chains_with('port_pair_groups', group.id):
                    self._violation(EMPTY_GROUP, 'update_sfc_port_pair_group',
                                    port_pair_group_id=group.id,
                                    port_chain_id=chain.id)
        return self._update('sfc_port_pair_group', group.id, **attrs)

    def delete_sfc_port_pair_group(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._chains_with('port_pair_groups', ident):
            raise self._conflict('Port Pair Group %s in use.' % ident)
        self._delete('sfc_port_pair_group', ident, ignore_missing)

    def _check_pairs(self, group_id, port_pairs):
        for pair_id in port_pairs:
            self._get('sfc_port_pair', pair_id)
            for group in self._rows('sfc_port_pair_group'):
                if group.id != group_id and pair_id in group.port_pairs:
                    raise self._conflict('Port Pair %s in use.' % pair_id)

    # -- flow classifiers -----------------------------------------------------

    def sfc_flow_classifiers(self, **query):
        return self._list('sfc_flow_classifier', **query)

    def get_sfc_flow_classifier(self, ident):
        return self._out('sfc_flow_classifier',
                         self._get('sfc_flow_classifier', ident))

    def find_sfc_flow_classifier(self, name_or_id, ignore_missing=True):
        return self._find('sfc_flow_classifier', name_or_id, ignore_missing)

    def create_sfc_flow_classifier(self, name='', description='',
                                   ethertype='IPv4', l7_parameters=None,
                                   **fields):
        unknown = set(fields) - set(_CLASSIFIER_FIELDS)
        if unknown:
            raise TypeError('create_sfc_flow_classifier: unknown %s'
                            % ', '.join(sorted(unknown)))
        for key in ('logical_source_port', 'logical_destination_port'):
            if fields.get(key):
                self._get('port', fields[key])
        row = dict.fromkeys(_CLASSIFIER_FIELDS)
        row.update(fields)
        return self._add('sfc_flow_classifier', name=name or '',
                         description=description or '', ethertype=ethertype,
                         l7_parameters=dict(l7_parameters or {}), **row)

    def update_sfc_flow_classifier(self, ident, **attrs):
        self._read_only(attrs, ('name', 'description'))
        return self._update('sfc_flow_classifier', ident, **attrs)

    def delete_sfc_flow_classifier(self, ident, ignore_missing=True):
        ident = getattr(ident, 'id', ident)
        if self._chains_with('flow_classifiers', ident):
            raise self._conflict('Flow Classifier %s in use.' % ident)
        self._delete('sfc_flow_classifier', ident, ignore_missing)

    # -- port chains ----------------------------------------------------------

    def sfc_port_chains(self, **query):
        return self._list('sfc_port_chain', **query)

    def get_sfc_port_chain(self, ident):
        return self._out('sfc_port_chain', self._get('sfc_port_chain', ident))

    def find_sfc_port_chain(self, name_or_id, ignore_missing=True):
        return self._find('sfc_port_chain', name_or_id, ignore_missing)

    def create_sfc_port_chain(self, port_pair_groups, flow_classifiers=(),
                              name='', description='',
                              chain_parameters=None):
        self._check_members(None, port_pair_groups, flow_classifiers)
        parameters = {'correlation': 'mpls', 'symmetric': False}
        parameters.update(chain_parameters or {})
        chain = self._add('sfc_port_chain', name=name or '',
                          description=description or '',
                          port_pair_groups=list(port_pair_groups),
                          flow_classifiers=list(flow_classifiers),
                          chain_parameters=parameters,
                          chain_id=next(_chain_ids))
        self._check_hops(chain, 'create_sfc_port_chain')
        return chain

    def update_sfc_port_chain(self, ident, **attrs):
        chain = self._get('sfc_port_chain', ident)
        self._read_only(attrs, ('name', 'description', 'port_pair_groups',
                                'flow_classifiers'))
        for key in ('port_pair_groups', 'flow_classifiers'):
            if key in attrs:
                attrs[key] = list(attrs[key])
        self._check_members(chain.id,
                            attrs.get('port_pair_groups',
                                      chain.port_pair_groups),
                            attrs.get('flow_classifiers',
                                      chain.flow_classifiers))
        if chain.flow_classifiers and attrs.get('flow_classifiers') == []:
            self._violation(NO_CLASSIFIER, 'update_sfc_port_chain',
                            port_chain_id=chain.id)
        chain = self._update('sfc_port_chain', chain.id, **attrs)
        self._check_hops(chain, 'update_sfc_port_chain')
        return chain

    def delete_sfc_port_chain(self, ident, ignore_missing=True):
        self._delete('sfc_port_chain', ident, ignore_missing)

    def _check_hops(self, chain, method):
        for group_id in chain.port_pair_groups:
            if not self._get('sfc_port_pair_group', group_id).port_pairs:
                self._violation(EMPTY_GROUP, method,
                                port_pair_group_id=group_id,
                                port_chain_id=chain.id)

    def _chains_with(self, key, member_id):
        return [c for c in self._rows('sfc_port_chain')
                if member_id in c[key]]

    def _check_members(self, chain_id, groups, classifiers):
        if not groups:
            raise self._bad_request(
                'Port Pair Group is not specified in Port Chain.')
        for key, kind, label, members in (
                ('port_pair_groups', 'sfc_port_pair_group',
                 'Port Pair Group(s)', groups),
                ('flow_classifiers', 'sfc_flow_classifier',
                 'Flow Classifier(s)', classifiers)):
            for member in members:
                self._get(kind, member)
            for chain in self._rows('sfc_port_chain'):
                shared = [m for m in members if m in chain[key]]
                if chain.id != chain_id and shared:
                    raise self._conflict('%s %s in use by Port Chain %s.'
                                         % (label, shared, chain.id))
