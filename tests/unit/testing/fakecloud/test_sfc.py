"""Tests of networking-sfc in the fake network proxy (RECIPE.md section 5)."""

from geoflows.testing.fakecloud import sfc
from tests.unit.testing.fakecloud import base


class SfcTestCase(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network()
        self.source = self.make_port(self.network, device_id='vnf-1')

    def pair(self, server='vnf-2'):
        port = self.make_port(self.network, device_id=server)
        return self.net.create_sfc_port_pair(ingress=port.id, egress=port.id)

    def chain(self, pairs=None, classifiers=None):
        group = self.net.create_sfc_port_pair_group(
            port_pairs=[p.id for p in pairs or [self.pair()]])
        if classifiers is None:
            classifiers = [self.classifier()]
        return group, self.net.create_sfc_port_chain(
            port_pair_groups=[group.id],
            flow_classifiers=[c.id for c in classifiers])

    def classifier(self):
        return self.net.create_sfc_flow_classifier(
            ethertype='IPv4', protocol='tcp',
            source_ip_prefix='10.7.0.11/32', destination_port_range_min=80,
            destination_port_range_max=80,
            logical_source_port=self.source.id)


class TestCreation(SfcTestCase):

    def test_chain_is_built_with_the_defaults(self):
        group, chain = self.chain()

        self.assertEqual(({'correlation': 'mpls', 'symmetric': False},
                          [group.id]),
                         (chain.chain_parameters, chain.port_pair_groups))
        [fc] = self.net.sfc_flow_classifiers()
        self.assertEqual((self.source.id, 'tcp', 80),
                         (fc.logical_source_port, fc.protocol,
                          fc.destination_port_range_min))

    def test_port_pair_on_an_unbound_port_is_refused(self):
        port = self.make_port(self.network)

        self.assertHttpError(400, 'Port Pair ingress port %s does not belong '
                             'to a host.' % port.id,
                             self.net.create_sfc_port_pair,
                             ingress=port.id, egress=port.id)

    def test_port_pair_across_two_servers_is_refused(self):
        ingress = self.make_port(self.network, device_id='vnf-2')
        egress = self.make_port(self.network, device_id='vnf-3')

        self.assertHttpError(400, 'not in the same host.',
                             self.net.create_sfc_port_pair,
                             ingress=ingress.id, egress=egress.id)

    def test_second_chain_with_the_same_group_is_refused(self):
        group, chain = self.chain()

        self.assertHttpError(409, 'Port Pair Group(s) [%r] in use by Port '
                             'Chain %s.' % (group.id, chain.id),
                             self.net.create_sfc_port_chain,
                             port_pair_groups=[group.id])

    def test_second_chain_with_the_same_classifier_is_refused(self):
        classifier = self.classifier()
        self.chain(classifiers=[classifier])
        other = self.net.create_sfc_port_pair_group(
            port_pairs=[self.pair('vnf-4').id])

        self.assertHttpError(409, 'in use by Port Chain',
                             self.net.create_sfc_port_chain,
                             port_pair_groups=[other.id],
                             flow_classifiers=[classifier.id])

    def test_pair_in_a_group_cannot_join_another(self):
        pair = self.pair()
        self.net.create_sfc_port_pair_group(port_pairs=[pair.id])

        self.assertHttpError(409, 'Port Pair %s in use.' % pair.id,
                             self.net.create_sfc_port_pair_group,
                             port_pairs=[pair.id])


class TestUpdates(SfcTestCase):

    def test_make_before_break_replaces_a_pair(self):
        old = self.pair()
        group, chain = self.chain([old])
        new = self.pair('vnf-3')

        self.net.update_sfc_port_pair_group(group, port_pairs=[old.id,
                                                               new.id])
        self.net.update_sfc_port_pair_group(group, port_pairs=[new.id])
        self.net.delete_sfc_port_pair(old)

        self.assertEqual([new.id], self.net.get_sfc_port_pair_group(
            group.id).port_pairs)
        self.assertEqual([], self.site.sfc_violations)

    def test_pair_still_in_a_group_cannot_be_deleted(self):
        old = self.pair()
        self.chain([old])

        self.assertHttpError(409, 'Port Pair %s in use.' % old.id,
                             self.net.delete_sfc_port_pair, old.id)

    def test_emptying_a_group_in_a_chain_is_accepted_and_recorded(self):
        group, chain = self.chain()

        updated = self.net.update_sfc_port_pair_group(group.id, port_pairs=[])

        self.assertEqual([], updated.port_pairs)
        self.assertEqual([{'rule': sfc.EMPTY_GROUP,
                           'method': 'update_sfc_port_pair_group',
                           'port_pair_group_id': group.id,
                           'port_chain_id': chain.id}],
                         self.site.sfc_violations)

    def test_emptying_a_group_in_no_chain_is_no_violation(self):
        group = self.net.create_sfc_port_pair_group(
            port_pairs=[self.pair().id])

        self.net.update_sfc_port_pair_group(group.id, port_pairs=[])

        self.assertEqual([], self.site.sfc_violations)

    def test_chain_left_without_classifiers_is_accepted_and_recorded(self):
        group, chain = self.chain()

        self.net.update_sfc_port_chain(chain.id, flow_classifiers=[])

        [violation] = self.site.sfc_violations
        self.assertEqual((sfc.NO_CLASSIFIER, chain.id),
                         (violation['rule'], violation['port_chain_id']))

    def test_chain_groups_can_be_swapped(self):
        group, chain = self.chain()
        other = self.net.create_sfc_port_pair_group(
            port_pairs=[self.pair('vnf-3').id])

        self.net.update_sfc_port_chain(chain, port_pair_groups=[group.id,
                                                                other.id])
        updated = self.net.update_sfc_port_chain(chain,
                                                 port_pair_groups=[other.id])

        self.assertEqual([other.id], updated.port_pair_groups)

    def test_chain_without_groups_is_refused(self):
        group, chain = self.chain()

        self.assertHttpError(400, 'Port Pair Group is not specified in Port '
                             'Chain.', self.net.update_sfc_port_chain,
                             chain.id, port_pair_groups=[])

    def test_read_only_attributes_are_refused(self):
        group, chain = self.chain()
        [pair] = self.net.sfc_port_pairs()
        [classifier] = self.net.sfc_flow_classifiers()

        for update, target, attrs in (
                (self.net.update_sfc_port_chain, chain,
                 {'chain_parameters': {'symmetric': True}}),
                (self.net.update_sfc_port_pair_group, group,
                 {'port_pair_group_parameters': {}}),
                (self.net.update_sfc_port_pair, pair, {'ingress': 'x'}),
                (self.net.update_sfc_flow_classifier, classifier,
                 {'protocol': 'udp'}),
                (self.net.update_sfc_flow_classifier, classifier,
                 {'logical_source_port': 'x'})):
            self.assertHttpError(400, 'Cannot update read-only attribute %s'
                                 % list(attrs)[0], update, target.id, **attrs)

    def test_names_can_be_updated(self):
        group, chain = self.chain()

        updated = self.net.update_sfc_port_chain(chain.id, name='web')

        self.assertEqual('web', updated.name)


class TestDeletionOrder(SfcTestCase):

    def test_members_of_a_chain_cannot_be_deleted(self):
        group, chain = self.chain()
        [classifier] = self.net.sfc_flow_classifiers()

        self.assertHttpError(409, 'Port Pair Group %s in use.' % group.id,
                             self.net.delete_sfc_port_pair_group, group.id)
        self.assertHttpError(409, 'Flow Classifier %s in use.'
                             % classifier.id,
                             self.net.delete_sfc_flow_classifier,
                             classifier.id)

    def test_port_of_a_pair_cannot_be_deleted(self):
        pair = self.pair()

        self.assertHttpError(500, 'internal server error',
                             self.net.delete_port, pair.ingress)
        self.assertEqual(pair.ingress, self.net.get_port(pair.ingress).id)

    def test_the_recipe_order_deletes_everything(self):
        group, chain = self.chain()
        [pair] = self.net.sfc_port_pairs()
        [classifier] = self.net.sfc_flow_classifiers()

        self.net.delete_sfc_port_chain(chain)
        self.net.delete_sfc_port_pair_group(group)
        self.net.delete_sfc_port_pair(pair)
        self.net.delete_sfc_flow_classifier(classifier)
        self.net.delete_port(pair.ingress)

        for kind in sfc.SDK_CLASSES:
            self.assertEqual([], self.site._raw_network.resources(kind))
