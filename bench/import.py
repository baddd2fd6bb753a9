# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark of the Excel import of customers on PostgreSQL (issue 4)

A generated .xlsx of N rows (default 100 000: Chinese names, mainland mobiles,
a city and a source; 5 % duplicate names within the file, 2 % invalid phones
and 2 % rows repeating a customer already in the database, changed with
--duplicates, --invalid-phones and --existing-duplicates) is imported by
``crm.party.import`` in "valid rows" mode with every check (names, phones,
keywords, duplicates, result workbook) into a database that already holds
--existing customers (default 1 000 000, each with a mobile number), so the
duplicate checks search a table of a real firm's size. Two baselines are
measured in the same process on the same rows:

* floor: PostgreSQL ``COPY`` of the rows into a scratch table;
* host: Tryton's own ``party.party.import_data`` of valid rows (name and
  mobile, no checks), in chunks of the same size as the import's, on a
  sample of --host-rows rows (it is slow): its ratio is per row.

Prints rows/second of each, the ratios import/baseline of the elapsed times
(bench/README.md: a ratio, never a timed assertion) and the memory: the peak
RSS sampled during the import and its rise over the RSS before it, and the
process peak RSS (ru_maxrss, which includes the generation of the rows).

The database is created for the run and dropped at the end, also on an
error or Ctrl-C (CRM_BENCH_KEEP=1 keeps it).

Usage: .venv/bin/python bench/import.py [--rows 100000] [--duplicates 0.05]
       [--invalid-phones 0.02] [--existing 1000000]
       [--existing-duplicates 0.02] [--host-rows 1000]
Environment: CRM_PG_URI (default postgresql://postgres@127.0.0.1:5432/).
"""
import argparse
import io
import os
import random
import resource
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from testing.database import bench_database  # noqa: E402

DB_NAME = None  # the benchmark's database, set by main
# targets (bench/README.md)
TARGET_RATE = 2000  # rows/s
TARGET_RSS = 500 * 2 ** 20  # bytes

SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗'
WORDS = ['华', '信', '达', '盛', '通', '源', '恒', '泰', '丰', '润', '科',
    '创', '鑫', '宏', '远', '嘉', '瑞', '博', '安', '康']
KINDS = ['贸易有限公司', '科技有限公司', '商行', '电子厂', '教育咨询中心']
CITIES = ['北京', '上海', '广州', '深圳', '杭州', '成都', '武汉', '南京']
SOURCES = ['网络', '展会', '转介绍', '电话营销']
PREFIXES = ['135', '136', '137', '138', '139', '150', '151', '186', '187',
    '189']


def existing_name(number):
    "The name of the existing customer number (insert_existing)"
    return '存量客户%d号' % number


def existing_mobile(number):
    return '188%08d' % number


def generate(count, duplicates, invalid, existing=0, existing_dups=0.0,
        seed=4):
    """Return (header, rows, flags of the bad rows): a share duplicates of
    them repeat an earlier name, a share invalid have an invalid phone, a
    share existing_dups repeat one of the existing customers"""
    rng = random.Random(seed)
    header = ['客户名称', '手机', '城市', '客户来源']
    rows, names, flags = [], [], []
    for i in range(count):
        name = '%s%s%s%s%d' % (
            rng.choice(CITIES), rng.choice(SURNAMES),
            ''.join(rng.sample(WORDS, 2)), rng.choice(KINDS), i)
        mobile = rng.choice(PREFIXES) + '%08d' % rng.randrange(10 ** 8)
        draw = rng.random()
        if names and draw < duplicates:
            name = rng.choice(names)         # duplicate name
        elif draw < duplicates + invalid:
            mobile = '1%03d' % rng.randrange(1000)  # invalid phone
        elif existing and draw < duplicates + invalid + existing_dups:
            number = rng.randrange(1, existing + 1)  # an existing customer
            name, mobile = existing_name(number), existing_mobile(number)
        else:
            names.append(name)
        flags.append(draw < duplicates + invalid + (
                existing_dups if existing else 0))
        rows.append([name, mobile, rng.choice(CITIES), rng.choice(SOURCES)])
    return header, rows, flags


def workbook(header, rows):
    import openpyxl
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet('客户')
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def transaction(func, user=0, context=None):
    from trytond.transaction import Transaction
    with Transaction().start(DB_NAME, user, context=context or {}) as t:
        result = func()
        t.commit()
        return result


def setup():
    from trytond.pool import Pool

    from testing.company import create_company, create_employee
    Source = Pool().get('crm.source')
    company = create_company()
    employee = create_employee(company, name='Bench rep')
    Source.create([{'name': s} for s in SOURCES])
    return company.id, employee.id


def insert_existing(count):
    """Bulk insert count customers, each with a mobile number, with SQL
    (set-up, not measured)"""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("""
        INSERT INTO party_party (name, code, active, crm_stage,
            crm_ownership, crm_name_key, create_uid, create_date)
        SELECT '存量客户' || g || '号', 'E' || g, true,
            (ARRAY['reserve', 'target', 'potential', 'opportunity',
                'closed'])[1 + (g %% 5)], 'shared',
            '存量客户' || g || '号', 0, now() AT TIME ZONE 'UTC'
        FROM generate_series(1, %s) g""", (count,))
    cursor.execute("""
        INSERT INTO party_contact_mechanism (party, type, value,
            value_compact, active, create_uid, create_date)
        SELECT id, 'mobile', '188' || lpad(substr(code, 2), 8, '0'),
            '+86188' || lpad(substr(code, 2), 8, '0'), true, 0,
            now() AT TIME ZONE 'UTC'
        FROM party_party WHERE code LIKE 'E%%'""")
    cursor.execute('ANALYZE party_party')
    cursor.execute('ANALYZE party_contact_mechanism')


def baseline_copy(rows):
    "Floor: COPY the same rows into a scratch table"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('CREATE TEMPORARY TABLE bench_copy '
        '(name VARCHAR, mobile VARCHAR, city VARCHAR, source VARCHAR)')
    start = time.perf_counter()
    with cursor.copy('COPY bench_copy FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    elapsed = time.perf_counter() - start
    cursor.execute('DROP TABLE bench_copy')
    return elapsed


def baseline_host(rows, chunk):
    "Host: party.party import_data of name and mobile, no checks"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    fields = ['name', 'contact_mechanisms/type', 'contact_mechanisms/value']
    data = [['H ' + r[0], 'mobile', r[1]] for r in rows]
    start = time.perf_counter()
    for i in range(0, len(data), chunk):
        Party.import_data(fields, data[i:i + chunk])
    return time.perf_counter() - start


def rss():
    "The current resident set size in bytes"
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class RSSSampler(threading.Thread):
    "Peak of the resident set size while the import runs"

    def __init__(self, interval=0.02):
        super().__init__(daemon=True)
        self.interval = interval
        self.before = self.peak = rss()
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, rss())

    def stop(self):
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss())


def run_import(content, company, employee):
    from trytond.pool import Pool
    Import = Pool().get('crm.party.import')
    record = Import(company=company, owner=employee, stage='reserve',
        mode='valid', file=content, filename='bench.xlsx')
    record.save()
    Import.write([record], {'state': 'queued'})
    start = time.perf_counter()
    record._process()
    elapsed = time.perf_counter() - start
    record = Import(record.id)
    return elapsed, {name: getattr(record, name) for name in [
            'state', 'rows', 'imported', 'rejected', 'flagged', 'message']}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=100_000)
    parser.add_argument('--duplicates', type=float, default=0.05,
        help="share of rows repeating an earlier name (default %(default)s)")
    parser.add_argument('--invalid-phones', type=float, default=0.02,
        help="share of rows with an invalid phone (default %(default)s)")
    parser.add_argument('--existing', type=int, default=1_000_000,
        help="customers in the database before the import "
        "(default %(default)s)")
    parser.add_argument('--existing-duplicates', type=float, default=0.02,
        help="share of rows repeating an existing customer "
        "(default %(default)s)")
    parser.add_argument('--host-rows', type=int, default=1000,
        help="valid rows given to the host's import_data (it is slow: "
        "the ratio is per row)")
    args = parser.parse_args()
    global DB_NAME
    with bench_database(['telesales_pipeline'],
            prefix='bench_import') as DB_NAME:
        bench(args)


def bench(args):
    header, rows, flags = generate(
        args.rows, args.duplicates, args.invalid_phones,
        args.existing, args.existing_duplicates)
    n_bad = sum(flags)
    content = workbook(header, rows)
    print(f'{args.rows} rows ({n_bad} bad: about '
        f'{args.duplicates:.0%} duplicate names, '
        f'{args.invalid_phones:.0%} invalid phones, '
        f'{args.existing_duplicates if args.existing else 0:.0%} '
        f'existing customers), workbook '
        f'{len(content) / 1e6:.1f} MB')
    company, employee = transaction(setup)
    context = {'company': company, 'employee': employee}
    started = time.perf_counter()
    transaction(lambda: insert_existing(args.existing))
    print(f'{args.existing} existing customers with a mobile inserted '
        f'in {time.perf_counter() - started:.1f} s', flush=True)

    copy_time = transaction(lambda: baseline_copy(rows))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sampler = RSSSampler()
    sampler.start()
    try:
        elapsed, record = transaction(
            lambda: run_import(content, company, employee),
            context=context)
    finally:
        sampler.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the host's import of the good rows (it would refuse bad phones)
    valid = [r for r, f in zip(rows, flags) if not f][:args.host_rows]
    from telesales_pipeline.import_ import CHUNK
    host_time = transaction(
        lambda: baseline_host(valid, CHUNK), context=context)

    def rate(n, t):
        return n / t if t else float('inf')
    print(f'import: {elapsed:.1f} s, {rate(args.rows, elapsed):.0f} '
        f'rows/s, imported {record["imported"]}, rejected '
        f'{record["rejected"]}, flagged {record["flagged"]}, state '
        f'{record["state"]}')
    print(f'memory of the import: peak RSS {sampler.peak / 2**20:.0f} MiB '
        f'sampled during it, {(sampler.peak - sampler.before) / 2**20:.0f}'
        f' MiB over the {sampler.before / 2**20:.0f} MiB before it; '
        f'process peak RSS (ru_maxrss) {rss_peak / 1024:.0f} MiB '
        f'({rss_before / 1024:.0f} MiB before the import)')
    print(f'floor (COPY): {copy_time:.2f} s, '
        f'{rate(args.rows, copy_time):.0f} rows/s; '
        f'ratio import/COPY {elapsed / copy_time:.1f}')
    print(f'host (import_data, no checks) on a sample of {len(valid)} '
        f'valid rows: {host_time:.1f} s, '
        f'{rate(len(valid), host_time):.0f} rows/s; '
        f'per-row ratio import/host (import over {args.rows} rows, host '
        f'over {len(valid)} sampled rows) '
        f'{(elapsed / args.rows) / (host_time / len(valid)):.2f}')
    per_row = (elapsed / args.rows) / (host_time / len(valid))
    met = (rate(args.rows, elapsed) >= TARGET_RATE
        and sampler.peak < TARGET_RSS and per_row < 1)
    print(f'target: >= {TARGET_RATE} rows/s, faster per row than the host, '
        f'peak RSS < {TARGET_RSS // 2**20} MiB: '
        f'{"met" if met else "NOT met"} ({rate(args.rows, elapsed):.0f} '
        f'rows/s, per-row ratio {per_row:.2f}, peak RSS '
        f'{sampler.peak / 2**20:.0f} MiB) into a database of '
        f'{args.existing} customers')


if __name__ == '__main__':
    main()
