# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""``pbx-listener``: holds the AMI connection of one PBX server.

* :mod:`.reading` — the reader keeps a logged-in AMI session (reconnecting
  with backoff), feeds every event to the call tracker and queues the
  resulting updates, in a process of its own (``ami.reader``: reading a
  burst costs as much as popping it, and a thread would share the writer's
  interpreter lock) or, with ``reader='thread'``, in a thread;
* :mod:`.service` — the listener's loop: the ringing updates are applied
  first (their calls written and popped), then all the updates in order,
  up to ``batch_size`` a transaction;
* :mod:`.spool` — nothing is dropped silently: updates whose transaction
  fails (database unreachable) stay at the head of the buffer, are saved
  to the spool file and replayed when the database answers again; an
  update that keeps failing while the database works is written to
  ``<spool>.failed`` and logged;
* :mod:`.writer` — the Tryton side, the only file that imports trytond:
  the transactions, and the connection state, time of the last event and
  number of buffered updates written on the ``pbx.server`` record (Call
  Center → Configuration → PBX Servers);
* :mod:`.cli` — the console script.
"""
from .cli import main  # noqa: F401
from .service import Listener  # noqa: F401
