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
        # the first value of a repeated key wins
        self._index = {k.lower(): v for k, v in reversed(self.pairs)}

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
        packets = (self._pending + text).split('\n\n')
        # the last one has not ended (or is empty)
        self._pending = packets.pop()
        messages = []
        for packet in packets:
            pairs = [(k.strip(), v.strip()) if sep
                # command output lines carry no colon: kept as data
                else ('Output', line)
                for line in packet.split('\n') if line
                for k, sep, v in (line.partition(':'),)]
            if pairs:
                messages.append(Message(pairs))
        return messages
