"""Nova resources: keypairs, flavors, server groups, servers, attachments.

Identities (how a re-run finds what an earlier attempt made):

* keypair, server group: by name;
* flavor: by name, else any flavor with the same sizes and extra specs
  (an equal flavor that exists is used as it is);
* server: by name and geoflows' metadata (``geoflows`` = the marker), so
  that a server of the same name that someone else made is never taken;
* volume attachment: the attachment of the parent volume to the parent
  server.

Nova keypairs and server groups carry no description: what is geoflows'
is what this job created (the probe saw nothing before), the same key or
policy.
"""

import logging
import time

from geoflows.checkpoints import capture
from geoflows import clouds
from geoflows import exceptions
from geoflows.tasks import base

LOG = logging.getLogger(__name__)

#: Nova metadata of the servers geoflows creates.
MARK_KEY = 'geoflows'
SOURCE_KEY = 'geoflows_source'
#: Flavor extra spec of the flavors geoflows creates.
FLAVOR_MARK = capture.FLAVOR_MARK
#: the devices a server boots from (a volume there is its root disk)
BOOT_DEVICES = ('/dev/vda', '/dev/sda', '/dev/xvda')


class Keypair(base.Resource):
    kind = 'keypair'
    service = 'compute'

    def find(self, compute, parents):
        try:
            return compute.get_keypair(self.name)
        except clouds.NotFound:
            return None

    def create(self, compute, parents):
        return compute.create_keypair(
            name=self.name, public_key=self.params['public_key'],
            type=self.params.get('type') or 'ssh')

    def delete(self, compute, resource_id, parents):
        compute.delete_keypair(self.name, ignore_missing=False)

    def owned(self, obj, parents):
        return obj.public_key.strip() == self.params['public_key'].strip()

    def describe(self, obj, parents):
        return {'id': obj.name, 'name': obj.name,
                'owned': self.owned(obj, parents),
                'fingerprint': obj.fingerprint}

    def converge(self, compute, obj, parents):
        if not self.owned(obj, parents):
            raise exceptions.ResourceError(
                'keypair %r exists on site %r with another public key '
                '(fingerprint %s, the primary\'s is %s): servers booted '
                'with it would not accept the primary\'s key; rename or '
                'delete it at the DR site, then resume the job' % (
                    self.name, self.site['name'], obj.fingerprint,
                    self.params.get('fingerprint')))
        return None


class Flavor(base.Resource):
    """A flavor equal to the primary's (sizes and extra specs)."""

    kind = 'flavor'
    service = 'compute'

    def _key(self):
        return capture.flavor_key(self.params['flavor'])

    def _with_specs(self, compute, obj):
        """``obj`` with its extra specs loaded (lists may omit them)."""
        if obj.extra_specs is None:
            obj.extra_specs = dict(
                compute.fetch_flavor_extra_specs(obj).extra_specs or {})
        return obj

    def _equal(self, obj):
        specs = {k: v for k, v in (obj.extra_specs or {}).items()
                 if k != FLAVOR_MARK}
        return capture.flavor_key(capture.flavor(obj, specs)) == self._key()

    def find(self, compute, parents):
        flavors = [self._with_specs(compute, f)
                   for f in compute.flavors(details=True)]
        for obj in flavors:
            if obj.name == self.name:
                if not self._equal(obj):
                    raise exceptions.ResourceError(
                        'flavor %r exists on site %r with other sizes or '
                        'extra specs than the primary\'s; make them equal, '
                        'or delete it at the DR site, then resume the job'
                        % (self.name, self.site['name']))
                return obj
        for obj in flavors:
            if self._equal(obj):
                return obj
        return None

    def create(self, compute, parents):
        flavor = self.params['flavor']
        obj = compute.create_flavor(
            name=self.name, vcpus=flavor['vcpus'], ram=flavor['ram'],
            disk=flavor['disk'], ephemeral=flavor['ephemeral'],
            swap=flavor['swap'] or 0, is_public=flavor['is_public'])
        specs = dict(flavor['extra_specs'], **{FLAVOR_MARK: self.marker})
        compute.create_flavor_extra_specs(obj, specs)
        obj.extra_specs = specs
        return obj

    def delete(self, compute, resource_id, parents):
        compute.delete_flavor(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        return (obj.extra_specs or {}).get(FLAVOR_MARK) == self.marker

    def describe(self, obj, parents):
        return {'id': obj.id, 'name': obj.name,
                'owned': self.owned(obj, parents)}


class ServerGroup(base.Resource):
    kind = 'server group'
    service = 'compute'

    def find(self, compute, parents):
        return base.only((g for g in compute.server_groups()
                          if g.name == self.name),
                         'server groups named %r' % self.name)

    def create(self, compute, parents):
        attrs = {'name': self.name, 'policy': self.params['policy']}
        if self.params.get('rules'):  # rules=None is refused by Nova
            attrs['rules'] = self.params['rules']
        return compute.create_server_group(**attrs)

    def delete(self, compute, resource_id, parents):
        compute.delete_server_group(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        return obj.policy == self.params['policy']

    def describe(self, obj, parents):
        return {'id': obj.id, 'name': obj.name,
                'owned': self.owned(obj, parents), 'policy': obj.policy}


class Server(base.Resource):
    """A server booted on pre-created ports.

    Parents: ``flavor``, ``image`` (or a boot ``volume``), the ``port_N``
    in interface order, optionally ``keypair`` and ``server_group``.
    """

    kind = 'server'
    service = 'compute'
    found_without_parents = True

    def find(self, compute, parents):
        return base.only((s for s in compute.servers(details=True,
                                                     name=self.name)
                          if s.name == self.name and
                          (s.metadata or {}).get(MARK_KEY) == self.marker),
                         'servers named %r made by geoflows' % self.name)

    def _ports(self, parents):
        return [parents['port_%d' % i]['id']
                for i in range(len(self.params['ports']))]

    def create(self, compute, parents):
        missing = sorted(name for name, parent in parents.items()
                         if parent is None)
        if missing:
            raise exceptions.ResourceError(
                'cannot boot %s: its %s %s missing at site %r; make %s exist '
                '(a sync copies what the primary has), then resume the job'
                % (self.label, ' and '.join(m.replace('_', ' ')
                                            for m in missing),
                   'is' if len(missing) == 1 else 'are', self.site['name'],
                   'it' if len(missing) == 1 else 'them'))
        metadata = dict(self.params.get('metadata') or {})
        metadata[MARK_KEY] = self.marker
        if self.params.get('source_id'):
            metadata[SOURCE_KEY] = self.params['source_id']
        attrs = {'name': self.name, 'flavor_id': parents['flavor']['id'],
                 'networks': [{'port': port}
                              for port in self._ports(parents)],
                 'metadata': metadata}
        if 'image' in parents:
            attrs['image_id'] = parents['image']['id']
        if 'boot_volume' in parents:
            attrs['block_device_mapping_v2'] = [{
                'uuid': parents['boot_volume']['id'], 'source_type':
                'volume', 'destination_type': 'volume', 'boot_index': 0,
                'delete_on_termination': False}]
        if 'keypair' in parents:
            attrs['key_name'] = parents['keypair']['name']
        if 'server_group' in parents:
            attrs['scheduler_hints'] = {
                'group': parents['server_group']['id']}
        if self.params.get('availability_zone'):
            attrs['availability_zone'] = self.params['availability_zone']
        return compute.create_server(**attrs)

    def delete(self, compute, resource_id, parents):
        compute.delete_server(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        return (obj.metadata or {}).get(MARK_KEY) == self.marker

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result['status'] = obj.status
        return result


class VolumeAttachment(base.Resource):
    """Parent ``volume`` attached to parent ``server``."""

    kind = 'volume attachment'
    service = 'compute'

    @property
    def label(self):
        return 'attachment of volume %r to server %r (site %r)' % (
            self.name, self.params['server_name'], self.site['name'])

    def find(self, compute, parents):
        for attachment in compute.volume_attachments(
                parents['server']['id']):
            if attachment.volume_id == parents['volume']['id']:
                return attachment
        return None

    def create(self, compute, parents):
        attrs = {'volume': parents['volume']['id']}
        if self.params.get('device'):
            attrs['device'] = self.params['device']
        return compute.create_volume_attachment(parents['server']['id'],
                                                **attrs)

    def delete(self, compute, resource_id, parents):
        server_id, volume_id = parents['server']['id'], parents['volume']['id']
        compute.delete_volume_attachment(server_id, volume_id,
                                         ignore_missing=False)
        # Nova detaches in the background; what a revert undoes next (the
        # volume's deletion) is refused while the volume is still attached.
        cinder = self.ctx.clouds.block_storage(self.site)
        attempts, interval = self.params.get('wait') or (90, 2.0)
        for _attempt in range(attempts):
            try:
                volume = cinder.get_volume(volume_id)
            except clouds.NotFound:
                return
            attached = any(a.get('server_id') == server_id
                           for a in volume.attachments or ())
            if not attached and volume.status != 'detaching':
                return
            time.sleep(interval)
        raise exceptions.ResourceError(
            '%s: still attached after %d checks; detach it at the site, '
            'then revert the job again' % (self.label, attempts))

    def owned(self, obj, parents):
        return bool(parents['volume'].get('owned') or
                    parents['server'].get('owned'))

    def describe(self, obj, parents):
        return {'id': obj.id, 'name': self.name,
                'owned': self.owned(obj, parents),
                'device': getattr(obj, 'device', None)}


class WaitServer(base.ResourceTask):
    """Check once that a server is ACTIVE (or stopped, as asked)."""

    def __init__(self, resource, status='ACTIVE'):
        super().__init__(resource, resource.key + '.ready',
                         requires=['current'],
                         rebind={'current': resource.key},
                         provides=resource.key + '.ready')
        self.status = status

    def execute(self, current, **inputs):
        compute = self.proxy()
        with self.api('look up %s' % self.resource.label):
            try:
                obj = compute.get_server(current['id'])
            except clouds.NotFound:
                raise exceptions.ResourceError('%s disappeared'
                                               % self.resource.label)
        if obj.status == self.status:
            return obj.status
        if obj.status == 'ERROR':
            fault = (getattr(obj, 'fault', None) or {}).get('message', '')
            raise exceptions.ResourceError(
                '%s is in ERROR%s; see the DR site\'s compute logs, fix the '
                'cause (flavor, image, quota, network), then resume the job'
                % (self.resource.label, ': %s' % fault if fault else ''))
        raise exceptions.NotReady('%s is %s, not %s yet' % (
            self.resource.label, obj.status, self.status))
