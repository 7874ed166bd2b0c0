"""The compute proxy of a fake site: Nova (2.47 and later) behind the SDK.

A server is built on the site's Neutron ports, Glance images and Cinder
volumes, with Nova's rules: a port must exist and be unbound (409), the
image active, a boot volume bootable (400), the keypair, flavor and server
group must exist, and the site's quota must allow the instance, its cores
and its RAM (403).  Booting binds the ports (``device_id``,
``device_owner``, ``binding_host_id``); Nova creates a port for a
``{'uuid': network}`` request and deletes it with the server.

A new server is ``BUILD`` for ``site.server_build_reads`` reads (0: the
answer of ``create_server`` is already final), then ``ACTIVE``, or
``ERROR`` with a ``fault`` if ``site.fail_builds()`` said so; a failed
build releases its ports and volumes.  The server shows what Nova shows:
the embedded flavor (``original_name``, sizes, ``extra_specs``; the SDK
fills ``flavor.id`` with the name), ``image`` (``{'id'}``), ``addresses``
from its ports, ``attached_volumes``, ``server_groups``.
"""

import base64
import hashlib
import re

from openstack.compute.v2 import flavor as _flavor
from openstack.compute.v2 import image as _image
from openstack.compute.v2 import keypair as _keypair
from openstack.compute.v2 import limits as _limits
from openstack.compute.v2 import server as _server
from openstack.compute.v2 import server_group as _server_group
from openstack.compute.v2 import volume_attachment as _attachment
from openstack import exceptions as os_exc

from geoflows.testing.fakecloud import base
from geoflows.testing.fakecloud import sfc

POLICIES = ['anti-affinity', 'affinity', 'soft-anti-affinity',
            'soft-affinity']
NO_VALID_HOST = ('No valid host was found. There are not enough hosts '
                 'available.')
_VM_STATES = {'BUILD': 'building', 'ACTIVE': 'active', 'SHUTOFF': 'stopped',
              'ERROR': 'error'}
_POWER_STATES = {'BUILD': 0, 'ACTIVE': 1, 'SHUTOFF': 4, 'ERROR': 0}
_UNSET = object()
_REGEX_CHARACTERS = frozenset('.^$*+?{}[]\\|()')


def _fingerprint(public_key):
    """Nova's fingerprint of an OpenSSH public key: md5 of the key blob."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]),
                         usedforsecurity=False).hexdigest()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _boots(bdm):
    """Whether a block device mapping is the boot device."""
    return str(bdm.get('boot_index')) == '0'


def _literal(pattern):
    """Whether a name filter finds what has it: no character of a regex.

    (Then ``re.search(pattern, name)`` is ``pattern in name`` for a str.)
    Only patterns of 3 characters or more count.
    """
    return (type(pattern) is str and len(pattern) >= 3 and
            not _REGEX_CHARACTERS.intersection(pattern))


def _trigrams(name):
    """The substrings of 3 characters of a name (the key of an index).

    Only a str has some: a server named otherwise is a candidate of every
    lookup.
    """
    if type(name) is not str:
        raise TypeError(name)
    return {name[i:i + 3] for i in range(len(name) - 2)}


class FakeCompute(base.FakeProxy):
    """The compute proxy of one fake site."""

    service = 'compute'
    missing = {'server': 'Instance %s could not be found.',
               'flavor': 'Flavor %s could not be found.',
               'keypair': 'Keypair %s not found for user fake-user',
               'server_group': 'Instance group %s could not be found.'}
    sdk_classes = {'server': _server.Server, 'flavor': _flavor.Flavor,
                   'keypair': _keypair.Keypair,
                   'server_group': _server_group.ServerGroup}

    @property
    def _network(self):
        return self._site._raw_network

    @property
    def _volumes(self):
        return self._site._raw_block_storage

    # -- flavors -----------------------------------------------------------

    def flavors(self, details=True, get_extra_specs=False, **query):
        return self._list('flavor', **query)

    def get_flavor(self, flavor, get_extra_specs=False):
        return self._out('flavor', self._get('flavor', flavor))

    def find_flavor(self, name_or_id, ignore_missing=True,
                    get_extra_specs=False, **query):
        return self._find('flavor', name_or_id, ignore_missing)

    def create_flavor(self, name, vcpus, ram, disk=0, id=None, ephemeral=0,
                      swap=0, rxtx_factor=1.0, is_public=True,
                      description=None):
        flavor_id = id if id not in (None, 'auto') else base.new_id('flavor')
        if flavor_id in self._tables['flavor']:
            raise self._conflict('Flavor with ID %s already exists.'
                                 % flavor_id)
        if self._rows('flavor', name=name):
            raise self._conflict('Flavor with name %s already exists.' % name)
        return self._add('flavor', id=flavor_id, name=name, vcpus=vcpus,
                         ram=ram, disk=disk, ephemeral=ephemeral, swap=swap,
                         rxtx_factor=rxtx_factor, is_public=is_public,
                         is_disabled=False, description=description,
                         extra_specs={})

    def create_flavor_extra_specs(self, flavor, extra_specs):
        row = self._get('flavor', flavor)
        row['extra_specs'].update((k, str(v)) for k, v in extra_specs.items())
        return self._out('flavor', row)

    def fetch_flavor_extra_specs(self, flavor):
        return self.get_flavor(flavor)

    def delete_flavor(self, flavor, ignore_missing=True):
        # Servers keep their embedded copy: Nova lets a flavor in use go.
        self._delete('flavor', flavor, ignore_missing)

    # -- keypairs ----------------------------------------------------------

    def keypairs(self, **query):
        return self._list('keypair', **query)

    def get_keypair(self, keypair, user_id=None):
        return self._out('keypair', self._get('keypair', keypair))

    def find_keypair(self, name_or_id, ignore_missing=True, user_id=None):
        return self._find('keypair', name_or_id, ignore_missing)

    def create_keypair(self, name, public_key, type='ssh', user_id=None):
        if name in self._tables['keypair']:
            raise self._conflict("Key pair '%s' already exists." % name)
        try:
            fingerprint = _fingerprint(public_key)
        except (IndexError, ValueError):
            raise self._bad_request('Keypair data is invalid: failed to '
                                    'generate fingerprint')
        return self._add('keypair', id=name, name=name, type=type,
                         public_key=public_key, fingerprint=fingerprint,
                         user_id=user_id or 'fake-user',
                         created_at=base.now())

    def delete_keypair(self, keypair, ignore_missing=True, user_id=None):
        self._delete('keypair', keypair, ignore_missing)

    # -- server groups -----------------------------------------------------

    def server_groups(self, all_projects=False, **query):
        return self._list('server_group', **query)

    def get_server_group(self, server_group):
        return self._out('server_group',
                         self._get('server_group', server_group))

    def find_server_group(self, name_or_id, ignore_missing=True,
                          all_projects=False):
        return self._find('server_group', name_or_id, ignore_missing)

    def create_server_group(self, name, policy, rules=_UNSET):
        if rules is None:
            raise self._bad_request(
                "Invalid input for field/attribute rules. Value: None. None "
                "is not of type 'object'")
        if policy not in POLICIES:
            raise self._bad_request(
                "Invalid input for field/attribute policy. Value: %s. %r is "
                "not one of %s" % (policy, policy, POLICIES))
        return self._add('server_group', name=name, policy=policy,
                         rules={} if rules is _UNSET else dict(rules),
                         member_ids=[], metadata={})

    def delete_server_group(self, server_group, ignore_missing=True):
        self._delete('server_group', server_group, ignore_missing)

    # -- limits ------------------------------------------------------------

    def _usage(self):
        servers = list(self._tables['server'].values())
        return {'instances': len(servers),
                'cores': sum(s.flavor['vcpus'] for s in servers),
                'ram': sum(s.flavor['ram'] for s in servers)}

    def get_limits(self, **query):
        quotas, used = self._site.quotas, self._usage()
        absolute = base.resource_type(_limits.AbsoluteLimits)(
            instances=quotas['instances'], instances_used=used['instances'],
            total_cores=quotas['cores'], total_cores_used=used['cores'],
            total_ram=quotas['ram'], total_ram_used=used['ram'],
            server_groups_used=len(self._tables['server_group']),
            max_total_instances=quotas['instances'],
            total_instances_used=used['instances'],
            max_total_cores=quotas['cores'],
            max_total_ram_size=quotas['ram'])
        return base.resource_type(_limits.Limits)(absolute=absolute, rate=[])

    def _check_quota(self, flavor):
        # The usage is counted only under a quota: it reads every server.
        used = None
        for name, wanted in (('instances', 1), ('cores', flavor.vcpus),
                             ('ram', flavor.ram)):
            allowed = self._site.quotas[name]
            if 0 <= allowed:
                used = used or self._usage()
                if allowed < used[name] + wanted:
                    raise self._error(
                        403, 'Quota exceeded for %s: Requested %d, but '
                             'already used %d of %d %s'
                             % (name, wanted, used[name], allowed, name))

    # -- servers -----------------------------------------------------------

    def servers(self, details=True, all_projects=False, **query):
        # Nova's name filter is a regular expression, not an equality.
        pattern = query.pop('name', None)
        if _literal(pattern):
            # Found in the servers whose names have the pattern's
            # trigrams, then checked as below.
            conditions = [(k, v) for k, v in query.items() if v is not None]
            rows = [r for r in self._tables['server'].candidates(
                'name', _trigrams(pattern), _trigrams)
                if all(r.get(k) == v for k, v in conditions) and
                re.search(pattern, r.name)]
            if base.CHECK_INDEXES:
                scan = [r for r in self._rows('server', **query)
                        if re.search(pattern, r.name)]
                if [r.id for r in rows] != [r.id for r in scan]:
                    raise AssertionError('servers named %r: %r, a scan %r'
                                         % (pattern, rows, scan))
        else:
            rows = [r for r in self._rows('server', **query)
                    if pattern is None or re.search(pattern, r.name)]
        return [self._read(row) for row in rows]

    def get_server(self, server):
        return self._read(self._get('server', server))

    def find_server(self, name_or_id, ignore_missing=True, details=True,
                    all_projects=False):
        found = self._find('server', name_or_id, ignore_missing)
        return found and self.get_server(found.id)

    def create_server(self, name, flavor_id=None, image_id=None,
                      networks=None, key_name=None, metadata=None,
                      scheduler_hints=None, availability_zone=None,
                      block_device_mapping=None, block_device_mapping_v2=None,
                      user_data=None, description=None, tags=None,
                      flavorRef=None, imageRef=None):
        flavor = self._tables['flavor'].get(flavor_id or flavorRef)
        if flavor is None:
            raise self._bad_request('Invalid flavorRef provided.')
        bdms = block_device_mapping_v2 or block_device_mapping or []
        image_id = image_id or imageRef
        self._check_image(image_id, flavor, bdms)
        if key_name is not None and key_name not in self._tables['keypair']:
            raise self._bad_request('Invalid key_name provided.')
        zone = availability_zone or 'nova'
        if zone != 'nova' and zone not in self._site.availability_zones:
            raise self._bad_request(
                'The requested availability zone is not available')
        group_id = (scheduler_hints or {}).get('group')
        if group_id is not None and group_id not in self._tables[
                'server_group']:
            raise self._bad_request('Instance group %s could not be found.'
                                    % group_id)
        requests = self._check_networks(networks)
        volumes = self._check_block_devices(bdms)
        self._check_quota(flavor)
        server_id = base.new_id('server')
        host = 'compute-%s' % zone
        stamp = base.now()
        row = base.FakeResource(
            id=server_id, name=name, status='BUILD', task_state=None,
            flavor=base.resource_type(_flavor.Flavor)(
                original_name=flavor.name, name=flavor.name, id=flavor.name,
                vcpus=flavor.vcpus, ram=flavor.ram, disk=flavor.disk,
                ephemeral=flavor.ephemeral, swap=flavor.swap,
                extra_specs=dict(flavor.extra_specs)),
            image=base.resource_type(_image.Image)(id=image_id),
            key_name=key_name, metadata=dict(metadata or {}),
            availability_zone=zone, compute_host=host,
            hypervisor_hostname=host,
            server_groups=[group_id] if group_id else [],
            user_data=user_data, description=description,
            tags=list(tags or []), fault=None, created_at=stamp,
            updated_at=stamp, _port_ids=[], _nova_ports=[], _volumes={},
            _reads_left=self._site.server_build_reads, _fault=None)
        try:
            self._plug(row, requests, host)
        except os_exc.HttpException:
            self._unplug(row, 'create_server')  # e.g. a fixed IP in use
            raise
        self._tables['server'][server_id] = row
        row['_fault'] = self._site._take_build_failure(name)
        self._set_state(row, 'BUILD')
        if group_id is not None:
            self._tables['server_group'][group_id]['member_ids'].append(
                server_id)
        # The root disk is vda: the boot volume's, or the image's.
        letters = 'abcdefghijklmnop' if not image_id else 'bcdefghijklmnop'
        for letter, (volume_id, delete) in zip(letters, volumes):
            self._volumes._attach(volume_id, server_id, '/dev/vd' + letter,
                                  host)
            row._volumes[volume_id] = delete
        if row._reads_left == 0:
            self._build_ends(row)
        return self._out('server', row)

    def _check_image(self, image_id, flavor, bdms):
        if not image_id:
            if not any(_boots(b) for b in bdms):
                raise self._bad_request(
                    'Block Device Mapping is Invalid: Boot sequence for the '
                    'instance and image/block device mapping combination is '
                    'not valid.')
            return
        image = self._site._raw_image._tables['image'].get(image_id)
        if image is None:
            raise self._bad_request('Can not find requested image')
        if image['status'] != 'active':
            raise self._bad_request('Image %s is not active.' % image_id)
        if image['min_ram'] > flavor.ram:
            raise self._bad_request(
                "Flavor's memory is too small for requested image.")
        if flavor.disk and image['min_disk'] > flavor.disk:
            raise self._bad_request(
                "Flavor's disk is too small for requested image.")

    def _check_networks(self, networks):
        """What to plug: [('port', id)] or [('network', id, fixed_ip)]."""
        if networks is None:
            raise self._bad_request(
                "Invalid input for field/attribute server. 'networks' is a "
                "required property")
        if networks == 'none':
            return []
        if isinstance(networks, str):
            raise self._bad_request('Unable to automatically allocate a '
                                    'network for project')
        requests = []
        for request in networks:
            if request.get('port'):
                port = self._network._tables['port'].get(request['port'])
                if port is None:
                    raise self._bad_request('Port id %s could not be found.'
                                            % request['port'])
                if port.device_id:
                    raise self._conflict('Port %s is still in use.'
                                         % port.id)
                requests.append(('port', port.id))
            else:
                if request.get('uuid') not in self._network._tables[
                        'network']:
                    raise self._bad_request('Network %s could not be found.'
                                            % request.get('uuid'))
                requests.append(('network', request['uuid'],
                                 request.get('fixed_ip')))
        return requests

    def _check_block_devices(self, bdms):
        """[(volume id, delete_on_termination)], the boot volume first."""
        volumes = []
        for bdm in sorted(bdms, key=lambda b: not _boots(b)):
            if bdm.get('source_type') != 'volume':
                raise ValueError('the fake cloud models only block devices '
                                 "of source_type 'volume': %s" % bdm)
            if bdm.get('uuid') not in self._volumes._tables['volume']:
                raise self._bad_request('Block Device Mapping is Invalid: '
                                        'failed to get volume %s.'
                                        % bdm.get('uuid'))
            volume = self._volumes._get('volume', bdm['uuid'])
            if _boots(bdm) and not volume.is_bootable:
                raise self._bad_request('Block Device %s is not bootable.'
                                        % volume.id)
            if volume.status != 'available':
                raise self._bad_request(
                    'Invalid volume: volume %s status must be available, '
                    'but current status is: %s' % (volume.id, volume.status))
            volumes.append((volume.id,
                            bool(bdm.get('delete_on_termination'))))
        return volumes

    def _plug(self, row, requests, host):
        for request in requests:
            if request[0] == 'port':
                port = self._network._get('port', request[1])
            else:
                fixed_ips = ([{'ip_address': request[2]}] if request[2]
                             else None)
                port = self._network._create_port(request[1],
                                                  fixed_ips=fixed_ips)
                row._nova_ports.append(port.id)
            port.update(device_id=row.id, binding_host_id=host,
                        device_owner='compute:%s' % row.availability_zone)
            row._port_ids.append(port.id)

    def _unplug(self, row, method):
        """Release the server's ports: delete those Nova made."""
        for port_id in row._port_ids:
            port = self._network._tables['port'].get(port_id)
            if port is None or port.device_id != row.id:
                continue
            in_pair = bool(self._network._pairs_of_port(port_id))
            if in_pair:
                self._network._violation(sfc.SERVER_UNDER_PAIR, method,
                                         server_id=row.id, port_id=port_id)
            if port_id in row._nova_ports and not in_pair:
                self._network._delete('port', port_id, True)
            else:
                port.update(device_id='', device_owner='',
                            binding_host_id='', status='DOWN')

    def _set_state(self, row, status):
        row.update(status=status, vm_state=_VM_STATES[status],
                   power_state=_POWER_STATES[status], updated_at=base.now())
        for port_id in row._port_ids:
            port = self._network._tables['port'].get(port_id)
            if port is not None and port.device_id == row.id:
                port['status'] = 'ACTIVE' if status == 'ACTIVE' else 'DOWN'

    def _read(self, row):
        """A read of a server: a build ends after the reads it takes."""
        if row.status == 'BUILD':
            if row._reads_left > 0:
                row['_reads_left'] -= 1
            else:
                self._build_ends(row)
        return self._out('server', row)

    def _build_ends(self, row):
        if row._fault is None:
            self._set_state(row, 'ACTIVE')
            return
        row['fault'] = {'code': 500, 'message': row._fault,
                        'created': base.now()}
        self._set_state(row, 'ERROR')
        self._unplug(row, 'create_server')
        for volume_id in row._volumes:
            self._volumes._detach(volume_id, row.id)
        row._volumes.clear()

    def _view(self, kind, row, resource):
        if kind != 'server':
            return resource
        addresses, groups = {}, []
        for port_id in row._port_ids:
            port = self._network._tables['port'].get(port_id)
            if port is None or port.device_id != row.id:
                continue
            network = self._network._tables['network'][port.network_id]
            for ip in port.fixed_ips:
                addresses.setdefault(network.name, []).append({
                    'addr': ip['ip_address'],
                    'version': 6 if ':' in ip['ip_address'] else 4,
                    'OS-EXT-IPS-MAC:mac_addr': port.mac_address,
                    'OS-EXT-IPS:type': 'fixed'})
            for group_id in port.security_group_ids:
                name = self._network._tables['security_group'][group_id].name
                if {'name': name} not in groups:
                    groups.append({'name': name})
        resource['addresses'] = addresses
        resource['security_groups'] = groups
        resource['attached_volumes'] = [
            {'id': volume_id, 'delete_on_termination': delete}
            for volume_id, delete in row._volumes.items()]
        return resource

    def delete_server(self, server, ignore_missing=True, force=False):
        server_id = base.ident(server)
        row = self._tables['server'].get(server_id)
        if row is None:
            return self._delete('server', server_id, ignore_missing)
        self._unplug(row, 'delete_server')
        for volume_id, delete in row._volumes.items():
            self._volumes._detach(volume_id, row.id)
            if delete:
                try:
                    self._volumes.delete_volume(volume_id)
                except os_exc.HttpException:
                    pass  # Nova logs it; the volume stays
        for group in self._rows('server_group'):
            if server_id in group.member_ids:
                group.member_ids.remove(server_id)
        self._delete('server', server_id, False)

    def _action(self, server, action, allowed, status):
        row = self._get('server', server)
        if row.status not in allowed:
            raise self._conflict(
                "Cannot '%s' instance %s while it is in vm_state %s"
                % (action, row.id, row.vm_state))
        self._set_state(row, status)

    def stop_server(self, server):
        self._action(server, 'stop', ('ACTIVE', 'ERROR'), 'SHUTOFF')

    def start_server(self, server):
        self._action(server, 'start', ('SHUTOFF',), 'ACTIVE')

    # -- volume attachments ------------------------------------------------

    def _attachment(self, row, volume_id):
        volume = self._volumes._tables['volume'][volume_id]
        [attachment] = [a for a in volume.attachments
                        if a['server_id'] == row.id]
        return base.resource_type(_attachment.VolumeAttachment)(
            id=volume_id, volume_id=volume_id, server_id=row.id,
            device=attachment['device'],
            attachment_id=attachment['attachment_id'],
            delete_on_termination=row._volumes[volume_id], tag=None)

    def server_interfaces(self, server):
        """The server's ports, in the order they were plugged.

        (Nova's os-interface.)
        """
        row = self._get('server', server)
        net = self._site._raw_network
        interfaces = []
        for port_id in row._port_ids:
            port = net._tables['port'].get(port_id)
            if port is None:
                continue
            interfaces.append(base.FakeResource(
                id=port_id, port_id=port_id, net_id=port['network_id'],
                mac_addr=port['mac_address'], port_state='ACTIVE',
                fixed_ips=[dict(ip) for ip in port['fixed_ips']],
                server_id=row.id))
        return interfaces

    def volume_attachments(self, server, **query):
        row = self._get('server', server)
        return [self._attachment(row, v) for v in row._volumes]

    def get_volume_attachment(self, server, volume):
        row = self._get('server', server)
        volume_id = base.ident(volume)
        if volume_id not in row._volumes:
            raise self._error(404, 'Volume %s is not attached to the '
                                   'instance %s' % (volume_id, row.id))
        return self._attachment(row, volume_id)

    def create_volume_attachment(self, server, volume=None, volume_id=None,
                                 device=None, delete_on_termination=False,
                                 tag=None):
        row = self._get('server', server)
        volume_id = base.ident(volume or volume_id)
        if row.status not in ('ACTIVE', 'SHUTOFF'):
            raise self._conflict(
                "Cannot 'attach_volume' instance %s while it is in vm_state "
                "%s" % (row.id, row.vm_state))
        self._volumes._get('volume', volume_id)
        taken = {a['device'] for v in row._volumes for a in
                 self._volumes._tables['volume'][v].attachments
                 if a['server_id'] == row.id}
        device = device or next('/dev/vd%s' % letter
                                for letter in 'bcdefghijklmnop'
                                if '/dev/vd%s' % letter not in taken)
        self._volumes._attach(volume_id, row.id, device, row.compute_host)
        row._volumes[volume_id] = bool(delete_on_termination)
        return self._attachment(row, volume_id)

    def delete_volume_attachment(self, server, volume, ignore_missing=True):
        row = self._get('server', server)
        volume_id = base.ident(volume)
        if volume_id not in row._volumes:
            if ignore_missing:
                return
            raise self._error(404, 'Volume %s is not attached to the '
                                   'instance %s' % (volume_id, row.id))
        if self._attachment(row, volume_id).device == '/dev/vda':
            raise self._bad_request("Can't detach root device volume")
        self._volumes._detach(volume_id, row.id)
        del row._volumes[volume_id]
