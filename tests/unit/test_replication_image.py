"""The ``image`` replication method on the fake cloud, through the runner.

The sample's pgw-1-cfg volume is copied with ``method: image`` (the other
volumes keep the sample's methods).  A GiB of the fake cloud is 1 MiB in
these tests (``data.GIB``), so that each copy streams and hashes 1 MiB,
not 1 GiB; the code under test reads sizes from the services as it does
on a real cloud.
"""

import os

import fixtures
from taskflow import states
import yaml

from geoflows import checkpoints
from geoflows import jobs
from geoflows import replication
from geoflows.testing.fakecloud import data as data_mod
from geoflows.testing import sample
from tests.unit import base
from tests.unit import test_protection_jobs
from tests.unit import test_runner

IMAGE_DATA = {'pgw': [{'volume': 'pgw-1-cfg', 'method': 'image'}]}
MIB = 1024 * 1024


def make_plan(interconnect=None, data=IMAGE_DATA, **group):
    document = base.plan_data()
    document.update(yaml.safe_load(sample.group_yaml(
        primary='paris', dr='lyon', data=data, interconnect=interconnect,
        **group)))
    return base.make_plan(document)


class ImageTestCase(test_protection_jobs.ProtectionTestCase):

    def setUp(self):
        self.useFixture(fixtures.MonkeyPatch(
            'geoflows.testing.fakecloud.data.GIB', MIB))
        super().setUp()
        self.plan = make_plan()
        job = self.runner.start('protect', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.volume = self.ids['pgw-1-cfg']
        self.paris = self.site('paris')
        self.paris.write_volume(self.volume, 4096, b'state of the pgw' * 64)
        self.paris.write_volume(self.volume, MIB - 100, b'end' * 33)

    def sync(self, plan=None, runner=None):
        job = (runner or self.runner).start('sync', plan or self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        return checkpoints.latest((runner and runner.store) or self.store,
                                  'test', 'core')

    def record(self, checkpoint):
        [record] = checkpoint.vnfs['pgw']['copies']
        return record

    def dr_images(self, clouds=None):
        site = (clouds or self.clouds).site('telco', 'lyon')
        return sorted(i.id for i in site.image.images()
                      if i.name.startswith('gf-core-'))

    def restored_sha(self, record, clouds=None):
        """A volume from the record's image at lyon: its sha256."""
        lyon = (clouds or self.clouds).site('telco', 'lyon')
        volume = lyon.block_storage.create_volume(
            name='check', size=1, image_id=record['image_id'])
        return lyon.volume_sha256(volume.id)

    def leftovers_at_paris(self, clouds=None):
        """What a sync may have left at the primary: nothing."""
        paris = (clouds or self.clouds).site('telco', 'paris')
        return {'snapshots': [s.name for s in
                              paris.block_storage.snapshots()],
                'volumes': [v.name for v in paris.block_storage.volumes()
                            if v.name.startswith('gf-')],
                'images': [i.name for i in paris.image.images()
                           if i.name.startswith('gf-')]}


class TestImageSync(ImageTestCase):

    def test_the_copy_holds_the_volumes_bytes(self):
        checkpoint = self.sync()
        record = self.record(checkpoint)
        self.assertEqual('image', record['method'])
        self.assertEqual('raw', record['disk_format'])
        self.assertEqual([record['image_id']], self.dr_images())
        image = self.lyon().image.get_image(record['image_id'])
        self.assertEqual('active', image.status)
        self.assertEqual(MIB, record['bytes'])
        self.assertEqual(1, record['size'])
        self.assertEqual(self.volume, record['source_volume']['source_id'])
        self.assertEqual('pgw-1-cfg', record['source_volume']['name'])
        # The sha256 of the volume's bytes, as streamed.
        self.assertEqual(
            self.paris.volume_sha256(self.volume), record['sha256'])
        self.assertEqual(self.paris.volume_sha256(self.volume),
                         self.restored_sha(record))
        self.assertFalse(record['incremental'])
        self.assertEqual({'transfer', 'dr_upload', 'verify'},
                         set(record['timings']))
        self.assertEqual({'snapshots': [], 'volumes': [], 'images': []},
                         self.leftovers_at_paris())
        # The checkpoint says which copy a takeover restores.
        self.assertEqual(record['image_id'], replication.get(
            'image').copy_id(record))

    def test_the_disk_format_option(self):
        plan = make_plan(data={'pgw': [{
            'volume': 'pgw-1-cfg', 'method': 'image',
            'options': {'disk_format': 'qcow2'}}]})
        record = self.record(self.sync(plan))
        self.assertEqual('qcow2', record['disk_format'])
        self.assertEqual('qcow2', self.lyon().image.get_image(
            record['image_id']).disk_format)
        self.assertEqual(self.paris.volume_sha256(self.volume),
                         self.restored_sha(record))
        method = replication.get('image')
        self.assertEqual([], method.problems({'options': {
            'disk_format': 'raw'}}))
        self.assertEqual(
            [(('options', 'disk_format'), 'disk_format is one of raw, '
              'qcow2')], method.problems({'options': {'disk_format': 'vmdk'}}))
        self.assertEqual(
            [(('options', 'max_chain'), "unknown option 'max_chain' of the "
              'image method (it takes: disk_format)')],
            method.problems({'options': {'max_chain': 3}}))

    def test_each_sync_is_a_full_copy_under_a_new_id(self):
        first = self.record(self.sync())
        self.paris.write_volume(self.volume, 8192, b'later' * 100)
        second = self.record(self.sync())
        self.assertNotEqual(first['image_id'], second['image_id'])
        self.assertNotEqual(first['sha256'], second['sha256'])
        self.assertEqual(MIB, second['bytes'])
        self.assertEqual(sorted([first['image_id'], second['image_id']]),
                         self.dr_images())
        self.assertEqual(self.paris.volume_sha256(self.volume),
                         self.restored_sha(second))

    def test_the_retention_prunes_old_images(self):
        records = [self.record(self.sync()) for _ in range(5)]
        self.assertEqual(sorted(r['image_id'] for r in records[-3:]),
                         self.dr_images())

    def test_prune_deletes_the_dr_image_once(self):
        record = self.record(self.sync())
        method = replication.get('image')
        self.assertEqual(['image %s on site lyon' % record['image_id']],
                         method.prune(self.clouds, record))
        self.assertEqual([], self.dr_images())
        self.assertEqual([], method.prune(self.clouds, record))

    def test_a_failed_copy_is_reverted_everywhere(self):
        before = self.inventory()
        self.lyon().fail('create_image', times=1)
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('create copy of image', job.error)
        self.assertEqual(before, self.inventory())

    def test_a_failed_upload_by_cinder_is_said(self):
        self.paris.fail('upload_volume_to_image', times=1)
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('image of volume', job.error)
        self.assertEqual({'snapshots': [], 'volumes': [], 'images': []},
                         self.leftovers_at_paris())

    def test_work_is_waited_for(self):
        # (fw's volume too: image, not backup, in this test.)
        plan = make_plan(data=dict(IMAGE_DATA, fw=[
            {'volume': 'fw-1-logs', 'method': 'image'}]))
        for name in ('paris', 'lyon'):
            self.site(name).storage_reads = 2
        record = self.record(self.sync(plan))
        self.assertEqual(self.paris.volume_sha256(self.volume),
                         self.restored_sha(record))
        self.assertEqual({'snapshots': [], 'volumes': [], 'images': []},
                         self.leftovers_at_paris())

    def test_the_temporary_file_is_under_the_work_dir_and_removed(self):
        work_dir = os.path.join(self.tmp, 'work')
        os.mkdir(work_dir)
        seen = []
        real = data_mod.Blob.from_chunks

        def spy(chunks):
            seen.extend(os.listdir(work_dir))
            return real(chunks)
        self.useFixture(fixtures.MonkeyPatch(
            'geoflows.testing.fakecloud.data.Blob.from_chunks',
            staticmethod(spy)))
        runner = self.runner.__class__(
            self.store, self.clouds, self.resolver,
            dict(base.OPTIONS, image_work_dir=work_dir),
            abort_poll_interval=0.1)
        self.addCleanup(runner.close)
        self.sync(runner=runner)
        # The DR upload read it from there; it is gone.
        self.assertTrue(any(d.startswith('geoflows-volume-') for d in seen),
                        seen)
        self.assertEqual([], os.listdir(work_dir))


class TestChecksum(ImageTestCase):

    def test_a_copy_that_differs_is_deleted_and_said(self):
        lyon = self.lyon()
        real = lyon._raw_image._upload

        def corrupt(image_id, blob, reads=0):
            blob = blob.copy()
            blob.write(0, b'X')
            return real(image_id, blob, reads)
        lyon._raw_image._upload = corrupt
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        for text in ('does not hold the bytes', 'pgw-1-cfg', self.volume,
                     "site 'paris'", 'resume the job to copy it again'):
            self.assertIn(text, job.error)
        source_md5 = data_mod.Blob.from_chunks(
            [self.paris.read_volume(self.volume)]).digest('md5')
        self.assertIn('md5 %s' % source_md5, job.error)
        self.assertEqual(2, job.error.count('md5 '), job.error)
        self.assertEqual([], self.dr_images())


class TestImageCrash(ImageTestCase):
    """A sync whose controller died in the middle of an image copy."""

    POINTS = [('data.pgw-1.%s.snapshot', states.SUCCESS),
              ('data.pgw-1.%s.clone', states.RUNNING),
              ('data.pgw-1.%s.clone', states.SUCCESS),
              ('data.pgw-1.%s.image', states.RUNNING),
              ('data.pgw-1.%s.image.ready', states.SUCCESS),
              ('data.pgw-1.%s.clone.removed', states.SUCCESS),
              ('data.pgw-1.%s.dr_image', states.RUNNING),
              ('data.pgw-1.%s.dr_image', states.SUCCESS),
              ('data.pgw-1.%s.image.removed', states.SUCCESS),
              ('data.pgw-1.%s.record', states.SUCCESS)]

    def crashed(self, name, step, state):
        world = test_runner.World(self, name, self.clouds.clone(),
                                  self._copy_store(name))
        job_id = world.runner.create('sync', self.plan)
        crash_dir = os.path.join(self.tmp, name + '-restarted')
        os.mkdir(crash_dir)
        path, clouds = test_runner.CrashPoint(
            step % self.volume, state).crash(world, job_id, crash_dir)
        return test_runner.World(self, name + '-restarted', clouds,
                                 path), job_id

    def _copy_store(self, name):
        import sqlite3
        path = os.path.join(self.tmp, '%s.sqlite' % name)
        source = sqlite3.connect(self.store.engine.url.database)
        target = sqlite3.connect(path)
        source.backup(target)
        source.close()
        target.close()
        return path

    def test_resume_makes_one_image_and_leaves_nothing(self):
        for i, (step, state) in enumerate(self.POINTS):
            restarted, job_id = self.crashed('resume%d' % i, step, state)
            job = restarted.runner.resume(job_id)
            self.assertEqual(jobs.SUCCESS, job.state, (step, job.error))
            cp = checkpoints.latest(restarted.store, 'test', 'core')
            record = self.record(cp)
            self.assertEqual([record['image_id']],
                             self.dr_images(restarted.clouds), (step, state))
            self.assertEqual({'snapshots': [], 'volumes': [], 'images': []},
                             self.leftovers_at_paris(restarted.clouds),
                             (step, state))
            self.assertEqual(self.paris.volume_sha256(self.volume),
                             self.restored_sha(record, restarted.clouds),
                             (step, state))

    def test_revert_leaves_both_sites_as_before(self):
        before = self.inventory()
        for i, (step, state) in enumerate(self.POINTS):
            restarted, job_id = self.crashed('revert%d' % i, step, state)
            job = restarted.runner.revert(job_id)
            self.assertEqual(jobs.REVERTED, job.state, (step, job.error))
            self.assertEqual(before, restarted.inventory(), (step, state))


class TestImageTakeover(ImageTestCase):

    def setUp(self):
        super().setUp()
        self.plan = make_plan(interconnect='vpn')
        for operation, names in (('interconnect.setup', ['vpn']),
                                 ('protect', None), ('sync', None)):
            job = self.runner.start(operation, self.plan, names)
            self.assertEqual(jobs.SUCCESS, job.state, job.error)

    def test_the_restored_volume_holds_the_checkpoints_bytes(self):
        expected = self.paris.volume_sha256(self.volume)
        self.paris.write_volume(self.volume, 0, b'after the checkpoint')
        job = self.runner.start('takeover', self.plan, params={
            'mode': 'disaster', 'confirm_primary_lost': True})
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        cinder = self.lyon().block_storage
        [restored] = [v for v in cinder.volumes()
                      if v.name == 'pgw-1-cfg']
        self.assertEqual(expected, self.lyon().volume_sha256(restored.id))
        self.assertEqual('in-use', restored.status)

    def test_the_plans_options_reach_the_restore(self):
        from geoflows import takeover_units
        plan = make_plan(interconnect='vpn', data={'pgw': [{
            'volume': 'pgw-1-cfg', 'method': 'image',
            'options': {'disk_format': 'qcow2'}}]})
        units = takeover_units.build('takeover', plan, None,
                                     self.runner.context,
                                     dict(base.OPTIONS, job_id='j-1',
                                          mode='disaster',
                                          confirm_primary_lost=True))
        [pgw] = [u for u in units if u['name'] == 'core/pgw']
        self.assertEqual({self.volume: {'disk_format': 'qcow2'}},
                         pgw['args']['options'])
