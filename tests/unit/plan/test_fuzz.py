"""Property-based fuzzing of every way geoflows reads a plan.

Hostile plans (tests/unit/plan/fuzz.py) go through each entry point: the
Python API (parse of text and bytes, load of a file, from_document of a
mapping), the ``geoflows`` command in-process (text and JSON, and the job
commands that take --plan), a few real processes, and the Mistral actions
with inline plans (geoflows.plan.validate, geoflows.protection.status; the
latter and geoflows.checkpoint.list with hostile values of their other
inputs too).  For each: the only exception is PlanError, every
problem is placed (line and column >= 1 in the text, in its output), each
prints on one line without raw control characters, and each call takes
less than fuzz.MAX_SECONDS of CPU.  The compiled schema checker is also
checked against jsonschema, the reference.

CI runs a fixed, derandomized budget of examples; for more, set
GEOFLOWS_FUZZ_EXAMPLES (e.g. 20000: it multiplies every budget, see
doc/source/contributor/testing.rst).
"""

import io
import json
import logging
import os
import subprocess
import sys

import fixtures
import hypothesis
from hypothesis import strategies as st

from geoflows.actions import checkpoint as checkpoint_actions
from geoflows.actions import plan as plan_actions
from geoflows.actions import protection as protection_actions
from geoflows.cmd import main
from geoflows import exceptions
from geoflows import plan as plan_mod
from geoflows.plan import checker
from geoflows.plan import validate
from tests.unit.actions import base as actions_base_test
from tests.unit import base
from tests.unit.plan import fuzz


def budget(ci_examples, share=1.0):
    """hypothesis settings: ``ci_examples``, or what the environment asks.

    GEOFLOWS_FUZZ_EXAMPLES=N gives each test N examples (at least its CI
    budget), the tests whose examples cost most ``share`` of them.
    """
    wanted = int(int(os.environ.get('GEOFLOWS_FUZZ_EXAMPLES') or 0) * share)
    return hypothesis.settings(
        max_examples=max(wanted, ci_examples), derandomize=True,
        database=None, deadline=None, print_blob=False,
        suppress_health_check=list(hypothesis.HealthCheck))


class HypothesisChooser(object):
    """fuzz's chooser interface, drawing from hypothesis (which shrinks)."""

    def __init__(self, draw):
        self.draw = draw

    def choice(self, sequence):
        return self.draw(st.sampled_from(sequence))

    def integer(self, low, high):
        return self.draw(st.integers(low, high))

    def boolean(self):
        return self.draw(st.booleans())


@st.composite
def texts(draw):
    return fuzz.hostile_text(HypothesisChooser(draw))


@st.composite
def byte_texts(draw):
    return fuzz.hostile_bytes(HypothesisChooser(draw))


@st.composite
def mappings(draw):
    return fuzz.hostile_data(HypothesisChooser(draw))


class TestPythonApi(base.TestCase):

    @budget(200)
    @hypothesis.given(texts())
    def test_parse_text(self, text):
        fuzz.check_parse(text)

    @budget(100)
    @hypothesis.given(byte_texts())
    def test_parse_bytes(self, data):
        fuzz.check_parse(data)

    @budget(60)
    @hypothesis.given(byte_texts())
    def test_load_a_file(self, data):
        path = os.path.join(self.tmp, 'plan.yaml')
        with open(path, 'wb') as f:
            f.write(data)
        result, seconds = fuzz.timed(plan_mod.load, path)
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if not isinstance(result, plan_mod.Plan):
            self.assertEqual(path, result.source)
            fuzz.check_error(result, data)

    @budget(150)
    @hypothesis.given(mappings())
    def test_from_document_of_a_mapping(self, data):
        result, seconds = fuzz.timed(plan_mod.from_document, data)
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if not isinstance(result, plan_mod.Plan):
            # Plain data has no lines: its problems are placed by path.
            fuzz.check_error(result, placed=False)

    @budget(100, share=0.25)  # jsonschema takes 0.1 s an example
    @hypothesis.given(mappings())
    def test_the_checker_agrees_with_jsonschema(self, data):
        # jsonschema's cost grows with the plan's size times the schema's
        # alternatives (seconds for one plan of 800 networks): the
        # agreement is checked on plans of up to 200 nodes, where every
        # keyword still applies.
        hypothesis.assume(fuzz.node_count(data, 200) <= 200)
        compiled = checker.compile(validate.schema()).errors(data,
                                                             cap=10 ** 6)
        reference = validate._JsonschemaValidator(validate.schema())
        try:
            expected = sorted((e.validator, repr(tuple(e.absolute_path)))
                              for e in reference.iter_errors(data))
        except (ValueError, RecursionError):
            # jsonschema formats every error's message with repr(): it
            # fails on an integer of more than 4,300 digits, and on deep
            # data; the plan loader refuses both before any schema check.
            return
        self.assertEqual(expected, sorted(
            (e.validator, repr(tuple(e.path))) for e in compiled.items))
        self.assertEqual(len(expected), compiled.count)


class CommandTestCase(base.TestCase):
    """Runs ``geoflows`` in-process, one fresh output per example."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_DEFAULT__STATE_DIR', os.path.join(self.tmp, 'state')))
        self.path = os.path.join(self.tmp, 'plan.yaml')

    def run_command(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            with fixtures.MonkeyPatch('sys.stdout', stdout), \
                    fixtures.MonkeyPatch('sys.stderr', stderr):
                rc = main.main(list(argv))
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        return rc, stdout.getvalue(), stderr.getvalue()

    def write(self, data):
        with open(self.path, 'wb') as f:
            f.write(data if isinstance(data, bytes)
                    else data.encode('utf-8', 'surrogatepass'))


class TestValidateCommand(CommandTestCase):

    @budget(60)
    @hypothesis.given(byte_texts(), st.booleans())
    def test_plan_validate(self, data, as_json):
        self.write(data)
        argv = ['plan', 'validate', self.path] + (['-f', 'json'] if as_json
                                                  else [])
        rc, out, err = self.run_command(*argv)
        self.assertIn(rc, (0, 1), (out, err))
        # Nothing but geoflows' report: no error line from cliff.
        self.assertEqual('', err)
        if as_json:
            report = json.loads(out)
            self.assertEqual(rc == 0, report['valid'])
            for problem in report.get('problems', ()):
                self.assertGreaterEqual(problem['line'], 1, problem)
                self.assertGreaterEqual(problem['column'], 1, problem)
                self.assertTrue(problem['message'].isprintable())
                self.assertTrue(problem['path'].isprintable())
            return
        lines = out.splitlines()
        for line in lines:
            self.assertTrue(line.isprintable(), repr(line))
        if rc == 1:
            count = int(lines[-1].rsplit(': ', 1)[1].split()[0])
            self.assertEqual(count + 1, len(lines))
            for line in lines[:-1]:
                # PATH:LINE:COLUMN: ...
                place = line[len(self.path) + 1:].split(':')
                self.assertTrue(place[0].isdigit() and place[1].isdigit(),
                                line)


class TestJobCommands(CommandTestCase):
    """The commands that take --plan load it through the same loader."""

    @budget(12, share=0.05)  # two commands and a state store each
    @hypothesis.given(texts())
    def test_interconnect_setup_and_job_submit(self, text):
        self.write(text)
        try:
            plan_mod.load(self.path)
        except exceptions.PlanError as e:
            expected = [p.format(e.source) for p in e.problems]
        else:
            return  # a valid plan would start a job
        for argv in (['interconnect', 'setup', '--plan', self.path],
                     ['job', 'submit', 'interconnect.setup', '--plan',
                      self.path]):
            rc, out, err = self.run_command(*argv)
            self.assertEqual(1, rc, (out, err))
            self.assertNotIn('Traceback', out + err)
            # cliff prints the PlanError: every problem, as plan validate.
            for line in expected:
                self.assertIn(line, err)
            for line in err.splitlines():
                self.assertTrue(line.isprintable(), repr(line))


class TestRealProcesses(base.TestCase):
    """A few runs of the real command (each costs a Python start)."""

    CASES = [
        # Keys with a newline and a bidi override, printed to ASCII only.
        ('ascii', b'version: 1\nname: "a\\nb"\n'
                  b'sites: {"k\\u202e\\n": {cloud: c}}\n'),
        ('utf-8', b'version: 1\nname: caf\xe9\n'),
        # An alias bomb: 10 ** 9 values.
        ('utf-8', ('x: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n' + ''.join(
            'x%d: &a%d [%s]\n' % (
                i, i, ', '.join(['*a%s' % (i - 1 if i else '')] * 10))
            for i in range(8))).encode()),
    ]

    def test_the_command(self):
        # A file name that is not UTF-8 and holds a newline.
        path = os.path.join(self.tmp.encode(), b'plan\n\xff.yaml')
        env = dict(os.environ, OS_DEFAULT__STATE_DIR=os.path.join(
            self.tmp, 'state'))
        for encoding, case in self.CASES:
            with open(path, 'wb') as f:
                f.write(case)
            done = subprocess.run(
                [sys.executable, '-m', 'geoflows.cmd.main', 'plan',
                 'validate', path], capture_output=True, timeout=120,
                env=dict(env, PYTHONIOENCODING=encoding))
            self.assertEqual(1, done.returncode, done)
            self.assertNotIn(b'Traceback', done.stdout + done.stderr)
            lines = done.stdout.decode(encoding).splitlines()
            self.assertGreater(len(lines), 1)
            for line in lines:
                self.assertTrue(line.isprintable(), repr(line))
                self.assertTrue(line.startswith(
                    os.path.join(self.tmp, 'plan\\n\\udcff.yaml')), line)


class TestMistralAction(base.TestCase):
    """geoflows.plan.validate with inline plans: text and mappings."""

    def check(self, inline):
        result, seconds = fuzz.timed(
            plan_actions.ValidatePlan(plan=inline).run, None)
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if isinstance(result, dict):
            self.assertTrue(result['valid'])
            return
        self.assertTrue(result.is_error(), result)
        self.assertEqual('PlanError', result.error['kind'], result.error)
        for line in result.error['message'].split('\n'):
            self.assertTrue(line.isprintable(), repr(line))

    @budget(80)
    @hypothesis.given(texts())
    def test_yaml_text(self, text):
        self.check(text)

    @budget(80)
    @hypothesis.given(mappings())
    def test_a_mapping(self, data):
        self.check(data)


# Hostile values of the actions' other inputs: JSON-like data (what a
# workflow can pass), names just inside and outside the rules, control
# characters, huge strings and numbers.
_SCALARS = (st.none() | st.booleans() | st.integers() |
            st.floats(allow_nan=True) | st.text(max_size=40) |
            st.sampled_from(['core', 'edge', 'a' * 32, 'a' * 33, 'A', '-a',
                             'a-', 'x' * 100000, 'complete', 'open',
                             'expired', 'pruned', 0, -1, 1000, 1001,
                             10 ** 400, 1.5] + fuzz.UNPRINTABLE))


def values():
    return st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=5) |
                        st.dictionaries(st.text(max_size=8), inner,
                                        max_size=4), max_leaves=12)


class TestMistralProtectionActions(actions_base_test.ActionTestCase):
    """geoflows.protection.status and geoflows.checkpoint.list.

    Whatever their inputs, the result is JSON or an action error of a
    known kind, on printable lines, bounded, in bounded time.
    """

    def check(self, action, kinds=('PlanError', 'GeoflowsError')):
        result, seconds = fuzz.timed(action.run,
                                     actions_base_test.execution())
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if isinstance(result, dict):
            json.dumps(result)
            return result
        self.assertTrue(result.is_error(), result)
        self.assertIn(result.error['kind'], kinds, result.error)
        message = result.error['message']
        for line in message.split('\n'):
            self.assertTrue(line.isprintable(), repr(line))
        if result.error['kind'] != 'PlanError':
            self.assertLess(len(message), 2000)
        return result

    @budget(60)
    @hypothesis.given(texts())
    def test_status_of_yaml_text(self, text):
        self.check(protection_actions.ProtectionStatus(plan=text))

    @budget(60)
    @hypothesis.given(mappings())
    def test_status_of_a_mapping(self, data):
        self.check(protection_actions.ProtectionStatus(plan=data))

    @budget(100)
    @hypothesis.given(st.booleans(), values(), values(), values())
    def test_status_inputs(self, example, plan, groups, standby):
        # Mostly a valid plan with protection groups, to reach the checks
        # of the other inputs (and the state store).
        if example:
            plan = fuzz.EXAMPLES[0]
        self.assertIn('protection_groups:', fuzz.EXAMPLES[0])
        self.check(protection_actions.ProtectionStatus(
            plan=plan, groups=groups, standby=standby))

    def test_the_example_plan_gets_a_status(self):
        result = self.check(protection_actions.ProtectionStatus(
            plan=fuzz.EXAMPLES[0], standby=False))
        self.assertTrue(result['violated'])  # nothing was ever synced

    @budget(60)
    @hypothesis.given(values(), values(), values(), values())
    def test_checkpoint_list_inputs(self, plan_name, group, states, limit):
        self.check(checkpoint_actions.ListCheckpoints(
            plan_name=plan_name, group=group, states=states, limit=limit),
            kinds=('GeoflowsError',))
