# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The AMI side of ``pbx-listener`` in a process of its own.

Reading and tracking a burst costs about as much as writing its screen
pops; in one process both share one interpreter lock, so the pops of a
burst wait for the reading of the events behind them. In a process of its
own the reader holds the AMI session (reconnecting with backoff, as
:func:`.client.follow`), tracks the calls and sends their updates to the
listener over a pipe, one message for all the updates of a read:

* ``('updates', [CallUpdate, …], last_event)``
* ``('state', 'connected' | 'disconnected', info)``

The listener sends ``('extensions', devices)`` when the reps' extensions
change. Plain Python: the process imports neither trytond nor the modules'
models.
"""
import os
import time

from .calls import CallTracker
from .client import AMIClient, Backoff, follow

# the reader process's niceness, added to the listener's
NICE = 10


def serve(conn, stop, host, port, username, secret, devices, transport,
        backoff=(), idle=1.0, nice=NICE):
    """Run the reader until ``stop`` (an event shared with the listener) is
    set or the listener's end of ``conn`` closes; ``backoff`` holds the
    arguments of :class:`.client.Backoff`"""
    if nice:
        # the tracking of a burst gives way to the pops of its calls and
        # to the database
        try:
            os.nice(nice)
        except OSError:
            pass
    tracker = CallTracker(devices)
    out = []
    last = []

    def connect():
        return AMIClient.connect(transport(host, port), username, secret)

    def on_event(event):
        if not last:
            last.append(None)
        last[0] = time.time()
        out.extend(tracker.feed(event))

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
