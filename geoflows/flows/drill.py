"""Flows of the drill operation: a takeover into an isolated copy.

Units of a drill job (see geoflows.drill_units for the whole job):

* ``GROUP.drill.network`` (:func:`network`): the copy recorded as present,
  then its networks, subnets and routers (no external gateway);
* ``GROUP/VNF`` and ``GROUP.chain.NAME``: a takeover's units, on the
  copy's documents (geoflows.flows.takeover);
* ``GROUP.done`` (:func:`done`): the copy compared with the checkpoint,
  the report (RPO and measured RTO per VNF), kept with the copy's record;
* ``GROUP.cleanup`` (:func:`cleanup`): the copy removed: chains, servers,
  ports, volumes, routers and networks, then checked gone and recorded
  removed.  A step killed half-way is run again by the resume and removes
  what is left.
"""

from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow

from geoflows.flows import site_copy
from geoflows.tasks import base
from geoflows.tasks import drill as drill_tasks
from geoflows.tasks import takeover as takeover_tasks


def network(spec, options):
    """The copy recorded, then its networks, subnets and routers."""
    layout = site_copy.GroupLayout(spec, options)
    resources = graph_flow.Flow('drill-networks')
    for resource in layout.resources:
        resources.add(base.Probe(resource), base.Ensure(resource))
    return linear_flow.Flow('drill-network').add(
        drill_tasks.RegisterCopy('registered', spec), resources,
        takeover_tasks.Ready('ready', spec['target'],
                             [r.key for r in layout.resources]))


def done(spec, options):
    """The copy verified, the report made and kept."""
    return linear_flow.Flow('drill-done').add(
        drill_tasks.VerifyCopy('verify', spec),
        takeover_tasks.TakeoverReport('report', spec),
        drill_tasks.KeepReport('kept', spec))


def cleanup(spec, options):
    """Everything of the copy removed, in the order the services need."""
    return linear_flow.Flow('drill-cleanup').add(
        drill_tasks.RemoveChains('chains', spec),
        drill_tasks.RemoveServers('servers', spec),
        drill_tasks.RemovePorts('ports', spec),
        drill_tasks.RemoveVolumes('volumes', spec),
        drill_tasks.RemoveNetworks('networks', spec),
        drill_tasks.MarkRemoved('removed', spec))
