# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The spool file: the updates not written yet, one JSON object a line,
replayed by a listener started again; ``<spool>.failed`` keeps the
updates that kept failing while the database answered."""
import json
import logging
import os

from ..ami import CallUpdate

logger = logging.getLogger('pbx_connector.listener')


class Spool:

    def __init__(self, path=None):
        self.path = path

    @property
    def failed_path(self):
        return (self.path or 'pbx-listener') + '.failed'

    @staticmethod
    def _append(path, updates):
        with open(path, 'a', encoding='utf-8') as f:
            for update in updates:
                f.write(json.dumps(update._asdict()) + '\n')

    def save(self, pending):
        "Keep the pending updates (none: remove the file)"
        if not self.path:
            return
        if not pending:
            if os.path.exists(self.path):
                os.remove(self.path)
            return
        tmp = self.path + '.tmp'
        if os.path.exists(tmp):
            os.remove(tmp)
        self._append(tmp, pending)
        os.replace(tmp, self.path)

    def load(self):
        "The updates kept by a listener before"
        if not self.path or not os.path.exists(self.path):
            return []
        with open(self.path, encoding='utf-8') as f:
            updates = [CallUpdate(**json.loads(line))
                for line in f if line.strip()]
        logger.info('replaying %d buffered updates from %s',
            len(updates), self.path)
        return updates

    def fail(self, update):
        "Set aside an update that keeps failing"
        self._append(self.failed_path, [update])
