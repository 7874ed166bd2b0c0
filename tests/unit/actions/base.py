"""Base of the Mistral action tests: the actions on the fake cloud."""

from mistral_lib.actions import context as action_context

from geoflows.actions import base as actions_base
from tests.unit import base


def execution(task='task-1', action='action-1', workflow='wf-1'):
    """The execution context Mistral gives an action of a workflow task."""
    return action_context.ActionContext(
        security_ctx=None,
        execution_ctx=action_context.ExecutionContext(
            workflow_execution_id=workflow, task_execution_id=task,
            action_execution_id=action, workflow_name='geoflows.test',
            callback_url='/v2/action_executions/%s' % action))


class ActionTestCase(base.CloudTestCase):
    """The actions use this test's runner (fake cloud, SQLite store)."""

    def setUp(self):
        super().setUp()
        self.patch(actions_base, '_runner', self.runner)

    def assertActionError(self, result, *fragments, kind=None):
        self.assertTrue(result.is_error(), result)
        self.assertIsInstance(result.error, dict)
        for fragment in fragments:
            self.assertIn(fragment, result.error['message'])
        if kind:
            self.assertEqual(kind, result.error['kind'])
        return result.error
