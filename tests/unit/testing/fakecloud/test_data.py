"""Tests of the sparse bytes of fake volumes and images."""

import hashlib

from geoflows.testing.fakecloud import data
from tests.unit import base

BLOCK = data.BLOCK_SIZE
LARGE = data.REAL_DIGEST_LIMIT + BLOCK


class TestBlob(base.TestCase):

    def test_reads_zeros_with_the_writes(self):
        blob = data.Blob(3 * BLOCK)

        blob.write(BLOCK - 2, b'abcd')

        self.assertEqual(b'\0ab', blob.read(BLOCK - 3, 3))
        self.assertEqual(b'cd\0', blob.read(BLOCK, 3))
        self.assertEqual(2, len(blob.blocks))

    def test_zeros_written_are_as_never_written(self):
        blob = data.Blob(LARGE)
        blob.write(5, b'x')

        blob.write(5, b'\0')

        self.assertEqual(data.Blob(LARGE), blob)
        self.assertEqual({}, blob.blocks)

    def test_small_digest_is_the_real_one(self):
        blob = data.Blob.from_chunks([b'hello ', b'world'])

        self.assertEqual(hashlib.sha256(b'hello world').hexdigest(),
                         blob.digest('sha256'))
        self.assertEqual(11, blob.size)

    def test_large_digest_is_sparse_and_tells_contents_apart(self):
        one, two = data.Blob(LARGE), data.Blob(LARGE)
        one.write(LARGE - 3, b'end')
        two.write(LARGE - 3, b'end')
        other = data.Blob(LARGE)
        other.write(LARGE - 3, b'End')

        self.assertEqual(one.digest('sha256'), two.digest('sha256'))
        self.assertNotEqual(one.digest('sha256'), other.digest('sha256'))
        self.assertNotEqual(data.Blob(LARGE).digest('sha256'),
                            data.Blob(LARGE + BLOCK).digest('sha256'))

    def test_changes_replay_onto_the_earlier_content(self):
        earlier = data.Blob(4 * BLOCK)
        earlier.write(0, b'a' * BLOCK)
        earlier.write(2 * BLOCK, b'c')
        later = earlier.copy()
        later.write(0, bytes(BLOCK))
        later.write(3 * BLOCK, b'd')

        changes = later.changes_since(earlier)

        self.assertEqual({0: None, 3: b'd' + bytes(BLOCK - 1)}, changes)
        self.assertEqual(later, earlier.patched(later.size, changes))

    def test_copy_grows_but_never_shrinks(self):
        blob = data.Blob(BLOCK)
        blob.write(0, b'x')

        grown = blob.copy(2 * BLOCK)

        self.assertEqual(b'x', grown.read(0, 1))
        self.assertEqual(2 * BLOCK, grown.size)
        self.assertRaises(ValueError, blob.copy, BLOCK - 1)

    def test_chunks_give_every_byte(self):
        blob = data.Blob(BLOCK + 10)
        blob.write(BLOCK + 9, b'z')

        self.assertEqual(blob.read(), b''.join(blob.chunks(1000)))
        self.assertEqual(BLOCK + 10, len(blob.read()))
