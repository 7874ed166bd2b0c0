"""The benchmark's flow: one VNF as a chain of synthetic steps."""

from taskflow.patterns import linear_flow

from geoflows.tasks import synthetic


def chain(spec, options):
    """``spec``: {'site': site spec, 'vnf': name, 'steps': k}."""
    return linear_flow.Flow('chain').add(*[
        synthetic.Call('step-%d' % i, spec['site'], spec['vnf'], i)
        for i in range(spec['steps'])])
