"""ML2 mechanism driver of the minicloud: binds every port, no agent.

Nova boots servers on ports that ML2 must bind; without agents no stock
driver binds them.  This one binds normal ports on the first segment, as
an Open vSwitch host would (vif type "ovs"), and reports them ACTIVE at
once so that Neutron tells Nova the port is plugged.  For tests only: there
is no data plane.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api

_VNIC_TYPES = (portbindings.VNIC_NORMAL, portbindings.VNIC_VIRTIO_FORWARDER)


class BindAllMechanismDriver(api.MechanismDriver):

    def initialize(self):
        pass

    @property
    def connectivity(self):
        # L2: also ports without a fixed IP.
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        if context.current[portbindings.VNIC_TYPE] not in _VNIC_TYPES:
            return
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID], portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True,
                 portbindings.OVS_HYBRID_PLUG: False,
                 portbindings.VIF_DETAILS_CONNECTIVITY:
                     portbindings.CONNECTIVITY_L2},
                status=constants.PORT_STATUS_ACTIVE)
            return
