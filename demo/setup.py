# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Create (or update) a database with the suite's modules and the demo data.

    python -m demo.setup -c config/trytond.conf -d demo [--reset]

The backend comes from the configuration file (or ``TRYTOND_DATABASE__URI``).
"""
import argparse
import os
import subprocess
import sys
import tempfile

from demo.suite import suite_modules

ADMIN_PASSWORD = 'admin@2026'


def _trytond(*args, env=None):
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    # an empty line answers the admin e-mail prompt of a new database
    subprocess.run([admin, *args], check=True, env=env, input=b'\n',
        stdout=subprocess.DEVNULL)


def _server():
    """The backend's default database: a connection to the server that lists,
    creates and drops databases (on PostgreSQL a connection to the database
    being created would wait for it until it times out)"""
    from trytond import backend
    return backend.Database().connect()


def exists(name):
    return name in _server().list()


def create(name):
    database = _server()
    connection = database.get_connection(autocommit=True)
    try:
        database.create(connection, name)
    finally:
        database.put_connection(connection)


def drop(name):
    from trytond import backend
    if not exists(name):
        return
    backend.Database(name).close()
    database = _server()
    connection = database.get_connection(autocommit=True)
    try:
        database.drop(connection, name)
    finally:
        database.put_connection(connection)


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
            '-u', *suite_modules(), '--activate-dependencies', '-l', 'zh_CN', env=env)
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
