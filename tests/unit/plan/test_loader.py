"""Reading plan files: YAML with positions, and what cannot be read."""

import os
import textwrap

from testtools import matchers
import yaml

from geoflows import exceptions
from geoflows import plan
from geoflows.plan import loader
from tests.unit import base


def text(yaml_text):
    return textwrap.dedent(yaml_text)


class DocumentTest(base.TestCase):
    """loader.load: plain data plus the position of every value."""

    def setUp(self):
        super().setUp()
        self.document = loader.load(text('''\
            version: 1
            sites:
              paris: {cloud: telco}
            interconnects:
              - name: ic
                local:
                  site: paris
            '''))

    def test_data_is_plain_python(self):
        self.assertEqual(
            {'version': 1, 'sites': {'paris': {'cloud': 'telco'}},
             'interconnects': [{'name': 'ic', 'local': {'site': 'paris'}}]},
            self.document.data)

    def assertPosition(self, line, column, path):
        position = self.document.position(path)
        self.assertEqual((line, column), (position.line, position.column))

    def test_positions_are_one_based(self):
        self.assertPosition(1, 10, ('version',))

    def test_position_of_a_nested_mapping_value(self):
        self.assertPosition(3, 18, ('sites', 'paris', 'cloud'))

    def test_position_of_a_list_item(self):
        self.assertPosition(5, 5, ('interconnects', 0))

    def test_position_of_a_value_in_a_list_item(self):
        self.assertPosition(7, 13, ('interconnects', 0, 'local', 'site'))

    def test_position_of_the_root(self):
        self.assertPosition(1, 1, ())

    def test_missing_path_falls_back_to_the_closest_enclosing_value(self):
        self.assertPosition(7, 7, ('interconnects', 0, 'local', 'router',
                                   'name'))

    def test_position_repr_is_line_and_column(self):
        self.assertEqual('1:10', repr(self.document.position(('version',))))

    def test_merge_keys_are_resolved(self):
        document = loader.load(text('''\
            base: &base {cloud: telco, region: paris}
            site:
              <<: *base
            '''))
        self.assertEqual({'cloud': 'telco', 'region': 'paris'},
                         document.data['site'])

    def test_non_string_keys_become_strings(self):
        document = loader.load('1: one\n')
        self.assertEqual({'1': 'one'}, document.data)


class LoadErrorTest(base.TestCase):
    """loader.load refuses what it cannot read, saying where."""

    def assertLoadError(self, yaml_text, message, line, column, path=()):
        e = self.assertRaises(loader.LoadError, loader.load, text(yaml_text))
        self.assertIn(message, e.message)
        self.assertEqual((line, column), (e.position.line, e.position.column))
        self.assertEqual(path, e.path)

    def test_syntax_error(self):
        self.assertLoadError('''\
            version: 1
              name: x
            ''', 'mapping values are not allowed', 2, 7)

    def test_duplicate_key(self):
        yaml_text = '''\
            sites:
              paris: {cloud: telco}
              lyon: {cloud: telco}
              paris: {cloud: other}
            '''
        self.assertLoadError(yaml_text, "duplicate key 'paris' (first "
                             "defined at line 2)", 4, 3,
                             path=('sites', 'paris'))

    def test_empty_text(self):
        self.assertLoadError('', 'the file is empty', 1, 1)

    def test_non_scalar_key(self):
        self.assertLoadError('''\
            version: 1
            ? [a, b]
            : 1
            ''', 'a mapping key must be a plain value', 2, 3)


class LoadingProblemTest(base.TestCase):
    """What cannot be read as a plan gives one clear problem, no traceback."""

    def parse_problem(self, yaml_text):
        e = self.assertRaises(exceptions.PlanError, plan.parse,
                              text(yaml_text), 'plan.yaml')
        self.assertEqual(1, len(e.problems))
        return e.problems[0]

    def load_problem(self, path):
        e = self.assertRaises(exceptions.PlanError, plan.load, path)
        self.assertEqual(path, e.source)
        self.assertEqual(1, len(e.problems))
        return e.problems[0]

    def assertProblem(self, problem, place, message, line, column):
        self.assertEqual(place, problem.place)
        self.assertIn(message, problem.message)
        self.assertEqual((line, column),
                         (problem.position.line, problem.position.column))

    def test_syntax_error(self):
        problem = self.parse_problem('''\
            version: 1
            name: test
              sites: {}
            ''')
        self.assertProblem(problem, '', 'not valid YAML: mapping values are '
                           'not allowed', 3, 8)

    def test_unclosed_flow_sequence(self):
        problem = self.parse_problem('''\
            version: 1
            name: [test
            ''')
        self.assertProblem(problem, '', "expected ',' or ']'", 3, 1)

    def test_tab_indentation(self):
        problem = self.parse_problem('version: 1\n\tname: test\n')
        # libyaml and PyYAML's own scanner word it differently.
        self.assertThat(problem.message, matchers.MatchesAny(
            matchers.Contains('tab character'),
            matchers.Contains("found character '\\t'")))
        self.assertProblem(problem, '', 'not valid YAML', 2, 1)

    def test_duplicate_key(self):
        problem = self.parse_problem('''\
            version: 1
            name: test
            sites:
              paris: {cloud: telco}
            name: other
            ''')
        self.assertProblem(problem, 'name', "duplicate key 'name' (first "
                           "defined at line 2)", 5, 1)

    def test_duplicate_nested_key(self):
        problem = self.parse_problem('''\
            version: 1
            name: test
            sites:
              paris:
                cloud: telco
                region: paris
                cloud: other
            ''')
        self.assertProblem(problem, 'sites.paris.cloud', "duplicate key "
                           "'cloud' (first defined at line 5)", 7, 5)

    def test_empty_file(self):
        self.assertProblem(self.parse_problem(''), '', 'the file is empty',
                           1, 1)

    def test_file_with_only_comments(self):
        self.assertProblem(self.parse_problem('# to do\n'), '',
                           'the file is empty', 1, 1)

    def test_several_documents(self):
        problem = self.parse_problem('''\
            version: 1
            ---
            name: test
            ''')
        self.assertProblem(problem, '', 'expected a single document', 2, 1)

    def test_unknown_tag_is_refused(self):
        problem = self.parse_problem('name: !!python/object:os.system x\n')
        self.assertProblem(problem, 'name', 'could not determine a '
                           'constructor', 1, 7)

    def test_undefined_alias(self):
        problem = self.parse_problem('name: *test\n')
        self.assertProblem(problem, 'name', "found undefined alias 'test'",
                           1, 7)

    def assertNotAMapping(self, yaml_text):
        problem = self.parse_problem(yaml_text)
        self.assertProblem(problem, '', 'a plan is a mapping with version, '
                           'name, sites and interconnects', 1, 1)

    def test_top_level_list(self):
        self.assertNotAMapping('- version: 1\n- name: test\n')

    def test_top_level_string(self):
        self.assertNotAMapping('version 1\n')

    def test_top_level_null(self):
        self.assertNotAMapping('~\n')

    def test_top_level_not_a_mapping_from_data(self):
        e = self.assertRaises(exceptions.PlanError, plan.from_document,
                              ['version', 1])
        self.assertEqual('', e.problems[0].place)
        self.assertIsNone(e.problems[0].position)

    def test_missing_file(self):
        path = os.path.join(self.tmp, 'nowhere.yaml')
        problem = self.load_problem(path)
        self.assertEqual('', problem.place)
        self.assertEqual('no such file', problem.message)
        self.assertIsNone(problem.position)

    def test_directory_cannot_be_read(self):
        problem = self.load_problem(self.tmp)
        self.assertEqual('', problem.place)
        self.assertIn('cannot be read', problem.message)
        self.assertIn('Is a directory', problem.message)

    def test_file_not_in_utf8_cannot_be_read(self):
        path = os.path.join(self.tmp, 'latin1.yaml')
        with open(path, 'wb') as f:
            f.write('name: caf\xe9\n'.encode('latin-1'))
        problem = self.load_problem(path)
        # Placed at the first byte that is not UTF-8.
        self.assertProblem(problem, '', 'not UTF-8 text: the bytes from 0xe9 '
                           'on are not a valid character', 1, 10)

    def test_problem_of_a_file_names_the_file(self):
        path = os.path.join(self.tmp, 'plan.yaml')
        with open(path, 'w') as f:
            f.write('version: 1\nname: test\nname: other\n')
        e = self.assertRaises(exceptions.PlanError, plan.load, path)
        self.assertEqual(
            "%s:3:1: name: duplicate key 'name' (first defined at line 2)"
            % path, e.problems[0].format(e.source))


class YamlFeaturesTest(base.TestCase):
    """YAML constructs operators use, and their traps."""

    def test_a_key_written_after_a_merge_overrides_it(self):
        document = loader.load(text('''\
            base: &base {cloud: telco, region: paris}
            lyon: {<<: *base, region: lyon}
            '''))
        self.assertEqual({'cloud': 'telco', 'region': 'lyon'},
                         document.data['lyon'])
        self.assertEqual(2, document.position(('lyon', 'region'),
                                              key=True).line)

    def test_merges_of_merged_mappings_give_what_pyyaml_gives(self):
        # Plans written for geoflows before keep their values and order.
        for yaml_text in (
                'a: &a {cloud: 9, zz: 4}\n'
                'b: &b {<<: [*a, *a], cloud: 5, x: 4}\n'
                'c: {<<: [*a, *b], y: 1}\n',
                'a: &a {x: 9, zz: 6}\nb: &b {<<: [*a], zz: 8}\n'
                'c: {<<: [*a, *b], cloud: 1}\n',
                'a: &a {zz: 6, y: 9}\nb: &b {<<: [*a, *a], y: 7}\n'
                'd: &d {<<: *b, <<: *a, name: 7, y: 6}\n'
                'c: {<<: [*d, *b, *a], zz: 1}\n',
                'a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n'
                'c: {<<: [*a, *b], w: 3}\n'):
            document = loader.load(yaml_text)
            expected = yaml.safe_load(yaml_text)
            self.assertEqual(expected, document.data)
            self.assertEqual([list(v.items()) for v in expected.values()],
                             [list(v.items())
                              for v in document.data.values()])

    def test_a_key_written_twice_beside_a_merge_is_a_duplicate(self):
        error = self.assertRaises(loader.LoadError, loader.load, text('''\
            base: &base {cloud: telco}
            lyon: {<<: *base, region: lyon, region: paris}
            '''))
        self.assertIn("duplicate key 'region'", error.message)

    def test_a_recursive_alias_is_refused(self):
        error = self.assertRaises(loader.LoadError, loader.load,
                                  'a: &a [*a]\n')
        self.assertIn('recursive alias: *a is inside the value it names '
                      '(anchored at line 1, column 4)', error.message)
        # Placed at the alias itself.
        self.assertEqual((1, 8), (error.position.line,
                                  error.position.column))

    def test_a_recursive_alias_in_a_plan_is_a_plan_problem(self):
        error = self.assertRaises(exceptions.PlanError, plan.parse,
                                  'version: 1\nsites: &s {a: *s}\n')
        self.assertIn('recursive alias', str(error))

    def test_yes_no_on_off_are_strings_as_in_yaml_1_2(self):
        document = loader.load('on: yes\noff: no\nflag: true\n')
        self.assertEqual({'on': 'yes', 'off': 'no', 'flag': True},
                         document.data)

    def test_key_positions(self):
        document = loader.load(text('''\
            outer:
              inner:
                leaf: 1
            '''))
        self.assertEqual((2, 3), (document.position(('outer', 'inner'),
                                                    key=True).line,
                                  document.position(('outer', 'inner'),
                                                    key=True).column))
        self.assertEqual(3, document.position(('outer', 'inner')).line)
