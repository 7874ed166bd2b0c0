"""Flows of the protect operation: make a DR site ready for a group.

Units of a protect job (see geoflows.operations):

* ``GROUP`` (:func:`group`): at the DR site, the group's networks and
  subnets, routers and their interfaces, security groups and rules,
  keypairs, flavors, server groups and the images its servers boot from
  (see :class:`geoflows.flows.site_copy.GroupLayout`): probed, then created
  unless they exist, parents first.
* ``GROUP/VNF`` for every hot or warm VNF (:func:`standby`), after the
  group's unit: its standby servers, booted on ports with the primary's
  IPs and MAC addresses, ACTIVE; for a hot VNF, empty volumes of the
  primary's sizes attached for the application to replicate into.  Cold
  VNFs have no unit: nothing runs for them until a takeover.
* ``GROUP.protected`` (:func:`protected`), last: records the group as
  protected (the conductors then sync it on its schedule).

Running it again creates nothing that exists; ``job revert`` removes what
the job created and nothing else.
"""

from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow

from geoflows.flows import site_copy
from geoflows.tasks import base
from geoflows.tasks import compute
from geoflows.tasks import protection
from geoflows.tasks import volume


def _waits(flow, resources, options):
    for resource in resources:
        if isinstance(resource, compute.Server):
            check = compute.WaitServer(resource)
        elif isinstance(resource, volume.Volume):
            check = base.WaitStatus(resource, ready=('available',
                                                     'in-use'))
        else:
            continue
        flow.add(linear_flow.Flow(resource.key + '.wait', retry=(
            base.PacedRetry(resource.key + '.retry',
                            options['ready_attempts'],
                            options['ready_interval']))).add(check))


def group(spec, options):
    """The group's resources at the DR site."""
    layout = site_copy.GroupLayout(spec, options)
    flow = graph_flow.Flow('protect-group')
    for resource in layout.resources:
        flow.add(base.Probe(resource), base.Ensure(resource))
    flow.add(protection.Report('report', spec['target'], layout.resources))
    return flow


def standby(spec, options):
    """The standby of a hot or warm VNF at the DR site."""
    layout = site_copy.VnfLayout(spec)
    flow = graph_flow.Flow('protect-standby')
    for resource in layout.lookups:
        flow.add(base.Require(resource))
    for resource in layout.resources:
        flow.add(base.Probe(resource), base.Ensure(resource))
    _waits(flow, layout.resources, options)
    flow.add(protection.Report('report', spec['target'], layout.resources))
    return flow


def protected(spec, options):
    """Record the group as protected, with its schedule."""
    return linear_flow.Flow('protect-done').add(
        protection.MarkProtected('protected', spec))
