# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Real peers for the integration tests: a served trytond database with
sms_gateway, and Kannel (bearerbox, smsbox, fakesmsc) on loopback.

Everything listens on 127.0.0.1 on free ports and is stopped by the caller
(use the context managers)."""
import contextlib
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

from testing.net import free_port, stop, wait_port  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parents[1]
KANNEL_CONF = ROOT / 'config' / 'kannel'
BEARERBOX = '/usr/sbin/bearerbox'
SMSBOX = '/usr/sbin/smsbox'
FAKESMSC = '/usr/lib/kannel/test/fakesmsc'
BIN = pathlib.Path(sys.executable).parent


def ucs2(text):
    "fakesmsc's encoding of a UCS-2 MO message text"
    return urllib.parse.quote_from_bytes(text.encode('utf-16-be'))


# -- trytond ------------------------------------------------------------------

def _backend():
    return os.environ.get('TRYTOND_DATABASE_URI', 'sqlite://')


def _env(workdir):
    env = dict(os.environ, TRYTOND_DATABASE_URI=_backend(),
        TRYTOND_DATABASE__PATH=str(workdir),
        TRYTOND_LOGGING_LEVEL='30')  # warnings: refused callbacks
    for name in ['DB_NAME', 'DB_CACHE', 'TRYTOND_CONFIG']:
        env.pop(name, None)
    return env


@contextlib.contextmanager
def served_database(modules=('sms_gateway',), log_path=None):
    """Create a database with ``modules`` and serve it; yield
    ``(base_url, database_name)``. SQLite in a temporary directory, or a
    throwaway database on the PostgreSQL server of the test pass."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='sms-it-'))
    name = 'sms_it_%s_%s' % (os.getpid(), secrets.token_hex(3))
    env = _env(workdir)
    postgresql = _backend().startswith('postgresql')
    port = free_port()
    conf = workdir / 'trytond.conf'
    conf.write_text('[web]\nlisten = 127.0.0.1:%s\n' % port)
    (workdir / 'pass').write_text('admin\n')
    env['TRYTONPASSFILE'] = str(workdir / 'pass')
    if postgresql:
        _pg_execute('CREATE DATABASE "%s"' % name)
    else:
        (workdir / ('%s.sqlite' % name)).touch()
    server = None
    log = open(log_path or workdir / 'trytond.log', 'ab')
    try:
        subprocess.run([str(BIN / 'trytond-admin'), '-c', str(conf),
                '-d', name, '--all', '--email', 'admin@example.com',
                '-u', *modules, '--activate-dependencies'],
            env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
        server = subprocess.Popen([str(BIN / 'trytond'), '-c', str(conf),
                '-d', name], env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_port(port, server, timeout=60)
        yield 'http://127.0.0.1:%s' % port, name
    finally:
        stop(server)
        log.close()
        if postgresql:
            _pg_execute('DROP DATABASE IF EXISTS "%s"' % name)
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_execute(sql):
    import psycopg
    uri = _backend().rstrip('/') + '/postgres'
    with psycopg.connect(uri, autocommit=True) as connection:
        connection.execute(sql)


# -- Kannel -------------------------------------------------------------------

class Kannel:
    "bearerbox + smsbox + fakesmsc, started in that order"

    def __init__(self, inbound_url='http://127.0.0.1:9/none?x=1',
            smpp_port=None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix='sms-kannel-'))
        self.admin_port = free_port()
        self.smsbox_port = free_port()
        self.fake_port = free_port()
        self.sendsms_port = free_port()
        self.username, self.password = 'crm', secrets.token_hex(8)
        self.smpp_port = smpp_port
        self.inbound_url = inbound_url
        self.bearerbox = self.smsbox = self.fakesmsc = None
        self.fakesmsc_log = self.dir / 'fakesmsc.log'

    @property
    def sendsms_url(self):
        return 'http://127.0.0.1:%s/cgi-bin/sendsms' % self.sendsms_port

    def write_config(self):
        smpp = ''
        if self.smpp_port:
            smpp = (KANNEL_CONF / 'smpp.conf.in').read_text()
            smpp = (smpp.replace('@SMPP_PORT@', str(self.smpp_port))
                .replace('@SMPP_USER@', 'crm')
                .replace('@SMPP_PASSWORD@', 'secret'))
        text = (KANNEL_CONF / 'kannel.conf.in').read_text()
        for key, value in {
                'ADMIN_PORT': self.admin_port,
                'ADMIN_PASSWORD': secrets.token_hex(8),
                'SMSBOX_PORT': self.smsbox_port,
                'FAKE_PORT': self.fake_port,
                'SENDSMS_PORT': self.sendsms_port,
                'USERNAME': self.username,
                'PASSWORD': self.password,
                'DIR': self.dir,
                'INBOUND_URL': self.inbound_url,
                'SMPP': smpp,
                }.items():
            text = text.replace('@%s@' % key, str(value))
        self.conf = self.dir / 'kannel.conf'
        self.conf.write_text(text)

    def _daemon(self, binary, name):
        log = open(self.dir / ('%s.out' % name), 'ab')
        return subprocess.Popen([binary, str(self.conf)],
            stdout=log, stderr=subprocess.STDOUT)

    def start(self):
        self.write_config()
        self.bearerbox = self._daemon(BEARERBOX, 'bearerbox')
        wait_port(self.smsbox_port, self.bearerbox)
        self.start_smsbox()
        self.start_fakesmsc()

    def start_smsbox(self):
        self.smsbox = self._daemon(SMSBOX, 'smsbox')
        wait_port(self.sendsms_port, self.smsbox)

    def stop_smsbox(self):
        stop(self.smsbox)
        self.smsbox = None

    def start_fakesmsc(self, *messages, count=0):
        "Connect fakesmsc; it sends ``messages`` (MO) ``count`` times"
        log = open(self.fakesmsc_log, 'ab')
        process = subprocess.Popen([FAKESMSC, '-H', '127.0.0.1',
                '-r', str(self.fake_port), '-i', '0.05', '-m', str(count),
                *(messages or ['x y text z'])],
            stdout=log, stderr=subprocess.STDOUT)
        if count == 0:
            self.fakesmsc = process
        return process

    def logs(self, tail=3000):
        return '\n'.join('== %s\n%s' % (name, (self.dir / name).read_text(
                    'utf-8', 'replace')[-tail:])
            for name in ['bearerbox.log', 'smsbox.log', 'access.log']
            if (self.dir / name).exists())

    def stop_fakesmsc(self):
        stop(self.fakesmsc)
        self.fakesmsc = None

    def fakesmsc_received(self):
        "The MT messages fakesmsc got: ``[(from, to, text)]``"
        lines = self.fakesmsc_log.read_text('utf-8', 'replace').splitlines()
        result = []
        for line in lines:
            if 'Got message' not in line:
                continue
            data = line.split(': <', 1)[1].rsplit('>', 1)[0]
            from_, to, type_, text = data.split(' ', 3)
            if type_ == 'ucs-2':
                text = urllib.parse.unquote_to_bytes(
                    text.replace('+', '%20')).decode('utf-16-be')
            result.append((from_, to, text))
        return result

    def close(self):
        stop(self.fakesmsc)
        stop(self.smsbox)
        stop(self.bearerbox)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()
