"""What every geoflows Mistral action shares.

One runner per executor process, built from geoflows' configuration at the
first action; errors a workflow can branch on come back as Mistral action
errors, ``{"message": ..., "kind": ...}`` (plus ``job`` when a job is
concerned), never as a traceback.
"""

import logging
import threading

from mistral_lib import actions

from geoflows import exceptions
from geoflows import plan as plan_mod
from geoflows import secrets

LOG = logging.getLogger(__name__)

_runner = None
_runner_lock = threading.Lock()


def runner():
    """The runner of this process (built at the first call)."""
    global _runner
    with _runner_lock:
        if _runner is None:
            from geoflows import conf
            from geoflows import runner as runner_mod
            config = conf.load()
            _runner = runner_mod.Runner.from_config(
                config, owner='mistral@%s' % runner_mod.owner_id())
        return _runner


def reset():
    """Forget the runner (tests; a new configuration)."""
    global _runner
    with _runner_lock:
        if _runner is not None:
            _runner.close()
        _runner = None


def error(message, kind='GeoflowsError', **extra):
    data = {'message': secrets.mask(message), 'kind': kind}
    data.update(extra)
    return actions.Result(error=data)


class GeoflowsAction(actions.Action):
    """Runs :meth:`execute`; turns failures into Mistral action errors.

    Attributes must stay JSON-able: a remote executor receives the action
    as ``vars(self)``.
    """

    def run(self, context):
        try:
            return self.execute(context)
        except exceptions.GeoflowsError as e:
            return error(str(e), type(e).__name__)
        except Exception as e:  # a bug: say so, keep the traceback in logs
            LOG.exception('geoflows action %s failed', type(self).__name__)
            return error('unexpected error in %s: %s: %s (the Mistral '
                         'executor\'s log has the traceback)' % (
                             type(self).__name__, type(e).__name__, e),
                         'InternalError')

    def execute(self, context):
        raise NotImplementedError

    def test(self, context):
        return None


def load_plan(plan, plan_file, where):
    """The plan given inline (mapping or YAML text) or as a file path.

    ``where`` names the input in error messages.
    """
    if (plan is None) == (plan_file is None):
        raise exceptions.PlanError(where, [plan_mod.Problem(
            (), 'give the plan either inline ("plan": a mapping or YAML '
                'text) or as "plan_file" (a path on the Mistral executor '
                'hosts), not %s' % ('neither' if plan is None else 'both'))])
    if plan_file is not None:
        return plan_mod.load(plan_file)
    if isinstance(plan, str):
        return plan_mod.parse(plan, where)
    if isinstance(plan, dict):
        return plan_mod.from_document(plan, where)
    raise exceptions.PlanError(where, [plan_mod.Problem(
        (), 'a plan is a mapping or YAML text, not %s'
            % type(plan).__name__)])
