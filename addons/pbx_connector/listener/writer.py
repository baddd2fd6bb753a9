# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The Tryton side of the listener: the only file of the package that
imports trytond. Each method runs one transaction of the listener's
database."""
import dataclasses

from trytond import config
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.worker import run_task

from ..call import to_datetime


@dataclasses.dataclass
class Settings:
    host: str
    port: int
    username: str
    secret: str
    devices: set
    company: int = None
    region: str = None


def start(configfile, database):
    """Load the trytond configuration and the database's pool; return the
    language of the configuration"""
    config.update_etc(configfile)
    Pool.start()
    Pool(database).init()
    return config.get('database', 'language')


def resolve_server(database, name):
    "The id of the active server named (or numbered) ``name``, or the only"
    with Transaction().start(database, 0, readonly=True):
        Server = Pool().get('pbx.server')
        domain = [('active', '=', True)]
        if name:
            domain.append(['OR', ('name', '=', name),
                    ('id', '=', int(name) if name.isdigit() else -1)])
        servers = Server.search(domain, limit=2)
        if len(servers) != 1:
            match = f' match {name!r}' if name else ''
            raise SystemExit(
                f'pbx-listener: {len(servers)} active PBX servers{match}; '
                'name one with --server')
        return servers[0].id


class Writer:
    "The transactions of a listener on ``database`` for one PBX server"

    def __init__(self, database, server_id, user=0, language=None):
        self.database, self.server_id = database, server_id
        self.user, self.language = user, language
        self.settings = None
        # extension of each device, users of each employee: ids kept
        # between transactions, read anew with the settings
        self.cache = {}

    def transaction(self, readonly=False):
        context = {'pbx_listener': True}
        if self.language:
            context['language'] = self.language
        return Transaction().start(self.database, self.user,
            readonly=readonly, context=context)

    def load_settings(self):
        """The server's settings, and the extensions and users of all the
        reps (not read by the first pop of each rep)"""
        with self.transaction(readonly=True):
            pool = Pool()
            server = pool.get('pbx.server')(self.server_id)
            self.settings = Settings(server.host, server.port,
                server.username, server.secret, server.listener_devices(),
                server.company.id, server.region)
            self.cache = pool.get('pbx.call').listener_cache(server)
        return self.settings

    def write_batch(self, updates):
        """Apply updates in order in one transaction, then run the queue
        tasks they made (batch dialing's Originate) when no trytond-worker
        runs them"""
        with self.transaction() as transaction:
            Call = Pool().get('pbx.call')
            # the server with the values the updates use, read with the
            # settings: not read again in each transaction
            server = Pool().get('pbx.server')(self.server_id,
                company=self.settings.company, region=self.settings.region)
            with transaction.set_context(company=self.settings.company):
                Call.ami_updates(server, updates, cache=self.cache)
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
        for task_id in tasks:
            run_task(Pool(self.database), task_id)

    def write_status(self, **status):
        "Write the listener's state on the server (epoch seconds times)"
        for key in ['last_event', 'disconnected_at']:
            status[key] = to_datetime(status[key])
        with self.transaction() as transaction:
            Pool().get('pbx.server').set_status(self.server_id, **status)
            transaction.commit()

    def answers(self):
        "Whether the database answers"
        try:
            with self.transaction(readonly=True) as transaction:
                transaction.connection.cursor().execute('SELECT 1')
            return True
        except Exception:
            return False
