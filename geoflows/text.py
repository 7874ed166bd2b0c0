"""Showing text that came from users: one line, printable, encodable.

A plan's keys and values, a file name from the command line, a value of a
configuration file: all of it may hold newlines, control characters
(terminal escape sequences included), or lone surrogates (a file name that
is not UTF-8, a YAML "\\ud800" escape), which would split a message over
several lines, rewrite the operator's terminal, or make printing fail.
:func:`escape` is the one place that turns such text into something safe to
print; every message that echoes user text goes through it.
"""

_SHORT = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}


def _escape_char(char):
    if char.isprintable():
        return char
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return '\\x%02x' % code
    if code < 0x10000:
        return '\\u%04x' % code
    return '\\U%08x' % code


def escape(text):
    """``text`` with every unprintable character written as an escape.

    Newlines become ``\\n``, control characters ``\\x1b``, lone surrogates
    ``\\udcff``; printable text (accents and other scripts included) and
    backslashes are left as they are, so that text already escaped by
    ``repr`` is unchanged.  Not a reversible encoding: it is for people.
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isprintable():
        return text
    return ''.join(map(_escape_char, text))


def write_line(stream, line):
    """Write ``line`` and a newline, whatever the encoding of ``stream``.

    A stream that cannot encode a character (a terminal in the C locale
    with PYTHONIOENCODING=ascii, say) gets a backslash escape instead of an
    exception.
    """
    try:
        stream.write(line + '\n')
    except UnicodeEncodeError:
        encoding = getattr(stream, 'encoding', None) or 'ascii'
        stream.write((line + '\n').encode(encoding, 'backslashreplace')
                     .decode(encoding))
