"""Flow factories, one module per operation.

A job records, for each of its units, the *name* of the factory that builds
the unit's flow (not a Python path), so that code can move without breaking
the jobs already in a state store.
"""

from geoflows.flows import bench
from geoflows.flows import drill
from geoflows.flows import failback
from geoflows.flows import interconnect
from geoflows.flows import protect
from geoflows.flows import sync
from geoflows.flows import takeover

FACTORIES = {
    'bench.chain': bench.chain,
    'interconnect.setup': interconnect.setup,
    'interconnect.check': interconnect.check,
    'interconnect.teardown': interconnect.teardown,
    'protect.group': protect.group,
    'protect.standby': protect.standby,
    'protect.done': protect.protected,
    'sync.group': sync.group,
    'sync.vnf': sync.vnf,
    'sync.checkpoint': sync.checkpoint,
    'takeover.fence': takeover.fence,
    'takeover.final': takeover.final,
    'takeover.final_checkpoint': takeover.final_checkpoint,
    'takeover.vnf': takeover.vnf,
    'takeover.barrier': takeover.barrier,
    'takeover.chain': takeover.chain,
    'takeover.join': takeover.join,
    'takeover.done': takeover.done,
    'failback.reprotected': failback.reprotected,
    'failback.retire': failback.retire,
    'failback.origin': failback.origin,
    'failback.drain': failback.drain,
    'failback.delink': failback.delink,
    'failback.unjoin': failback.unjoin,
    'failback.serving': failback.serving,
    'failback.standby': failback.standby,
    'failback.done': failback.done,
    'drill.network': drill.network,
    'drill.done': drill.done,
    'drill.cleanup': drill.cleanup,
}

# Units use Taskflow's parallel engine, but for two kinds.  'lean' ones
# run forward without it while nothing fails (see geoflows.forward): a
# takeover has thousands of them, and the runner's benchmark measures that
# path with its synthetic chains.  'serial' ones (chains) run on Taskflow's
# serial engine, in their unit's thread.
ENGINES = {
    'bench.chain': 'lean',
    'takeover.vnf': 'lean',
}


def build(name, args, options):
    """The unrun flow of a unit."""
    return FACTORIES[name](args, options)
