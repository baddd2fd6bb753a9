# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The AMI side of ``pbx-listener`` in a process of its own.

Reading and tracking a burst costs about as much as writing its screen
pops; in one process both share one interpreter lock, so the pops of a
burst wait for the reading of the events behind them. In a process of its
own the reader holds the AMI session (reconnecting with backoff, as
:func:`.client.follow`), tracks the calls and sends their updates to the
listener over a pipe, one message for all the updates of a read:

* ``('updates', [(kind, call, timestamp, data), …], last_event)``
* ``('state', 'connected' | 'disconnected', info)``

The listener sends ``('extensions', devices)`` when the reps' extensions
change. Plain Python: the process imports neither trytond nor the modules'
models.
"""
import time

from .calls import CallTracker
from .client import AMIClient, Backoff, follow


def serve(conn, stop, host, port, username, secret, devices, transport,
        backoff=(), idle=1.0):
    """Run the reader until ``stop`` (an event shared with the listener) is
    set or the listener's end of ``conn`` closes; ``backoff`` holds the
    arguments of :class:`.client.Backoff`"""
    tracker = CallTracker(devices)
    out = []
    last = []

    def connect():
        return AMIClient.connect(transport(host, port), username, secret)

    def on_event(event):
        if not last:
            last.append(None)
        last[0] = time.time()
        for update in tracker.feed(event):
            out.append((update.kind, update.call, update.timestamp,
                    update.data))

    def flush():
        if out or last:
            conn.send(('updates', out[:], last[0] if last else None))
            out.clear()
            last.clear()
        while conn.poll():
            command, *args = conn.recv()
            if command == 'extensions':
                tracker.extensions = set(args[0])

    def on_state(state, info):
        flush()
        conn.send(('state', state, info))

    try:
        follow(connect, on_event, on_state, stop, Backoff(*backoff), idle,
            flush=flush)
        flush()
    except (EOFError, BrokenPipeError):
        # the listener is gone
        pass
    finally:
        conn.close()
