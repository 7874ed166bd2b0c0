"""Cinder volume driver of the minicloud: a sparse file per volume.

Needs no LVM, iSCSI or kernel module.  Volumes are attached through
os-brick's "local" connector (the file's path), which is what lets
cinder-backup's generic path (attach, read, write) back up and restore
them with the POSIX backup driver.  Statistics, exports and groups come from
Cinder's own fake driver.  For tests only: there is no data plane.

Images: the driver derives from Cinder's LVM driver (through the fake one),
whose copy_volume_to_image and copy_image_to_volume read and write
``local_path(volume)``; here that is the volume's file, so a volume uploads
to Glance and is created from an image as an LVM volume would be.
"""

import os
import subprocess

from cinder.tests import fake_driver
from oslo_config import cfg

OPTS = [cfg.StrOpt('file_volume_dir', default='$state_path/file-volumes',
                   help='Directory of the volume and snapshot files.')]
cfg.CONF.register_opts(OPTS, group='backend_defaults')

GIB = 1024 ** 3


class FileVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    VERSION = '1.0.0'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.configuration:
            self.configuration.append_config_values(OPTS)
        self.backend_name = (
            self.configuration and
            self.configuration.safe_get('volume_backend_name')) or 'file'
        self.protocol = 'local'

    def _directory(self):
        path = self.configuration.safe_get('file_volume_dir')
        os.makedirs(path, exist_ok=True)
        return path

    def _volume_file(self, volume):
        return os.path.join(self._directory(), 'volume-%s' % volume['id'])

    def _snapshot_file(self, snapshot):
        return os.path.join(self._directory(), 'snapshot-%s' % snapshot['id'])

    @staticmethod
    def _resize(path, size_gib):
        with open(path, 'ab') as f:
            f.truncate(int(size_gib) * GIB)

    @staticmethod
    def _copy(source, target):
        subprocess.check_call(['cp', '--sparse=always', source, target])

    @staticmethod
    def _remove(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def local_path(self, volume, vg=None):
        # LVM's would be /dev/mapper/<vg>-<volume>: used by the image
        # transfers (upload to image, create from image).
        return self._volume_file(volume)

    def check_for_setup_error(self):
        self._directory()

    def create_volume(self, volume):
        self._resize(self._volume_file(volume), volume['size'])

    def delete_volume(self, volume):
        self._remove(self._volume_file(volume))

    def extend_volume(self, volume, new_size):
        self._resize(self._volume_file(volume), new_size)

    def create_snapshot(self, snapshot):
        self._copy(self._volume_file(snapshot.volume),
                   self._snapshot_file(snapshot))

    def delete_snapshot(self, snapshot):
        self._remove(self._snapshot_file(snapshot))

    def create_volume_from_snapshot(self, volume, snapshot):
        self._copy(self._snapshot_file(snapshot), self._volume_file(volume))
        self._resize(self._volume_file(volume), volume['size'])

    def create_cloned_volume(self, volume, src_vref):
        self._copy(self._volume_file(src_vref), self._volume_file(volume))
        self._resize(self._volume_file(volume), volume['size'])

    # The "local" connector needs no initiator.
    def validate_connector(self, connector):
        return

    def validate_connector_has_setting(self, connector, setting):
        return

    def initialize_connection(self, volume, connector, **kwargs):
        return {'driver_volume_type': 'local',
                'data': {'device_path': self._volume_file(volume),
                         'access_mode': 'rw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        # A backup restore writes the file from its start, as it would a
        # block device, and leaves it as long as the data it wrote: a 1 GiB
        # volume restored as a 1 MiB file.  A block device keeps its size;
        # so does the file (sparse: the rest reads as zeros).
        self._resize(self._volume_file(volume), volume['size'])

    def initialize_connection_snapshot(self, snapshot, connector, **kwargs):
        return {'driver_volume_type': 'local',
                'data': {'device_path': self._snapshot_file(snapshot),
                         'access_mode': 'ro'}}

    def _update_volume_stats(self):
        super()._update_volume_stats()
        self._stats['storage_protocol'] = 'local'
        self._stats['volume_backend_name'] = self.backend_name
        for pool in self._stats['pools']:
            pool['pool_name'] = self.backend_name
            pool['reserved_percentage'] = 0
