"""The commands "geoflows plan validate" and "geoflows plan schema"."""

import io
import json
import logging
import os
import textwrap

import fixtures

from geoflows.cmd import main
from geoflows import plan
from tests.unit import base

INVALID_PLAN = '''\
version: 1
name: test
sites:
  paris: {cloud: telco, region: paris}
  lyon: {cloud: telco, region: lyon}
interconnects:
  - name: vpn
    local: {site: paris, networks: [{name: a, cidr: 10.1.0.0/24}]}
    remote: {site: berlin, networks: [{name: b, cidr: 10.2.0.1/24}]}
    overlay: {type: bgpvpn}
'''


class PlanCommandTestCase(base.TestCase):
    """Runs geoflows in-process, capturing what it writes."""

    def setUp(self):
        super().setUp()
        # cliff's App takes sys.stdout and sys.stderr when it is built.
        self.stdout = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        self.stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        # The App adds a handler to the root logger on every run.
        root = logging.getLogger()
        self.addCleanup(root.setLevel, root.level)
        self.addCleanup(setattr, root, 'handlers', list(root.handlers))

    def geoflows(self, *argv):
        """Run geoflows with ``argv``; return its exit code."""
        return main.main(list(argv))

    def output_lines(self):
        return self.stdout.getvalue().splitlines()

    def write_plan(self, text, name='plan.yaml'):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path

    def assertNoTraceback(self):
        self.assertNotIn('Traceback', self.stdout.getvalue())
        self.assertNotIn('Traceback', self.stderr.getvalue())


class ValidateValidPlanTest(PlanCommandTestCase):

    def test_exit_code_is_0(self):
        self.assertEqual(0, self.geoflows('plan', 'validate',
                                          base.EXAMPLE_PLAN))

    def test_one_line_summary(self):
        self.geoflows('plan', 'validate', base.EXAMPLE_PLAN)
        digest = plan.load(base.EXAMPLE_PLAN).digest
        self.assertEqual(["%s: valid plan 'telco-east' (4 sites, 3 "
                          "interconnects, %s)" % (base.EXAMPLE_PLAN, digest)],
                         self.output_lines())

    def test_nothing_on_stderr(self):
        self.geoflows('plan', 'validate', base.EXAMPLE_PLAN)
        self.assertEqual('', self.stderr.getvalue())

    def test_json_summary(self):
        rc = self.geoflows('plan', 'validate', '-f', 'json',
                           base.EXAMPLE_PLAN)
        self.assertEqual(0, rc)
        self.assertEqual(
            {'plan': base.EXAMPLE_PLAN, 'valid': True, 'name': 'telco-east',
             'digest': plan.load(base.EXAMPLE_PLAN).digest,
             'sites': ['lyon', 'paris', 'paris-cell1', 'paris-cell2'],
             'interconnects': ['core-vpn', 'oam-ipsec', 'cells']},
            json.loads(self.stdout.getvalue()))


class ValidateInvalidPlanTest(PlanCommandTestCase):

    def setUp(self):
        super().setUp()
        self.path = self.write_plan(INVALID_PLAN)

    def test_exit_code_is_1(self):
        self.assertEqual(1, self.geoflows('plan', 'validate', self.path))

    def test_one_line_per_problem_then_the_count(self):
        self.geoflows('plan', 'validate', self.path)
        self.assertEqual(
            ["%s:9:20: interconnects[0].remote.site: unknown site 'berlin' "
             "(sites of this plan: lyon, paris)" % self.path,
             "%s:9:55: interconnects[0].remote.networks[0].cidr: "
             "'10.2.0.1/24' has host bits set; did you mean 10.2.0.0/24?"
             % self.path,
             '%s: 2 problems' % self.path],
            self.output_lines())

    def test_no_traceback(self):
        self.geoflows('plan', 'validate', self.path)
        self.assertNoTraceback()

    def test_json_report(self):
        rc = self.geoflows('plan', 'validate', '-f', 'json', self.path)
        self.assertEqual(1, rc)
        self.assertEqual(
            {'plan': self.path, 'valid': False, 'problems': [
                {'path': 'interconnects[0].remote.site', 'line': 9,
                 'column': 20, 'message': "unknown site 'berlin' (sites of "
                 "this plan: lyon, paris)"},
                {'path': 'interconnects[0].remote.networks[0].cidr',
                 'line': 9, 'column': 55, 'message': "'10.2.0.1/24' has host "
                 "bits set; did you mean 10.2.0.0/24?"}]},
            json.loads(self.stdout.getvalue()))

    def test_yaml_syntax_error(self):
        path = self.write_plan('''\
            version: 1
            name: [test
            ''', 'broken.yaml')
        self.assertEqual(1, self.geoflows('plan', 'validate', path))
        self.assertEqual(
            ["%s:3:1: not valid YAML: while parsing a flow sequence did not "
             "find expected ',' or ']'" % path,
             '%s: 1 problem' % path],
            self.output_lines())
        self.assertNoTraceback()

    def test_literal_pre_shared_key_is_not_printed(self):
        path = self.write_plan(INVALID_PLAN.replace(
            '{type: bgpvpn}', '{type: ipsec, psk: Sup3r-s3cret}'))
        self.assertEqual(1, self.geoflows('plan', 'validate', path))
        self.assertIn('a pre-shared key is never written in a plan',
                      self.stdout.getvalue())
        self.assertNotIn('Sup3r-s3cret', self.stdout.getvalue())


class ValidateMissingFileTest(PlanCommandTestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, 'nowhere.yaml')

    def test_text_report(self):
        self.assertEqual(1, self.geoflows('plan', 'validate', self.path))
        self.assertEqual(['%s: no such file' % self.path,
                          '%s: 1 problem' % self.path], self.output_lines())
        self.assertNoTraceback()

    def test_json_report_has_no_position(self):
        self.geoflows('plan', 'validate', '-f', 'json', self.path)
        self.assertEqual([{'path': '', 'line': None, 'column': None,
                           'message': 'no such file'}],
                         json.loads(self.stdout.getvalue())['problems'])

    def test_directory(self):
        self.assertEqual(1, self.geoflows('plan', 'validate', self.tmp))
        self.assertIn('%s: cannot be read: ' % self.tmp,
                      self.output_lines()[0])
        self.assertNoTraceback()


class SchemaTest(PlanCommandTestCase):

    def test_prints_the_schema(self):
        self.assertEqual(0, self.geoflows('plan', 'schema'))
        self.assertEqual(plan.schema(), json.loads(self.stdout.getvalue()))

    def test_path(self):
        self.assertEqual(0, self.geoflows('plan', 'schema', '--path'))
        path = self.stdout.getvalue().strip()
        self.assertEqual(plan.SCHEMA_FILE, path)
        self.assertTrue(os.path.isfile(path))
