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


class Message:
    "An ordered AMI packet; ``msg['Key']`` is the first value of Key"
    __slots__ = ('pairs', '_index')

    def __init__(self, pairs=()):
        self.pairs = list(pairs)
        self._index = {}
        for key, value in self.pairs:
            self._index.setdefault(key.lower(), value)

    def get(self, key, default=None):
        return self._index.get(key.lower(), default)

    def __getitem__(self, key):
        try:
            return self._index[key.lower()]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key):
        return key.lower() in self._index

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
        self._pairs = []
        self.banner = None if expect_banner else ''

    def feed(self, data):
        # split once per read: slicing the buffer line by line copies the
        # rest of a 64 KiB read for every line (quadratic in a burst)
        lines = (self._buffer + data).split(b'\n')
        self._buffer = lines.pop()
        messages = []
        pairs = self._pairs
        for raw in lines:
            line = raw.rstrip(b'\r').decode('utf-8', 'replace')
            if self.banner is None:
                self.banner = line
                continue
            if not line:
                if pairs:
                    messages.append(Message(pairs))
                    pairs = self._pairs = []
                continue
            key, sep, value = line.partition(':')
            if not sep:
                # Command output lines carry no colon; keep them as data.
                key, value = 'Output', line
            pairs.append((key.strip(), value.strip()))
        return messages
