"""Tests of the fake network proxy: ports, subnets, routes, security groups.
"""

from openstack import exceptions as os_exc

from tests.unit.testing.fakecloud import base


class TestPorts(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network()

    def test_generated_mac_is_in_neutron_range_and_unique(self):
        first = self.make_port(self.network)
        second = self.make_port(self.network)

        self.assertTrue(first.mac_address.startswith('fa:16:3e:'))
        self.assertNotEqual(first.mac_address, second.mac_address)

    def test_same_mac_twice_on_one_network_is_refused(self):
        self.make_port(self.network, mac_address='fa:16:3e:77:00:12')

        self.assertHttpError(409, 'The mac address fa:16:3e:77:00:12 is in '
                             'use.', self.make_port, self.network,
                             mac_address='fa:16:3e:77:00:12')

    def test_same_mac_on_another_network_is_accepted(self):
        self.make_port(self.network, mac_address='fa:16:3e:77:00:12')
        other = self.make_network('other', '10.8.0.0/24')

        port = self.make_port(other, mac_address='fa:16:3e:77:00:12')

        self.assertEqual('fa:16:3e:77:00:12', port.mac_address)

    def test_first_free_address_of_the_pool_is_allocated(self):
        [subnet] = self.net.subnets(network_id=self.network.id)
        self.make_port(self.network, fixed_ips=[{'ip_address': '10.7.0.2'}])

        port = self.make_port(self.network)

        self.assertEqual([{'subnet_id': subnet.id,
                           'ip_address': '10.7.0.3'}], port.fixed_ips)

    def test_explicit_address_in_use_is_refused(self):
        [subnet] = self.net.subnets(network_id=self.network.id)
        self.make_port(self.network, fixed_ips=[
            {'subnet_id': subnet.id, 'ip_address': '10.7.0.11'}])

        self.assertHttpError(
            409, 'IP address 10.7.0.11 already allocated in subnet %s'
            % subnet.id, self.make_port, self.network,
            fixed_ips=[{'subnet_id': subnet.id, 'ip_address': '10.7.0.11'}])

    def test_address_outside_the_subnet_is_refused(self):
        [subnet] = self.net.subnets(network_id=self.network.id)

        self.assertHttpError(
            400, 'IP address 10.9.0.5 is not a valid IP for the specified '
            'subnet.', self.make_port, self.network,
            fixed_ips=[{'subnet_id': subnet.id, 'ip_address': '10.9.0.5'}])

    def test_exhausted_pools_give_409(self):
        network = self.make_network('tiny', '10.9.0.0/30')
        self.make_port(network)

        self.assertHttpError(409, 'No more IP addresses available on '
                             'network %s.' % network.id,
                             self.make_port, network)

    def test_address_pairs_get_the_port_mac(self):
        port = self.make_port(self.network, allowed_address_pairs=[
            {'ip_address': '10.7.0.100'}])

        self.assertEqual([{'ip_address': '10.7.0.100',
                           'mac_address': port.mac_address}],
                         port.allowed_address_pairs)

    def test_security_groups_need_port_security(self):
        group = self.net.create_security_group('sg')

        self.assertHttpError(400, 'Port security must be enabled',
                             self.make_port, self.network,
                             security_group_ids=[group.id],
                             port_security_enabled=False)

    def test_address_pairs_need_port_security(self):
        self.assertHttpError(409, 'Port Security must be enabled in order '
                             'to have allowed address pairs on a port.',
                             self.make_port, self.network,
                             is_port_security_enabled=False,
                             allowed_address_pairs=[{'ip_address': '1.2.3.4'}])

    def test_unknown_security_group_is_404(self):
        self.assertHttpError(404, 'Security group nope does not exist',
                             self.make_port, self.network,
                             security_group_ids=['nope'])

    def test_api_names_are_read_as_sdk_attributes(self):
        port = self.make_port(self.network, admin_state_up=False,
                              port_security_enabled=False,
                              **{'binding:vnic_type': 'direct'})

        self.assertEqual((False, False, 'direct', [], '', 'DOWN'), (
            port.is_admin_state_up, port.is_port_security_enabled,
            port.binding_vnic_type, port.security_group_ids, port.device_id,
            port.status))

    def test_unset_sdk_attribute_reads_none_unknown_raises(self):
        port = self.make_port(self.network)

        self.assertIsNone(port.qos_policy_id)
        self.assertRaises(AttributeError, getattr, port, 'no_such_thing')

    def test_unmodelled_attribute_is_a_type_error(self):
        self.assertRaises(TypeError, self.make_port, self.network,
                          qos_policy_id='q')

    def test_update_changes_the_admin_state(self):
        port = self.make_port(self.network)

        self.net.update_port(port.id, is_admin_state_up=False)

        self.assertFalse(self.net.get_port(port.id).is_admin_state_up)

    def test_mac_of_a_bound_port_cannot_change(self):
        port = self.make_port(self.network, binding_host_id='compute-1')

        self.assertHttpError(409, 'port is already bound',
                             self.net.update_port, port.id,
                             mac_address='fa:16:3e:00:00:01')

    def test_ports_are_found_by_address_and_name(self):
        port = self.make_port(self.network, name='p1',
                              fixed_ips=[{'ip_address': '10.7.0.20'}])
        self.make_port(self.network, name='p2')

        self.assertEqual([port.id], [p.id for p in self.net.ports(
            fixed_ips=['ip_address=10.7.0.20'])])
        self.assertEqual(port.id, self.net.find_port('p1').id)
        self.assertIsNone(self.net.find_port('p3'))

    def test_returned_port_is_a_copy(self):
        port = self.make_port(self.network)
        port.fixed_ips.append({'ip_address': 'changed'})

        self.assertEqual(1, len(self.net.get_port(port.id).fixed_ips))

    def test_deleted_port_is_gone(self):
        port = self.make_port(self.network)

        self.net.delete_port(port.id)

        self.assertRaises(os_exc.NotFoundException, self.net.get_port,
                          port.id)


class TestSubnetsAndRouters(base.FakeCloudTestCase):

    def test_subnet_defaults_as_neutron(self):
        network = self.net.create_network(name='n')

        subnet = self.net.create_subnet(network.id, '10.7.0.0/24')

        self.assertEqual(
            ('10.7.0.1', [{'start': '10.7.0.2', 'end': '10.7.0.254'}], True,
             [], []),
            (subnet.gateway_ip, subnet.allocation_pools,
             subnet.is_dhcp_enabled, subnet.dns_nameservers,
             subnet.host_routes))

    def test_subnet_keeps_what_is_given(self):
        network = self.net.create_network(name='n')
        pools = [{'start': '10.7.0.10', 'end': '10.7.0.20'}]
        routes = [{'destination': '10.9.0.0/24', 'nexthop': '10.7.0.5'}]

        subnet = self.net.create_subnet(
            network.id, '10.7.0.0/24', enable_dhcp=False,
            allocation_pools=pools, dns_nameservers=['10.0.0.53'],
            host_routes=routes)

        self.assertEqual((pools, False, ['10.0.0.53'], routes), (
            subnet.allocation_pools, subnet.is_dhcp_enabled,
            subnet.dns_nameservers, subnet.host_routes))

    def test_router_interface_takes_the_gateway_address(self):
        network = self.make_network()
        [subnet] = self.net.subnets(network_id=network.id)
        router = self.net.create_router(name='r')

        interface = self.net.add_interface_to_router(router, subnet.id)

        port = self.net.get_port(interface['port_id'])
        self.assertEqual(('10.7.0.1', router.id, 'network:router_interface'),
                         (port.fixed_ips[0]['ip_address'], port.device_id,
                          port.device_owner))

    def test_routes_need_a_connected_nexthop(self):
        network = self.make_network()
        [subnet] = self.net.subnets(network_id=network.id)
        router = self.net.create_router(name='r')
        self.net.add_interface_to_router(router, subnet.id)
        route = {'destination': '10.9.0.0/24', 'nexthop': '10.7.0.5'}

        updated = self.net.update_router(router, routes=[route])

        self.assertEqual([route], updated.routes)
        self.assertHttpError(400, 'the nexthop is not connected with router',
                             self.net.update_router, router, routes=[
                                 {'destination': '10.9.0.0/24',
                                  'nexthop': '192.168.0.1'}])


class TestSecurityGroups(base.FakeCloudTestCase):

    def setUp(self):
        super().setUp()
        self.group = self.net.create_security_group('sg', 'web')

    def test_new_group_has_the_two_default_egress_rules(self):
        rules = self.net.security_group_rules(
            security_group_id=self.group.id)

        self.assertEqual([('egress', 'IPv4', None), ('egress', 'IPv6', None)],
                         sorted((r.direction, r.ether_type, r.protocol)
                                for r in rules))
        self.assertEqual(2, len(self.group.security_group_rules))

    def test_duplicate_rule_is_refused_with_its_id(self):
        rule = self.net.create_security_group_rule(
            self.group.id, direction='ingress', ethertype='IPv4',
            protocol='tcp', port_range_min=22, port_range_max=22,
            remote_ip_prefix='0.0.0.0/0')

        self.assertHttpError(409, 'Security group rule already exists. Rule '
                             'id is %s.' % rule.id,
                             self.net.create_security_group_rule,
                             self.group.id, protocol='tcp',
                             port_range_min=22, port_range_max=22,
                             remote_ip_prefix='0.0.0.0/0')

    def test_remote_group_and_prefix_together_are_refused(self):
        self.assertHttpError(400, 'Only remote_ip_prefix or remote_group_id',
                             self.net.create_security_group_rule,
                             self.group.id, remote_group_id=self.group.id,
                             remote_ip_prefix='10.0.0.0/8')

    def test_group_used_by_a_port_cannot_be_deleted(self):
        network = self.make_network()
        self.make_port(network, security_group_ids=[self.group.id])

        self.assertHttpError(409, 'Security Group %s in use.' % self.group.id,
                             self.net.delete_security_group, self.group.id)

    def test_deleting_a_group_deletes_rules_naming_it(self):
        other = self.net.create_security_group('other')
        self.net.create_security_group_rule(other.id, protocol='tcp',
                                            remote_group_id=self.group.id)

        self.net.delete_security_group(self.group.id)

        self.assertEqual([], self.net.security_group_rules(
            remote_group_id=self.group.id))
        self.assertEqual(2, len(self.net.security_group_rules(
            security_group_id=other.id)))
