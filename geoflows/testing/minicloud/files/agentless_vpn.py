"""IPsec VPN service driver for a Neutron without VPN agents (test sites only).

The stock driver leaves VPN services and site connections in PENDING_CREATE
until an agent reports their status, and Neutron refuses to update them in
that state.  This driver reports the status itself right after each change,
the way an agent would: ACTIVE when the resource is administratively up,
DOWN otherwise.  No packet is ever encrypted: there is no data plane.
"""
from neutron_vpnaas.services.vpn.service_drivers import ipsec


class AgentlessIPsecVPNDriver(ipsec.IPsecVPNDriver):

    def _report_status(self, context, vpnservice_id):
        plugin = self.service_plugin
        service = plugin.get_vpnservice(context, vpnservice_id)
        connections = plugin.get_ipsec_site_connections(
            context, filters={'vpnservice_id': [vpnservice_id]})
        plugin.update_status_by_agent(context, [{
            'id': vpnservice_id,
            'status': 'ACTIVE' if service['admin_state_up'] else 'DOWN',
            'updated_pending_status': True,
            'ipsec_site_connections': {
                conn['id']: {
                    'status': 'ACTIVE' if conn['admin_state_up'] else 'DOWN',
                    'updated_pending_status': True}
                for conn in connections}}])

    def create_vpnservice(self, context, vpnservice_dict):
        super().create_vpnservice(context, vpnservice_dict)
        self._report_status(context, vpnservice_dict['id'])

    def update_vpnservice(self, context, old_vpnservice, vpnservice):
        super().update_vpnservice(context, old_vpnservice, vpnservice)
        self._report_status(context, vpnservice['id'])

    def create_ipsec_site_connection(self, context, ipsec_site_connection):
        super().create_ipsec_site_connection(context, ipsec_site_connection)
        self._report_status(context, ipsec_site_connection['vpnservice_id'])

    def update_ipsec_site_connection(self, context, old_ipsec_site_connection,
                                     ipsec_site_connection):
        super().update_ipsec_site_connection(
            context, old_ipsec_site_connection, ipsec_site_connection)
        self._report_status(context, ipsec_site_connection['vpnservice_id'])
