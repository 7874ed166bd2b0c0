"""Synthetic steps, one API call each: what the benchmark runs.

``geoflows bench`` measures the runner's own cost, so its steps do nothing
but call a site (the in-memory fake cloud, with a latency and a cap on
concurrent calls): each step makes one call, its revert another.
"""

from geoflows.tasks import base


class Call(base.GeoflowsTask):
    """Step ``step`` of VNF ``vnf``: one call to the site."""

    def __init__(self, name, site, vnf, step):
        super().__init__(name, site, provides=name)
        self.vnf = vnf
        self.step = step

    def execute(self):
        net = self.network()
        with self.api('synthetic call'):
            return {'id': net.bench_call(self.vnf, self.step)['id']}

    def revert(self, result, **kwargs):
        if isinstance(result, dict):
            net = self.network()
            with self.api('synthetic undo'):
                net.bench_call(self.vnf, self.step, undo=True)
