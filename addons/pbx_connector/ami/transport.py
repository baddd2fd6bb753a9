# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"The byte-stream seam between the AMI client and the network"
import socket
import threading


class Transport:
    """A connected byte stream.

    ``read(timeout)`` returns the next bytes, ``b''`` once the peer closed
    the stream, and raises ``TimeoutError`` when nothing came in time
    (with a timeout of 0, it may raise ``BlockingIOError`` instead).
    """

    def write(self, data):
        raise NotImplementedError

    def read(self, timeout):
        raise NotImplementedError

    def close(self):
        pass


class TCPTransport(Transport):
    "A plain TCP connection (AMI listens on port 5038 by default)"

    def __init__(self, host, port=5038, connect_timeout=5):
        self.sock = socket.create_connection(
            (host, port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.write_timeout = connect_timeout

    def write(self, data):
        # a read may have left the socket non-blocking (timeout 0)
        self.sock.settimeout(self.write_timeout)
        self.sock.sendall(data)

    def read(self, timeout):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError from None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class FakeTransport(Transport):
    """Scripted transport for unit tests.

    ``replies`` maps an action name to a callable ``(message) -> bytes``
    answering it; ``push(data)`` queues bytes as if the server sent them;
    ``drop()`` simulates the peer closing the connection.
    """

    def __init__(self, banner=b'Asterisk Call Manager/5.0.3\r\n',
            replies=None):
        from .protocol import Parser
        self.written = []
        self.replies = dict(replies or {})
        self._parser = Parser(expect_banner=False)
        self._incoming = [banner] if banner else []
        self._closed = False
        self._cond = threading.Condition()

    def push(self, data):
        with self._cond:
            self._incoming.append(data)
            self._cond.notify_all()

    def drop(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def write(self, data):
        if self._closed:
            raise ConnectionResetError('fake transport closed')
        for message in self._parser.feed(data):
            self.written.append(message)
            reply = self.replies.get(message.get('Action', '').lower())
            if reply:
                self.push(reply(message))

    def read(self, timeout):
        with self._cond:
            if not self._incoming and not self._closed:
                self._cond.wait(timeout)
            if self._incoming:
                return self._incoming.pop(0)
            if self._closed:
                return b''
            raise TimeoutError

    def close(self):
        self.drop()
