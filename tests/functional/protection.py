"""What the protection tests share: the sample VNFs at the primary region.

The sample (geoflows.testing.sample) is deployed at site-a (RegionOne)
under the test's own prefix, protected at site-b (RegionTwo).  Everything
a test leaves at either site is removed afterwards: the sample, and what
geoflows made at both sites for the test's plan (found by geoflows'
marks: ``geoflows plan=NAME ...``).
"""

import json
import os
import time
import uuid

import openstack
import openstack.config

from geoflows.testing.minicloud import cloud
from geoflows.testing import sample
from tests.functional import base

REGIONS = {'site-a': 'RegionOne', 'site-b': 'RegionTwo'}


class ProtectionTestCase(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.minicloud = cloud.Minicloud()
        self.prefix = self.name + '-'
        # Copies are checked every second (5 s by default): the minicloud
        # makes a snapshot or backup of its small volumes in about one.
        self.env['OS_PROTECTION__READY_INTERVAL'] = '1'
        self.addCleanup(self.remove_protection_leftovers)

    # -- sites -----------------------------------------------------------

    def connection(self, cloud_name):
        self.network(cloud_name)  # makes and keeps the connection
        return self._connections[cloud_name]

    def deploy_sample(self, servers=None):
        """The sample at site-a (``servers``: only these of its servers).

        Its removal is registered first: a deployment that fails half-way
        (a quota reached) is removed too, servers before their networks.
        """
        started = time.monotonic()
        self.addCleanup(sample.remove, self.connection('site-a'),
                        self.prefix)
        # Before the sample: what geoflows made of it (a snapshot left by a
        # failed sync keeps its volume from being deleted); but not the
        # safety net of the test's names, which would take the sample's
        # router and networks while its servers still use them.
        self.addCleanup(self.remove_protection_leftovers, False)
        ids = sample.deploy(self.connection('site-a'), prefix=self.prefix,
                            servers=servers)
        self.deploy_seconds = time.monotonic() - started
        return ids

    def protection_plan(self, **group):
        """A plan of this test: the functional sites and a sample group."""
        values = {'name': self.name, 'west_cloud': 'site-b'}
        text = 'version: 1\nname: %s\n' % self.name
        text += base.SITES % values
        text += sample.group_yaml(self.prefix, primary='east', dr='west',
                                  **group)
        # Each its own file: a test may compare two versions of its plan.
        path = os.path.join(self.tmp, 'plan-%s-%s.yaml' % (
            self.name, uuid.uuid4().hex[:6]))
        with open(path, 'w') as f:
            f.write(text)
        return path

    def hook_script(self, log):
        """A command hook that logs its point and server to ``log``."""
        path = os.path.join(self.tmp, 'hook.sh')
        with open(path, 'w') as f:
            f.write('#!/bin/sh\necho "$GEOFLOWS_HOOK_POINT $GEOFLOWS_SERVER"'
                    ' >> %s\n' % log)
        os.chmod(path, 0o755)
        return path

    def hook_calls(self, log):
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [line.split() for line in f.read().splitlines()]

    def marker(self):
        return 'geoflows plan=%s ' % self.name

    def dr_servers(self):
        compute = self.connection('site-b').compute
        return {s.name: s for s in compute.servers()
                if (s.metadata or {}).get('geoflows', '').startswith(
                    self.marker())}

    def restored_sha256(self, backup_id):
        """Restore a backup at site-b; the sha256 of the new volume."""
        cinder = self.connection('site-b').block_storage
        restored = cinder.restore_backup(backup_id,
                                         name=self.prefix + 'check')
        volume_id = restored.volume_id
        self.addCleanup(self._delete_volume, cinder, volume_id)
        deadline = time.monotonic() + 180
        while cinder.get_volume(volume_id).status != 'available':
            self.assertLess(time.monotonic(), deadline, 'restore too long')
            self.assertNotIn('error', cinder.get_volume(volume_id).status)
            time.sleep(1)
        return self.minicloud.volume_sha256('RegionTwo', volume_id)

    @staticmethod
    def _delete_volume(cinder, volume_id):
        try:
            cinder.delete_volume(volume_id)
        except openstack.exceptions.NotFoundException:
            pass

    def job_steps(self, job_id):
        return self.geoflows('job', 'show', job_id, '-f', 'json').json[
            'steps']

    def record(self, **figures):
        self.record_measurement(**figures)
        self.addDetail('figures', _text(json.dumps(figures)))

    # -- clean up ------------------------------------------------------------

    def remove_protection_leftovers(self, safety_net=True):
        """Delete what geoflows made for this test's plan, at both sites.

        Backups first (their DR records before the primary's), then
        servers, volumes, ports, then what they used; with ``safety_net``,
        then everything named after the test (:meth:`remove_leftovers`).
        Every deletion is tried; the first error is raised at the end.
        """
        errors = []
        marker = self.marker()

        def attempt(call, *args, **kwargs):
            try:
                call(*args, **kwargs)
            except openstack.exceptions.NotFoundException:
                pass
            except Exception as e:
                errors.append(e)

        def ours(obj):
            return marker in (getattr(obj, 'description', None) or '') or \
                marker in ((getattr(obj, 'metadata', None) or {}).get(
                    'geoflows') or '')

        for cloud_name in ('site-b', 'site-a'):
            cinder = self.connection(cloud_name).block_storage
            # Incrementals before their parents: a parent is refused (400)
            # until its children are gone, so go round until none is left.
            deadline = time.monotonic() + 120
            while True:
                left = [b for b in cinder.backups() if ours(b)]
                if not left or time.monotonic() > deadline:
                    break
                for backup in sorted(left, key=lambda b: str(b.created_at),
                                     reverse=True):
                    if backup.status in ('available', 'error'):
                        try:
                            cinder.delete_backup(backup.id)
                        except openstack.exceptions.SDKException:
                            pass  # a child not yet deleted; next round
                time.sleep(2)
            if left:
                errors.append(AssertionError('backups left at %s: %s' % (
                    cloud_name, ', '.join('%s (%s)' % (b.id, b.status)
                                          for b in left))))
            for snapshot in cinder.snapshots():
                if ours(snapshot):
                    attempt(cinder.delete_snapshot, snapshot.id)
        # Both sites: after a failback the origin has geoflows' too.
        for cloud_name in ('site-b', 'site-a'):
            self._remove_marked(self.connection(cloud_name), ours, attempt,
                                by_name=cloud_name == 'site-b')
        if safety_net:
            self.remove_leftovers()
        if errors:
            raise errors[0]

    def _remove_marked(self, conn, ours, attempt, by_name):
        """What geoflows made at one site: chains, servers, the rest."""
        marker = self.marker()
        # A port in a port pair cannot be deleted: the chains go first.
        for kind in ('sfc_port_chain', 'sfc_port_pair_group',
                     'sfc_port_pair', 'sfc_flow_classifier'):
            for item in getattr(conn.network, kind + 's')():
                if ours(item):
                    attempt(getattr(conn.network, 'delete_' + kind),
                            item.id)
        for server in conn.compute.servers():
            if ours(server):
                attempt(conn.compute.delete_server, server.id)
        deadline = time.monotonic() + 60
        while any(ours(s) for s in conn.compute.servers()) and \
                time.monotonic() < deadline:
            time.sleep(1)
        for volume in conn.block_storage.volumes():
            if ours(volume):
                attempt(conn.block_storage.delete_volume, volume.id)
        for image in conn.image.images():
            if marker in (image.properties or {}).get('geoflows', '') or \
                    marker in str(getattr(image, 'geoflows', '') or ''):
                attempt(conn.image.delete_image, image.id)
        for flavor in conn.compute.flavors():
            specs = conn.compute.fetch_flavor_extra_specs(flavor).extra_specs
            if marker in (specs or {}).get('geoflows:owner', ''):
                attempt(conn.compute.delete_flavor, flavor.id)
        for name in ('vnf-key',) if by_name else ():
            attempt(conn.compute.delete_keypair, self.prefix + name)
        for group in conn.compute.server_groups() if by_name else ():
            if group.name == self.prefix + 'hss-group':
                attempt(conn.compute.delete_server_group, group.id)
        net = conn.network
        for port in net.ports():
            if ours(port) and not port.device_owner:
                attempt(net.delete_port, port.id)
        for rule in net.security_group_rules():
            if ours(rule):
                attempt(net.delete_security_group_rule, rule.id)
        for group in net.security_groups():
            if ours(group):
                attempt(net.delete_security_group, group.id)


def _text(value):
    from testtools import content
    return content.text_content(value)
