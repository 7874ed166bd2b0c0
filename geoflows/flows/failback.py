"""Flows of the reprotect and failback operations.

Reprotect: ``GROUP`` is a protect's group unit towards the origin
(geoflows.flows.protect.group), then ``GROUP.reprotected``
(:func:`reprotected`).  Failback: its origin half reuses the takeover's
and the sync's flows (see geoflows.failback_units); the flows here are the
rest, each a step or two:

* :func:`retire`: the origin's old VNFs removed (volumes kept);
* :func:`origin`: the origin compared with the job's checkpoint;
* :func:`drain`: a DR VNF drained (its hooks, or a drain time);
* :func:`delink`: a DR chain removed once the origin has its own;
* :func:`unjoin`: the DR networks out of the interconnect;
* :func:`serving`: the origin serves, replication forward again;
* :func:`standby`: a DR VNF back to standby;
* :func:`done`: the report.
"""

from taskflow.patterns import linear_flow

from geoflows.tasks import failback as steps


def _one(name, step):
    return linear_flow.Flow(name).add(step)


def reprotected(spec, options):
    """Record the group as replicating from the DR site to the origin."""
    return _one('reprotect-done', steps.MarkReprotected('reprotected', spec))


def retire(spec, options):
    return _one('failback-retire', steps.RetireOld('retire', spec))


def origin(spec, options):
    return _one('failback-origin', steps.VerifyOrigin('verify', spec))


def drain(spec, options):
    """Drain a DR VNF: its hooks asked until drained, or a drain time.

    The hooks are asked until ``drain_time`` seconds passed (once at
    least).
    """
    from geoflows import hooks as hooks_mod
    from geoflows.tasks import base
    spec = dict(spec, hook_options=options.get('hook_options', {}))
    if not hooks_mod.has_hooks(spec['hooks'], hooks_mod.DRAIN):
        return _one('failback-drain', steps.DrainTime('drain', spec))
    interval = options['ready_interval']
    attempts = int(spec['drain_time'] // max(interval, 0.1)) + 1
    return linear_flow.Flow('failback-drain', retry=base.PacedRetry(
        'drain.retry', attempts, interval)).add(steps.Drain('drain', spec))


def delink(spec, options):
    return _one('failback-delink', steps.RetireChain('chain', spec))


def unjoin(spec, options):
    return _one('failback-unjoin', steps.Unjoin('unjoin', spec))


def serving(spec, options):
    return _one('failback-serving', steps.MarkForward('serving', spec))


def standby(spec, options):
    return _one('failback-standby', steps.Standby('standby', spec))


def done(spec, options):
    return _one('failback-done', steps.FailbackReport('report', spec))
