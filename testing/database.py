# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A throwaway PostgreSQL database for a benchmark.

``bench_database(modules)`` creates the database, activates the modules with
``trytond-admin`` as an installation does, initialises this process's pool on
it and yields its name; it drops the database when the block ends, whether it
ends normally, on an error or on Ctrl-C."""
import contextlib
import os
import pathlib
import secrets
import subprocess
import sys
import tempfile

DEFAULT_URI = 'postgresql://postgres@127.0.0.1:5432/'
BIN = pathlib.Path(sys.executable).parent


def pg_uri():
    "The PostgreSQL server of the benchmarks: CRM_PG_URI or the local one"
    return os.environ.get('CRM_PG_URI', DEFAULT_URI)


def configure(uri=None):
    "Point this process's trytond at the server (before the first database)"
    uri = uri or pg_uri()
    os.environ['TRYTOND_DATABASE__URI'] = uri
    for name in ['TRYTOND_DATABASE_URI', 'DB_NAME', 'DB_CACHE']:
        os.environ.pop(name, None)
    from trytond.config import config
    config.set('database', 'uri', uri)
    return uri


def pg_execute(sql, database='postgres'):
    import psycopg
    uri = pg_uri().rstrip('/') + '/' + database
    with psycopg.connect(uri, autocommit=True) as connection:
        connection.execute(sql)


@contextlib.contextmanager
def bench_database(modules, prefix='bench', keep=False):
    """Yield the name of a new database with modules activated; drop it at
    the end (unless keep, or CRM_BENCH_KEEP is set)"""
    configure()
    name = f'{prefix}_{os.getpid()}_{secrets.token_hex(3)}'
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f'{prefix}-'))
    keep = keep or bool(os.environ.get('CRM_BENCH_KEEP'))
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        _activate(workdir, name, modules)
        from trytond.pool import Pool
        Pool.start()
        Pool(name).init()
        yield name
    finally:
        try:
            if not keep:
                drop(name)
            else:
                print(f'kept database {name}', file=sys.stderr)
        finally:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)


def _activate(workdir, name, modules):
    (workdir / 'pass').write_text('admin\n')
    env = dict(os.environ, TRYTONPASSFILE=str(workdir / 'pass'))
    log = workdir / 'admin.log'
    with open(log, 'wb') as output:
        result = subprocess.run([str(BIN / 'trytond-admin'), '-d', name,
                '--all', '--email', 'admin@example.com',
                '-u', *modules, '--activate-dependencies'],
            env=env, stdout=output, stderr=subprocess.STDOUT)
    if result.returncode:
        sys.stderr.write(log.read_text()[-4000:])
        raise RuntimeError(f'trytond-admin exited with {result.returncode}')


def drop(name):
    "Close this process's connections to the database and drop it"
    from trytond import backend
    from trytond.pool import Pool
    try:
        Pool.stop(name)
    except Exception:
        pass
    try:
        backend.Database(name).close()
    except Exception:
        pass
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
