"""The ``image`` method: the volume copied through Glance, checksum verified.

Per sync and volume:

* inside the quiesce window, at the source: a Cinder snapshot, nothing
  more;
* after it, at the source: a volume from the snapshot (a *clone*: Cinder
  refuses to upload a volume in use), uploaded by Cinder to a raw image,
  waited active;
* the image streamed from the source's Glance to the target's in chunks
  (through a temporary file under ``[protection] work_dir``, removed
  afterwards), its sha256 computed on the way; the copy gets a new id
  (Glance never reuses an id); its size, md5 and ``os_hash_value`` must be
  the source image's, or it is deleted and the sync fails (resume it to
  copy again);
* the snapshot, the clone and the source's image deleted.

The copy record names the DR image, its sha256 (of the volume's whole
content: the image is raw), its size and the source volume.  A takeover
creates a volume from the image at the DR site; pruning deletes the image.

Every copy is a full one: Glance has no increments, so each sync moves the
whole volume (zeros included, as the image is raw), and the DR site keeps
``retention`` full images per volume.  Use ``backup`` where the sites'
backup services share a repository; ``image`` needs nothing shared between
the sites but their APIs.

Every step finds what an earlier attempt made (by name and geoflows'
mark), so a resumed sync makes no duplicate; a revert deletes what the
job made.

Options: ``disk_format``, the format Cinder uploads the volume in:
``raw`` (the default: the image is the volume's bytes, so its sha256 is
the volume's) or ``qcow2`` (Cinder converts with qemu-img: zeros are not
stored, so a sparse volume's image is much smaller and its copy much
faster; a volume created from it holds the same bytes, but the image's
sha256 is the qcow2 file's).
"""

from geoflows import replication

DISK_FORMATS = ('raw', 'qcow2')


class Image(replication.Method):

    name = 'image'

    def problems(self, item_spec):
        found = []
        for key, value in (item_spec.get('options') or {}).items():
            if key != 'disk_format':
                found.append((('options', key), 'unknown option %r of the '
                              'image method (it takes: disk_format)' % key))
            elif value not in DISK_FORMATS:
                found.append((('options', key), 'disk_format is one of %s'
                              % ', '.join(DISK_FORMATS)))
        return found

    # -- resources of one item ---------------------------------------------

    def _snapshot(self, item):
        from geoflows.tasks import volume as volume_tasks
        return volume_tasks.Snapshot(
            item.key + '.snapshot', item.source, item.name,
            marker=item.marker, volume_id=item.volume['source_id'])

    def _clone(self, item):
        from geoflows.tasks import volume as volume_tasks
        return volume_tasks.Clone(
            item.key + '.clone', item.source, item.name, marker=item.marker,
            parents={'snapshot': item.key + '.snapshot'},
            source_id=item.volume['source_id'], wait=item.wait)

    def _image(self, item):
        from geoflows.tasks import image as image_tasks
        return image_tasks.VolumeImage(
            item.key + '.image', item.source, item.name, marker=item.marker,
            parents={'clone': item.key + '.clone'},
            after=[item.key + '.clone.ready'],
            volume_id=item.volume['source_id'],
            disk_format=item.options.get('disk_format', 'raw'))

    def _copy(self, item):
        from geoflows.tasks import image as image_tasks
        return image_tasks.VolumeImageCopy(
            item.key + '.dr_image', item.target, item.name,
            marker=item.marker, parents={'image': item.key + '.image.ready'},
            source=item.source, volume=item.volume, work_dir=item.work_dir)

    # -- steps -------------------------------------------------------------

    def snapshot(self, item):
        from geoflows.tasks import base
        snapshot = self._snapshot(item)
        return [base.Probe(snapshot), base.Ensure(snapshot),
                _waiting(item, base.WaitStatus(snapshot))]

    def copy(self, item):
        from geoflows.tasks import base
        from geoflows.tasks import image as image_tasks
        from geoflows.tasks import replication as steps
        from geoflows.tasks import volume as volume_tasks
        snapshot, clone = self._snapshot(item), self._clone(item)
        image, copy = self._image(item), self._copy(item)
        return [
            base.Probe(clone), base.Ensure(clone),
            _waiting(item, base.WaitStatus(clone)),
            base.Probe(image), base.Ensure(image),
            _waiting(item, image_tasks.WaitImage(image)),
            # Cinder gives the clone back once the image is active.
            _waiting(item, base.WaitStatus(
                clone, suffix='uploaded', after=[item.key + '.image.ready'])),
            volume_tasks.DeleteAfterUse(
                clone, after=[item.key + '.clone.uploaded']),
            volume_tasks.DeleteAfterUse(
                snapshot, after=[item.key + '.clone.removed']),
            base.Probe(copy), image_tasks.EnsureCopy(copy),
            volume_tasks.DeleteAfterUse(image, after=[copy.key]),
            steps.ImageRecord(item)]

    def restore(self, item, volume_name):
        from geoflows.tasks import base
        from geoflows.tasks import volume as volume_tasks
        restored = volume_tasks.Volume(
            item.key + '.volume', item.target, volume_name,
            marker=item.marker, parents={'image': item.copy_key},
            size=item.volume.get('size'),
            source_id=item.volume['source_id'])
        return [base.Probe(restored), base.Ensure(restored),
                _waiting(item, base.WaitStatus(restored))]

    def copy_id(self, record):
        return record['image_id']

    def references(self, record):
        return {record['image_id']}

    def prune(self, clouds, record):
        """Delete the image at the target."""
        from geoflows import clouds as clouds_mod
        site = record['target']
        glance = clouds.image(site)
        with clouds_mod.api_errors(site['name'], 'delete image %s'
                                   % record['image_id']):
            try:
                glance.delete_image(record['image_id'], ignore_missing=False)
            except clouds_mod.NotFound:
                return []
        return ['image %s on site %s' % (record['image_id'], site['name'])]


def _waiting(item, task):
    from taskflow.patterns import linear_flow

    from geoflows.tasks import base
    attempts, interval = item.wait
    return linear_flow.Flow(task.name + '.wait', retry=base.PacedRetry(
        task.name + '.retry', attempts, interval)).add(task)
