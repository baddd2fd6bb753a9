# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Create (or update) a database with the five modules and the demo data.

    python -m demo.setup -c config/trytond.conf -d demo [--reset]

The backend comes from the configuration file (or ``TRYTOND_DATABASE__URI``).
"""
import argparse
import os
import subprocess
import sys
import tempfile

from demo.loader import SUITE

ADMIN_PASSWORD = 'admin@2026'


def _trytond(*args, env=None):
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    # an empty line answers the admin e-mail prompt of a new database
    subprocess.run([admin, *args], check=True, env=env, input=b'\n',
        stdout=subprocess.DEVNULL)


def exists(name):
    from trytond import backend
    return name in backend.Database(name).list()


def create(name):
    from trytond import backend
    from trytond.transaction import Transaction
    with Transaction().start(None, 0, close=True, autocommit=True) as tx:
        backend.Database(name).create(tx.connection, name)


def drop(name):
    from trytond import backend
    from trytond.transaction import Transaction
    database = backend.Database(name)
    if name in database.list():
        with Transaction().start(None, 0, close=True, autocommit=True) as tx:
            database.drop(tx.connection, name)


def setup(config_file, name, reset=False):
    "Return True when the database was created and loaded, False if updated"
    from trytond import config
    config.update_etc(config_file)
    if reset:
        drop(name)
    if exists(name):
        _trytond('-c', config_file, '-d', name, '--all', '-l', 'zh_CN')
        return False
    create(name)
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write(ADMIN_PASSWORD + '\n')
        passfile.flush()
        env = dict(os.environ, TRYTONPASSFILE=passfile.name)
        _trytond('-c', config_file, '-d', name,
            '-u', *SUITE, '--activate-dependencies', '-l', 'zh_CN', env=env)
    subprocess.run([sys.executable, '-m', 'demo.loader',
            '-c', config_file, '-d', name], check=True,
        stdout=subprocess.DEVNULL)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', dest='config_file', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--reset', action='store_true')
    args = parser.parse_args()
    created = setup(args.config_file, args.database, reset=args.reset)
    print('created' if created else 'updated')


if __name__ == '__main__':
    main()
