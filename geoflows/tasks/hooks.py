"""Steps that run a VNF's consistency hooks (geoflows.hooks).

``Quiesce`` and ``Unquiesce`` come in pairs, one pair per server: a VNF's
servers are quiesced in the plan's order and unquiesced in reverse.  Once
a quiesce may have run, the unquiesce runs: forward by its own step, or,
when the job fails or is reverted before that step succeeded, by the
revert of the quiesce step (also when the quiesce itself failed half-way:
it may hold something).  The revert looks up the unquiesce step in the
job's record, so that an unquiesce that succeeded is not run twice; a
crash in the middle of an unquiesce hook can still run it twice, which is
why hooks must be idempotent (see the hooks guide).
"""

import logging

from geoflows import hooks
from geoflows.tasks import base

LOG = logging.getLogger(__name__)


class HookTask(base.GeoflowsTask):
    """Run the hooks of one point for a VNF, or one of its servers."""

    def __init__(self, name, spec, point, server=None, provides=None,
                 requires=()):
        super().__init__(name, spec['target'],
                         requires=['job_id'] + list(requires),
                         provides=provides or name)
        self.spec = spec
        self.point = point
        self.server = server

    def _server(self):
        if self.server is None:
            return None
        return {'name': self.server['name'], 'id': self.server['source_id'],
                'site': self.spec['source']['name']}

    def run_point(self, point, job_id, reverting=False):
        vnf = self.spec['vnf']
        payload = hooks.make_payload(
            point, self.spec['plan'], vnf, job_id, server=self._server(),
            group=self.spec['group'], drill=self.spec.get('drill', False),
            reverting=reverting)
        result = hooks.run(self.spec['hooks'], payload, point,
                           secret_resolver=self.ctx.secrets,
                           log_name=__name__,
                           **self.spec.get('hook_options', {}))
        return result.to_dict()

    def execute(self, job_id, **inputs):
        return self.run_point(self.point, job_id)


class Quiesce(HookTask):
    """Quiesce one server; its revert unquiesces it (see the module)."""

    def __init__(self, name, spec, server, unquiesce_step):
        super().__init__(name, spec, hooks.QUIESCE, server=server)
        self.unquiesce_step = unquiesce_step

    def revert(self, job_id, result=None, *args, **kwargs):
        if not hooks.has_hooks(self.spec['hooks'], hooks.UNQUIESCE):
            return
        if self._unquiesced(job_id):
            LOG.info('%s: %s already ran', self.name, self.unquiesce_step)
            return
        try:
            self.run_point(hooks.UNQUIESCE, job_id, reverting=True)
            LOG.info('reverted: unquiesced %s of VNF %s', self.server['name'],
                     self.spec['vnf']['name'])
        except Exception as e:  # a revert must go on; say what is left
            LOG.error('the unquiesce of server %s (VNF %s) failed while '
                      'undoing the sync: %s; unquiesce it by hand',
                      self.server['name'], self.spec['vnf']['name'], e)

    def _unquiesced(self, job_id):
        """Whether this job's unquiesce step of the server succeeded.

        Read from its recorded result: by the time this revert runs, a
        revert has already marked the unquiesce step itself REVERTED.
        """
        import json
        try:
            steps = self.ctx.store.job_steps(job_id)
        except Exception:  # unknown: unquiesce (hooks are idempotent)
            return False
        for step in steps:
            if step['unit'] == self.spec['unit'] and \
                    step['name'] == self.unquiesce_step and step['data']:
                result = json.loads(step['data']).get('results')
                return isinstance(result, dict) and result.get('ok') is True
        return False


class Unquiesce(HookTask):

    def __init__(self, name, spec, server, after=()):
        super().__init__(name, spec, hooks.UNQUIESCE, server=server,
                         requires=after)
