# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A scripted SMPP 3.4 SMSC for tests: what a carrier's "106" channel does
to Kannel's ``smsc = smpp`` client, over a real TCP socket on loopback.

It speaks the PDUs of the SMPP v3.4 specification (section 4) that a
transceiver ESME uses: ``bind_transceiver``, ``enquire_link``, ``submit_sm``,
``deliver_sm`` (delivery receipts, Appendix B format), ``unbind`` and
``generic_nack``. Plain Python, no trytond import.

What it does with a submitted message depends on the destination:

* a number in ``reject`` is refused in ``submit_sm_resp`` with
  ``ESME_RINVDSTADR`` (0x0000000B), which Kannel reports as an SMSC NACK;
* a number in ``undeliverable`` is accepted, then its receipt says
  ``stat:UNDELIV``;
* any other number is accepted and its receipt says ``stat:DELIVRD``.
"""
import itertools
import socket
import socketserver
import struct
import threading
import time

BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
GENERIC_NACK = 0x80000000
RESP = 0x80000000

ESME_ROK = 0x00000000
ESME_RINVCMDID = 0x00000003
ESME_RINVPASWD = 0x0000000E
ESME_RINVDSTADR = 0x0000000B

HEADER = struct.Struct('>IIII')


def cstring(data, offset):
    "A NUL-terminated string at offset: (text, next offset)"
    end = data.index(b'\0', offset)
    return data[offset:end].decode('latin-1'), end + 1


def decode_text(data_coding, raw):
    if data_coding == 8:
        return raw.decode('utf-16-be')
    return raw.decode('latin-1')


def parse_submit_sm(body):
    "The fields of a submit_sm body (SMPP 3.4, 4.4.1)"
    fields = {}
    offset = 0
    fields['service_type'], offset = cstring(body, offset)
    fields['source_addr_ton'], fields['source_addr_npi'] = body[offset:offset + 2]
    fields['source_addr'], offset = cstring(body, offset + 2)
    fields['dest_addr_ton'], fields['dest_addr_npi'] = body[offset:offset + 2]
    fields['destination_addr'], offset = cstring(body, offset + 2)
    (fields['esm_class'], fields['protocol_id'],
        fields['priority_flag']) = body[offset:offset + 3]
    fields['schedule_delivery_time'], offset = cstring(body, offset + 3)
    fields['validity_period'], offset = cstring(body, offset)
    (fields['registered_delivery'], fields['replace_if_present_flag'],
        fields['data_coding'], fields['sm_default_msg_id'],
        length) = body[offset:offset + 5]
    offset += 5
    raw = body[offset:offset + length]
    offset += length
    # optional parameters: message_payload (0x0424) carries long texts
    while offset + 4 <= len(body):
        tag, size = struct.unpack('>HH', body[offset:offset + 4])
        if tag == 0x0424:
            raw = body[offset + 4:offset + 4 + size]
        offset += 4 + size
    fields['short_message'] = raw
    fields['text'] = decode_text(fields['data_coding'], raw)
    return fields


class SMSC(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, system_id='crm', password='secret', reject=(),
            undeliverable=(), receipt_delay=0.2):
        super().__init__(('127.0.0.1', 0), Session)
        self.port = self.server_address[1]
        self.system_id = system_id
        self.password = password
        self.reject = set(reject)
        self.undeliverable = set(undeliverable)
        self.receipt_delay = receipt_delay
        self.submitted = []  # submit_sm fields, in order
        self.binds = 0
        self.sessions = []
        self._ids = itertools.count(1000001)
        self._lock = threading.Lock()
        self._thread = None

    def next_id(self):
        with self._lock:
            return str(next(self._ids))

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever,
            kwargs={'poll_interval': 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        for session in list(self.sessions):
            session.close()
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def received(self):
        "The submitted messages: [(source, destination, text)]"
        return [(f['source_addr'], f['destination_addr'], f['text'])
            for f in self.submitted]


class Session(socketserver.BaseRequestHandler):

    def setup(self):
        self.sequence = itertools.count(1)
        self.write_lock = threading.Lock()
        self.bound = False
        self.server.sessions.append(self)

    def finish(self):
        if self in self.server.sessions:
            self.server.sessions.remove(self)

    def close(self):
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_exactly(self, size):
        data = b''
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def send_pdu(self, command_id, status, sequence, body=b''):
        pdu = HEADER.pack(HEADER.size + len(body), command_id, status,
            sequence) + body
        with self.write_lock:
            self.request.sendall(pdu)

    def handle(self):
        try:
            while True:
                length, command_id, status, sequence = HEADER.unpack(
                    self.read_exactly(HEADER.size))
                body = self.read_exactly(length - HEADER.size)
                if not self.dispatch(command_id, sequence, body):
                    return
        except (EOFError, OSError):
            return

    def dispatch(self, command_id, sequence, body):
        if command_id & RESP:
            return True  # deliver_sm_resp, enquire_link_resp: nothing to do
        if command_id == BIND_TRANSCEIVER:
            system_id, offset = cstring(body, 0)
            password, offset = cstring(body, offset)
            ok = (system_id == self.server.system_id
                and password == self.server.password)
            self.send_pdu(BIND_TRANSCEIVER | RESP,
                ESME_ROK if ok else ESME_RINVPASWD, sequence,
                b'SIMSMSC\0' if ok else b'')
            self.bound = ok
            if ok:
                self.server.binds += 1
            return ok
        if not self.bound:
            self.send_pdu(GENERIC_NACK, ESME_RINVCMDID, sequence)
            return False
        if command_id == ENQUIRE_LINK:
            self.send_pdu(ENQUIRE_LINK | RESP, ESME_ROK, sequence)
        elif command_id == UNBIND:
            self.send_pdu(UNBIND | RESP, ESME_ROK, sequence)
            return False
        elif command_id == SUBMIT_SM:
            self.submit_sm(sequence, body)
        else:
            self.send_pdu(GENERIC_NACK, ESME_RINVCMDID, sequence)
        return True

    def submit_sm(self, sequence, body):
        fields = parse_submit_sm(body)
        # Kannel sends international numbers without their "+"
        destination = fields['destination_addr'].lstrip('+')
        if destination in self.server.reject:
            self.send_pdu(SUBMIT_SM | RESP, ESME_RINVDSTADR, sequence)
            return
        self.server.submitted.append(fields)
        message_id = self.server.next_id()
        self.send_pdu(SUBMIT_SM | RESP, ESME_ROK, sequence,
            message_id.encode() + b'\0')
        if fields['registered_delivery'] & 0x01:
            state = ('UNDELIV' if destination in self.server.undeliverable
                else 'DELIVRD')
            timer = threading.Timer(self.server.receipt_delay,
                self.deliver_receipt, (fields, message_id, state))
            timer.daemon = True
            timer.start()

    def deliver_receipt(self, fields, message_id, state):
        "deliver_sm with esm_class 0x04, text of SMPP 3.4 Appendix B"
        stamp = time.strftime('%y%m%d%H%M')
        error = '000' if state == 'DELIVRD' else '001'
        text = ('id:%s sub:001 dlvrd:%s submit date:%s done date:%s '
            'stat:%s err:%s text:' % (message_id,
                '001' if state == 'DELIVRD' else '000', stamp, stamp,
                state, error)).encode('latin-1')
        body = b''.join([
                b'\0',  # service_type
                bytes([fields['dest_addr_ton'], fields['dest_addr_npi']]),
                fields['destination_addr'].encode('latin-1') + b'\0',
                bytes([fields['source_addr_ton'], fields['source_addr_npi']]),
                fields['source_addr'].encode('latin-1') + b'\0',
                bytes([0x04, 0, 0]),  # esm_class receipt, protocol, priority
                b'\0', b'\0',  # schedule_delivery_time, validity_period
                bytes([0, 0, 0, 0, len(text)]),
                text,
                ])
        try:
            self.send_pdu(DELIVER_SM, ESME_ROK, next(self.sequence), body)
        except OSError:
            pass
