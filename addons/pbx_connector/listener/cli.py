# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"The ``pbx-listener`` console script"
import argparse
import logging
import os
import signal

from .service import Listener

logger = logging.getLogger('pbx_connector.listener')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='pbx-listener',
        description="Hold the AMI connection of a PBX server and write its "
        "calls into a Tryton database.")
    parser.add_argument('-c', '--config', dest='configfile',
        default=os.environ.get('TRYTOND_CONFIG'), help="trytond.conf")
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('-s', '--server', default=None,
        help="name or id of the PBX server (default: the only active one)")
    parser.add_argument('--spool', default=None,
        help="file that keeps updates while the database is unreachable "
        "(default: pbx-listener-<database>.spool in the working "
        "directory)")
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
        format='%(asctime)s %(levelname)s %(name)s %(message)s')

    # trytond reads its configuration when it is imported
    from . import writer
    language = writer.start(args.configfile, args.database)
    server_id = writer.resolve_server(args.database, args.server)
    spool = args.spool or f'pbx-listener-{args.database}.spool'
    listener = Listener(args.database, server_id, spool=spool,
        language=language)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *a: listener.stop.set())
    logger.info('listening to %s:%s for %s', listener.settings.host,
        listener.settings.port, args.database)
    listener.run_forever()
