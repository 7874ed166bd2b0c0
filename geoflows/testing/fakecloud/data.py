"""The bytes of fake volumes, snapshots, backups and images, kept sparse.

A :class:`Blob` is ``size`` bytes of zeros except for the blocks written,
so that a 1 GiB volume with a few MiB of test data costs a few MiB, and
copies (snapshot, backup, restore, image upload, download) carry exactly
what was written.

Digests (:meth:`Blob.digest`): up to :data:`REAL_DIGEST_LIMIT` bytes, the
real digest of the bytes (what ``hashlib`` gives for the downloaded data).
Above, hashing GiBs of zeros would cost seconds per call, so the digest is
that of the blob's canonical sparse form instead: the algorithm applied to
``b'sparse <size> <block size>\\n'`` followed, for each block that is not
all zeros in increasing order, by ``b'<index>\\n'`` and the block's bytes.
Two blobs have the same digest exactly when their bytes are equal (a block
written with zeros is the same as a block never written), but the value is
not the digest of the raw bytes: compare fake digests with fake digests.
"""

import hashlib

BLOCK_SIZE = 64 * 1024
REAL_DIGEST_LIMIT = 16 * 1024 * 1024
GIB = 1024 ** 3
_ZERO = bytes(BLOCK_SIZE)


class Blob(object):
    """``size`` bytes: zeros except ``blocks`` ({index: BLOCK_SIZE bytes}).

    Blocks never hold only zeros, so equal contents have equal blocks.
    """

    def __init__(self, size=0, blocks=None):
        self.size = size
        self.blocks = dict(blocks or {})

    @classmethod
    def from_chunks(cls, chunks):
        """A blob of the bytes of ``chunks`` (an iterable of bytes)."""
        blob = cls()
        pending = bytearray()
        for chunk in chunks:
            pending += chunk
            while len(pending) >= BLOCK_SIZE:
                blob._append(bytes(pending[:BLOCK_SIZE]))
                del pending[:BLOCK_SIZE]
        if pending:
            size = blob.size + len(pending)
            blob._append(bytes(pending) + bytes(BLOCK_SIZE - len(pending)))
            blob.size = size
        return blob

    def _append(self, block):
        if block != _ZERO:
            self.blocks[self.size // BLOCK_SIZE] = block
        self.size += BLOCK_SIZE

    def copy(self, size=None):
        """A copy, grown to ``size`` bytes if given (never shrunk)."""
        size = self.size if size is None else size
        if size < self.size:
            raise ValueError('a blob cannot shrink (%d < %d bytes)'
                             % (size, self.size))
        return Blob(size, self.blocks)

    def write(self, offset, data):
        """Write ``data`` at ``offset`` (within the blob's size)."""
        if offset < 0 or offset + len(data) > self.size:
            raise ValueError('writing %d bytes at %d: beyond the %d bytes'
                             % (len(data), offset, self.size))
        position = 0
        while position < len(data):
            index, start = divmod(offset + position, BLOCK_SIZE)
            length = min(BLOCK_SIZE - start, len(data) - position)
            block = self.blocks.get(index, _ZERO)
            block = (block[:start] + data[position:position + length] +
                     block[start + length:])
            if block == _ZERO:
                self.blocks.pop(index, None)
            else:
                self.blocks[index] = block
            position += length

    def read(self, offset=0, length=None):
        """``length`` bytes from ``offset`` (all up to the end if None).

        This materialises them: read small blobs, or small ranges.
        """
        if length is None:
            length = self.size - offset
        end = min(offset + length, self.size)
        parts = []
        position = offset
        while position < end:
            index, start = divmod(position, BLOCK_SIZE)
            take = min(BLOCK_SIZE - start, end - position)
            parts.append(self.blocks.get(index, _ZERO)[start:start + take])
            position += take
        return b''.join(parts)

    def chunks(self, chunk_size):
        """The bytes, ``chunk_size`` at a time."""
        for offset in range(0, self.size, chunk_size):
            yield self.read(offset, chunk_size)

    def digest(self, algorithm):
        """The hex digest (see the module's documentation)."""
        hasher = hashlib.new(algorithm)
        if self.size <= REAL_DIGEST_LIMIT:
            for chunk in self.chunks(BLOCK_SIZE * 16):
                hasher.update(chunk)
            return hasher.hexdigest()
        hasher.update(b'sparse %d %d\n' % (self.size, BLOCK_SIZE))
        for index in sorted(self.blocks):
            hasher.update(b'%d\n' % index)
            hasher.update(self.blocks[index])
        return hasher.hexdigest()

    def changes_since(self, earlier):
        """{index: block, or None for zeros}: what differs from ``earlier``.

        ``earlier.patched(size, changes)`` gives this blob back: what an
        incremental backup stores.
        """
        changes = {i: b for i, b in self.blocks.items()
                   if earlier.blocks.get(i) != b}
        changes.update((i, None) for i in earlier.blocks
                       if i not in self.blocks)
        return changes

    def patched(self, size, changes):
        """A copy of ``size`` bytes with ``changes`` applied."""
        blob = Blob(size, self.blocks)
        for index, block in changes.items():
            if block is None:
                blob.blocks.pop(index, None)
            else:
                blob.blocks[index] = block
        limit = -(-size // BLOCK_SIZE)
        for index in [i for i in blob.blocks if i >= limit]:
            del blob.blocks[index]
        return blob

    def __eq__(self, other):
        return (isinstance(other, Blob) and self.size == other.size and
                self.blocks == other.blocks)

    def __ne__(self, other):
        return not self == other

    __hash__ = None
