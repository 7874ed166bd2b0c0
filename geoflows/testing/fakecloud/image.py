"""The image proxy of a fake site: Glance v2 behind openstacksdk.

Images are stored as Glance shows them in its JSON (``os_hash_value``,
``protected``, extra properties at the top level) and returned as
openstacksdk shows them: its attribute names (``hash_value``,
``is_protected``, ``os_distro``...), and in ``properties`` only the extra
properties the SDK does not model, as the real SDK does (RECIPE.md point
1).  ``get('/images/<id>')`` gives the raw JSON, every property included.

Rules: an image is ``queued`` until data is uploaded, then ``active`` with
``checksum`` (md5), ``hash_algo`` ``sha512`` and ``hash_value`` computed
from the data (see :mod:`.data` for large images); an id is never reused,
even after the image is deleted (409); read-only attributes cannot be set
(403); a protected image cannot be deleted (403).  As the SDK,
``create_image`` turns extra keyword arguments into string properties,
adds the ``owner_specified.openstack.*`` properties, and returns the image
as created, before the upload (``queued``): read it again to see it
``active``.
"""

import io

from openstack import exceptions as os_exc
from openstack.image.v2 import image as _image

from geoflows.testing.fakecloud import base
from geoflows.testing.fakecloud import data as data_mod

# Glance's API names of the SDK's attributes, and back.
_TO_WIRE = {}
_FROM_WIRE = {}
for _attr, _component in _image.Image._attributes_iterator():
    _TO_WIRE[_attr] = _component.name
    _FROM_WIRE.setdefault(_component.name, []).append(_attr)
_READ_ONLY = frozenset([
    'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size',
    'status', 'created_at', 'updated_at', 'file', 'schema', 'self',
    'direct_url'])
# What the SDK does with create_image's keyword arguments.
_INT_PROPERTIES = ('min_disk', 'min_ram', 'size', 'virtual_size')
_RAW_PROPERTIES = ('is_protected', 'protected', 'tags')
_OWNER_KEYS = ('owner_specified.openstack.md5',
               'owner_specified.openstack.sha256',
               'owner_specified.openstack.object')


def _read(data):
    """Bytes, text, a file or an iterable of chunks, as a Blob."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, (bytes, bytearray)):
        return data_mod.Blob.from_chunks([bytes(data)])
    if hasattr(data, 'read'):
        return data_mod.Blob.from_chunks(iter(lambda: data.read(2 ** 20),
                                              b''))
    return data_mod.Blob.from_chunks(data)


class FakeImage(base.FakeProxy):
    """The image proxy of one fake site."""

    service = 'image'
    state = ('_tables', '_data', '_used_ids', '_saving')
    missing = {'image': 'No image found with ID %s'}

    def __init__(self, site):
        super().__init__(site)
        self._data = {}  # image id: Blob
        self._used_ids = set()  # Glance keeps deleted ids
        # Uploads under way: {image id: [reads left, Blob]}.
        self._saving = {}

    def _out(self, kind, row):
        self._advance(row)
        resource = base.resource_type(_image.Image)()
        properties = {}
        for key, value in row.items():
            if key[0] == '_' or key == 'self':  # the SDK drops 'self'
                continue
            for attr in _FROM_WIRE.get(key, ()):
                resource[attr] = base.copy_value(value)
            if key not in _FROM_WIRE:
                properties[key] = base.copy_value(value)
        resource['properties'] = properties
        return resource

    def _check_writable(self, wire):
        for key in wire:
            if key in _READ_ONLY:
                raise self._error(403, "Attribute '%s' is read-only." % key)
            if key.startswith('os_glance'):
                raise self._error(403, "Attribute '%s' is reserved." % key)

    # -- images ---------------------------------------------------------------

    def images(self, **query):
        wire = {_TO_WIRE.get(k, k): v for k, v in query.items()}
        return self._list('image', **wire)

    def get_image(self, image):
        return self._out('image', self._get('image', image))

    def find_image(self, name_or_id, ignore_missing=True):
        return self._find('image', name_or_id, ignore_missing)

    def create_image(self, name, filename=None, data=None, container=None,
                     md5=None, sha256=None, disk_format=None,
                     container_format=None, tags=None,
                     allow_duplicates=False, meta=None, wait=False,
                     timeout=3600, validate_checksum=False, **kwargs):
        """Create an image, and upload ``data`` or ``filename`` if given."""
        if filename and data:
            raise os_exc.SDKException(
                'filename and data are mutually exclusive')
        if not allow_duplicates:
            current = self.find_image(name)
            if current is not None and (md5 or sha256) and all(
                    current.properties.get(key) == value for key, value in
                    ((_OWNER_KEYS[0], md5), (_OWNER_KEYS[1], sha256))
                    if value):
                return current
        properties = kwargs.pop('properties', {})
        properties.update(zip(_OWNER_KEYS, (
            md5 or '', sha256 or '', '/'.join([container or 'images', name]))))
        kwargs.update(properties)
        wire = {}
        for key, value in kwargs.items():
            if key in _INT_PROPERTIES:
                value = int(value)
            elif key not in _RAW_PROPERTIES and value is not None:
                value = str(value)
            wire[_TO_WIRE.get(key, key)] = value
        wire.update(meta or {})
        self._check_writable(wire)
        image_id = wire.pop('id', None) or base.new_id('image')
        if image_id in self._used_ids:
            raise self._conflict('Image ID %s already exists!' % image_id)
        self._used_ids.add(image_id)
        stamp = base.now()
        row = dict(
            id=image_id, name=name, status='queued',
            disk_format=disk_format or 'qcow2',
            container_format=container_format or 'bare',
            visibility='shared', protected=False, os_hidden=False,
            min_disk=0, min_ram=0, size=None, virtual_size=None,
            checksum=None, os_hash_algo=None, os_hash_value=None,
            tags=list(tags or []), created_at=stamp, updated_at=stamp,
            file='/v2/images/%s/file' % image_id,
            self='/v2/images/%s' % image_id, schema='/v2/schemas/image')
        row.update(wire)
        self._tables['image'][image_id] = base.FakeResource(row)
        image = self._out('image', row)
        if filename:
            with open(filename, 'rb') as source:
                self._upload(image_id, _read(source))
        elif data is not None:
            self._upload(image_id, _read(data))
        # As the SDK: the image as created, before its data was uploaded.
        return image

    def _upload(self, image_id, blob, reads=0):
        """Store the image's data; it becomes active (also used by Cinder).

        With ``reads``, it is ``saving`` for that many reads first (as an
        upload by Cinder is).
        """
        if reads:
            self._get('image', image_id).update(status='saving')
            self._saving[image_id] = [reads, blob]
            return
        self._saving.pop(image_id, None)
        self._data[image_id] = blob
        self._get('image', image_id).update(
            status='active', size=blob.size, checksum=blob.digest('md5'),
            os_hash_algo='sha512', os_hash_value=blob.digest('sha512'),
            updated_at=base.now())

    def _advance(self, row):
        saving = self._saving.get(row['id'])
        if saving is None:
            return
        if saving[0] > 0:
            saving[0] -= 1
        else:
            self._upload(row['id'], saving[1])

    def update_image(self, image, **attrs):
        row = self._get('image', image)
        wire = {_TO_WIRE.get(k, k): v for k, v in attrs.items()}
        self._check_writable(wire)
        if 'id' in wire:
            raise self._error(403, "Attribute 'id' is read-only.")
        row.update(wire, updated_at=base.now())
        return self._out('image', row)

    def delete_image(self, image, ignore_missing=True, store=None):
        image_id = base.ident(image)
        row = self._tables['image'].get(image_id)
        if row is not None and row['protected']:
            raise self._error(403, 'Image %s is protected and cannot be '
                                   'deleted.' % image_id)
        self._delete('image', image_id, ignore_missing)
        self._data.pop(image_id, None)
        self._saving.pop(image_id, None)

    def download_image(self, image, stream=False, output=None,
                       chunk_size=1024 * 1024, store_preferences=None):
        """The data, as the SDK gives it: a response (204 if none yet)."""
        image_id = base.ident(image)
        self._get('image', image_id)
        blob = self._data.get(image_id)
        url = '%s/v2/images/%s/file' % (self._url, image_id)
        response = base.FakeResponse(
            200 if blob is not None else 204,
            blob=blob or data_mod.Blob(), url=url)
        if output is not None:
            if isinstance(output, io.IOBase):
                for chunk in response.iter_content(chunk_size):
                    output.write(chunk)
            else:
                with open(output, 'wb') as target:
                    for chunk in response.iter_content(chunk_size):
                        target.write(chunk)
        return response

    def get(self, path, **kwargs):
        """A raw GET: ``/images/<id>`` gives Glance's JSON of the image."""
        url = self._url + path
        parts = path.strip('/').split('/')
        if len(parts) == 2 and parts[0] == 'images':
            row = self._tables['image'].get(parts[1])
            if row is not None:
                return base.FakeResponse(200, {
                    k: v for k, v in row.items() if k[0] != '_'}, url=url)
        return base.error_response(404, 'The resource could not be found.',
                                   url)
