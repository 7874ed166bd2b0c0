"""Hostile plans, one test per kind of trouble found by fuzzing.

Each refused plan gives a PlanError, and nothing else, whose problems are
placed at a line and column of the text.  tests/unit/plan/test_fuzz.py
generates many more.
"""

import os
import textwrap
import time

import fixtures

from geoflows import conf
from geoflows import exceptions
from geoflows import plan
from geoflows.plan import loader
from tests.unit import base

with open(base.EXAMPLE_PLAN) as f:
    EXAMPLE = f.read()


def ic_plan(overlay='{type: bgpvpn}', local_nets='[{name: a, cidr: '
            '10.1.0.0/24}]', remote_nets='[{name: b, cidr: 10.2.0.0/24}]'):
    return textwrap.dedent('''\
        version: 1
        name: test
        sites:
          paris: {cloud: telco, region: paris}
          lyon: {cloud: telco, region: lyon}
        interconnects:
          - name: ic
            local: {site: paris, networks: %s}
            remote: {site: lyon, networks: %s}
            overlay: %s
        ''') % (local_nets, remote_nets, overlay)


class HostileTestCase(base.TestCase):

    def problems(self, text, limits=None):
        e = self.assertRaises(exceptions.PlanError, plan.parse, text,
                              'plan.yaml', limits)
        for problem in e.problems:
            self.assertIsNotNone(problem.position, problem)
            line = problem.format(e.source)
            self.assertTrue(line.isprintable(), line)
        return e.problems

    def only(self, text, limits=None):
        problems = self.problems(text, limits)
        self.assertEqual(1, len(problems), problems)
        return problems[0]

    def assertAt(self, problem, line, column, *fragments, place=None):
        self.assertEqual((line, column), (problem.position.line,
                                          problem.position.column),
                         problem)
        for fragment in fragments:
            self.assertIn(fragment, problem.message)
        if place is not None:
            self.assertEqual(place, problem.place)


class ConversionTest(HostileTestCase):
    """Values whose conversion fails are placed problems."""

    def value_problem(self, value):
        return self.only('version: 1\nname: test\ndescription: %s\n'
                         'sites: {paris: {cloud: telco}}\n' % value)

    def test_impossible_date(self):
        self.assertAt(self.value_problem('2024-02-30'), 3, 14,
                      "cannot read '2024-02-30' as !!timestamp",
                      'day is out of range for month',
                      place='description')

    def test_impossible_month(self):
        self.assertAt(self.value_problem('2024-13-01'), 3, 14,
                      'month must be in 1..12')

    def test_impossible_timestamp(self):
        self.assertAt(self.value_problem('2024-01-01T25:00:00'), 3, 14,
                      'as !!timestamp')

    def test_explicit_tags_that_do_not_fit_their_value(self):
        for value, tag in (('!!int "x"', '!!int'), ('!!bool "y"', '!!bool'),
                           ('!!timestamp "+"', '!!timestamp'),
                           ('!!int ""', '!!int'), ('!!float "x"', '!!float'),
                           ('!!binary "\u00e9"', '!!binary')):
            problem = self.value_problem(value)
            self.assertAt(problem, 3, 14, 'cannot read', 'as %s' % tag)

    def test_unknown_tag_on_a_value(self):
        self.assertAt(self.value_problem('!!python/name:os.system x'), 3, 14,
                      'could not determine a constructor for the tag '
                      "'!!python/name:os.system'")

    def test_a_key_that_cannot_be_converted(self):
        problem = self.only('version: 1\n2024-02-30: x\n')
        self.assertAt(problem, 2, 1, 'day is out of range')


class HugeIntegerTest(HostileTestCase):
    """Integers past Python's 4,300-digit limit, in any field."""

    def test_decimal(self):
        self.assertAt(self.value_problem('1' * 5000), 1, 10,
                      'an integer of more than 4300 digits', place='version')

    def test_hexadecimal(self):
        self.assertAt(self.value_problem('0x' + 'f' * 4000), 1, 10,
                      'an integer of more than 4300 digits')

    def test_sexagesimal(self):
        self.assertAt(self.value_problem(':'.join(['59'] * 2500)), 1, 10,
                      'an integer of more than 4300 digits')

    def value_problem(self, value):
        return self.only('version: %s\nname: test\nsites: {paris: {cloud: '
                         'telco}}\n' % value)

    def test_in_an_otherwise_valid_plan(self):
        # Valid by the schema (a lifetime has no maximum): this crashed
        # while computing the digest.
        text = EXAMPLE.replace('ike: {ike_version: v2, pfs: group14}',
                               'ike: {lifetime: 0x%s}' % ('f' * 4000))
        problem = self.only(text)
        self.assertEqual('interconnects[1].overlay.ike.lifetime',
                         problem.place)
        self.assertIn('more than 4300 digits', problem.message)

    def test_a_large_integer_within_the_limit_is_kept(self):
        text = EXAMPLE.replace('ike: {ike_version: v2, pfs: group14}',
                               'ike: {lifetime: %s}' % ('9' * 4000))
        self.assertTrue(plan.parse(text).digest.startswith('sha256:'))


class AliasBombTest(HostileTestCase):
    """Anchors and aliases that expand into millions of values."""

    BOMB = textwrap.dedent('''\
        version: 1
        name: test
        sites:
          a: &a {cloud: [x, x, x, x, x, x, x, x, x, x]}
          b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
          c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
          d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
          e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
          f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
          g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
          h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
        ''')

    def test_refused_at_the_alias_that_passes_the_budget(self):
        started = time.process_time()
        problem = self.only(self.BOMB)
        self.assertLess(time.process_time() - started, 1)
        # a holds 13 values, b 131, ... f 1,311,111: the first *f of g
        # passes 2,000,000.
        self.assertAt(problem, 10, 10, 'more than 2000000 values once its '
                      'aliases are expanded', '[plan] max_nodes',
                      'this alias')

    def test_the_budget_is_an_option(self):
        problem = self.only(self.BOMB, plan.Limits(max_nodes=1000))
        # The 7th *b of c: about 153 values before c, 131 each.
        self.assertAt(problem, 6, 34, 'more than 1000 values')

    def test_merge_keys_count_what_they_bring(self):
        lines = ['version: 1', 'k0: &k0 {a: [1, 2, 3, 4, 5, 6, 7, 8]}']
        for i in range(1, 40):
            lines.append('k%d: &k%d {<<: [*k%d, *k%d], x%d: 1}'
                         % (i, i, i - 1, i - 1, i))
        problem = self.only('\n'.join(lines) + '\n')
        self.assertIn('[plan] max_nodes', problem.message)

    def test_a_plan_with_aliases_within_the_budget_is_valid(self):
        text = EXAMPLE.replace(
            '      router: {name: oam-edge-paris, external_network: public}',
            '      router: &edge {name: oam-edge-paris, '
            'external_network: public}').replace(
            '    overlay:\n      type: ipsec',
            '    overlay: &ipsec\n      type: ipsec')
        self.assertEqual(plan.load(base.EXAMPLE_PLAN).digest,
                         plan.parse(text).digest)


class DepthTest(HostileTestCase):

    def test_deep_nesting_is_placed_where_it_passes_the_limit(self):
        problem = self.only('version: 1\nname: ' + '[' * 500 + ']' * 500)
        # The plan's mapping is level 1: the 64th bracket passes 64.
        self.assertAt(problem, 2, 6 + 64, 'deeper than 64 levels',
                      '[plan] max_depth')

    def test_very_deep_nesting_is_placed(self):
        # libyaml's scanner stops at 1,000 flow levels, before geoflows
        # sees them: its own message, placed all the same.
        problem = self.only('version: 1\nname: ' + '[' * 5000 + ']' * 5000)
        self.assertEqual(2, problem.position.line)
        self.assertIn('nesting depth' if loader._CParser else 'deeper',
                      problem.message)

    def test_deep_mappings(self):
        text = 'version: 1\nname: ' + '{a: ' * 100 + '1' + '}' * 100
        self.assertAt(self.only(text), 2, 6 + 4 * 63 + 1, 'deeper than 64')

    def test_an_alias_that_nests_too_deep_is_placed_at_the_alias(self):
        text = ('version: 1\nx: &x ' + '[' * 40 + ']' * 40 + '\n'
                'name: ' + '[' * 30 + '*x' + ']' * 30 + '\n')
        self.assertAt(self.only(text), 3, 7 + 30, 'once this alias is '
                      'expanded', '[plan] max_depth')

    def test_the_depth_is_an_option(self):
        problem = self.only('version: 1\nname: [[[[[[[[[[1]]]]]]]]]]\n',
                            plan.Limits(max_depth=8))
        self.assertAt(problem, 2, 14, 'deeper than 8 levels')


class SizeTest(HostileTestCase):

    def test_text_larger_than_max_bytes(self):
        text = 'version: 1\n' + '# comment\n' * 200
        problem = self.only(text, plan.Limits(max_bytes=1024))
        # Byte 1025 is on line 103 (11 + 101 * 10 bytes before it).
        self.assertAt(problem, 103, 4, 'larger than 1024 bytes',
                      '[plan] max_bytes')

    def test_a_file_larger_than_max_bytes_is_not_read_whole(self):
        path = os.path.join(self.tmp, 'big.yaml')
        with open(path, 'w') as f:
            f.write('version: 1\n' + '# comment\n' * 200000)
        self.useFixture(fixtures.MonkeyPatch(
            'geoflows.plan.loader.Limits.from_config',
            classmethod(lambda cls, conf=None: cls(max_bytes=4096))))
        e = self.assertRaises(exceptions.PlanError, plan.load, path)
        self.assertIn('larger than 4096 bytes', e.problems[0].message)

    def test_limits_come_from_the_configuration(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_PLAN__MAX_BYTES',
                                                     '2048'))
        conf.load([])
        self.addCleanup(conf.CONF.reset)
        self.addCleanup(conf.CONF.clear)
        self.assertEqual(2048, plan.Limits.from_config().max_bytes)
        problem = self.only('version: 1\n' + '#' * 3000 + '\n')
        self.assertIn('larger than 2048 bytes', problem.message)

    def test_defaults_without_a_configuration(self):
        self.assertEqual(plan.Limits(), plan.Limits.from_config(object()))
        self.assertEqual((8 * 1024 * 1024, 2000000, 64), (
            plan.Limits().max_bytes, plan.Limits().max_nodes,
            plan.Limits().max_depth))


class CharacterTest(HostileTestCase):
    """Unprintable characters and bytes that are not UTF-8, placed."""

    def test_nul(self):
        self.assertAt(self.only('version: 1\nname: te\x00st\n'), 2, 9,
                      'U+0000 is not allowed')

    def test_escape_character(self):
        self.assertAt(self.only('version: 1\nname: \x1b[31mred\n'), 2, 7,
                      'U+001B')

    def test_a_lone_surrogate_in_text(self):
        self.assertAt(self.only('version: 1\nname: \ud800\n'), 2, 7,
                      'a lone surrogate (U+D800)')

    def test_bytes_that_are_not_utf8(self):
        problem = self.only(b'version: 1\nname: caf\xe9\n')
        self.assertAt(problem, 2, 10, 'not UTF-8 text')

    def test_a_utf8_file_with_an_invalid_byte_further_on(self):
        path = os.path.join(self.tmp, 'plan.yaml')
        with open(path, 'wb') as f:
            f.write(b'version: 1\nname: \xc3\xa9t\xc3\xa9\n'
                    b'description: x\xff\n')
        e = self.assertRaises(exceptions.PlanError, plan.load, path)
        self.assertAt(e.problems[0], 3, 15, 'byte 0xff cannot start a '
                      'character')


class PrintingTest(HostileTestCase):
    """Keys and values are printed escaped, on one line."""

    def test_a_key_holding_a_newline(self):
        problem = self.only('version: 1\nname: test\n'
                            'sites: {"a\\nb": {cloud: c}}\n')
        line = problem.format('plan.yaml')
        self.assertEqual("plan.yaml:3:9: sites.a\\nb: 'a\\nb' is not a valid "
                         'name: Lower-case letters, digits and dashes; starts'
                         ' with a letter, at most 32 characters.', line)
        self.assertEqual('sites.a\\nb', problem.to_dict()['path'])

    def test_a_key_holding_a_lone_surrogate(self):
        # libyaml refuses "\\ud800" in YAML text; a mapping (Mistral, the
        # Python API) or PyYAML's own parser can hold one.
        data = {'version': 1, 'name': 'test',
                'sites': {'a\ud800b': {'cloud': 'c'}}}
        e = self.assertRaises(exceptions.PlanError, plan.from_document,
                              data, 'plan')
        line = e.problems[0].format(e.source)
        self.assertIn('plan: sites.a\\ud800b:', line)
        line.encode('utf-8')  # printable, and encodable
        str(e).encode('utf-8')

    def test_a_lone_surrogate_from_pyyaml_s_parser(self):
        self.useFixture(fixtures.MonkeyPatch(
            'geoflows.plan.loader._CParser', None))
        problem = self.only('version: 1\nname: test\n'
                            'sites: {"a\\ud800b": {cloud: c}}\n')
        self.assertEqual('sites.a\\ud800b', problem.to_dict()['path'])
        self.assertAt(problem, 3, 9, 'is not a valid name')

    def test_a_source_name_with_control_characters(self):
        e = self.assertRaises(exceptions.PlanError, plan.parse, '',
                              'evil\n\x1b[2J.yaml')
        self.assertEqual('evil\\n\\x1b[2J.yaml:1:1: the file is empty',
                         e.problems[0].format(e.source))

    def test_a_long_value_is_cut_in_messages(self):
        problem = self.only('version: 1\nname: %s\nsites: {a: {cloud: c}}\n'
                            % ('x' * 100000))
        self.assertLess(len(problem.message), 300)


class NewlineTest(HostileTestCase):
    """JSON Schema patterns are ECMA-262: "$" is the end of the text."""

    def test_a_name_ending_in_a_newline(self):
        self.assertAt(self.only('version: 1\nname: "test\\n"\n'
                                'sites: {paris: {cloud: c}}\n'), 2, 7,
                      "'test\\n' is not valid", place='name')

    def test_a_site_name_ending_in_a_newline(self):
        self.assertAt(self.only('version: 1\nname: test\n'
                                'sites: {"paris\\n": {cloud: c}}\n'), 3, 9,
                      "'paris\\n' is not a valid name")

    def test_a_route_target_ending_in_a_newline(self):
        problem = self.only(ic_plan(overlay='{type: bgpvpn, route_targets: '
                                    '["64512:1\\n"]}'))
        self.assertEqual('interconnects[0].overlay.route_targets[0]',
                         problem.place)
        self.assertIn('a route target is ASN:number', problem.message)

    def test_a_block_scalar_name_keeps_its_newline_and_is_refused(self):
        self.assertIn('is not valid', self.only(
            'version: 1\nname: |\n  test\nsites: {paris: {cloud: c}}\n'
        ).message)


class CollectionTagTest(HostileTestCase):
    """Tags on mappings and lists are refused, as on plain values."""

    def test_python_object_on_a_mapping(self):
        problem = self.only('version: 1\nname: test\nsites: !!python/object/'
                            'apply:os.system {paris: {cloud: c}}\n')
        self.assertAt(problem, 3, 8, "the tag '!!python/object/apply:"
                      "os.system' is not allowed", place='sites')

    def test_set_omap_and_local_tags(self):
        for value in ('!!set {a: null}', '!!omap [{a: 1}]', '!foo {a: 1}',
                      '!!str [a]', '!!pairs [[a, 1]]'):
            self.assertAt(self.only('version: 1\nname: %s\n' % value), 2, 7,
                          'is not allowed')

    def test_standard_tags_are_accepted(self):
        text = EXAMPLE.replace('sites:\n', 'sites: !!map\n').replace(
            'interconnects:\n', 'interconnects: !!seq\n')
        self.assertEqual(plan.load(base.EXAMPLE_PLAN).digest,
                         plan.parse(text).digest)


class PairwiseReportTest(HostileTestCase):
    """Problems about pairs stay linear in number and time."""

    def networks(self, n, cidr='10.1.0.0/24'):
        return '[%s]' % ', '.join('{name: n%d, cidr: %s}' % (i, cidr)
                                  for i in range(n))

    def test_500_overlapping_networks_give_one_problem_each(self):
        started = time.process_time()
        problems = self.problems(ic_plan(local_nets=self.networks(500)))
        self.assertLess(time.process_time() - started, 1)
        self.assertEqual(499, len(problems))
        self.assertEqual(
            'interconnects[0].local.networks[1].cidr', problems[0].place)
        self.assertIn('10.1.0.0/24 overlaps interconnects[0].local.'
                      'networks[0].cidr (10.1.0.0/24): two ranges of one '
                      'side must be distinct', problems[0].message)

    def test_one_interconnect_repeated_60000_times_through_aliases(self):
        # 1.74 million values, within the budget: each distinct
        # interconnect is checked once, its problems placed at each use.
        ic = ('&ic {name: ic, local: {site: paris, networks: [{name: a, '
              'cidr: 10.0.0.0/24}]}, remote: {site: lyon, networks: [{name: '
              'b, cidr: 10.0.0.0/25}]}, overlay: {type: ipsec}}')
        head = ic_plan().split('interconnects:')[0]
        started = time.process_time()
        problems = self.problems(head + 'interconnects: [%s, %s]\n' % (
            ic, ', '.join(['*ic'] * 60000)))
        self.assertLess(time.process_time() - started, 2)
        self.assertEqual(1001, len(problems))
        self.assertIn('more problems are not listed', problems[-1].message)
        # Each use gets the problems of the interconnect, at its place.
        problems = self.problems(head + 'interconnects: [%s, *ic, *ic]\n'
                                 % ic)
        overlaps = [p.format('plan.yaml') for p in problems
                    if 'overlaps' in p.message]
        self.assertEqual(3, len(overlaps))
        for i, line in enumerate(overlaps):
            self.assertIn('interconnects[%d].remote.networks[0].cidr: '
                          '10.0.0.0/25 overlaps interconnects[%d].local.'
                          'networks[0].cidr (10.0.0.0/24)' % (i, i), line)

    def test_each_range_names_the_first_range_it_overlaps(self):
        problems = self.problems(ic_plan(
            local_nets='[{name: a, cidr: 10.1.2.0/24}, '
                       '{name: b, cidr: 10.9.0.0/16}]',
            remote_nets='[{name: c, cidr: 10.9.1.0/24}, '
                        '{name: d, cidr: 10.0.0.0/8}]'))
        self.assertEqual(
            [('interconnects[0].remote.networks[0].cidr',
              'interconnects[0].local.networks[1].cidr (10.9.0.0/16)'),
             ('interconnects[0].remote.networks[1].cidr',
              'interconnects[0].local.networks[0].cidr (10.1.2.0/24)')],
            [(p.place, p.message.split(' overlaps ')[1].split(':')[0])
             for p in problems])

    def test_at_most_1000_problems_then_how_many_more(self):
        problems = self.problems(ic_plan(local_nets=self.networks(
            3000, cidr='10.1.0.1/24')))
        self.assertEqual(1001, len(problems))
        self.assertAt(problems[-1], 1, 1, '2000 more problems are not '
                      'listed (geoflows lists the first 1000)')

    def test_unknown_site_lists_ten_sites(self):
        sites = ''.join('  s%03d: {cloud: c}\n' % i for i in range(50))
        text = ('version: 1\nname: test\nsites:\n' + sites +
                'interconnects:\n  - {name: ic, local: {site: s000, '
                'subnets: [a]}, remote: {site: x, subnets: [b]}, '
                'overlay: {type: bgpvpn}}\n')
        problem = self.only(text)
        self.assertIn('(sites of this plan: s000, s001, s002, s003, s004, '
                      's005, s006, s007, s008, s009 and 40 more)',
                      problem.message)


class PlainDataTest(base.TestCase):
    """A mapping (Mistral, Python API) is checked like text."""

    def problem(self, data):
        e = self.assertRaises(exceptions.PlanError, plan.from_document,
                              data)
        self.assertEqual(1, len(e.problems))
        return e.problems[0]

    def test_a_cycle(self):
        data = base.plan_data()
        data['sites']['paris']['cell'] = data['sites']
        problem = self.problem(data)
        self.assertEqual('sites.paris.cell', problem.place)
        self.assertIn('contains itself', problem.message)

    def test_a_key_that_is_not_a_string(self):
        data = base.plan_data()
        data['sites'][3] = {'cloud': 'c'}
        self.assertIn('a key of a mapping is a string, not int',
                      self.problem(data).message)

    def test_a_huge_integer(self):
        self.assertIn('more than 4300 digits', self.problem(
            base.plan_data(version=10 ** 5000)).message)

    def test_a_value_that_is_not_json(self):
        self.assertIn('not bytes', self.problem(
            base.plan_data(name=b'test')).message)

    def test_deep_nesting(self):
        deep = []
        for _ in range(100000):
            deep = [deep]
        self.assertIn('deeper than 64 levels', self.problem(
            base.plan_data(description=deep)).message)

    def test_shared_values_count_at_each_place(self):
        value = ['x'] * 1000
        for _ in range(5):
            value = [value] * 100
        problem = self.problem(base.plan_data(description=value))
        self.assertIn('[plan] max_nodes', problem.message)

    def test_a_valid_mapping_keeps_its_digest(self):
        self.assertEqual(base.make_plan().digest,
                         plan.from_document(base.plan_data()).digest)


class DocumentPositionTest(base.TestCase):
    """Positions through aliases and merge keys."""

    def test_values_under_an_alias_are_placed_under_the_anchor(self):
        document = loader.load(textwrap.dedent('''\
            a: &net {name: n, cidr: x}
            b: [*net]
            '''))
        self.assertEqual('2:5', repr(document.position(('b', 0))))
        self.assertEqual('1:25', repr(document.position(('b', 0, 'cidr'))))

    def test_shared_mappings_are_the_same_object(self):
        document = loader.load('a: &x {k: v}\nb: *x\n')
        self.assertIs(document.data['a'], document.data['b'])
        self.assertIn(id(document.data['a']), document.shared)
