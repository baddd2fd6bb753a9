# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""AMI wire format.

Documented in the AMI v2 Specification
(https://docs.asterisk.org/Configuration/Interfaces/Asterisk-Manager-Interface-AMI/AMI-v2-Specification):
on connect the server sends one banner line ``Asterisk Call Manager/<version>``;
then every packet (action, response or event) is a series of ``Key: Value``
lines ending with CRLF, and an empty line ends the packet. A key may repeat
(``Variable`` in Originate), so a message keeps its pairs in order.
"""

CRLF = b'\r\n'
BANNER_PREFIX = 'Asterisk Call Manager/'
# the white space of ASCII but the line feed (str.strip strips it)
_SPACES = ' \t\x0b\x0c\x1c\x1d\x1e\x1f'


def _plain(text):
    """Whether every key of the lines of ``text`` is written as Asterisk
    writes them: ASCII, no white space around the key (a blank only in
    the ``': '`` after it), so that a key is found by searching the text"""
    return (text.isascii() and ' :' not in text and '\n ' not in text
        and not text.startswith(' ')
        and not any(c in text for c in _SPACES[1:]))

_MISSING = object()
# the text searched for in a plain packet's lowered text for each key
# looked up ('' for a key looked up in the pairs)
_NEEDLES = {}


def _needle(key):
    lower = key.lower()
    needle = ('' if ':' in lower or '\n' in lower or lower == 'output'
        else '\n' + lower + ':')
    if len(_NEEDLES) < 1024:
        _NEEDLES[key] = needle
    return needle


def _pairs(text):
    "The (key, value) pairs of a packet's lines"
    return [(k.strip(), v.strip()) if sep
        # command output lines carry no colon: kept as data
        else ('Output', line)
        for line in text.split('\n') if line
        for k, sep, v in (line.partition(':'),)]


class Message:
    """An ordered AMI packet; ``msg['Key']`` is the first value of Key
    (keys compare case-insensitively).

    A packet read from the wire (``from_text``) is split into its pairs
    only when they are asked for: looking a key up finds its line in the
    text, so that the events the listener reads by the thousand cost a few
    searches, not a dictionary of every line."""
    __slots__ = ('_pairs', '_index', '_text', '_lower')

    def __init__(self, pairs=()):
        self._pairs = list(pairs)
        self._index = None
        self._text = self._lower = None

    @classmethod
    def from_text(cls, text, plain=None):
        """The packet of ``text``: its lines, ``\\n``-separated;
        ``plain``: whether ``_plain(text)`` is known to be true"""
        self = cls.__new__(cls)
        self._pairs = self._index = None
        self._text = text
        # the lowered text is searched for '\n<key>:' (a line's start);
        # it must line up with the text and hold the keys as they are
        self._lower = ('\n' + text.lower()
            if plain or _plain(text) else None)
        return self

    @property
    def pairs(self):
        if self._pairs is None:
            self._pairs = _pairs(self._text)
        return self._pairs

    def get(self, key, default=None):
        lower = self._lower
        if lower is not None:
            try:
                needle = _NEEDLES[key]
            except KeyError:
                needle = _needle(key)
            if needle:
                start = lower.find(needle)
                if start < 0:
                    return default
                # lower has one character more than the text: its first
                start += len(needle) - 1
                end = lower.find('\n', start + 1)
                return self._text[
                    start:end - 1 if end >= 0 else None].strip()
        if self._index is None:
            # the first value of a repeated key wins
            self._index = {k.lower(): v for k, v in reversed(self.pairs)}
        return self._index.get(key.lower(), default)

    def __getitem__(self, key):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key):
        return self.get(key, _MISSING) is not _MISSING

    def getall(self, key):
        key = key.lower()
        return [v for k, v in self.pairs if k.lower() == key]

    @property
    def event(self):
        return self.get('Event')

    @property
    def response(self):
        return self.get('Response')

    def as_dict(self):
        return dict(self.pairs)

    def __repr__(self):
        return f'Message({self.pairs!r})'


def encode(pairs):
    "Encode an action: ``[(key, value), …]`` or a dict → bytes"
    if isinstance(pairs, dict):
        pairs = pairs.items()
    lines = []
    for key, value in pairs:
        value = str(value)
        if '\r' in value or '\n' in value:
            # A line break would inject a new header into the packet.
            raise ValueError(f'line break in AMI header {key!r}')
        lines.append(f'{key}: {value}'.encode('utf-8'))
    return CRLF.join(lines) + CRLF + CRLF


class Parser:
    "Incremental decoder: feed bytes, get complete messages"

    def __init__(self, expect_banner=True):
        self._buffer = b''
        # the complete lines of a packet not ended yet
        self._pending = ''
        self.banner = None if expect_banner else ''

    def feed(self, data):
        # whole lines are decoded at once and cut into packets at the
        # empty lines; a burst arrives as 64 KiB reads of hundreds of
        # packets, so the work per line must stay small
        buffer = self._buffer + data
        cut = buffer.rfind(b'\n') + 1
        self._buffer = buffer[cut:]
        if not cut:
            return []
        text = buffer[:cut].decode('utf-8', 'replace')
        if '\r' in text:
            text = text.replace('\r', '')
        if self.banner is None:
            self.banner, _, text = text.partition('\n')
        text = self._pending + text
        packets = text.split('\n\n')
        # the last one has not ended (or is empty)
        self._pending = packets.pop()
        # a packet's pairs are split when read (Message.from_text), most
        # often a plain packet of a plain read; the packets without a
        # line are skipped
        plain = _plain(text) or None
        return [Message.from_text(packet, plain) for packet in packets
            if packet.strip('\n')]
