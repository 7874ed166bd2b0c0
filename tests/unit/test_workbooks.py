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
        with open(os.path.join(base.REPO, 'workbooks',
                               'geoflows.interconnect.v1.yaml')) as f:
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


TAKEOVER = os.path.join(base.REPO, 'workbooks', 'geoflows.takeover.v1.yaml')


def evaluate(expression, context):
    from mistral import expressions
    return expressions.evaluate_recursively(expression, context)


def report(**changes):
    """What geoflows.takeover.report returns, in short."""
    data = {'job': 'j-1', 'plan': 'dr', 'state': 'SUCCESS',
            'complete': True, 'not_ready': [], 'not_fenced': [],
            'fence': {'core': {'state': 'fenced', 'detail': 'stopped'}},
            'next': None}
    data.update(changes)
    return data


def published_on_error(task):
    from mistral.workflow import states
    return task.get_publish(states.ERROR).get_branch()


def evaluate_task(expression, result, context):
    """``expression`` evaluated with ``task().result`` being ``result``.

    (Mistral's task() reads its database; the expression's own logic is
    what is tested here.)
    """
    return evaluate(expression.replace('task().result', '$.task_result'),
                    dict(context, task_result=result))


class TestTakeoverWorkbook(base.TestCase):

    def test_its_workflows(self):
        self.assertEqual(
            {'planned', 'disaster', 'verify', 'fence', 'report', 'resume',
             'revert'},
            {w.get_name() for w in spec_of(TAKEOVER).get_workflows()})

    def path(self, name, start):
        """The task names from ``start`` along the first on-success."""
        tasks = workflow(TAKEOVER, name).get_tasks()
        found = [start]
        while True:
            on_success = tasks[found[-1]].get_on_success()
            if not on_success:
                return found
            found.append(on_success.get_next()[0][0])

    def test_disaster_declares_then_takes_over_verifies_reports(self):
        self.assertEqual(['validate_plan', 'declare_disaster', 'take_over',
                          'verify', 'report', 'report_incomplete'],
                         self.path('disaster', 'validate_plan'))
        tasks = workflow(TAKEOVER, 'disaster').get_tasks()
        self.assertEqual('std.async_noop',
                         tasks['declare_disaster'].get_action_name())
        # The only way to the takeover is the decision's success.
        for task in tasks:
            name = task.get_name()
            targets = [t for clause in (task.get_on_success(),
                                        task.get_on_error(),
                                        task.get_on_complete()) if clause
                       for t, _c, _p in clause.get_next()]
            if 'take_over' in targets:
                self.assertEqual('declare_disaster', name)
                self.assertEqual(['take_over'], [
                    t for t, _c, _p in task.get_on_success().get_next()])
        take_over = tasks['take_over']
        self.assertEqual('geoflows.takeover.start',
                         take_over.get_action_name())
        inputs = take_over.get_input()
        self.assertEqual(('disaster', True, '<% $.checkpoint %>'),
                         (inputs['mode'], inputs['confirm_primary_lost'],
                          inputs['checkpoint']))
        self.assertIn('checkpoint', workflow(TAKEOVER, 'disaster').get_input())

    def test_planned_needs_no_decision_unless_asked(self):
        planned = workflow(TAKEOVER, 'planned')
        self.assertEqual(False, planned.get_input()['require_approval'])
        tasks = planned.get_tasks()
        self.assertEqual(
            [('await_approval', '<% $.require_approval %>'),
             ('take_over', '<% not $.require_approval %>')],
            [(t, c) for t, c, _p in
             tasks['validate_plan'].get_on_success().get_next()])
        inputs = tasks['take_over'].get_input()
        self.assertEqual('planned', inputs['mode'])
        self.assertNotIn('confirm_primary_lost', inputs)
        self.assertNotIn('checkpoint', inputs)

    def test_outputs_name_the_job_the_fence_and_the_next_command(self):
        for name in ('planned', 'disaster'):
            wf = workflow(TAKEOVER, name)
            for key in ('report', 'job_id', 'verify', 'next'):
                self.assertIn(key, wf.get_output(), name)
                self.assertIn(key, wf.get_output_on_error(), name)
        output = workflow(TAKEOVER, 'disaster').get_output()
        context = {'report': report(not_fenced=['core'], next='fence it'),
                   'job_id': 'j-1', 'verified': {'clean': True}}
        self.assertEqual(['core'], evaluate(output['not_fenced'], context))
        self.assertEqual('fence it', evaluate(output['next'], context))
        self.assertEqual('fenced', evaluate(output['fence'],
                                            context)['core']['state'])
        # Before any job, the output on error says none.
        self.assertEqual({'error': 'no', 'report': None, 'job_id': None,
                          'verify': None, 'next': None}, evaluate(
            workflow(TAKEOVER, 'disaster').get_output_on_error(),
            {'error': 'no'}))

    def test_an_incomplete_takeover_or_a_difference_fails(self):
        for name in ('planned', 'disaster'):
            tasks = workflow(TAKEOVER, name).get_tasks()
            [(target, condition, _p)] = tasks[
                'report'].get_on_success().get_next()
            self.assertEqual('report_incomplete', target)
            fail = tasks['report_incomplete']
            self.assertEqual('std.fail', fail.get_action_name())
            clean = {'clean': True, 'differences': 0}
            self.assertFalse(evaluate(condition, {'report': report(),
                                                  'verified': clean}))
            partial = {'report': report(
                state='PARTIAL', complete=False,
                not_ready=['core/fw', 'core/lb'],
                next='run the resume workflow with job_id j-1'),
                'verified': {'clean': False, 'differences': 3},
                'job_id': 'j-1'}
            self.assertTrue(evaluate(condition, partial))
            self.assertEqual({
                'kind': 'TakeoverIncomplete', 'job': 'j-1',
                'message': 'takeover job j-1 of plan dr ended PARTIAL; not '
                           'ready: core/fw, core/lb; 3 difference(s) '
                           'between the DR site and the checkpoint (output '
                           'verify); next: run the resume workflow with '
                           'job_id j-1'},
                evaluate(fail.get_input()['error_data'], partial))
            differs = {'report': report(), 'job_id': 'j-1',
                       'verified': {'clean': False, 'differences': 1}}
            self.assertTrue(evaluate(condition, differs))
            self.assertEqual(
                'takeover job j-1 of plan dr ended SUCCESS; 1 difference(s) '
                'between the DR site and the checkpoint (output verify)',
                evaluate(fail.get_input()['error_data'], differs)[
                    'message'])

    def test_a_refusal_says_why_and_that_nothing_changed(self):
        for name, task, text in (
                ('disaster', 'declare_disaster',
                 'disaster takeover of plan dr not declared: the site '
                 'answers again (nothing was changed)'),
                ('planned', 'await_approval',
                 'planned takeover of plan dr rejected: the site answers '
                 'again (nothing was changed)')):
            decision = workflow(TAKEOVER, name).get_tasks()[task]
            self.assertEqual('std.async_noop', decision.get_action_name())
            expression = published_on_error(decision)['error']
            for result in ({'reason': 'the site answers again'},
                           'the site answers again'):
                self.assertEqual(text, evaluate_task(expression, result, {
                    'plan_name': 'dr'}))

    def test_a_failed_job_gives_its_id_and_what_to_do(self):
        take_over = workflow(TAKEOVER, 'disaster').get_tasks()['take_over']
        self.assertIn('isDict(task().result)',
                      take_over.get_policies().get_retry().get_break_on())
        published = published_on_error(take_over)
        failed = {'message': 'geoflows job j-1 ... ended FAILED (resume '
                             'it)', 'kind': 'JobFailed',
                  'job': {'id': 'j-1', 'state': 'FAILED'}}
        self.assertEqual((failed, 'j-1', failed['message']), tuple(
            evaluate_task(published[key], failed, {})
            for key in ('error', 'job_id', 'next')))
        refused = {'message': 'group core already runs at site west',
                   'kind': 'GeoflowsError'}
        self.assertEqual((None, refused['message']), tuple(
            evaluate_task(published[key], refused, {})
            for key in ('job_id', 'next')))
        # A lost executor (Mistral's text error): no job to name yet.
        self.assertEqual((None, None), tuple(
            evaluate_task(published[key], 'Heartbeat was not received', {})
            for key in ('job_id', 'next')))

    def test_verify_fails_on_a_difference_unless_told_not_to(self):
        verify = workflow(TAKEOVER, 'verify')
        self.assertEqual(True, verify.get_input()['fail_on_difference'])
        compare = verify.get_tasks()['compare']
        [(target, condition, _p)] = compare.get_on_success().get_next()
        self.assertEqual('report_difference', target)
        found = {'plan': 'dr', 'clean': False, 'differences': 203,
                 'groups': {'core': {'differences': ['a'] * 200,
                                     'more': 3},
                            'edge': {'differences': [], 'more': 0}}}
        context = {'report': found, 'fail_on_difference': True}
        self.assertTrue(evaluate(condition, context))
        self.assertFalse(evaluate(condition, dict(context,
                                                  fail_on_difference=False)))
        self.assertEqual(
            'the sites serving the groups of plan dr differ from their '
            'checkpoints: core (203) (every difference in the output '
            'report)', evaluate(verify.get_tasks()['report_difference']
                                .get_input()['error_data'],
                                context)['message'])

    def test_fence_fails_while_a_group_is_not_fenced(self):
        fence = workflow(TAKEOVER, 'fence')
        self.assertEqual(False, fence.get_input()['confirm_fenced'])
        task = fence.get_tasks()['fence']
        self.assertEqual('geoflows.takeover.fence', task.get_action_name())
        [(target, condition, _p)] = task.get_on_success().get_next()
        self.assertEqual('report_not_fenced', target)
        found = {'plan': 'dr', 'job': 'j-2', 'not_fenced': ['core'],
                 'groups': {'core': {'fence': 'not fenced',
                                     'detail': 'no answer within 60s'},
                            'edge': {'fence': 'fenced', 'detail': 'ok'}}}
        self.assertTrue(evaluate(condition, {'report': found}))
        self.assertFalse(evaluate(condition, {'report': dict(
            found, not_fenced=[])}))
        self.assertEqual(
            'the primary of core (plan dr) is still not fenced: no answer '
            'within 60s', evaluate(fence.get_tasks()['report_not_fenced']
                                   .get_input()['error_data'],
                                   {'report': found})['message'])


FAILBACK = os.path.join(base.REPO, 'workbooks', 'geoflows.failback.v1.yaml')


def failback_report(**changes):
    """What geoflows.failback.report returns, in short."""
    data = {'job': 'j-2', 'plan': 'dr', 'stage': 'delink',
            'state': 'SUCCESS', 'complete': True, 'incomplete': [],
            'origin_checked': ['core'], 'origin_serves': ['core'],
            'failed': {}, 'skipped': {}, 'next': None}
    data.update(changes)
    return data


def targets(task):
    """[(target, condition or None)] of a task's on-success."""
    on_success = task.get_on_success()
    return [(t, c or None) for t, c, _p in on_success.get_next()] \
        if on_success else []


class TestFailbackWorkbook(base.TestCase):

    def tasks(self, name):
        return workflow(FAILBACK, name).get_tasks()

    def test_its_workflows(self):
        self.assertEqual(
            {'reprotect', 'failback', 'report'},
            {w.get_name() for w in spec_of(FAILBACK).get_workflows()})

    def test_conventions_of_the_takeover_workbook(self):
        # Safe to run again, retried only when Mistral lost the action (a
        # text error), the error published for the execution's message.
        for wf in spec_of(FAILBACK).get_workflows():
            defaults = wf.get_task_defaults()
            self.assertTrue(defaults.get_safe_rerun(), wf.get_name())
            for task in wf.get_tasks():
                where = '%s.%s' % (wf.get_name(), task.get_name())
                self.assertIn('error', published_on_error(task), where)
                # (Validating the plan, read only, is not retried.)
                if task.get_action_name().startswith('geoflows.') and \
                        task.get_name() != 'validate_plan':
                    retry = task.get_policies().get_retry()
                    self.assertIsNotNone(retry, where)
                    self.assertEqual('<% isDict(task().result) %>',
                                     retry.get_break_on(), where)

    def test_reprotect_then_the_first_reverse_sync(self):
        from geoflows import operations
        tasks = self.tasks('reprotect')
        self.assertEqual([('reprotect', None)],
                         targets(tasks['validate_plan']))
        self.assertEqual([('first_sync', None)], targets(tasks['reprotect']))
        self.assertEqual([], targets(tasks['first_sync']))
        reprotect = tasks['reprotect']
        self.assertEqual('geoflows.failback.reprotect',
                         reprotect.get_action_name())
        self.assertEqual('<% $.to %>', reprotect.get_input()['to'])
        self.assertIn('to', workflow(FAILBACK, 'reprotect').get_input())
        sync = tasks['first_sync']
        self.assertEqual('geoflows.job.start', sync.get_action_name())
        inputs = sync.get_input()
        self.assertIn(inputs['operation'], operations.OPERATIONS)
        self.assertEqual(('sync', '<% $.groups %>'),
                         (inputs['operation'], inputs['names']))
        output = workflow(FAILBACK, 'reprotect').get_output()
        context = {'report': {'id': 'j-1'}, 'job_id': 'j-1',
                   'sync': {'id': 'j-2'}, 'sync_job_id': 'j-2'}
        self.assertEqual(('j-1', 'j-2'), (evaluate(output['job_id'], context),
                                          evaluate(output['sync_job_id'],
                                                   context)))

    def path(self, name, start, **context):
        """The tasks run from ``start``, the conditions on ``context``."""
        tasks = self.tasks(name)
        found = [start]
        while True:
            nexts = [t for t, c in targets(tasks[found[-1]])
                     if c is None or evaluate(c, context)]
            if not nexts:
                return found
            self.assertEqual(1, len(nexts), (found, nexts))
            found.append(nexts[0])

    def test_failback_origin_decision_delink_sync_report(self):
        done = {'delink_only': False, 'origin_state': 'SUCCESS',
                'delink_state': 'SUCCESS', 'report': failback_report()}
        self.assertEqual(['validate_plan', 'build_origin', 'approve_delink',
                          'delink', 'forward_sync', 'report'],
                         self.path('failback', 'validate_plan', **done))
        # Without the origin job: straight to the decision.
        self.assertEqual(['validate_plan', 'approve_delink', 'delink',
                          'forward_sync', 'report'], self.path(
            'failback', 'validate_plan', **dict(done, delink_only=True)))
        # A PARTIAL origin or de-link: its report, then the failure.
        partial = dict(done, report=failback_report(
            state='PARTIAL', complete=False, incomplete=['core']))
        self.assertEqual(['validate_plan', 'build_origin', 'report',
                          'report_incomplete'], self.path(
            'failback', 'validate_plan', **dict(partial,
                                                origin_state='PARTIAL')))
        self.assertEqual(['validate_plan', 'build_origin', 'approve_delink',
                          'delink', 'report', 'report_incomplete'],
                         self.path('failback', 'validate_plan',
                                   **dict(partial, delink_state='PARTIAL')))
        tasks = self.tasks('failback')
        self.assertEqual('std.async_noop',
                         tasks['approve_delink'].get_action_name())
        # The only way to the de-link is the decision's success.
        for task in tasks:
            if 'delink' in [t for t, _c in targets(task)]:
                self.assertEqual('approve_delink', task.get_name())
        for name, stage in (('build_origin', 'origin'), ('delink', 'delink')):
            self.assertEqual('geoflows.failback.start',
                             tasks[name].get_action_name())
            self.assertEqual(stage, tasks[name].get_input()['stage'])
        self.assertEqual('<% $.drain_time %>',
                         tasks['delink'].get_input()['drain_time'])
        self.assertEqual(('geoflows.job.start', 'sync'), (
            tasks['forward_sync'].get_action_name(),
            tasks['forward_sync'].get_input()['operation']))
        self.assertEqual('geoflows.failback.report',
                         tasks['report'].get_action_name())
        self.assertEqual(False,
                         workflow(FAILBACK, 'failback').get_input()[
                             'delink_only'])

    def test_outputs_name_the_jobs_and_the_next_command(self):
        wf = workflow(FAILBACK, 'failback')
        for key in ('report', 'job_id', 'origin_job_id', 'sync_job_id',
                    'next'):
            self.assertIn(key, wf.get_output())
            self.assertIn(key, wf.get_output_on_error())
        self.assertEqual({'error': 'no', 'report': None, 'job_id': None,
                          'origin_job_id': None, 'sync_job_id': None,
                          'next': None},
                         evaluate(wf.get_output_on_error(), {'error': 'no'}))
        self.assertEqual({'error': 'no', 'report': None, 'job_id': None,
                          'sync_job_id': None, 'next': None}, evaluate(
            workflow(FAILBACK, 'reprotect').get_output_on_error(),
            {'error': 'no'}))
        context = {'report': failback_report(next='do it'), 'job_id': 'j-2',
                   'sync_job_id': 'j-3'}
        self.assertEqual((None, 'do it'), (
            evaluate(wf.get_output()['origin_job_id'], context),
            evaluate(wf.get_output()['next'], context)))

    def test_a_refused_delink_says_why_and_what_stays(self):
        decision = self.tasks('failback')['approve_delink']
        published = published_on_error(decision)
        for result in ({'reason': 'the busy hour'}, 'the busy hour'):
            self.assertEqual(
                'de-link of plan dr from its DR site not approved: the busy '
                'hour (the DR site still serves; the origin built by '
                'failback job j-1 stays ready)',
                evaluate_task(published['error'], result, {
                    'plan_name': 'dr', 'origin_job_id': 'j-1'}))
            self.assertEqual(
                'de-link of plan dr from its DR site not approved: the busy '
                'hour (nothing was changed)',
                evaluate_task(published['error'], result, {
                    'plan_name': 'dr'}))
        self.assertEqual(
            'the DR site still serves: run the failback workflow with '
            'delink_only: true when it may let go, or undo the origin with '
            '"geoflows job revert j-1"',
            evaluate_task(published['next'], None, {'origin_job_id': 'j-1'}))
        self.assertEqual(
            'the DR site still serves: run the failback workflow with '
            'delink_only: true when it may let go',
            evaluate_task(published['next'], None, {}))

    def test_a_failed_job_gives_its_id_and_what_to_do(self):
        failed = {'message': 'geoflows job j-1 ... ended REVERTED',
                  'kind': 'JobFailed', 'job': {'id': 'j-1'}}
        refused = {'message': 'the old VNFs of group core still run',
                   'kind': 'PreflightError'}
        for wf, name in (('reprotect', 'reprotect'),
                         ('failback', 'build_origin'),
                         ('failback', 'delink')):
            published = published_on_error(self.tasks(wf)[name])
            self.assertEqual((failed, 'j-1', failed['message']), tuple(
                evaluate_task(published[key], failed, {})
                for key in ('error', 'job_id', 'next')), name)
            self.assertEqual((None, refused['message']), tuple(
                evaluate_task(published[key], refused, {})
                for key in ('job_id', 'next')), name)
            self.assertEqual((None, None), tuple(
                evaluate_task(published[key], 'Heartbeat was not received',
                              {}) for key in ('job_id', 'next')), name)

    def test_a_failed_sync_names_the_job_before_it(self):
        busy = {'message': 'a sync of group core runs (job j-9)',
                'kind': 'JobBusy'}
        first = published_on_error(self.tasks('reprotect')['first_sync'])
        self.assertEqual(
            'the groups replicate back since reprotect job j-1; their first '
            'reverse sync did not succeed: a sync of group core runs (job '
            'j-9); run the sync workflow of geoflows.protection.v1 (or '
            '"geoflows sync") before a failback',
            evaluate_task(first['next'], busy, {'job_id': 'j-1'}))
        forward = published_on_error(self.tasks('failback')['forward_sync'])
        self.assertEqual(
            'the origin serves since failback job j-2; its first forward '
            'sync did not succeed; run the sync workflow of '
            'geoflows.protection.v1 (or "geoflows sync"), and the report '
            'workflow with job_id j-2',
            evaluate_task(forward['next'], 'Heartbeat was not received',
                          {'job_id': 'j-2'}))
        self.assertEqual('j-9', evaluate_task(
            forward['sync_job_id'], dict(busy, job={'id': 'j-9'}), {}))

    def test_an_incomplete_failback_fails_with_the_next_command(self):
        tasks = self.tasks('failback')
        [(target, condition)] = targets(tasks['report'])
        self.assertEqual('report_incomplete', target)
        fail = tasks['report_incomplete']
        self.assertEqual('std.fail', fail.get_action_name())
        self.assertFalse(evaluate(condition, {'report': failback_report()}))
        partial = {'job_id': 'j-1', 'report': failback_report(
            job='j-1', stage='origin', state='PARTIAL', complete=False,
            incomplete=['core'], origin_checked=[],
            next='fix what failed, then "geoflows job resume j-1"')}
        self.assertTrue(evaluate(condition, partial))
        self.assertEqual({
            'kind': 'FailbackIncomplete', 'job': 'j-1',
            'message': 'failback job j-1 (stage origin) of plan dr ended '
                       'PARTIAL; origin not checked: core; next: fix what '
                       'failed, then "geoflows job resume j-1"'},
            evaluate(fail.get_input()['error_data'], partial))
        delink = {'job_id': 'j-2', 'report': failback_report(
            state='PARTIAL', complete=False, incomplete=['core', 'edge'])}
        self.assertEqual(
            'failback job j-2 (stage delink) of plan dr ended PARTIAL; not '
            'given back: core, edge',
            evaluate(fail.get_input()['error_data'], delink)['message'])

    def test_the_report_workflow(self):
        report = workflow(FAILBACK, 'report')
        self.assertEqual({'job_id', 'plan_file'}, set(report.get_input()))
        self.assertEqual('geoflows.failback.report', report.get_tasks()[
            'report'].get_action_name())


DRILL = os.path.join(base.REPO, 'workbooks', 'geoflows.drill.v1.yaml')


def drill_report(**changes):
    """What geoflows.drill.report returns, in short."""
    data = {'job': 'j-1', 'plan': 'dr', 'state': 'SUCCESS',
            'complete': True, 'not_ready': [], 'rto_missed': [],
            'differing': [], 'kept': [], 'cleanup': None,
            'failed': {}, 'skipped': {}, 'next': None}
    data.update(changes)
    return data


class TestDrillWorkbook(base.TestCase):

    def tasks(self, name):
        return workflow(DRILL, name).get_tasks()

    def test_its_workflows(self):
        self.assertEqual(
            {'drill', 'cleanup', 'report', 'list'},
            {w.get_name() for w in spec_of(DRILL).get_workflows()})

    def test_its_actions_are_the_drill_actions(self):
        actions = registered_actions()
        for name in ('geoflows.drill.start', 'geoflows.drill.cleanup',
                     'geoflows.drill.report', 'geoflows.drill.list'):
            self.assertIn(name, actions)
            self.assertEqual('geoflows.actions.drill', actions[name].module)
        used = {task.get_action_name() for _wf, task in tasks(DRILL)}
        self.assertEqual({'geoflows.plan.validate', 'geoflows.drill.start',
                          'geoflows.drill.report', 'geoflows.drill.cleanup',
                          'geoflows.drill.list', 'std.fail'}, used)

    def test_conventions_of_the_failback_workbook(self):
        for wf in spec_of(DRILL).get_workflows():
            defaults = wf.get_task_defaults()
            self.assertTrue(defaults.get_safe_rerun(), wf.get_name())
            for task in wf.get_tasks():
                where = '%s.%s' % (wf.get_name(), task.get_name())
                self.assertIn('error', published_on_error(task), where)
                if task.get_action_name().startswith('geoflows.') and \
                        task.get_name() != 'validate_plan':
                    retry = task.get_policies().get_retry()
                    self.assertIsNotNone(retry, where)
                    self.assertEqual('<% isDict(task().result) %>',
                                     retry.get_break_on(), where)

    def path(self, name, start, **context):
        """The tasks run from ``start``, the conditions on ``context``."""
        tasks = self.tasks(name)
        found = [start]
        while True:
            nexts = [t for t, c in targets(tasks[found[-1]])
                     if c is None or evaluate(c, context)]
            if not nexts:
                return found
            self.assertEqual(1, len(nexts), (found, nexts))
            found.append(nexts[0])

    def test_drill_validates_starts_reports(self):
        self.assertEqual(['validate_plan', 'start_drill', 'report'],
                         self.path('drill', 'validate_plan',
                                   report=drill_report()))
        self.assertEqual(['validate_plan', 'start_drill', 'report',
                          'report_incomplete'], self.path(
            'drill', 'validate_plan', report=drill_report(
                state='PARTIAL', complete=False, not_ready=['core/fw'])))
        tasks = self.tasks('drill')
        start = tasks['start_drill']
        self.assertEqual('geoflows.drill.start', start.get_action_name())
        self.assertEqual(('<% $.keep %>', '<% $.keep_for %>',
                          '<% $.groups %>'),
                         tuple(start.get_input()[key]
                               for key in ('keep', 'keep_for', 'groups')))
        inputs = workflow(DRILL, 'drill').get_input()
        self.assertEqual((False, None), (inputs['keep'], inputs['keep_for']))
        self.assertEqual('<% $.job_id %>',
                         tasks['report'].get_input()['job_id'])

    def test_a_kept_drill_names_its_cleanup(self):
        output = workflow(DRILL, 'drill').get_output()
        cleanup = {'workflow': 'geoflows.drill.v1.cleanup',
                   'input': {'drill': 'j-1'},
                   'command': 'geoflows drill cleanup j-1'}
        kept = {'job_id': 'j-1', 'report': drill_report(
            kept=['core'], cleanup=cleanup, next='remove it')}
        self.assertEqual(('j-1', cleanup, 'remove it'), tuple(
            evaluate(output[key], kept)
            for key in ('drill_id', 'cleanup', 'next')))
        removed = {'job_id': 'j-1', 'report': drill_report()}
        self.assertEqual((None, None), tuple(
            evaluate(output[key], removed) for key in ('drill_id',
                                                       'cleanup')))
        on_error = workflow(DRILL, 'drill').get_output_on_error()
        self.assertEqual({'error': 'no', 'report': None, 'job_id': None,
                          'drill_id': None, 'cleanup': None, 'next': None},
                         evaluate(on_error, {'error': 'no'}))
        self.assertEqual(('j-1', cleanup), tuple(
            evaluate(on_error[key], dict(kept, error='no'))
            for key in ('drill_id', 'cleanup')))

    def test_an_incomplete_drill_fails_with_the_next_command(self):
        fail = self.tasks('drill')['report_incomplete']
        self.assertEqual('std.fail', fail.get_action_name())
        partial = {'job_id': 'j-1', 'report': drill_report(
            state='PARTIAL', complete=False, not_ready=['core/fw'],
            differing=['core'], next='fix it')}
        self.assertEqual({
            'kind': 'DrillIncomplete', 'job': 'j-1',
            'message': 'drill job j-1 of plan dr ended PARTIAL; not ready: '
                       'core/fw; the copy differs from the checkpoint: '
                       'core; next: fix it'},
            evaluate(fail.get_input()['error_data'], partial))

    def test_a_failed_job_gives_its_id_and_what_to_do(self):
        failed = {'message': 'geoflows job j-1 ... ended REVERTED',
                  'kind': 'JobFailed', 'job': {'id': 'j-1'}}
        refused = {'message': 'group core runs at site lyon',
                   'kind': 'PreflightError'}
        for wf, name in (('drill', 'start_drill'), ('cleanup', 'cleanup')):
            published = published_on_error(self.tasks(wf)[name])
            self.assertEqual((failed, 'j-1', failed['message']), tuple(
                evaluate_task(published[key], failed, {})
                for key in ('error', 'job_id', 'next')), name)
            self.assertEqual((None, refused['message']), tuple(
                evaluate_task(published[key], refused, {})
                for key in ('job_id', 'next')), name)

    def test_cleanup_then_nothing_left(self):
        tasks = self.tasks('cleanup')
        self.assertEqual({'drill'}, set(workflow(DRILL, 'cleanup')
                                        .get_input()))
        self.assertEqual('<% $.drill %>',
                         tasks['cleanup'].get_input()['drill'])
        from mistral.workflow import states
        self.assertEqual('<% task().result.drill %>', tasks['cleanup']
                         .get_publish(states.SUCCESS).get_branch()[
                             'drill_id'])
        self.assertEqual('<% $.drill_id %>',
                         tasks['left'].get_input()['drill'])
        empty = {'report': {'copies': [], 'count': 0, 'drills': []}}
        self.assertEqual(['cleanup', 'left'],
                         self.path('cleanup', 'cleanup', **empty))
        left = {'job_id': 'j-2', 'drill_id': 'j-1', 'report': {
            'copies': [{'group': 'core', 'site': 'lyon'}], 'count': 1,
            'drills': ['j-1']}}
        self.assertEqual(['cleanup', 'left', 'copy_left'],
                         self.path('cleanup', 'cleanup', **left))
        self.assertEqual(
            'cleanup job j-2 of drill j-1 ended, but copies are still '
            'present: core at lyon; run the cleanup again',
            evaluate(tasks['copy_left'].get_input()['error_data'],
                     left)['message'])
        self.assertEqual([], evaluate(workflow(DRILL, 'cleanup').get_output()[
            'left'], dict(empty, job_id='j-2', drill_id='j-1')))

    def test_the_report_and_list_workflows(self):
        report = workflow(DRILL, 'report')
        self.assertEqual({'job_id', 'plan_file'}, set(report.get_input()))
        self.assertEqual('geoflows.drill.report', report.get_tasks()[
            'report'].get_action_name())
        listing = workflow(DRILL, 'list')
        self.assertEqual({'plan_name', 'include_removed'},
                         set(listing.get_input()))
        self.assertEqual('geoflows.drill.list', listing.get_tasks()[
            'list'].get_action_name())
