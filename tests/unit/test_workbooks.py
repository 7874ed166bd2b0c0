"""The workbooks, read by Mistral's own DSL parser.

Mistral validates a workbook when it is uploaded, but it looks up the
actions a workbook names only when a task runs; these tests check both
now: every workbook parses, and every action it names is registered
(``mistral.actions`` entry points) and takes the inputs it is given.
"""

import glob
import importlib.metadata
import inspect
import os
import re

from mistral import exceptions as mistral_exc
from mistral.lang import parser

from tests.unit import base

WORKBOOKS = sorted(glob.glob(os.path.join(base.REPO, 'workbooks', '*.yaml')))
_SPECS = {}


def spec_of(path):
    if path not in _SPECS:  # validation costs seconds per workbook
        with open(path) as f:
            _SPECS[path] = parser.get_workbook_spec_from_yaml(f.read())
    return _SPECS[path]


def registered_actions():
    return {ep.name: ep for ep in importlib.metadata.entry_points(
        group='mistral.actions')}


def tasks(path):
    for workflow in spec_of(path).get_workflows():
        for task in workflow.get_tasks():
            yield workflow, task


def action_call(task):
    """(action name, input names) of a task, from either of its forms."""
    name, _, inline = task.get_action_name().partition(' ')
    inputs = set(re.findall(r'(\w+)=', inline)) if inline else set()
    inputs |= set(task.get_input() or {})
    return name, inputs


class TestWorkbooks(base.TestCase):

    def test_there_is_an_interconnect_workbook(self):
        self.assertIn('geoflows.interconnect.v1.yaml',
                      [os.path.basename(p) for p in WORKBOOKS])

    def test_every_workbook_is_valid_and_named_after_its_file(self):
        for path in WORKBOOKS:
            spec = spec_of(path)
            self.assertEqual(os.path.basename(path)[:-len('.yaml')],
                             spec.get_name())
            self.assertTrue(spec.get_description(), path)

    def test_the_parser_rejects_a_broken_workbook(self):
        # The check above cannot pass by accident: a task that goes to an
        # unknown task is refused.
        with open(WORKBOOKS[0]) as f:
            text = f.read().replace('- run_job\n', '- no_such_task\n', 1)
        self.assertRaises(mistral_exc.MistralException,
                          parser.get_workbook_spec_from_yaml, text)

    def test_every_action_named_is_registered_with_those_inputs(self):
        actions = registered_actions()
        for path in WORKBOOKS:
            for workflow, task in tasks(path):
                name, inputs = action_call(task)
                where = '%s: %s.%s' % (os.path.basename(path),
                                       workflow.get_name(), task.get_name())
                self.assertIn(name, actions, where)
                params = inspect.signature(actions[name].load()).parameters
                self.assertEqual(set(), inputs - set(params),
                                 '%s gives inputs %s does not take'
                                 % (where, name))
                required = {p for p, v in params.items()
                            if v.default is inspect.Parameter.empty}
                self.assertEqual(set(), required - inputs,
                                 '%s misses inputs of %s' % (where, name))

    def test_every_geoflows_action_is_registered_under_its_module(self):
        for name, ep in registered_actions().items():
            if name.startswith('geoflows.'):
                area = name.split('.')[1]
                self.assertEqual('geoflows.actions.%s' % area, ep.module,
                                 name)

    def test_workflows_describe_inputs_and_publish_a_report(self):
        for path in WORKBOOKS:
            for workflow in spec_of(path).get_workflows():
                where = '%s.%s' % (spec_of(path).get_name(),
                                   workflow.get_name())
                self.assertTrue(workflow.get_description(), where)
                self.assertIn('report', workflow.get_output(), where)
                defaults = workflow.get_task_defaults()
                self.assertIsNotNone(defaults, where)
                self.assertTrue(defaults.get_on_error(), where)

    def test_teardown_can_wait_for_a_human_decision(self):
        path = os.path.join(base.REPO, 'workbooks',
                            'geoflows.interconnect.v1.yaml')
        teardown = [w for w in spec_of(path).get_workflows()
                    if w.get_name() == 'teardown'][0]
        self.assertIn('require_approval', teardown.get_input())
        approval = teardown.get_tasks()['await_approval']
        self.assertEqual('std.async_noop', approval.get_action_name())


PROTECTION = os.path.join(base.REPO, 'workbooks',
                          'geoflows.protection.v1.yaml')


def workflow(path, name):
    return [w for w in spec_of(path).get_workflows()
            if w.get_name() == name][0]


class TestProtectionWorkbook(base.TestCase):

    def test_its_workflows(self):
        self.assertEqual(
            {'protect', 'sync', 'status', 'checkpoints', 'resume', 'revert'},
            {w.get_name() for w in spec_of(PROTECTION).get_workflows()})

    def test_every_job_it_starts_is_an_operation_on_groups(self):
        from geoflows import operations
        started = {}
        for wf, task in tasks(PROTECTION):
            if task.get_action_name() == 'geoflows.job.start':
                inputs = task.get_input()
                self.assertIn(inputs['operation'], operations.OPERATIONS)
                self.assertEqual('<% $.groups %>', inputs['names'])
                self.assertIn('groups', wf.get_input())
                started[wf.get_name()] = inputs['operation']
        self.assertEqual({'protect': 'protect', 'sync': 'sync'}, started)

    def test_status_fails_on_a_violated_rpo_unless_told_not_to(self):
        status = workflow(PROTECTION, 'status')
        self.assertEqual(True, status.get_input()['fail_on_violation'])
        self.assertIn('violated', status.get_output())
        self.assertIn('report', status.get_output_on_error())
        read = status.get_tasks()['read_status']
        self.assertEqual('geoflows.protection.status',
                         read.get_action_name())
        [(target, condition)] = [
            (t, c) for t, c, _params in read.get_on_success().get_next()]
        self.assertEqual('report_violation', target)
        self.assertIn('$.report.violated and $.fail_on_violation', condition)
        self.assertEqual('std.fail', status.get_tasks()[
            'report_violation'].get_action_name())

    def test_the_violation_message_names_the_vnfs(self):
        # The expressions, evaluated by Mistral's own yaql engine on what
        # geoflows.protection.status returns.
        from mistral import expressions
        status = workflow(PROTECTION, 'status')
        read = status.get_tasks()['read_status']
        [(_t, condition, _p)] = read.get_on_success().get_next()
        fail = status.get_tasks()['report_violation']
        report = {'plan': 'dr', 'violated': True,
                  'violations': ['core/hss', 'core/fw']}
        context = {'report': report, 'fail_on_violation': True}
        self.assertTrue(expressions.evaluate(condition, context))
        self.assertFalse(expressions.evaluate(
            condition, dict(context, fail_on_violation=False)))
        self.assertFalse(expressions.evaluate(condition, {
            'report': dict(report, violated=False),
            'fail_on_violation': True}))
        message = expressions.evaluate_recursively(
            fail.get_input()['error_data'], context)
        self.assertEqual({'kind': 'RpoViolated',
                          'message': 'RPO violated in plan dr: core/hss, '
                                     'core/fw (figures in the output '
                                     'report)'}, message)
        for context in ({'report': report}, {'report': None}, {}):
            self.assertIn(expressions.evaluate(
                status.get_output_on_error()['violated'], context),
                (True, None))

    def test_the_workbooks_are_installed_with_the_package(self):
        import configparser
        setup = configparser.ConfigParser()
        setup.read(os.path.join(base.REPO, 'setup.cfg'))
        files = setup['files']['data_files']
        self.assertIn('share/geoflows/workbooks = workbooks/*', files)
        self.assertIn(PROTECTION, WORKBOOKS)
