"""Bytes in the minicloud's volumes: write them, read them back by digest.

A minicloud volume is a sparse file (see files/filevolume.py): a new 1 GiB
volume allocates nothing, and a test that writes a few MiB into it, backs it
up, copies it and restores it elsewhere compares the two volumes by their
sha256.  The digest is the one ``sha256sum`` prints for the whole file, but
the holes are not read: SEEK_DATA and SEEK_HOLE find the extents that hold
data, and the zeros of the holes go to the hash from memory.  Hashing still
costs what sha256 costs per byte (about 2 s per GiB on the project's
machines); what is saved is reading the holes.
"""

import errno
import hashlib
import os

_CHUNK = 1024 * 1024
_ZEROS = memoryview(bytes(_CHUNK))


def data_extents(fd, size):
    """The (start, end) byte ranges of the file ``fd`` that hold data.

    The rest, up to ``size``, is holes.  Where the file system cannot say
    (no SEEK_DATA), the whole file is one extent.
    """
    position = 0
    while position < size:
        try:
            start = os.lseek(fd, position, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:  # only a hole is left
                return
            if e.errno == errno.EINVAL and position == 0:
                yield 0, size
                return
            raise
        if start >= size:
            return
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end
        position = end


def _hash_zeros(digest, count):
    while count > 0:
        step = min(count, _CHUNK)
        digest.update(_ZEROS[:step])
        count -= step


def sha256(path):
    """The hex sha256 of the file at ``path``, as if it were read whole."""
    digest = hashlib.sha256()
    with open(path, 'rb', buffering=0) as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        position = 0
        for start, end in data_extents(fd, size):
            _hash_zeros(digest, start - position)
            position = start
            while position < end:
                chunk = os.pread(fd, min(_CHUNK, end - position), position)
                if not chunk:  # truncated while we read
                    break
                digest.update(chunk)
                position += len(chunk)
        _hash_zeros(digest, size - position)
    return digest.hexdigest()


def write_at(path, offset, data):
    """Write ``data`` at ``offset`` into the existing file ``path``.

    The file keeps its size and its other holes; the data reaches the disk
    before this returns (a backup started next reads it).  Raises
    ValueError for a write that would not fit in the file: a volume does
    not grow by being written to.
    """
    size = os.path.getsize(path)
    if offset < 0 or offset + len(data) > size:
        raise ValueError('%d bytes at offset %d do not fit in %s (%d bytes)'
                         % (len(data), offset, path, size))
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, offset)
            view = view[written:]
            offset += written
        os.fsync(fd)
    finally:
        os.close(fd)


def allocated_bytes(path):
    """How much of the file at ``path`` is allocated on disk."""
    return os.stat(path).st_blocks * 512
