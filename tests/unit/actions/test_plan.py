"""geoflows.plan.validate."""

import os

import yaml

from geoflows.actions import plan as plan_actions
from tests.unit.actions import base as actions_base
from tests.unit import base


class TestValidatePlan(actions_base.ActionTestCase):

    def run_action(self, **inputs):
        return plan_actions.ValidatePlan(**inputs).run(
            actions_base.execution())

    def test_a_mapping(self):
        result = self.run_action(plan=base.plan_data())
        self.assertEqual({'valid': True, 'name': 'test',
                          'digest': base.make_plan().digest,
                          'sites': ['cell1', 'cell2', 'lyon', 'paris'],
                          'interconnects': ['vpn', 'sec', 'cells']}, result)

    def test_yaml_text_and_a_file_give_the_same_plan(self):
        text = yaml.safe_dump(base.plan_data())
        path = os.path.join(self.tmp, 'plan.yaml')
        with open(path, 'w') as f:
            f.write(text)
        self.assertEqual(self.run_action(plan=text),
                         self.run_action(plan_file=path))

    def test_every_problem_is_listed_with_its_place(self):
        data = base.plan_data()
        data['interconnects'][0]['overlay'] = {'type': 'gre'}
        data['interconnects'][2]['colour'] = 'red'
        error = self.assertActionError(
            self.run_action(plan=data),
            'the "plan" input is not a valid plan (2 problems)',
            'interconnects[0].overlay.type', 'interconnects[2]', 'colour',
            kind='PlanError')
        self.assertNotIn('Traceback', error['message'])

    def test_yaml_errors_name_the_line(self):
        self.assertActionError(self.run_action(plan='name: [x\nsites: {}'),
                               'the "plan" input:2:6: not valid YAML',
                               kind='PlanError')

    def test_plan_or_plan_file_not_both_nor_neither(self):
        self.assertActionError(self.run_action(), 'not neither')
        self.assertActionError(
            self.run_action(plan=base.plan_data(), plan_file='/x.yaml'),
            'not both')

    def test_a_missing_file(self):
        self.assertActionError(
            self.run_action(plan_file=os.path.join(self.tmp, 'none.yaml')),
            'none.yaml', 'no such file')

    def test_a_plan_of_the_wrong_type(self):
        self.assertActionError(self.run_action(plan=[1, 2]),
                               'not list')
