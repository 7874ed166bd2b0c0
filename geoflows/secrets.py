"""Secrets: where they come from, and keeping them out of logs and records.

A plan never holds a secret, only its source (``{derive: true}``,
``{env: VAR}`` or ``{file: PATH}``).  Tasks resolve the source when they need
the value, and every resolved value is registered here so that it is masked
wherever text leaves the process: log records (all loggers, including
keystoneauth's request dumps), error messages, and whatever the state store
writes.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets as _random
import stat
import threading

from geoflows import exceptions
from geoflows import text

MASK = '***'
# Values of these keys are masked even when nobody registered them (a key
# read back from an API answer before geoflows knew it).
_SECRET_KEY = r'[A-Za-z_]*(?:psk|password|secret)'
_KEY_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    # "key": "value" and 'key': 'value', escaped quotes included
    r'("%s"\s*:\s*")(?:[^"\\]|\\.)*(")' % _SECRET_KEY,
    r"('%s'\s*:\s*')(?:[^'\\]|\\.)*(')" % _SECRET_KEY,
    # key=value
    r'(\b%s=)[^\s,)&;]*()' % _SECRET_KEY,
)]
_MIN_LENGTH = 8  # shorter values would mask innocent text everywhere
# A pre-shared key file holds one line, a master key file one key: geoflows
# reads no more than this of either (a mistaken path to a log file or a
# device must not fill the memory).
MAX_SECRET_BYTES = 4096

_lock = threading.Lock()
_values = frozenset()
_factory_installed = False


def register(value):
    """Mask ``value`` (and its JSON-escaped form) from now on."""
    global _values
    if not value or len(value) < _MIN_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1]}
    with _lock:
        if forms <= _values:
            return
        _values = _values | forms
    install_log_masking()


def mask(text):
    """``text`` with every registered secret replaced by ``***``."""
    if not text:
        return text
    if not isinstance(text, str):
        text = str(text)
    lowered = text.lower()
    if 'psk' in lowered or 'password' in lowered or 'secret' in lowered:
        for pattern in _KEY_PATTERNS:
            text = pattern.sub(r'\1%s\2' % MASK, text)
    if not _values:
        return text
    # Longest first, so that a secret containing another is fully masked.
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def may_hold_secrets(text):
    """Whether ``text`` could hold a secret that :func:`mask` would hide.

    A cheap test, to skip masking on the hot path.
    """
    lowered = text.lower()
    if 'psk' in lowered or 'password' in lowered or 'secret' in lowered:
        return True
    return any(value in text for value in _values)


def mask_data(value):
    """A copy of JSON-like ``value`` with every string masked."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: mask_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(item) for item in value]
    return value


def install_log_masking():
    """Mask secrets in every log record, whatever its logger or handler.

    A filter on geoflows' handlers would miss the host application's own
    handlers (a MANO, a Mistral executor); the record factory sees every
    record of the process.  Records of disabled levels are never built, so
    the cost is paid only for what is logged.
    """
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _mask_record(record):
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to logging
        return
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask(
            logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


class MaskingFilter(logging.Filter):
    """Handler filter for records built before geoflows was imported."""

    def filter(self, record):
        _mask_record(record)
        return True


def describe(source):
    """A description of a secret source that is safe to print."""
    if source.get('env'):
        return 'environment variable %s' % text.escape(source['env'])
    if source.get('file'):
        return 'file %s' % text.escape(source['file'])
    return 'derived from the master key'


class _NotAFile(Exception):
    pass


def _read_head(path, limit):
    """At most ``limit`` bytes of the regular file at ``path``.

    A FIFO, a device or a directory is refused (_NotAFile) without
    blocking: opening a FIFO for reading would wait for a writer.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK |
                 getattr(os, 'O_CLOEXEC', 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotAFile()
        chunks, size = [], 0
        while size < limit:
            chunk = os.read(fd, limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b''.join(chunks)
    finally:
        os.close(fd)


def _unprintable(value):
    """Whether ``value`` holds a character a pre-shared key cannot hold.

    Control characters (a NUL, a newline inside the value, an escape)
    would break the VPN's configuration where the key is written.
    """
    return not value.isprintable()


class SecretResolver(object):
    """Turns a secret source into its value (and registers the value)."""

    def __init__(self, master_key_file):
        self.master_key_file = master_key_file
        self._master_key = None
        self._lock = threading.Lock()

    def resolve(self, source, purpose, what='pre-shared key'):
        """Return the secret for ``source``.

        ``purpose`` names its use, e.g. ``psk/PLAN/INTERCONNECT`` (derived
        keys depend on it); ``what`` names the secret in error messages.
        """
        if source.get('env'):
            value = os.environ.get(source['env'])
            if not value:
                raise exceptions.ConfigError(
                    '%s: the %s comes from environment variable %s, which '
                    'is not set (or empty) for the geoflows process'
                    % (purpose, what, text.escape(source['env'])))
            if _unprintable(value):
                raise exceptions.ConfigError(
                    '%s: the %s in environment variable %s holds a control '
                    'character or a line break; a %s is printable text'
                    % (purpose, what, text.escape(source['env']), what))
        elif source.get('file'):
            value = self._read_file(source['file'], purpose, what)
        else:
            value = self._derive(purpose)
        if len(value) < _MIN_LENGTH:
            # Too short to be safe, and to be masked without masking
            # innocent text.
            raise exceptions.ConfigError(
                '%s: the secret from %s is shorter than %d characters; use '
                'a longer one' % (purpose, describe(source), _MIN_LENGTH))
        register(value)
        return value

    @staticmethod
    def _read_file(path, purpose, what='pre-shared key'):
        """The first line of the secret's file, stripped.

        Whatever is wrong with the file, the message names the file and
        what is wrong, never what the file holds.
        """
        where = text.escape(path)
        try:
            data = _read_head(os.path.expanduser(path), MAX_SECRET_BYTES + 1)
        except _NotAFile:
            raise exceptions.ConfigError(
                '%s: the %s file %s is not a regular file'
                % (purpose, what, where))
        except OSError as e:
            raise exceptions.ConfigError(
                '%s: cannot read the %s file %s: %s'
                % (purpose, what, where, e.strerror or e))
        line = data.split(b'\n', 1)[0]
        if len(line) > MAX_SECRET_BYTES:
            raise exceptions.ConfigError(
                '%s: the first line of the %s file %s is longer than %d '
                'bytes; the file holds the %s on its first line'
                % (purpose, what, where, MAX_SECRET_BYTES, what))
        try:
            value = line.decode('utf-8').strip()
        except UnicodeDecodeError as e:
            raise exceptions.ConfigError(
                '%s: the %s file %s is not UTF-8 text (byte %d of its first '
                'line)' % (purpose, what, where, e.start + 1))
        if not value:
            raise exceptions.ConfigError(
                '%s: the %s file %s is empty' % (purpose, what, where))
        if _unprintable(value):
            raise exceptions.ConfigError(
                '%s: the %s in file %s holds a control character; a %s is '
                'printable text' % (purpose, what, where, what))
        return value

    def master_key(self):
        """The master key, created (mode 0600) if it does not exist yet."""
        with self._lock:
            if self._master_key is None:
                self._master_key = self._load_or_create_master_key()
            return self._master_key

    def _load_or_create_master_key(self):
        path = os.path.expanduser(self.master_key_file)
        where = text.escape(path)
        try:
            data = _read_head(path, MAX_SECRET_BYTES + 1)
        except FileNotFoundError:
            data = self._create_master_key(path)
        except _NotAFile:
            raise exceptions.ConfigError('the master key %s is not a regular '
                                         'file' % where)
        except OSError as e:
            raise exceptions.ConfigError('cannot read the master key %s: %s'
                                         % (where, e.strerror or e))
        if len(data) > MAX_SECRET_BYTES:
            raise exceptions.ConfigError(
                'the master key %s is larger than %d bytes: is it the right '
                'file? (geoflows writes 64 hexadecimal characters)'
                % (where, MAX_SECRET_BYTES))
        key = data.strip()
        if len(key) < 32:
            raise exceptions.ConfigError(
                'the master key %s is too short (at least 32 characters)'
                % where)
        return key

    @staticmethod
    def _create_master_key(path):
        # Write the whole key to a private temporary file, then link it into
        # place: another process never sees a partial key, and if two
        # create it at once, both use the one that won.
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        key = _random.token_hex(32).encode()
        tmp = '%s.%d.tmp' % (path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(key + b'\n')
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            key = _read_head(path, MAX_SECRET_BYTES + 1)
        finally:
            os.unlink(tmp)
        return key

    def _derive(self, purpose):
        digest = hmac.new(self.master_key(),
                          ('geoflows/v1/%s' % purpose).encode(),
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip('=')
