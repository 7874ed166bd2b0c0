"""Interconnects between two real regions, through the geoflows command."""

from tests.functional import base


class InterconnectLifecycle(object):
    """Setup, check, setup again, teardown, teardown again: one overlay."""

    interconnect = None
    templates = ()

    def verify_built(self):
        """Assert what the overlay built on the real sites."""

    def test_lifecycle(self):
        plan = self.write_plan(*self.templates)
        initial = self.snapshots()

        job = self.run_job('interconnect', 'setup', '--plan', plan)
        self.assertEqual('SUCCESS', job['state'])
        self.assertTrue(job['resources'])
        self.assertEqual({'created'},
                         {r['action'] for r in job['resources']})
        self.verify_built()
        built = self.snapshots()
        self.assertNotEqual(initial, built)

        check = self.run_job('interconnect', 'check', '--plan', plan)
        self.assertEqual([], check['findings'])

        again = self.run_job('interconnect', 'setup', '--plan', plan)
        self.assertEqual({'existing'},
                         {r['action'] for r in again['resources']})
        self.assertEqual(built, self.snapshots())

        down = self.run_job('interconnect', 'teardown', '--plan', plan)
        self.assertEqual({'deleted'},
                         {r['action'] for r in down['resources']})
        self.assertEqual(initial, self.snapshots())

        down = self.run_job('interconnect', 'teardown', '--plan', plan)
        self.assertNotIn('resources', down)  # nothing left to delete
        self.assertEqual(initial, self.snapshots())

        drift = self.run_job('interconnect', 'check', '--plan', plan,
                             expect=1)
        self.assertTrue(drift['findings'])


class TestBgpvpnL3(InterconnectLifecycle, base.FunctionalTestCase):

    templates = (base.BGPVPN,)

    def verify_built(self):
        targets = []
        for cloud, network in (('site-a', '%s-core-east'),
                               ('site-b', '%s-core-west')):
            net = self.network(cloud)
            [vpn] = net.bgpvpns(name='gf-%s-core' % self.name)
            self.assertEqual('l3', vpn.type)
            targets.append(vpn.route_targets)
            [network] = net.networks(name=network % self.name)
            self.assertEqual([network.id], [
                a.network_id for a in net.bgpvpn_network_associations(vpn)])
        self.assertEqual(targets[0], targets[1])
        self.assertEqual(1, len(targets[0]))
        self.assertTrue(targets[0][0].startswith('64512:'))


class TestBgpvpnL2(InterconnectLifecycle, base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.templates = (base.BGPVPN,)

    def write_plan(self, *templates, **kwargs):
        return super().write_plan(*templates, vpn_type='l2', **kwargs)

    def verify_built(self):
        for cloud in ('site-a', 'site-b'):
            [vpn] = self.network(cloud).bgpvpns(name='gf-%s-core' % self.name)
            self.assertEqual('l2', vpn.type)


class TestBgpvpnRouterAssociation(InterconnectLifecycle,
                                  base.FunctionalTestCase):

    templates = (base.BGPVPN_ROUTER,)

    def verify_built(self):
        for cloud, side in (('site-a', 'east'), ('site-b', 'west')):
            net = self.network(cloud)
            [vpn] = net.bgpvpns(name='gf-%s-core' % self.name)
            [router] = net.routers(
                name='%s-core-edge-%s' % (self.name, side))
            self.assertEqual([router.id], [
                a.router_id for a in net.bgpvpn_router_associations(vpn)])
            self.assertEqual([], list(net.bgpvpn_network_associations(vpn)))
            interfaces = [p for p in net.ports(device_id=router.id)
                          if p.device_owner == 'network:router_interface']
            self.assertEqual(1, len(interfaces))


class TestIpsec(InterconnectLifecycle, base.FunctionalTestCase):

    templates = (base.IPSEC,)

    def verify_built(self):
        services = {}
        connections = {}
        for cloud in ('site-a', 'site-b'):
            net = self.network(cloud)
            [services[cloud]] = net.vpn_services(name='gf-%s-oam' % self.name)
            [connections[cloud]] = net.vpn_ipsec_site_connections(
                name='gf-%s-oam' % self.name)
            self.assertEqual('ACTIVE', services[cloud].status)
            self.assertEqual('ACTIVE', connections[cloud].status)
        # Each side points at the other side's VPN address, with one key.
        self.assertEqual(services['site-b'].external_v4_ip,
                         connections['site-a'].peer_address)
        self.assertEqual(services['site-a'].external_v4_ip,
                         connections['site-b'].peer_address)
        self.assertEqual(connections['site-a'].psk,
                         connections['site-b'].psk)
        self.assertGreaterEqual(len(connections['site-a'].psk), 32)


class TestCellSegments(InterconnectLifecycle, base.FunctionalTestCase):

    templates = (base.SEGMENTS,)

    def verify_built(self):
        net = self.network('site-a')
        [network] = net.networks(name='gf-%s-cells' % self.name)
        self.assertEqual(['az1', 'az2'],
                         sorted(network.availability_zone_hints))
        segments = {s.physical_network: s for s in
                    net.segments(network_id=network.id)}
        self.assertEqual({'physnet1', 'physnet2'}, set(segments))
        subnets = {s.cidr: s.segment_id for s in
                   net.subnets(network_id=network.id)}
        self.assertEqual({'10.30.1.0/24': segments['physnet1'].id,
                          '10.30.2.0/24': segments['physnet2'].id}, subnets)


class TestAllOverlaysInOneJob(base.FunctionalTestCase):

    def test_setup_and_teardown_of_three_interconnects(self):
        plan = self.write_plan(base.BGPVPN, base.IPSEC, base.SEGMENTS)
        initial = self.snapshots()
        job = self.run_job('interconnect', 'setup', '--plan', plan)
        self.assertEqual(['core', 'oam', 'cells'], job['units'])
        self.assertEqual(8 + 20 + 4, len(job['resources']))
        self.run_job('interconnect', 'check', '--plan', plan)
        self.run_job('interconnect', 'teardown', '--plan', plan)
        self.assertEqual(initial, self.snapshots())


class TestDrift(base.FunctionalTestCase):

    def test_a_missing_association_is_drift_and_setup_repairs_it(self):
        plan = self.write_plan(base.BGPVPN)
        self.run_job('interconnect', 'setup', '--plan', plan)
        net = self.network('site-b')
        [vpn] = net.bgpvpns(name='gf-%s-core' % self.name)
        [association] = net.bgpvpn_network_associations(vpn)
        net.delete_bgpvpn_network_association(vpn, association)

        check = self.run_job('interconnect', 'check', '--plan', plan,
                             expect=1)
        [finding] = check['findings']
        self.assertEqual('west', finding['site'])
        self.assertIn('network association', finding['resource'])
        self.assertEqual('is missing', finding['problem'])

        repair = self.run_job('interconnect', 'setup', '--plan', plan)
        self.assertEqual(
            [('west', 'network association')],
            [(r['site'], r['kind']) for r in repair['resources']
             if r['action'] == 'created'])
        self.run_job('interconnect', 'check', '--plan', plan)
        self.run_job('interconnect', 'teardown', '--plan', plan)

    def test_asymmetric_route_targets(self):
        plan = self.write_plan(base.BGPVPN)
        self.run_job('interconnect', 'setup', '--plan', plan)
        net = self.network('site-a')
        [vpn] = net.bgpvpns(name='gf-%s-core' % self.name)
        net.update_bgpvpn(vpn, route_targets=['64512:99999'])

        check = self.run_job('interconnect', 'check', '--plan', plan,
                             expect=1)
        problems = [f['problem'] for f in check['findings']]
        self.assertTrue(any(p.startswith('asymmetric route targets')
                            for p in problems), problems)
        # A new setup puts the planned route targets back.
        self.run_job('interconnect', 'setup', '--plan', plan)
        self.run_job('interconnect', 'check', '--plan', plan)
        self.run_job('interconnect', 'teardown', '--plan', plan)

    def test_a_connection_that_is_not_active(self):
        plan = self.write_plan(base.IPSEC)
        self.run_job('interconnect', 'setup', '--plan', plan)
        net = self.network('site-b')
        [conn] = net.vpn_ipsec_site_connections(name='gf-%s-oam' % self.name)
        net.update_vpn_ipsec_site_connection(conn, is_admin_state_up=False)

        check = self.run_job('interconnect', 'check', '--plan', plan,
                             expect=1)
        self.assertIn(('west', 'is DOWN, not ACTIVE'),
                      [(f['site'], f['problem']) for f in check['findings']])
        self.run_job('interconnect', 'teardown', '--plan', plan)


class TestJobRecords(base.FunctionalTestCase):

    def test_job_show_lists_every_step_with_state_and_duration(self):
        plan = self.write_plan(base.IPSEC)
        job = self.run_job('interconnect', 'setup', '--plan', plan)
        shown = self.geoflows('job', 'show', job['id'][:8], '-f', 'json').json
        steps = shown['steps']
        self.assertEqual(len({s['step'] for s in steps}), len(steps))
        self.assertGreater(len(steps), 40)
        for step in steps:
            self.assertEqual('SUCCESS', step['state'], step)
            self.assertIsNotNone(step['started_at'], step)
            self.assertGreaterEqual(step['duration'], 0, step)
        self.assertIn('remote.connection', {s['step'] for s in steps})
        table = self.geoflows('job', 'show', job['id']).stdout
        self.assertIn('remote.connection', table)
        self.assertIn('duration', table)

        listed = self.geoflows('job', 'list', '-f', 'json').json
        self.assertEqual(job['id'], listed[0]['ID'])
        self.assertEqual('SUCCESS', listed[0]['State'])
        self.run_job('interconnect', 'teardown', '--plan', plan)

    def test_a_plan_with_mistakes_starts_no_job(self):
        plan = self.write_plan(base.BGPVPN).replace('.yaml', '-bad.yaml')
        with open(plan, 'w') as f:
            f.write('version: 1\nname: Bad\nsites: {}\n')
        result = self.geoflows('interconnect', 'setup', '--plan', plan,
                               expect=1)
        self.assertIn('is not a valid plan', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual([], self.geoflows('job', 'list', '-f', 'json').json)
