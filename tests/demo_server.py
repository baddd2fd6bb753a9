# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A served demo database for browser and RPC tests.

The demo database (five modules + demo data, SQLite) is built once per
content of the addons and kept under ``CRM_DB_CACHE_ROOT``; each test session
serves a private copy on a free loopback port.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from conftest import ROOT, addons_digest

CONF = str(ROOT / 'config' / 'trytond.conf')
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


def cached_demo_database():
    "Path of the demo SQLite file for the current addons, built if missing"
    cache_root = os.environ.get(
        'CRM_DB_CACHE_ROOT', str(ROOT / '.cache' / 'db'))
    cache = os.path.join(cache_root, 'demo', addons_digest())
    target = os.path.join(cache, f'{DB}.sqlite')
    if not os.path.exists(target):
        build = tempfile.mkdtemp(prefix='crm-demo-build-')
        subprocess.run(
            [sys.executable, '-m', 'demo.setup', '-c', CONF, '-d', DB],
            cwd=ROOT, env=_env(build), check=True)
        os.makedirs(cache, exist_ok=True)
        shutil.move(os.path.join(build, f'{DB}.sqlite'), target)
        shutil.rmtree(build, ignore_errors=True)
    return target


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_demo(log_path):
    "Serve a private copy of the demo database; yield its base URL"
    workdir = tempfile.mkdtemp(prefix='crm-demo-')
    shutil.copy(cached_demo_database(), os.path.join(workdir, f'{DB}.sqlite'))
    port = free_port()
    # a later configuration file overrides the earlier ones
    listen = os.path.join(workdir, 'listen.conf')
    with open(listen, 'w') as fp:
        fp.write(f'[web]\nlisten = 127.0.0.1:{port}\n')
    with open(log_path, 'wb') as log:
        server = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), 'trytond'),
                '-c', CONF, listen, '-d', DB],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=_env(workdir))
    url = f'http://127.0.0.1:{port}/'
    try:
        _wait_for(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


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
