"""Protection groups in plans: the model and every semantic check."""

import os
import textwrap

from geoflows import exceptions
from geoflows import plan
from geoflows.plan import protection
from tests.unit import base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

SITES = '''\
version: 1
name: dr
sites:
  paris: {cloud: telco, region: paris}
  lyon: {cloud: telco, region: lyon}
  paris-bis: {cloud: telco, region: paris}
interconnects:
  - name: core
    local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
    remote: {site: lyon, networks: [{name: b, cidr: 10.2.0.0/24}]}
    overlay: {type: bgpvpn}
  - name: other
    local: {site: lyon, networks: [{name: c, cidr: 10.3.0.0/24}]}
    remote: {site: paris-bis, networks: [{name: d, cidr: 10.4.0.0/24}]}
    overlay: {type: bgpvpn}
'''

GROUP = '''\
protection_groups:
  - name: core
    primary: paris
    dr: lyon
    interconnect: core
    rpo: 10m
    rto: 900
    sync_interval: 5m
    vnfs:
      - name: hss
        priority: 1
        standby: hot
        servers: [hss-1, hss-2]
      - name: pgw
        priority: 2
        standby: warm
        depends_on: [hss]
        servers: {selector: {vnf: pgw}}
        data:
          - {volume: pgw-cfg, method: backup, options: {max_chain: 5}}
'''


class ProtectionTestCase(base.TestCase):

    def parse(self, group=GROUP, sites=SITES):
        return plan.parse(sites + textwrap.dedent(group), 'plan.yaml')

    def problems(self, group, sites=SITES):
        e = self.assertRaises(exceptions.PlanError, self.parse, group, sites)
        return e.problems

    def assertOnly(self, group, place, fragment):
        problems = self.problems(group)
        self.assertEqual([place], [p.place for p in problems], problems)
        self.assertIn(fragment, problems[0].message)
        self.assertIsNotNone(problems[0].position)
        return problems[0]


class TestModel(ProtectionTestCase):

    def test_a_group_with_its_vnfs(self):
        p = self.parse()
        [group] = p.protection_groups
        self.assertIs(group, p.protection_group('core'))
        self.assertEqual(('paris', 'lyon', 'core'),
                         (group.primary, group.dr, group.interconnect))
        self.assertEqual((600, 900, 300, 3), (
            group.rpo, group.rto, group.sync_interval, group.retention))
        hss, pgw = group.vnfs
        self.assertEqual(('hss-1', 'hss-2'), hss.servers)
        self.assertIsNone(hss.selector)
        self.assertEqual({'vnf': 'pgw'}, pgw.selector)
        self.assertEqual(('hss',), pgw.depends_on)
        self.assertEqual('backup', pgw.method_of('pgw-cfg').method)
        self.assertEqual({'max_chain': 5}, pgw.method_of('pgw-cfg').options)
        self.assertEqual('backup', pgw.method_of('other').method)
        self.assertEqual('vnf-net', group.dr_network('vnf-net'))

    def test_plans_without_groups_stay_valid(self):
        self.assertEqual((), self.parse(group='').protection_groups)

    def test_the_example_plans_are_valid(self):
        for name in ('example.yaml', 'minicloud.yaml'):
            loaded = plan.load(os.path.join(REPO, 'etc', 'plans', name))
            self.assertTrue(loaded.protection_groups, name)

    def test_durations(self):
        self.assertEqual(90, protection.seconds('90s'))
        self.assertEqual(5400, protection.seconds('1h30m'))
        self.assertEqual(86400 + 60, protection.seconds('1d1m'))
        self.assertEqual(42, protection.seconds(42))
        for bad in ('', '5x', 'm', True, None, '1m1h'):
            self.assertRaises(ValueError, protection.seconds, bad)
        self.assertEqual('1m30s', protection.describe_seconds(90))
        self.assertEqual('45s', protection.describe_seconds(45))
        self.assertEqual('2h', protection.describe_seconds(7200))

    def test_a_bad_duration_is_placed(self):
        problems = self.problems(GROUP.replace('rpo: 10m', 'rpo: 10 min'))
        self.assertEqual(['protection_groups[0].rpo'],
                         [p.place for p in problems])
        self.assertEqual(21, problems[0].position.line)


class TestChecks(ProtectionTestCase):

    def test_unknown_site(self):
        self.assertOnly(GROUP.replace('dr: lyon', 'dr: nice'),
                        'protection_groups[0].dr', "unknown site 'nice'")

    def test_dr_site_is_the_primary(self):
        problem = self.assertOnly(
            GROUP.replace('dr: lyon', 'dr: paris').replace(
                '    interconnect: core\n', ''),
            'protection_groups[0].dr', 'must differ from the primary')
        self.assertEqual(19, problem.position.line)

    def test_dr_site_in_the_same_region(self):
        self.assertOnly(
            GROUP.replace('dr: lyon', 'dr: paris-bis').replace(
                '    interconnect: core\n', ''),
            'protection_groups[0].dr', 'same OpenStack region')

    def test_interconnect_unknown_or_elsewhere(self):
        self.assertOnly(GROUP.replace('interconnect: core',
                                      'interconnect: nope'),
                        'protection_groups[0].interconnect',
                        "unknown interconnect 'nope'")
        self.assertOnly(GROUP.replace('interconnect: core',
                                      'interconnect: other'),
                        'protection_groups[0].interconnect',
                        "joins 'lyon' and 'paris-bis'")

    def test_rpo_shorter_than_the_sync_interval(self):
        self.assertOnly(GROUP.replace('rpo: 10m', 'rpo: 1m'),
                        'protection_groups[0].rpo',
                        'an RPO of 1m cannot be met with a sync every 5m')

    def test_unknown_vnf_in_depends_on(self):
        self.assertOnly(GROUP.replace('depends_on: [hss]',
                                      'depends_on: [hsss]'),
                        'protection_groups[0].vnfs[1].depends_on[0]',
                        "unknown VNF 'hsss' (VNFs of group 'core': hss, pgw)")

    def test_depending_on_a_lower_priority(self):
        self.assertOnly(GROUP.replace('priority: 1', 'priority: 3'),
                        'protection_groups[0].vnfs[1].depends_on[0]',
                        "which has a lower priority (3)")

    def test_a_cycle_is_printed(self):
        group = GROUP.replace(
            "        servers: [hss-1, hss-2]",
            "        servers: [hss-1, hss-2]\n        depends_on: [pgw]"
        ).replace('priority: 2', 'priority: 1')
        problem = self.assertOnly(group,
                                  'protection_groups[0].vnfs[0].depends_on',
                                  'dependency cycle: ')
        self.assertTrue(problem.message.endswith('hss -> pgw -> hss') or
                        problem.message.endswith('pgw -> hss -> pgw'),
                        problem.message)

    def test_a_vnf_depending_on_itself(self):
        self.assertOnly(GROUP.replace('depends_on: [hss]',
                                      'depends_on: [pgw]'),
                        'protection_groups[0].vnfs[1].depends_on[0]',
                        'depends on itself')

    def test_the_same_server_in_two_vnfs(self):
        group = GROUP.replace('servers: {selector: {vnf: pgw}}',
                              'servers: [pgw-1, hss-2]')
        self.assertOnly(group, 'protection_groups[0].vnfs[1].servers[1]',
                        "server 'hss-2' is already protected by "
                        "protection_groups[0].vnfs[0] (hss)")

    def test_the_same_server_in_two_groups(self):
        second = GROUP.replace('- name: core', '- name: again').replace(
            'protection_groups:\n', '').replace('name: pgw', 'name: x')
        problems = self.problems(GROUP + second)
        self.assertIn('protection_groups[1].vnfs[0].servers[0]',
                      [p.place for p in problems])

    def test_duplicate_names(self):
        problems = self.problems(GROUP.replace('name: pgw', 'name: hss'))
        self.assertIn('protection_groups[0].vnfs[1].name',
                      [p.place for p in problems])

    def test_unknown_replication_method(self):
        self.assertOnly(GROUP.replace('method: backup', 'method: drbd'),
                        'protection_groups[0].vnfs[1].data[0].method',
                        "unknown replication method 'drbd' (installed: ")

    def test_a_method_checks_its_options(self):
        self.assertOnly(GROUP.replace('max_chain: 5', 'max_chain: 0'),
                        'protection_groups[0].vnfs[1].data[0].options'
                        '.max_chain', 'max_chain is a number')
        self.assertOnly(GROUP.replace('max_chain: 5', 'depth: 5'),
                        'protection_groups[0].vnfs[1].data[0].options.depth',
                        "unknown option 'depth'")

    def test_hooks_are_checked(self):
        group = GROUP.replace(
            "        servers: [hss-1, hss-2]",
            "        servers: [hss-1, hss-2]\n"
            "        hooks:\n"
            "          quiesce: [{command: [bin/freeze]}]")
        self.assertOnly(group,
                        'protection_groups[0].vnfs[0].hooks.quiesce[0]'
                        '.command[0]', 'relative path')

    def test_the_schema_bounds_what_it_takes(self):
        for old, new, place in (
                ('standby: hot', 'standby: tepid',
                 'protection_groups[0].vnfs[0].standby'),
                ('priority: 1', 'priority: 0',
                 'protection_groups[0].vnfs[0].priority'),
                ('servers: [hss-1, hss-2]', 'servers: []',
                 'protection_groups[0].vnfs[0].servers'),
                ('servers: {selector: {vnf: pgw}}', 'servers: {selector: {}}',
                 'protection_groups[0].vnfs[1].servers.selector'),
                ('rto: 900', 'rto: -5', 'protection_groups[0].rto')):
            problems = self.problems(GROUP.replace(old, new))
            self.assertIn(place, [p.place for p in problems], (new, problems))

    def test_checks_stay_linear(self):
        vnfs = ''.join(
            '      - {name: v%d, priority: 1, standby: cold, '
            'servers: [s%d], depends_on: [v%d]}\n' % (i, i, max(i - 1, 0))
            for i in range(1, 3000))
        group = GROUP.split('    vnfs:\n')[0] + '    vnfs:\n' + \
            '      - {name: v0, priority: 1, standby: cold, servers: [s0]}\n' \
            + vnfs
        [group_obj] = self.parse(group).protection_groups
        self.assertEqual(3000, len(group_obj.vnfs))
