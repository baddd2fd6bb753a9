# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A served demo database for browser and RPC tests.

The demo database (five modules + demo data) is built once per content of the
addons: on SQLite a file kept under ``CRM_DB_CACHE_ROOT``, on PostgreSQL a
template database ``crm-demo-<digest>`` on the server of the test pass
(``TRYTOND_DATABASE_URI``), built by ``demo.setup`` as ``scripts/demo`` does.
Each test session serves a private copy on a free loopback port.
"""
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from conftest import ROOT, addons_digest
from testing.net import free_port

CONF = str(ROOT / 'config' / 'trytond.conf')
PG_CONF = str(ROOT / 'config' / 'trytond-postgresql.conf')
SAO = ROOT / 'var' / 'sao' / 'node_modules' / 'tryton-sao'
DB = 'demo'


def _env(path, **extra):
    env = dict(os.environ,
        TRYTOND_DATABASE_URI='sqlite://',
        TRYTOND_DATABASE__PATH=str(path),
        TRYTOND_WEB__ROOT=str(SAO))
    env.pop('DB_NAME', None)
    env.pop('DB_CACHE', None)
    env.update(extra)
    return env


def demo_digest():
    "Digest of the addons and of the demo loader: what shapes the demo data"
    digest = hashlib.sha256(addons_digest().encode())
    for path in sorted((ROOT / 'demo').glob('*.py')):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached_demo_database():
    """Path of the demo SQLite file for the current addons, built if missing

    Its attachment store (the directory named after the database, next to
    the file: the demo's contract photos, business cards) is kept with it."""
    cache_root = os.environ.get(
        'CRM_DB_CACHE_ROOT', str(ROOT / '.cache' / 'db'))
    cache = os.path.join(cache_root, 'demo', demo_digest())
    target = os.path.join(cache, f'{DB}.sqlite')
    store = os.path.join(cache, DB)
    if not (os.path.exists(target) and os.path.isdir(store)):
        build = tempfile.mkdtemp(prefix='crm-demo-build-')
        subprocess.run(
            [sys.executable, '-m', 'demo.setup', '-c', CONF, '-d', DB],
            cwd=ROOT, env=_env(build), check=True)
        os.makedirs(cache, exist_ok=True)
        shutil.rmtree(store, ignore_errors=True)
        os.makedirs(os.path.join(build, DB), exist_ok=True)
        shutil.move(os.path.join(build, DB), store)
        shutil.move(os.path.join(build, f'{DB}.sqlite'), target)
        shutil.rmtree(build, ignore_errors=True)
    return target


def pg_uri():
    "The PostgreSQL server of the test pass"
    uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    if not uri.startswith('postgresql'):
        raise RuntimeError('TRYTOND_DATABASE_URI names no PostgreSQL server')
    return uri


def _pg_env(**extra):
    env = dict(os.environ, TRYTOND_DATABASE__URI=pg_uri(),
        TRYTOND_WEB__ROOT=str(SAO))
    for name in ['DB_NAME', 'DB_CACHE', 'TRYTOND_DATABASE_URI']:
        env.pop(name, None)
    env.update(extra)
    return env


def _pg_conf(directory):
    """A copy of PG_CONF in directory naming the test pass's server: a
    configuration file overrides TRYTOND_DATABASE__URI (trytond reads the
    environment first), so the variable alone left trytond on the file's
    server"""
    path = os.path.join(directory, 'trytond-postgresql.conf')
    with open(PG_CONF) as source, open(path, 'w') as target:
        target.write(re.sub(r'(?m)^uri = .*$', lambda m: f'uri = {pg_uri()}',
                source.read(), count=1))
    return path


def _pg_execute(*statements, database='postgres'):
    import psycopg
    with psycopg.connect(pg_uri().rstrip('/') + '/' + database,
            autocommit=True) as connection:
        result = None
        for statement in statements:
            cursor = connection.execute(statement)
            if cursor.description:
                result = cursor.fetchall()
        return result


def _pg_exists(name):
    return bool(_pg_execute(
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def cached_demo_template():
    """Name of the PostgreSQL template of the demo database for the current
    addons, built with ``demo.setup`` (as ``scripts/demo`` does) if missing"""
    template = f'crm-demo-{demo_digest()}'
    if _pg_exists(template):
        return template
    build = f'{template}-build-{os.getpid()}'
    if _pg_exists(build):
        _pg_execute(f'DROP DATABASE "{build}"')
    with tempfile.TemporaryDirectory(prefix='crm-demo-conf-') as directory:
        subprocess.run([sys.executable, '-m', 'demo.setup',
                '-c', _pg_conf(directory), '-d', build],
            cwd=ROOT, env=_pg_env(), check=True, stdout=subprocess.DEVNULL)
    if _pg_exists(template):  # built meanwhile by another process
        _pg_execute(f'DROP DATABASE "{build}"')
    else:
        _pg_execute(f'ALTER DATABASE "{build}" RENAME TO "{template}"')
    return template


@contextlib.contextmanager
def pg_demo_copy(name=None):
    "A private copy of the demo template; yield its name, drop it at the end"
    name = name or f'crm_demo_{os.getpid()}_{free_port()}'
    _pg_execute(
        f'DROP DATABASE IF EXISTS "{name}"',
        f'CREATE DATABASE "{name}" TEMPLATE "{cached_demo_template()}"')
    try:
        yield name
    finally:
        _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def serve_demo(log_path, backend='sqlite', extra_conf=''):
    """Serve a private copy of the demo database; yield its base URL

    The database is named ``DB`` (``demo``) on SQLite; on PostgreSQL it is
    the yielded URL's ``database`` attribute. ``extra_conf`` is appended to
    the configuration (e.g. ``[database]\\nretry = 0``).
    """
    workdir = tempfile.mkdtemp(prefix='crm-demo-')
    port = free_port()
    # a later configuration file overrides the earlier ones
    listen = os.path.join(workdir, 'listen.conf')
    with open(listen, 'w') as fp:
        fp.write(f'[web]\nlisten = 127.0.0.1:{port}\n{extra_conf}\n')
    with contextlib.ExitStack() as stack:
        if backend == 'postgresql':
            database = stack.enter_context(pg_demo_copy())
            conf, env = _pg_conf(workdir), _pg_env()
        else:
            database = DB
            demo = cached_demo_database()
            shutil.copy(demo, os.path.join(workdir, f'{DB}.sqlite'))
            shutil.copytree(os.path.join(os.path.dirname(demo), DB),
                os.path.join(workdir, DB))
            conf, env = CONF, _env(workdir)
        with open(log_path, 'wb') as log:
            server = subprocess.Popen(
                [os.path.join(os.path.dirname(sys.executable), 'trytond'),
                    '-c', conf, listen, '-d', database],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = DemoURL(f'http://127.0.0.1:{port}/')
        url.database = database
        if backend != 'postgresql':
            url.sqlite = os.path.join(workdir, f'{DB}.sqlite')
        try:
            _wait_for(url, server)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            shutil.rmtree(workdir, ignore_errors=True)


class DemoURL(str):
    """The base URL of a served demo; ``database`` names its database,
    ``sqlite`` is the path of its file on SQLite (to look at what the server
    keeps to itself, as the secrets)"""
    database = DB
    sqlite = None


def _wait_for(url, server, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f'trytond exited with {server.returncode}')
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f'{url} did not answer in {timeout}s')
