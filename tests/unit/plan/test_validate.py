"""Validation of plans: every kind of mistake gives a clear message."""

import textwrap

from geoflows import exceptions
from geoflows import plan
from geoflows.plan import loader
from geoflows.plan import validate
from tests.unit import base

# Most test plans give only their interconnects, at the top, so that the
# lines and columns the tests expect are those of the text they show; the
# rest of the plan follows.
REST = '''\
version: 1
name: test
sites:
  paris: {cloud: telco, region: paris}
  lyon: {cloud: telco, region: lyon}
  lyon-dc2: {cloud: telco, region: lyon}
  cell1:
    cloud: telco
    region: paris
    cell: {availability_zone: az1, physical_network: physnet1}
  cell2:
    cloud: telco
    region: paris
    cell: {availability_zone: az2, physical_network: physnet2}
  cell3:
    cloud: telco
    region: paris
    cell: {availability_zone: az3, physical_network: physnet1}
  lyon-cell:
    cloud: telco
    region: lyon
    cell: {availability_zone: az1, physical_network: physnet1}
'''

SITE_NAMES = 'cell1, cell2, cell3, lyon, lyon-cell, lyon-dc2, paris'


class ProblemTestCase(base.TestCase):

    def error(self, text, rest=REST):
        """The PlanError of the plan ``text`` followed by ``rest``."""
        return self.assertRaises(exceptions.PlanError, plan.parse,
                                 textwrap.dedent(text) + rest, 'plan.yaml')

    def problems(self, text, rest=REST):
        return self.error(text, rest).problems

    def assertValid(self, text, rest=REST):
        return plan.parse(textwrap.dedent(text) + rest, 'plan.yaml')

    def assertProblem(self, problem, place, message, line, column=None):
        """Check where ``problem`` is and that it says ``message``.

        With ``column`` None, only the line is checked.
        """
        self.assertEqual(place, problem.place)
        self.assertIn(message, problem.message)
        self.assertEqual(line, problem.position.line)
        if column is not None:
            self.assertEqual(column, problem.position.column)

    def only_problem(self, text, rest=REST):
        """The problem of a plan that has exactly one."""
        problems = self.problems(text, rest)
        self.assertEqual(1, len(problems), problems)
        return problems[0]


class TopLevelProblemTest(ProblemTestCase):

    def test_unknown_top_level_key_lists_the_allowed_keys(self):
        problem = self.only_problem('''\
            colour: red
            ''')
        self.assertProblem(problem, 'colour', "unknown key 'colour' (allowed "
                           'here: description, interconnects, name, '
                           'protection_groups, sites, version)', 1, 1)

    def test_unknown_key_with_a_block_value_is_placed_at_the_key(self):
        problem = self.only_problem('''\
            colour:
              shade: red
            ''')
        self.assertProblem(problem, 'colour', "unknown key 'colour'", 1, 1)

    def test_unsupported_version(self):
        problem = self.only_problem('''\
            version: 2
            name: test
            sites: {paris: {cloud: telco}}
            ''', rest='')
        self.assertProblem(problem, 'version', 'unsupported plan version 2: '
                           'this geoflows reads version 1', 1, 10)

    def test_version_given_as_a_string(self):
        problem = self.only_problem('''\
            version: "1"
            name: test
            sites: {paris: {cloud: telco}}
            ''', rest='')
        self.assertProblem(problem, 'version', "unsupported plan version '1'",
                           1, 10)

    def test_invalid_plan_name(self):
        problem = self.only_problem('''\
            version: 1
            name: Test_Plan
            sites: {paris: {cloud: telco}}
            ''', rest='')
        self.assertProblem(problem, 'name', "'Test_Plan' is not valid: "
                           'Lower-case letters, digits and dashes; starts '
                           'with a letter, at most 32 characters', 2, 7)

    def test_plan_name_longer_than_32_characters(self):
        problem = self.only_problem('''\
            version: 1
            name: a-plan-name-of-thirty-three-chars
            sites: {paris: {cloud: telco}}
            ''', rest='')
        self.assertProblem(problem, 'name', 'at most 32 characters', 2, 7)

    def test_plan_name_of_the_wrong_type(self):
        problem = self.only_problem('''\
            version: 1
            name: 42
            sites: {paris: {cloud: telco}}
            ''', rest='')
        self.assertProblem(problem, 'name',
                           'expected a string, got an integer', 2, 7)

    def test_missing_top_level_key(self):
        problem = self.only_problem('''\
            version: 1
            sites: {paris: {cloud: telco}}
            ''', rest='')
        self.assertProblem(problem, '', "'name' is required here", 1, 1)

    def test_plan_without_sites(self):
        problem = self.only_problem('''\
            version: 1
            name: test
            sites: {}
            ''', rest='')
        self.assertProblem(problem, 'sites', 'must not be empty', 3, 8)

    def test_sites_of_the_wrong_type(self):
        problem = self.only_problem('''\
            version: 1
            name: test
            sites: [paris, lyon]
            ''', rest='')
        self.assertProblem(problem, 'sites', 'expected a mapping, got a list',
                           3, 8)

    def test_interconnects_left_empty(self):
        problem = self.only_problem('''\
            interconnects:
            ''')
        self.assertProblem(problem, 'interconnects', 'expected a list, got '
                           'nothing', 1, 15)


class SiteProblemTest(ProblemTestCase):

    def test_invalid_site_name_is_placed_at_the_name(self):
        problem = self.only_problem('''\
            version: 1
            name: test
            sites:
              paris: {cloud: telco}
              Lyon_1: {cloud: telco}
            ''', rest='')
        self.assertProblem(problem, 'sites.Lyon_1', "'Lyon_1' is not a valid "
                           'name: Lower-case letters', 5, 3)

    def test_site_without_cloud(self):
        problem = self.only_problem('''\
            version: 1
            name: test
            sites:
              paris: {cloud: telco}
              lyon: {region: lyon}
            ''', rest='')
        self.assertProblem(problem, 'sites.lyon', "'cloud' is required here",
                           5, 9)

    def test_unknown_site_key_lists_the_allowed_keys(self):
        problem = self.only_problem('''\
            version: 1
            name: test
            sites:
              paris:
                cloud: telco
                zone: az1
            ''', rest='')
        self.assertProblem(problem, 'sites.paris.zone', "unknown key 'zone' "
                           '(allowed here: cell, cloud, description, region)',
                           6)

    def test_cell_without_physical_network(self):
        problem = self.only_problem('''\
            version: 1
            name: test
            sites:
              paris:
                cloud: telco
                cell: {availability_zone: az1}
            ''', rest='')
        self.assertProblem(problem, 'sites.paris.cell', "'physical_network' "
                           'is required here', 6, 11)


class InterconnectSchemaProblemTest(ProblemTestCase):

    def test_invalid_interconnect_name(self):
        problem = self.only_problem('''\
            interconnects:
              - name: 1st-vpn
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].name', "'1st-vpn' is "
                           'not valid: Lower-case letters, digits and dashes; '
                           'starts with a letter', 2, 11)

    def test_missing_interconnect_key(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
            ''')
        self.assertProblem(problem, 'interconnects[0]', "'overlay' is "
                           'required here', 2, 5)

    def test_missing_network_cidr(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks: [{name: b}]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.networks[0]',
                           "'cidr' is required here", 6, 18)

    def test_overlay_without_type(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {}
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay',
                           "'type' is required here", 5, 14)

    def test_unknown_endpoint_key_lists_the_allowed_keys(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  network: [{name: b, cidr: 10.2.0.0/24}]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.network',
                           "unknown key 'network' (allowed here: networks, "
                           'router, segment, site, subnets)', 6)

    def test_unknown_overlay_key_lists_the_keys_of_that_overlay(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay:
                  type: bgpvpn
                  mtu: 1400
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.mtu',
                           "unknown key 'mtu' (allowed here: associate, "
                           'route_targets, type, vpn_type)', 7)

    def test_list_given_as_a_mapping(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks: {name: b, cidr: 10.2.0.0/24}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.networks',
                           'expected a list, got a mapping', 6, 17)

    def test_integer_given_as_a_string(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote:
                  site: cell2
                  segment: {cidr: 10.5.2.0/24, segmentation_id: "210"}
                overlay: {type: segments}
            ''')
        self.assertProblem(problem,
                           'interconnects[0].remote.segment.segmentation_id',
                           'expected an integer, got a string', 6, 53)

    def test_segmentation_id_out_of_range(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote:
                  site: cell2
                  segment: {cidr: 10.5.2.0/24, segmentation_id: 16777216}
                overlay: {type: segments}
            ''')
        self.assertProblem(problem,
                           'interconnects[0].remote.segment.segmentation_id',
                           'is above the maximum 16777215', 6, 53)

    def test_unknown_overlay_type(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: gre}
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.type',
                           "'gre' is not one of: bgpvpn, ipsec, segments",
                           5, 21)

    def test_bad_vpn_type(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay:
                  type: bgpvpn
                  vpn_type: evpn
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.vpn_type',
                           "'evpn' is not one of: l3, l2", 7, 17)

    def test_bad_network_type(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote: {site: cell2, segment: {cidr: 10.5.2.0/24}}
                overlay:
                  type: segments
                  network_type: vxlan
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.network_type',
                           "'vxlan' is not one of: vlan, flat", 7, 21)

    def test_bad_ike_algorithm(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay:
                  type: ipsec
                  ike: {auth_algorithm: md5}
            ''')
        self.assertProblem(problem,
                           'interconnects[0].overlay.ike.auth_algorithm',
                           "'md5' is not one of: sha256, sha384, sha512",
                           7, 29)

    def test_bad_route_target(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay:
                  type: bgpvpn
                  route_targets: [64512-1]
            ''')
        self.assertProblem(problem,
                           'interconnects[0].overlay.route_targets[0]',
                           "'64512-1' is not valid: a route target is "
                           'ASN:number or IPv4:number', 7, 23)


class PreSharedKeyProblemTest(ProblemTestCase):

    def psk_problem(self, psk):
        """The problem of an ipsec overlay whose psk is ``psk``."""
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay:
                  type: ipsec
                  psk: %s
            ''' % psk)
        self.assertProblem(problem, 'interconnects[0].overlay.psk', '', 7, 12)
        return problem

    def assertNeverWritten(self, problem):
        self.assertEqual('a pre-shared key is never written in a plan; use '
                         '{derive: true}, {env: VARIABLE} or {file: PATH}',
                         problem.message)

    def test_literal_key(self):
        self.assertNeverWritten(self.psk_problem('Sup3r-s3cret'))

    def test_literal_key_is_not_repeated(self):
        error = self.error('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: ipsec, psk: Sup3r-s3cret}
            ''')
        self.assertNotIn('Sup3r-s3cret', str(error))

    def test_literal_numeric_key(self):
        self.assertNeverWritten(self.psk_problem('123456'))

    def test_empty_source(self):
        self.assertNeverWritten(self.psk_problem('{}'))

    def test_two_sources(self):
        problem = self.psk_problem('{derive: true, env: VPN_PSK}')
        self.assertEqual('give exactly one of derive, env or file',
                         problem.message)

    def test_key_under_an_unknown_source_is_not_repeated(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay:
                  type: ipsec
                  psk: {value: Sup3r-s3cret}
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.psk.value',
                           "unknown key 'value' (allowed here: derive, env, "
                           "file)", 7)
        self.assertNotIn('Sup3r-s3cret', problem.message)


class SiteReferenceProblemTest(ProblemTestCase):

    def test_unknown_site_lists_the_sites(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: berlin
                  networks: [{name: b, cidr: 10.2.0.0/24}]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.site',
                           "unknown site 'berlin' (sites of this plan: %s)"
                           % SITE_NAMES, 5, 13)

    def test_both_ends_on_one_site(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: paris
                  networks: [{name: b, cidr: 10.2.0.0/24}]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.site',
                           "both ends are on site 'paris': an interconnect "
                           'joins two different sites', 5, 13)

    def test_two_sites_of_one_region(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: lyon, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon-dc2
                  networks: [{name: b, cidr: 10.2.0.0/24}]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.site',
                           "sites 'lyon' and 'lyon-dc2' are the same "
                           "OpenStack region (cloud 'telco', region 'lyon')",
                           5, 13)


class NameProblemTest(ProblemTestCase):

    def test_duplicate_interconnect_name(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
              - name: ic
                local: {site: paris, networks: [{name: c, cidr: 10.3.0.0/24}]}
                remote: {site: lyon, networks: [{name: d, cidr: 10.4.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[1].name',
                           "duplicate interconnect name 'ic' (also "
                           'interconnects[0])', 6, 11)

    def test_duplicate_network_name_in_an_endpoint(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks:
                    - {name: b, cidr: 10.2.0.0/24}
                    - {name: b, cidr: 10.3.0.0/24}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.networks[1]',
                           "duplicate network 'b' (also at index 0)", 8, 11)

    def test_duplicate_subnet_in_an_endpoint(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  subnets: [infra, oam, infra]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.subnets[2]',
                           "duplicate subnet 'infra' (also at index 0)", 6, 29)

    def test_network_managed_by_two_interconnects(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
              - name: ic2
                local: {site: paris, networks: [{name: a, cidr: 10.3.0.0/24}]}
                remote: {site: lyon, networks: [{name: d, cidr: 10.4.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[1].local.networks[0].name',
                           "network 'a' on site 'paris' is already managed by "
                           'interconnects[0]; each interconnect needs its own',
                           7, 44)

    def test_router_managed_by_two_interconnects(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, subnets: [a], router: {name: r}}
                remote: {site: lyon, subnets: [b], router: {name: r}}
                overlay: {type: bgpvpn, associate: router}
              - name: ic2
                local: {site: paris, subnets: [c], router: {name: r2}}
                remote: {site: lyon, subnets: [d], router: {name: r}}
                overlay: {type: bgpvpn, associate: router}
            ''')
        self.assertProblem(problem, 'interconnects[1].remote.router.name',
                           "router 'r' on site 'lyon' is already managed by "
                           'interconnects[0]', 8, 55)

    def test_shared_network_of_segments_managed_by_two_interconnects(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote: {site: cell2, segment: {cidr: 10.5.2.0/24}}
                overlay: {type: segments, network_type: flat, network: dr}
              - name: cells2
                local: {site: cell1, segment: {cidr: 10.6.1.0/24}}
                remote: {site: cell2, segment: {cidr: 10.6.2.0/24}}
                overlay: {type: segments, network_type: flat, network: dr}
            ''')
        self.assertProblem(problem, 'interconnects[1].overlay.network',
                           "network 'dr' on site 'cell1' is already managed "
                           'by interconnects[0]', 9, 60)

    def test_same_network_name_on_other_sites_is_valid(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
              - name: ic2
                local: {site: lyon, networks: [{name: a, cidr: 10.3.0.0/24}]}
                remote: {site: paris, networks: [{name: b, cidr: 10.4.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')


class AddressProblemTest(ProblemTestCase):

    def remote_network_problem(self, network, place, message, column):
        """The problem of an l3 bgpvpn whose remote network is ``network``."""
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks:
                    - %s
                overlay: {type: bgpvpn}
            ''' % network)
        self.assertProblem(problem,
                           'interconnects[0].remote.networks[0].' + place,
                           message, 7, column)

    def test_invalid_cidr(self):
        self.remote_network_problem(
            '{name: b, cidr: 10.2.0.0/33}', 'cidr',
            "'10.2.0.0/33' is not a CIDR such as 10.10.0.0/24", 27)

    def test_name_instead_of_cidr(self):
        self.remote_network_problem(
            '{name: b, cidr: infra}', 'cidr',
            "'infra' is not a CIDR such as 10.10.0.0/24", 27)

    def test_cidr_with_host_bits_suggests_the_network(self):
        self.remote_network_problem(
            '{name: b, cidr: 10.2.0.1/24}', 'cidr',
            "'10.2.0.1/24' has host bits set; did you mean 10.2.0.0/24?", 27)

    def test_gateway_outside_its_cidr(self):
        self.remote_network_problem(
            '{name: b, cidr: 10.2.0.0/24, gateway_ip: 10.1.0.1}',
            'gateway_ip', '10.1.0.1 is outside 10.2.0.0/24', 52)

    def test_gateway_that_is_not_an_address(self):
        self.remote_network_problem(
            '{name: b, cidr: 10.2.0.0/24, gateway_ip: router}',
            'gateway_ip', "'router' is not an IP address", 52)

    def test_gateway_inside_its_cidr_is_valid(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks:
                    - {name: b, cidr: 10.2.0.0/24, gateway_ip: 10.2.0.254}
                overlay: {type: bgpvpn}
            ''')

    def test_segment_with_host_bits(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote: {site: cell2, segment: {cidr: 10.5.2.9/24}}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.segment.cidr',
                           'did you mean 10.5.2.0/24?', 4, 43)


class OverlapProblemTest(ProblemTestCase):

    def test_overlap_in_an_l3_bgpvpn(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks: [{name: b, cidr: 10.1.0.0/16}]
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.networks[0].cidr',
                           '10.1.0.0/16 overlaps '
                           'interconnects[0].local.networks[0].cidr '
                           '(10.1.0.0/24): the l3 bgpvpn overlay routes '
                           'between the two sides at L3', 6, 34)

    def test_overlap_in_ipsec(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local:
                  site: paris
                  networks: [{name: a, cidr: 10.1.0.0/24}]
                  router: {name: ra, external_network: public}
                remote:
                  site: lyon
                  networks: [{name: b, cidr: 10.1.0.128/25}]
                  router: {name: rb, external_network: public}
                overlay: {type: ipsec}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.networks[0].cidr',
                           '10.1.0.128/25 overlaps '
                           'interconnects[0].local.networks[0].cidr '
                           '(10.1.0.0/24): the ipsec overlay', 9, 34)

    def test_overlap_in_segments(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.0.0/16}}
                remote: {site: cell2, segment: {cidr: 10.5.2.0/24}}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.segment.cidr',
                           '10.5.2.0/24 overlaps '
                           'interconnects[0].local.segment.cidr '
                           '(10.5.0.0/16): the segments overlay', 4, 43)

    def test_no_overlap_check_in_an_l2_bgpvpn(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.1.0.0/24}]}
                overlay: {type: bgpvpn, vpn_type: l2}
            ''')

    def test_ipv4_and_ipv6_ranges_never_overlap(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: "fd00::/64"}]}
                overlay: {type: bgpvpn}
            ''')


class BgpvpnProblemTest(ProblemTestCase):

    def test_l2_bgpvpn_associated_with_a_router(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, subnets: [a], router: {name: ra}}
                remote: {site: lyon, subnets: [b], router: {name: rb}}
                overlay:
                  type: bgpvpn
                  vpn_type: l2
                  associate: router
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.associate',
                           'an l2 BGPVPN can only be associated with '
                           'networks, not a router', 8, 18)

    def test_associate_router_without_router(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, router: {name: ra}}
                remote: {site: lyon, subnets: [b]}
                overlay: {type: bgpvpn, associate: router}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.router',
                           'associate: router needs a router on each side',
                           4, 13)

    def test_associate_router_needs_no_networks(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, router: {name: ra}}
                remote: {site: lyon, router: {name: rb}}
                overlay: {type: bgpvpn, associate: router}
            ''')

    def test_endpoint_without_networks_or_subnets(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote', 'the bgpvpn '
                           'overlay needs at least one network or subnet to '
                           'associate', 4, 13)

    def test_existing_subnets_are_enough(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, subnets: [infra-paris]}
                remote: {site: lyon, subnets: [infra-lyon]}
                overlay: {type: bgpvpn}
            ''')

    def test_segment_given_to_a_bgpvpn_endpoint(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote:
                  site: lyon
                  networks: [{name: b, cidr: 10.2.0.0/24}]
                  segment: {cidr: 10.3.0.0/24}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.segment',
                           'only the segments overlay uses "segment"', 7, 16)

    def test_route_targets_shared_by_two_interconnects(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local: {site: paris, subnets: [a]}
                remote: {site: lyon, subnets: [b]}
                overlay: {type: bgpvpn, route_targets: ["64512:1"]}
              - name: ic2
                local: {site: paris, subnets: [c]}
                remote: {site: lyon, subnets: [d]}
                overlay: {type: bgpvpn, route_targets: ["64512:2", "64512:1"]}
            ''')
        self.assertProblem(problem,
                           'interconnects[1].overlay.route_targets[1]',
                           'route target 64512:1 is also used by '
                           'interconnects[0]; two interconnects must not '
                           'share route targets', 9, 56)

    def test_route_targets_of_both_kinds(self):
        self.assertValid('''\
            interconnects:
              - name: ic
                local: {site: paris, subnets: [a]}
                remote: {site: lyon, subnets: [b]}
                overlay:
                  type: bgpvpn
                  route_targets: ["64512:1", "10.0.0.1:7"]
            ''')


class IpsecProblemTest(ProblemTestCase):

    def test_endpoint_without_router(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local:
                  site: paris
                  networks: [{name: a, cidr: 10.1.0.0/24}]
                  router: {name: ra, external_network: public}
                remote:
                  site: lyon
                  networks: [{name: b, cidr: 10.2.0.0/24}]
                overlay: {type: ipsec}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.router',
                           'the ipsec overlay needs a router with an '
                           'external_network', 8, 7)

    def test_router_without_external_network(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local:
                  site: paris
                  networks: [{name: a, cidr: 10.1.0.0/24}]
                  router: {name: ra, external_network: public}
                remote:
                  site: lyon
                  networks: [{name: b, cidr: 10.2.0.0/24}]
                  router: {name: rb}
                overlay: {type: ipsec}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.router',
                           'the ipsec overlay needs a router with an '
                           'external_network', 10, 15)

    def test_endpoint_without_networks_or_subnets(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local:
                  site: paris
                  networks: [{name: a, cidr: 10.1.0.0/24}]
                  router: {name: ra, external_network: public}
                remote:
                  site: lyon
                  router: {name: rb, external_network: public}
                overlay: {type: ipsec}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote',
                           'the ipsec overlay needs at least one network or '
                           'subnet to protect', 8, 7)

    def test_segment_given_to_an_ipsec_endpoint(self):
        problem = self.only_problem('''\
            interconnects:
              - name: ic
                local:
                  site: paris
                  subnets: [a]
                  router: {name: ra, external_network: public}
                  segment: {cidr: 10.3.0.0/24}
                remote:
                  site: lyon
                  subnets: [b]
                  router: {name: rb, external_network: public}
                overlay: {type: ipsec}
            ''')
        self.assertProblem(problem, 'interconnects[0].local.segment',
                           'only the segments overlay uses "segment"', 7, 16)


class SegmentsProblemTest(ProblemTestCase):

    def test_site_that_is_not_a_cell(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote:
                  site: paris
                  segment: {cidr: 10.5.2.0/24}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.site',
                           "site 'paris' is not a cell: the segments overlay "
                           'joins two cells of one region', 5, 13)

    def test_cells_of_different_regions(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell2, segment: {cidr: 10.5.1.0/24}}
                remote:
                  site: lyon-cell
                  segment: {cidr: 10.5.2.0/24}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.site',
                           'the segments overlay joins two cells of one '
                           "region, but 'cell2' is cloud 'telco' region "
                           "'paris' and 'lyon-cell' is cloud 'telco' region "
                           "'lyon'", 5, 13)

    def test_endpoint_without_segment(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote: {site: cell2}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote', 'the segments '
                           'overlay needs a "segment" (cidr, segmentation_id) '
                           'for each cell', 4, 13)

    def test_vlan_segment_without_segmentation_id(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local:
                  site: cell1
                  segment: {cidr: 10.5.1.0/24, segmentation_id: 110}
                remote:
                  site: cell2
                  segment: {cidr: 10.5.2.0/24}
                overlay: {type: segments}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.segment',
                           'a vlan segment needs a segmentation_id', 8, 16)

    def test_flat_segment_with_segmentation_id(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote:
                  site: cell2
                  segment: {cidr: 10.5.2.0/24, segmentation_id: 210}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem,
                           'interconnects[0].remote.segment.segmentation_id',
                           'a flat segment has no segmentation_id', 6, 53)

    def test_same_physical_network_and_segmentation_id(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local:
                  site: cell1
                  segment: {cidr: 10.5.1.0/24, segmentation_id: 110}
                remote:
                  site: cell3
                  segment: {cidr: 10.5.2.0/24, segmentation_id: 110}
                overlay: {type: segments}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.segment',
                           "cells 'cell1' and 'cell3' share physical network "
                           "'physnet1', so their segments need different "
                           'segmentation ids', 8, 16)

    def test_flat_segments_on_the_same_physical_network(self):
        problem = self.only_problem('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote: {site: cell3, segment: {cidr: 10.5.2.0/24}}
                overlay: {type: segments, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.segment',
                           "share physical network 'physnet1'", 4, 36)

    def test_same_physical_network_with_other_segmentation_ids(self):
        self.assertValid('''\
            interconnects:
              - name: cells
                local:
                  site: cell1
                  segment: {cidr: 10.5.1.0/24, segmentation_id: 110}
                remote:
                  site: cell3
                  segment: {cidr: 10.5.2.0/24, segmentation_id: 111}
                overlay: {type: segments}
            ''')

    def test_networks_subnets_and_router_given_to_a_cell(self):
        problems = self.problems('''\
            interconnects:
              - name: cells
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote:
                  site: cell2
                  segment: {cidr: 10.5.2.0/24}
                  networks: [{name: b, cidr: 10.6.0.0/24}]
                  subnets: [c]
                  router: {name: r}
                overlay: {type: segments, network_type: flat}
            ''')
        base_place = 'interconnects[0].remote.'
        self.assertEqual([base_place + key
                          for key in ('networks', 'subnets', 'router')],
                         [p.place for p in problems])
        for line, (key, problem) in enumerate(
                zip(('networks', 'subnets', 'router'), problems), 7):
            self.assertProblem(problem, base_place + key, 'the segments '
                               'overlay builds one shared network; give this '
                               'cell its "segment" instead of %s' % key,
                               line)


class SharedAndFailureDomainProblemTest(ProblemTestCase):
    """What one Neutron holds belongs to one interconnect."""

    def test_a_segments_network_shared_by_two_interconnects(self):
        problem = self.only_problem('''\
            interconnects:
              - name: one
                local: {site: cell1, segment: {cidr: 10.5.1.0/24}}
                remote: {site: cell2, segment: {cidr: 10.5.2.0/24}}
                overlay: {type: segments, network: dr, network_type: flat}
              - name: two
                local: {site: cell2, segment: {cidr: 10.6.2.0/24}}
                remote: {site: cell1, segment: {cidr: 10.6.1.0/24}}
                overlay: {type: segments, network: dr, network_type: flat}
            ''')
        self.assertProblem(problem, 'interconnects[1].overlay.network',
                           "network 'dr' on site 'cell2' is already managed "
                           'by interconnects[0]', 9, 40)

    def test_a_network_of_a_region_and_of_its_cell(self):
        problem = self.only_problem('''\
            interconnects:
              - name: one
                local: {site: paris, networks: [{name: n, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: m, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
              - name: two
                local: {site: cell1, networks: [{name: n, cidr: 10.3.0.0/24}]}
                remote: {site: lyon, networks: [{name: k, cidr: 10.4.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[1].local.networks[0].name',
                           "network 'n' on site 'cell1' is already managed "
                           'by interconnects[0]', 7, 44)

    def test_a_region_and_one_of_its_cells(self):
        problem = self.only_problem('''\
            interconnects:
              - name: one
                local: {site: paris, networks: [{name: n, cidr: 10.1.0.0/24}]}
                remote: {site: cell1, networks: [{name: m, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')
        self.assertProblem(problem, 'interconnects[0].remote.site',
                           "site 'cell1' is a cell of the region of site "
                           "'paris'", 4, 20)

    def test_an_overlay_without_type_gets_one_message(self):
        problem = self.only_problem('''\
            interconnects:
              - name: one
                local: {site: paris, networks: [{name: n, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: m, cidr: 10.2.0.0/24}]}
                overlay: {vpn_type: l3}
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay',
                           "'type' is required here", 5, 14)

    def test_overlapping_ranges_of_one_side(self):
        problem = self.only_problem('''\
            interconnects:
              - name: one
                local:
                  site: paris
                  networks:
                    - {name: a, cidr: 10.1.0.0/16}
                    - {name: b, cidr: 10.1.2.0/24}
                remote: {site: lyon, networks: [{name: m, cidr: 10.2.0.0/24}]}
                overlay: {type: bgpvpn}
            ''')
        self.assertIn('two ranges of one side must be distinct',
                      problem.message)

    def test_an_invalid_environment_variable_name(self):
        problem = self.only_problem('''\
            interconnects:
              - name: one
                local:
                  site: paris
                  networks: [{name: n, cidr: 10.1.0.0/24}]
                  router: {name: r, external_network: public}
                remote:
                  site: lyon
                  networks: [{name: m, cidr: 10.2.0.0/24}]
                  router: {name: s, external_network: public}
                overlay: {type: ipsec, psk: {env: "my var"}}
            ''')
        self.assertProblem(problem, 'interconnects[0].overlay.psk.env',
                           "'my var' is not valid: a variable name", 11, 39)


class SeveralProblemsTest(ProblemTestCase):

    TEXT = '''\
        interconnects:
          - name: ic
            local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
            remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/33}]}
            overlay: {type: bgpvpn}
          - name: ic
            local: {site: paris, networks: [{name: a, cidr: 10.3.0.0/24}]}
            remote: {site: berlin, networks: [{name: d, cidr: 10.4.0.0/24}]}
            overlay: {type: bgpvpn}
        '''

    def test_every_problem_is_reported_sorted_by_line(self):
        problems = self.problems(self.TEXT)
        self.assertEqual(
            [(4, 'interconnects[0].remote.networks[0].cidr'),
             (6, 'interconnects[1].name'),
             (7, 'interconnects[1].local.networks[0].name'),
             (8, 'interconnects[1].remote.site')],
            [(p.position.line, p.place) for p in problems])

    def test_schema_problems_are_all_reported_sorted_by_line(self):
        problems = self.problems('''\
            interconnects:
              - name: IC
                local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
                remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
                overlay: {type: gre}
            version: 2
            ''', rest='name: test\nsites: {paris: {cloud: telco}}\n')
        self.assertEqual(
            [(2, 'interconnects[0].name'),
             (5, 'interconnects[0].overlay.type'),
             (6, 'version')],
            [(p.position.line, p.place) for p in problems])

    def test_error_message_gives_the_count_and_every_problem(self):
        error = self.error(self.TEXT)
        message = str(error)
        self.assertIn('plan.yaml is not a valid plan (4 problems):', message)
        for problem in error.problems:
            self.assertIn('\n  ' + problem.format('plan.yaml'), message)

    def test_error_message_of_one_problem(self):
        e = self.assertRaises(exceptions.PlanError, plan.parse,
                              'version: 1\nname: test\n', 'plan.yaml')
        self.assertEqual("plan.yaml is not a valid plan (1 problem):\n"
                         "  plan.yaml:1:1: 'sites' is required here", str(e))


class ProblemTest(base.TestCase):
    """How a problem is shown to an operator."""

    PATH = ('interconnects', 0, 'remote', 'networks', 1, 'cidr')

    def test_place_of_a_path(self):
        self.assertEqual('interconnects[0].remote.networks[1].cidr',
                         validate.Problem(self.PATH, 'wrong').place)

    def test_place_of_the_whole_plan(self):
        self.assertEqual('', validate.Problem((), 'wrong').place)

    def test_format_with_position(self):
        problem = validate.Problem(self.PATH, 'wrong', loader.Position(4, 9))
        self.assertEqual(
            'plan.yaml:4:9: interconnects[0].remote.networks[1].cidr: wrong',
            problem.format('plan.yaml'))

    def test_format_without_position(self):
        problem = validate.Problem(('name',), 'wrong')
        self.assertEqual('plan.yaml: name: wrong',
                         problem.format('plan.yaml'))

    def test_format_of_the_whole_plan(self):
        problem = validate.Problem((), 'the file is empty',
                                   loader.Position(1, 1))
        self.assertEqual('plan.yaml:1:1: the file is empty',
                         problem.format('plan.yaml'))

    def test_to_dict(self):
        problem = validate.Problem(self.PATH, 'wrong', loader.Position(4, 9))
        self.assertEqual({'path': 'interconnects[0].remote.networks[1].cidr',
                          'line': 4, 'column': 9, 'message': 'wrong'},
                         problem.to_dict())

    def test_to_dict_without_position(self):
        self.assertEqual({'path': 'name', 'line': None, 'column': None,
                          'message': 'wrong'},
                         validate.Problem(('name',), 'wrong').to_dict())

    def test_problems_of_plain_data_have_no_position(self):
        data = base.plan_data(version=2)
        e = self.assertRaises(exceptions.PlanError, plan.from_document, data)
        self.assertEqual(['version'], [p.place for p in e.problems])
        self.assertIsNone(e.problems[0].position)
        self.assertEqual('<plan>', e.source)


class ValidPlanTest(base.TestCase):

    def test_example_plan(self):
        example = plan.load(base.EXAMPLE_PLAN)
        self.assertEqual('telco-east', example.name)
        self.assertEqual(['core-vpn', 'oam-ipsec', 'cells'],
                         [ic.name for ic in example.interconnects])

    def test_minicloud_plan(self):
        minicloud = plan.load(base.EXAMPLE_PLAN.replace('example.yaml',
                                                        'minicloud.yaml'))
        self.assertEqual('demo', minicloud.name)
        self.assertEqual(['east', 'east-cell1', 'east-cell2', 'west'],
                         sorted(minicloud.sites))

    def test_plan_of_the_unit_tests(self):
        self.assertEqual('test', base.make_plan().name)

    def test_plan_without_interconnects(self):
        valid = plan.parse('version: 1\nname: test\nsites: {paris: '
                           '{cloud: telco}}\n')
        self.assertEqual((), valid.interconnects)

    def test_source_is_remembered(self):
        self.assertEqual(base.EXAMPLE_PLAN,
                         plan.load(base.EXAMPLE_PLAN).source)
