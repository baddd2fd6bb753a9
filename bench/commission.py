#!/usr/bin/env python
# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Fee invoices, commissions and statements for N disbursements on PostgreSQL.

Builds a throwaway database with loan_brokerage, R reps (each a commission
agent on a plan ``amount * 0.3``), 5 lenders and N signed applications, then
times, each phase in its own committed transaction:

* ``disburse``: ``loan.application.add_disbursements`` — the disbursements and
  their draft fee invoices to the lenders;
* ``post``: posting the fee invoices (the host creates the moves and the
  commission lines);
* ``commission invoices``: the host ``commission.invoice`` for the period;
* ``statements``: the period's "my commission" statement of every rep and
  the fee statement (every disbursement with its fee invoice state and its
  commission amount and state).

Baseline, in the same run on the same posted invoices: the host's own
commission computation ``account.invoice.create_commissions`` (rolled back).

    .venv/bin/python bench/commission.py [--count 10000] [--reps 50]
"""
import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=10000)
    parser.add_argument('--reps', type=int, default=50)
    parser.add_argument('--batch', type=int, default=1000)
    parser.add_argument('--uri', default=os.environ.get(
            'CRM_PG_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    return parser.parse_args()


def main():
    args = parse_args()
    os.environ['TRYTOND_DATABASE_URI'] = args.uri
    os.environ['DB_NAME'] = f'bench_commission_{os.getpid()}'
    os.environ.pop('DB_CACHE', None)
    from trytond.tests.test_tryton import drop_db
    try:
        run(args)
    finally:
        drop_db()


def run(args):
    from proteus import Model
    from trytond.modules.account.tests.tools import create_fiscalyear
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import get_company
    from trytond.tests.tools import activate_modules

    from testing.loan import setup_loan

    started = time.perf_counter()
    config = activate_modules('loan_brokerage', setup_loan)
    company = get_company()
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear())
    fiscalyear.click('create_period')
    Configuration = Model.get('loan.configuration')
    configuration = Configuration(1)
    configuration.post_fee_invoices = False
    configuration.save()
    print(f'set-up (activation, chart, fiscal year): '
        f'{time.perf_counter() - started:.1f} s', flush=True)
    bench(args, config.database_name, config.user, company.id)


def transaction(database, user, company):
    from trytond.transaction import Transaction
    return Transaction().start(database, user, context={
            'company': company, 'language': 'en'})


def bench(args, database, user, company):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    started = time.perf_counter()
    with transaction(database, user, company):
        application_ids = create_data(args, company)
    print(f'data: {args.reps} reps, {args.count} signed applications in '
        f'{time.perf_counter() - started:.1f} s', flush=True)

    timings = {}
    today = dt.date.today()

    def timed(name, func):
        start = time.perf_counter()
        with transaction(database, user, company) as tr:
            result = func()
            tr.commit()
        timings[name] = time.perf_counter() - start
        print(f'{name:22} {timings[name]:8.2f} s', flush=True)
        return result

    def disburse():
        Application = Pool().get('loan.application')
        ids = []
        for start in range(0, len(application_ids), args.batch):
            applications = Application.browse(
                application_ids[start:start + args.batch])
            ids += [d.fee_invoice.id
                for d in Application.add_disbursements(
                    [(a, a.amount, today) for a in applications])]
        return ids
    invoice_ids = timed('disburse + fee invoice', disburse)

    def post():
        Invoice = Pool().get('account.invoice')
        for start in range(0, len(invoice_ids), args.batch):
            Invoice.post(Invoice.browse(
                    invoice_ids[start:start + args.batch]))
    timed('post (host)', post)

    def host_commissions():
        Invoice = Pool().get('account.invoice')
        start = time.perf_counter()
        count = 0
        for offset in range(0, len(invoice_ids), args.batch):
            count += len(Invoice.create_commissions(Invoice.browse(
                        invoice_ids[offset:offset + args.batch])))
        elapsed = time.perf_counter() - start
        Transaction().rollback()
        return elapsed, count
    start = time.perf_counter()
    with transaction(database, user, company):
        baseline, count = host_commissions()
    print(f'{"baseline: host create_commissions":22} {baseline:8.2f} s '
        f'({count} commission lines, rolled back)', flush=True)

    def commission_invoices():
        Commission = Pool().get('commission')
        commissions = Commission.search([('invoice_line', '=', None)])
        Commission.invoice(commissions)
        return len(commissions)
    timed('commission invoices', commission_invoices)

    def statements():
        pool = Pool()
        Statement = pool.get('loan.commission.statement')
        Disbursement = pool.get('loan.disbursement')
        with Transaction().set_context(from_date=today.replace(day=1)):
            rows = Statement.search_read([], fields_names=[
                    'employee.rec_name', 'fee_amount', 'amount',
                    'invoiced_amount', 'paid_amount'])
        ids = Disbursement.search([('date', '>=', today.replace(day=1))])
        lines = Disbursement.read([d.id for d in ids], [
                'date', 'application', 'amount', 'fee_amount', 'fee_invoice',
                'fee_invoice_state', 'commission_amount', 'commission_state'])
        return rows, lines
    rows, lines = timed('statements', statements)
    fees = sum(r['fee_amount'] for r in rows)
    commission = sum(r['amount'] for r in rows)
    print(f'statement: {len(rows)} reps, fees {fees}, commission '
        f'{commission}; fee statement {len(lines)} lines', flush=True)

    ours = timings['disburse + fee invoice'] + timings['statements']
    total = sum(timings.values())
    print()
    print(f'ratio to the host commission computation ({baseline:.2f} s):')
    for name, value in timings.items():
        print(f'  {name:22} {value / baseline:6.2f}×')
    print(f'  {"ours (disburse+stmts)":22} {ours / baseline:6.2f}×')
    print(f'  {"whole period":22} {total / baseline:6.2f}×')


def create_data(args, company_id):
    pool = Pool_()
    Party = pool.get('party.party')
    Employee = pool.get('company.employee')
    Agent = pool.get('commission.agent')
    Plan = pool.get('commission.plan')
    Product = pool.get('loan.product')
    Application = pool.get('loan.application')
    Company = pool.get('company.company')
    company = Company(company_id)
    plan, = Plan.search([])
    reps = Party.create([{'name': f'Rep {i}'} for i in range(args.reps)])
    employees = Employee.create([
            {'party': p.id, 'company': company_id} for p in reps])
    agents = Agent.create([{
                'party': p.id, 'company': company_id, 'type_': 'agent',
                'plan': plan.id, 'currency': company.currency.id}
            for p in reps])
    lenders = Party.create([{'name': f'Lender {i}'} for i in range(5)])
    products = Product.create([{
                'name': f'Loan {i}', 'lender': l.id, 'company': company_id,
                'term': 12, 'rate': Decimal('0.06'),
                'fee_rate': Decimal('0.0150') + Decimal(i) / 1000}
            for i, l in enumerate(lenders)])
    ids = []
    for start in range(0, args.count, 1000):
        numbers = range(start, min(start + 1000, args.count))
        customers = Party.create([{'name': f'Customer {i}'} for i in numbers])
        values = []
        for i, customer in zip(numbers, customers):
            product = products[i % len(products)]
            values.append({
                    'company': company_id,
                    'party': customer.id,
                    'product': product.id,
                    'employee': employees[i % args.reps].id,
                    'agent': agents[i % args.reps].id,
                    'amount': Decimal(50000 + (i % 40) * 10000),
                    'fee_rate': product.fee_rate,
                    'signing_date': dt.date.today(),
                    'state': 'signed',
                    })
        ids += [a.id for a in Application.create(values)]
    return ids


def Pool_():
    from trytond.pool import Pool
    return Pool()


if __name__ == '__main__':
    main()
