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
