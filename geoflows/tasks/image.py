"""Glance: copies of the source site's images at the target site.

Also the images of volumes that the ``image`` replication method moves
between the sites (:class:`VolumeImage`, :class:`VolumeImageCopy`): see
the end of this module.

A copy keeps the source image's formats, minimum sizes, visibility and
every property, and is verified by its bytes: its md5 checksum and its
``os_hash_value`` (sha512) must equal the source's, or the copy is deleted
and the step fails.  It keeps the source's id when the target has never
had an image of that id (Glance never reuses an id, even of a deleted
image); otherwise it gets a new one.  Either way it carries the property
``geoflows_source`` (the source id), by which it is found again.
"""

import hashlib
import logging
import os
import tempfile
import time

from geoflows import clouds
from geoflows import exceptions
from geoflows.tasks import base

LOG = logging.getLogger(__name__)

SOURCE_PROPERTY = 'geoflows_source'
MARK_PROPERTY = 'geoflows'
# Properties Glance manages itself, or that name the source's storage.
_NOT_COPIED = ('owner_specified.openstack.object', 'direct_url', 'stores',
               'locations', 'os_glance_importing_to_stores',
               'os_glance_failed_import', 'os_glance_import_task')


class ImageCopy(base.Resource):
    """The copy of an image of another site.

    ``params['image']``: the image as captured at ``params['source']``.
    """

    kind = 'image'
    service = 'image'
    missing_hint = ('protect and sync copy it from the primary ("geoflows '
                    'sync"); then resume the job')

    def find(self, glance, parents):
        source_id = self.params['image']['source_id']
        found = [i for i in glance.images(**{SOURCE_PROPERTY: source_id})
                 if _properties(glance, i).get(SOURCE_PROPERTY) ==
                 source_id]
        copy = base.only(found, 'copies of image %s' % source_id)
        return copy or self._original(glance)

    def _original(self, glance):
        """The image the source's is a copy of, if it is at this site.

        A group replicating back to its origin finds the image its
        servers booted from there (same bytes): it is used, not copied.
        """
        captured = self.params['image']
        original = captured['properties'].get(SOURCE_PROPERTY)
        if not original:
            return None
        try:
            obj = glance.get_image(original)
        except clouds.NotFound:
            return None
        same = obj.checksum == captured.get('checksum') and (
            not captured.get('hash_value') or
            getattr(obj, 'hash_value', None) == captured['hash_value'])
        return obj if same and obj.status == 'active' else None

    def create(self, glance, parents):
        captured = self.params['image']
        source_glance = self.ctx.clouds.image(self.params['source'])
        properties = {k: v for k, v in captured['properties'].items()
                      if k not in _NOT_COPIED}
        properties[SOURCE_PROPERTY] = captured['source_id']
        properties[MARK_PROPERTY] = self.marker
        workdir = self.params.get('work_dir')
        with tempfile.TemporaryDirectory(prefix='geoflows-image-',
                                         dir=workdir) as tmp:
            path = os.path.join(tmp, 'data')
            with clouds.api_errors(self.params['source']['name'],
                                   'download image %s'
                                   % captured['source_id']):
                source_glance.download_image(captured['source_id'],
                                             output=path)
            attrs = dict(properties, filename=path,
                         disk_format=captured['disk_format'],
                         container_format=captured['container_format'],
                         min_disk=captured['min_disk'],
                         min_ram=captured['min_ram'],
                         allow_duplicates=True, wait=False)
            if captured.get('visibility'):
                attrs['visibility'] = captured['visibility']
            try:
                obj = glance.create_image(captured['name'],
                                          id=captured['source_id'], **attrs)
            except clouds.os_exc.ConflictException:
                # The id was used once at this site: a new one.
                obj = glance.create_image(captured['name'], **attrs)
        return obj

    def claim(self, glance, obj, parents):
        self.verify(glance, obj)

    def verify(self, glance, obj):
        """The copy holds the source's bytes, or it is deleted."""
        captured = self.params['image']
        obj = glance.get_image(obj.id)
        mismatch = []
        if captured.get('checksum') and obj.checksum != captured['checksum']:
            mismatch.append('md5 %s, the source\'s %s' % (
                obj.checksum, captured['checksum']))
        if captured.get('hash_value') and \
                getattr(obj, 'hash_value', None) != captured['hash_value']:
            mismatch.append('%s %s, the source\'s %s' % (
                captured.get('hash_algo') or 'hash',
                getattr(obj, 'hash_value', None), captured['hash_value']))
        if mismatch:
            if not self.owned(obj, None):
                raise exceptions.ResourceError(
                    'image %s at site %r does not hold the bytes of the '
                    'source\'s image %s (%s)' % (
                        obj.id, self.site['name'], captured['source_id'],
                        '; '.join(mismatch)))
            glance.delete_image(obj.id, ignore_missing=True)
            raise exceptions.ResourceError(
                'the copy of image %s at site %r does not hold the source\'s'
                ' bytes (%s); it was deleted; resume the job to copy it '
                'again' % (captured['source_id'], self.site['name'],
                           '; '.join(mismatch)))

    def delete(self, glance, resource_id, parents):
        glance.delete_image(resource_id, ignore_missing=False)

    def owned(self, obj, parents):
        return _properties(None, obj).get(MARK_PROPERTY) == self.marker

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(checksum=obj.checksum, status=obj.status,
                      source_id=self.params['image']['source_id'])
        return result


def _properties(glance, obj):
    props = dict(getattr(obj, 'properties', None) or {})
    for key in (SOURCE_PROPERTY, MARK_PROPERTY):
        value = getattr(obj, key, None) if not isinstance(obj, dict) \
            else obj.get(key)
        if value is not None:
            props.setdefault(key, value)
    return props


# -- volumes through Glance (the ``image`` replication method) --------------

VOLUME_PROPERTY = 'geoflows_source_volume'
SHA256_PROPERTY = 'geoflows_sha256'
CHUNK_SIZE = 4 * 1024 * 1024
_ZEROS = bytes(CHUNK_SIZE)


class ChecksumMismatch(exceptions.ResourceError):
    """A copy of a volume's image does not hold the source's bytes."""


def _marked_images(glance, name, marker):
    return [i for i in glance.images(name=name)
            if i.name == name and
            _properties(glance, i).get(MARK_PROPERTY) == marker]


class VolumeImage(base.Resource):
    """The image Cinder uploads from the parent ``clone`` (a volume).

    Cinder makes the image; it carries geoflows' mark from its birth
    because Cinder copies the volume's image metadata, which the mark is
    put into first, into the image's properties (and :meth:`claim` sets it
    where a cloud does not).  ``params['volume_id']``: the source volume.
    """

    kind = 'image of volume'
    service = 'image'

    def find(self, glance, parents):
        return base.only(_marked_images(glance, self.name, self.marker),
                         'images named %r made by geoflows' % self.name)

    def _properties(self):
        return {MARK_PROPERTY: self.marker,
                VOLUME_PROPERTY: self.params['volume_id']}

    def create(self, glance, parents):
        cinder = self.ctx.clouds.block_storage(self.site)
        clone = parents['clone']['id']
        cinder.set_volume_image_metadata(clone, **self._properties())
        answer = cinder.upload_volume_to_image(
            clone, self.name,
            disk_format=self.params.get('disk_format') or 'raw',
            container_format='bare', visibility='private')
        image_id = (answer.get('image_id') if isinstance(answer, dict)
                    else getattr(answer, 'image_id', None))
        return glance.get_image(image_id)

    def claim(self, glance, obj, parents):
        props = _properties(glance, obj)
        missing = {k: v for k, v in self._properties().items()
                   if props.get(k) != v}
        if missing:
            glance.update_image(obj.id, **missing)

    def owned(self, obj, parents):
        return _properties(None, obj).get(MARK_PROPERTY) == self.marker

    def delete(self, glance, resource_id, parents):
        glance.delete_image(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(status=obj.status, size=obj.size,
                      checksum=obj.checksum, disk_format=obj.disk_format,
                      hash_algo=getattr(obj, 'hash_algo', None),
                      hash_value=getattr(obj, 'hash_value', None))
        return result


class WaitImage(base.WaitStatus):
    """Check once that the Cinder-made image is active; describe it then.

    (Its size and checksums exist only once it is active.)
    """

    def __init__(self, resource):
        super().__init__(resource, ready=('active',),
                         failed=('killed', 'deleted', 'pending_delete',
                                 'deactivated'),
                         hint='Cinder failed to upload the volume: see the '
                              'logs of the site\'s cinder-volume, fix the '
                              'cause, then resume or revert the job')

    def execute(self, current, **inputs):
        parents = self._parents(inputs)
        obj = self._find(self.proxy(), parents)
        if obj is None:
            # Cinder deletes the image when an upload fails.
            raise exceptions.ResourceError(
                '%s disappeared: Cinder deletes the image when the upload '
                'fails; %s' % (self.resource.label, self.hint))
        if obj.status not in self.ready:
            super().execute(current, **inputs)  # NotReady, or an error
            obj = self._find(self.proxy(), parents)  # active meanwhile
        return self.resource.describe(obj, parents)


class VolumeImageCopy(base.Resource):
    """The copy at this site of the parent ``image`` (a volume's image).

    Streamed from the source site's Glance (``params['source']``) in
    chunks of :data:`CHUNK_SIZE` into a temporary file under
    ``params['work_dir']`` (removed afterwards), its sha256 computed on
    the way, then uploaded; the copy gets a new id (Glance never reuses
    one).  Verified by :meth:`claim`: its size, md5 ``checksum`` and
    ``os_hash_value`` must be the source's, or it is deleted and the step
    fails with :class:`ChecksumMismatch`.  ``params['volume']``: the
    source volume as captured.  The time of each phase is in the
    description (``timings``, seconds) when this step made the copy.
    """

    kind = 'copy of image'
    service = 'image'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timings = {}

    def find(self, glance, parents):
        return base.only(_marked_images(glance, self.name, self.marker),
                         'images named %r made by geoflows' % self.name)

    def stale(self, glance, parents):
        """An earlier attempt's copy whose upload never ended."""
        return [i for i in _marked_images(glance, self.name, self.marker)
                if i.status != 'active']

    def create(self, glance, parents):
        source = parents['image']
        source_site = self.params['source']
        source_glance = self.ctx.clouds.image(source_site)
        volume = self.params['volume']
        with tempfile.TemporaryDirectory(
                prefix='geoflows-volume-', dir=self.params.get(
                    'work_dir')) as tmp:
            path = os.path.join(tmp, 'data')
            started = time.monotonic()
            with clouds.api_errors(source_site['name'], 'download image %s'
                                   % source['id']):
                size, md5, sha256 = _download(source_glance, source['id'],
                                              path)
            self.timings['transfer'] = round(time.monotonic() - started, 3)
            if size != source['size'] or md5 != source['checksum']:
                raise ChecksumMismatch(
                    'the image of volume %s (%s) downloaded from site %r is '
                    'not what Glance holds there: %d bytes of md5 %s, the '
                    'image has %s bytes of md5 %s; nothing was copied; '
                    'resume the job to download it again' % (
                        volume.get('name'), volume['source_id'],
                        source_site['name'], size, md5, source['size'],
                        source['checksum']))
            started = time.monotonic()
            properties = {MARK_PROPERTY: self.marker,
                          VOLUME_PROPERTY: volume['source_id'],
                          SHA256_PROPERTY: sha256}
            obj = glance.create_image(
                self.name, filename=path,
                disk_format=source.get('disk_format') or 'raw',
                container_format='bare', visibility='private', md5=md5,
                sha256=sha256, allow_duplicates=True, wait=False,
                **properties)
            self.timings['dr_upload'] = round(time.monotonic() - started, 3)
        # As created, before its upload: read it again.
        return glance.get_image(obj.id)

    def claim(self, glance, obj, parents):
        started = time.monotonic()
        self.verify(glance, obj, parents['image'])
        self.timings['verify'] = round(time.monotonic() - started, 3)

    def verify(self, glance, obj, source):
        """The copy holds the source's bytes, or it is deleted."""
        obj = glance.get_image(obj.id)
        theirs = (source['size'], source['checksum'], source['hash_value'])
        ours = (obj.size, obj.checksum, getattr(obj, 'hash_value', None))
        if obj.status == 'active' and ours == theirs:
            return
        glance.delete_image(obj.id, ignore_missing=True)
        volume = self.params['volume']
        raise ChecksumMismatch(
            'the copy at site %r of volume %s (%s) does not hold the bytes '
            'of its image at site %r: the copy is %s, %s bytes, md5 %s, '
            '%s %s; the source image has %s bytes, md5 %s, %s %s.  The copy '
            'was deleted; resume the job to copy it again (if it fails '
            'again, check the DR site\'s Glance store and the network '
            'between the sites)' % (
                self.site['name'], volume.get('name'), volume['source_id'],
                self.params['source']['name'], obj.status, obj.size,
                obj.checksum, getattr(obj, 'hash_algo', None) or 'hash',
                getattr(obj, 'hash_value', None), source['size'],
                source['checksum'], source.get('hash_algo') or 'hash',
                source['hash_value']))

    def owned(self, obj, parents):
        return _properties(None, obj).get(MARK_PROPERTY) == self.marker

    def delete(self, glance, resource_id, parents):
        glance.delete_image(resource_id, ignore_missing=False)

    def describe(self, obj, parents):
        result = super().describe(obj, parents)
        result.update(status=obj.status, size=obj.size,
                      checksum=obj.checksum, disk_format=obj.disk_format,
                      hash_value=getattr(obj, 'hash_value', None),
                      sha256=_properties(None, obj).get(SHA256_PROPERTY),
                      created_at=str(obj.created_at))
        if self.timings:
            result['timings'] = dict(self.timings)
        return result


def _download(glance, image_id, path):
    """Stream an image into ``path``: (bytes, md5, sha256).

    Chunks of zeros are holes in the file: the raw image of a volume that
    is mostly empty takes little room in the work directory.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    response = glance.download_image(image_id, stream=True,
                                     chunk_size=CHUNK_SIZE)
    try:
        with open(path, 'wb') as target:
            for chunk in response.iter_content(CHUNK_SIZE):
                if chunk == (_ZEROS if len(chunk) == CHUNK_SIZE
                             else bytes(len(chunk))):
                    target.seek(len(chunk), os.SEEK_CUR)
                else:
                    target.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                size += len(chunk)
            target.truncate(size)
    finally:
        close = getattr(response, 'close', None)
        if close is not None:
            close()
    return size, md5.hexdigest(), sha256.hexdigest()


class EnsureCopy(base.Ensure):
    """:class:`base.Ensure` that first deletes an unfinished earlier copy.

    (An upload the controller's crash cut short leaves a ``queued`` or
    ``saving`` image, which no one finishes.)
    """

    def execute(self, before, **inputs):
        parents = self._parents(inputs)
        glance = self.proxy()
        with self.api('look up %s' % self.resource.label):
            stale = self.resource.stale(glance, parents)
        for obj in stale:
            LOG.info('deleting %s (%s): an earlier attempt\'s upload that '
                     'never ended (%s)', self.resource.label, obj.id,
                     obj.status)
            with self.api('delete %s' % self.resource.label):
                glance.delete_image(obj.id, ignore_missing=True)
        return super().execute(before, **inputs)
