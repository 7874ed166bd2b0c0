"""Glance: copies of the source site's images at the target site.

A copy keeps the source image's formats, minimum sizes, visibility and
every property, and is verified by its bytes: its md5 checksum and its
``os_hash_value`` (sha512) must equal the source's, or the copy is deleted
and the step fails.  It keeps the source's id when the target has never
had an image of that id (Glance never reuses an id, even of a deleted
image); otherwise it gets a new one.  Either way it carries the property
``geoflows_source`` (the source id), by which it is found again.
"""

import logging
import os
import tempfile

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
        return base.only(found, 'copies of image %s' % source_id)

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
