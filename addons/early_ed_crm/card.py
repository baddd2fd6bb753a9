# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import threading
import time
from decimal import Decimal, InvalidOperation

from sql import Literal
from sql.aggregate import Sum

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Check, Index, ModelSingleton, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, Id
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import (
    Transaction, TransactionError, without_check_access)
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .access import ServerGuardMixin
from .exceptions import (
    CardBusyError, CardConfigurationError, CardError, CardLedgerError,
    CardNotActiveError, InputError, InsufficientBalanceError)

HOURS = (16, 2)
ZERO = Decimal(0)
CENT = Decimal('0.01')
# what one operation may take: amounts and hours a user types
MAX_AMOUNT = Decimal('99999999.99')
MAX_HOURS = Decimal('9999.99')
# the ledger's columns are Numeric(16, 2)
MAX_BALANCE = Decimal('9999999999999999.99')
# how long a card operation waits for another one using the same card
LOCK_TIMEOUT = 10


def _q(value):
    return Decimal(value).quantize(CENT)


def _typed(value):
    "A typed number as a finite Decimal, or None"
    try:
        value = Decimal(str(value)) if isinstance(value, float) \
            else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return value if value.is_finite() else None


def _check_input(value, limit, positive, decimals, too_large, name):
    number = _typed(value)
    shown = format(number, 'f') if number is not None else str(value)
    if number is None or number <= 0:
        raise InputError(gettext(positive, **{name: shown}))
    if number > limit:
        raise InputError(gettext(
                too_large, limit=format(limit, 'f'), **{name: shown}))
    if number != number.quantize(CENT):
        raise InputError(gettext(decimals, **{name: shown}))
    return number


def check_amount(amount, limit=MAX_AMOUNT):
    "Return the amount a user typed, refused unless 0 < amount <= limit"
    return _check_input(amount, limit,
        'early_ed_crm.msg_amount_positive',
        'early_ed_crm.msg_amount_decimals',
        'early_ed_crm.msg_amount_too_large', 'amount')


def check_hours(hours, limit=MAX_HOURS):
    "Return the class hours a user typed, refused unless 0 < hours <= limit"
    return _check_input(hours, limit,
        'early_ed_crm.msg_hours_positive',
        'early_ed_crm.msg_hours_decimals',
        'early_ed_crm.msg_hours_too_large', 'hours')


WALLETS = [
    ('hours', "Class Hours"),
    ('cash', "Cash"),
    ]
KINDS = [
    ('contract', "Contract"),
    ('recharge', "Recharge"),
    ('checkin', "Check-in"),
    ('pos', "Point of Sale"),
    ('event', "Event"),
    ('conversion', "Conversion"),
    ('transfer', "Transfer"),
    ('adjustment', "Adjustment"),
    ]


class _LockError(TransactionError):
    "Ask for several row locks at once, so one restart takes them all"

    def __init__(self, errors):
        super().__init__()
        self.errors = errors

    def fix(self, extras):
        super().fix(extras)
        for error in self.errors:
            error.fix(extras)


class _Restart(TransactionError):
    "Start again on a snapshot where the other operation is committed"


class _Waits(threading.local):
    "When the current request started again for a card lock, first, last"
    first = last = 0.0


_waits = _Waits()


def lock_rows(*groups):
    """Lock the rows of (Model, records) groups for the transaction

    On PostgreSQL the locks are waited for (up to LOCK_TIMEOUT seconds):
    an operation on a card in use waits for the other one to commit, then
    starts again on the committed balances and answers on them.  A lock
    not obtained in time is refused with a message, never a bare error.
    Elsewhere (SQLite, one writer at a time) Tryton's record locks at the
    start of the transaction are used."""
    if backend.name != 'postgresql':
        errors = []
        for Model, records in groups:
            try:
                Model.lock(records)
            except TransactionError as error:
                errors.append(error)
        if errors:
            raise _LockError(errors)
        return
    cursor = Transaction().connection.cursor()
    # a failed lock leaves the transaction usable for the refusal's message
    cursor.execute('SAVEPOINT early_ed_card_lock')
    try:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous, = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)",
            ('%dms' % (LOCK_TIMEOUT * 1000),))
        for Model, records in groups:
            ids = sorted({r.id for r in records})
            if not ids:
                continue
            table = Model.__table__()
            query, params = tuple(table.select(Literal(1),
                    where=table.id.in_(ids), order_by=[table.id]))
            # not FOR UPDATE: the rows that reference the card (a check-in
            # being created) hold a KEY SHARE lock on it
            cursor.execute(query + ' FOR NO KEY UPDATE', params)
        cursor.execute("SELECT set_config('lock_timeout', %s, true)",
            (previous,))
    except backend.DatabaseOperationalError as error:
        cursor.execute('ROLLBACK TO SAVEPOINT early_ed_card_lock')
        _lock_failed(error)
    cursor.execute('RELEASE SAVEPOINT early_ed_card_lock')
    _waits.last = 0.0


def _lock_failed(error):
    code = getattr(error, 'sqlstate', None)
    if code == '55P03':  # lock_not_available: lock_timeout reached
        _waits.last = 0.0
        raise CardBusyError(gettext('early_ed_crm.msg_card_busy')) from error
    if code not in {'40001', '40P01'}:  # serialization failure, deadlock
        raise error
    # the rows changed since our snapshot: another operation committed;
    # start again on it, for at most 3 times the lock timeout in all
    now = time.monotonic()
    if now - _waits.last > 2 * LOCK_TIMEOUT:
        _waits.first = now
    _waits.last = now
    if now - _waits.first > 3 * LOCK_TIMEOUT:
        _waits.last = 0.0
        raise CardBusyError(gettext('early_ed_crm.msg_card_busy')) from error
    raise _Restart() from error


def _origin_names(cls, records, name):
    """The name of each record's origin, for whoever may see the record
    (a rep sees a card move paid at the point of sale, an accountant a lot
    of a contract line, without access to those models)"""
    with without_check_access():
        return {r.id: r.origin.rec_name if r.origin else None
            for r in cls.browse(records)}


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'member.configuration'
    __string__ = "Member Card Configuration"
    card_sequence = fields.Many2One(
        'ir.sequence', "Card Sequence", required=True,
        domain=[('sequence_type', '=',
                Id('early_ed_crm', 'sequence_type_member_card'))])
    hour_cash_rate = fields.Numeric(
        "Cash per Class Hour", digits=(16, 2), required=True,
        help="Cash credited for each class hour converted.")
    journal = fields.Many2One(
        'account.journal', "Journal",
        help="Journal of the entries posted by card operations.")
    deposit_account = fields.Many2One(
        'account.account', "Member Deposit Account",
        domain=[('type.member_liability', '=', True),
            ('closed', '!=', True)],
        help="Liability credited by cash recharges and conversions.")
    event_revenue_account = fields.Many2One(
        'account.account', "Event Revenue Account",
        domain=[('type.revenue', '=', True), ('closed', '!=', True)])

    @classmethod
    def default_card_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('early_ed_crm', 'sequence_member_card')
        except KeyError:
            return None

    @classmethod
    def default_hour_cash_rate(cls):
        return Decimal('100')

    def accounting(self):
        "Return the journal when card accounting is configured"
        if self.journal and self.deposit_account:
            return self.journal


class Card(ServerGuardMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'member.card'
    __string__ = "Member Card"
    _rec_name = 'number'
    _readonly = {'readonly': Eval('state').in_(['replaced', 'closed'])}

    number = fields.Char("Number", readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_readonly)
    party = fields.Many2One(
        'party.party', "Member", required=True, states=_readonly,
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The customer who signed for the card.")
    holder = fields.Char(
        "Holder", states=_readonly,
        help="The child who attends classes with the card.")
    holder_birthday = fields.Date("Holder Birthday", states=_readonly)
    parent = fields.Many2One(
        'member.card', "Main Card", states=_readonly,
        domain=[('id', '!=', Eval('id', -1)), ('parent', '=', None),
            ('party', '=', Eval('party', -1))])
    sub_cards = fields.One2Many(
        'member.card', 'parent', "Sub-cards", readonly=True)
    state = fields.Selection([
            ('active', "Active"),
            ('lost', "Lost"),
            ('frozen', "Frozen"),
            ('replaced', "Replaced"),
            ('closed', "Closed"),
            ], "Status", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    replaced_by = fields.Many2One('member.card', "Replaced By", readonly=True)
    cash_balance = fields.Numeric("Cash Balance", digits=(16, 2),
        readonly=True,
        help="Kept up to date under a row lock with every cash move.")
    hours_balance = fields.Function(
        fields.Numeric("Class Hours", digits=HOURS), 'get_hours_balance')
    lots = fields.Many2Many(
        'member.card.lot-member.card', 'card', 'lot', "Class Hour Lots",
        readonly=True)
    moves = fields.One2Many('member.card.move', 'card', "Moves",
        readonly=True)
    del _readonly

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.number),
                'early_ed_crm.msg_card_number_unique'),
            ('cash_balance_positive', Check(t, t.cash_balance >= 0),
                'early_ed_crm.msg_card_balance_negative'),
            ]
        cls._order.insert(0, ('number', 'DESC'))
        cls._transitions |= {
            ('active', 'lost'), ('lost', 'active'),
            ('active', 'frozen'), ('frozen', 'active'),
            ('active', 'replaced'), ('lost', 'replaced'),
            ('frozen', 'replaced'), ('active', 'closed'),
            }
        cls._buttons.update({
                'report_loss': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state']},
                'freeze': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state']},
                'enable': {
                    'invisible': ~Eval('state').in_(['lost', 'frozen']),
                    'depends': ['state']},
                'close': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state']},
                'recharge': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state']},
                'convert': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state']},
                'reissue': {
                    'invisible': ~Eval('state').in_(
                        ['active', 'lost', 'frozen']),
                    'depends': ['state']},
                })

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_cash_balance(cls):
        return ZERO

    @classmethod
    def get_hours_balance(cls, cards, name):
        pool = Pool()
        Lot = pool.get('member.card.lot')
        LotCard = pool.get('member.card.lot-member.card')
        lot, lot_card = Lot.__table__(), LotCard.__table__()
        cursor = Transaction().connection.cursor()
        balances = {c.id: ZERO for c in cards}
        for sub_ids in grouped_slice([c.id for c in cards], 1000):
            cursor.execute(*lot_card.join(
                    lot, condition=lot_card.lot == lot.id).select(
                    lot_card.card, Sum(lot.remaining),
                    where=lot_card.card.in_(list(sub_ids)),
                    group_by=[lot_card.card]))
            for card_id, total in cursor:
                balances[card_id] = Decimal(str(total or 0)).quantize(
                    Decimal('0.01'))
        return balances

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Configuration = pool.get('member.configuration')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            values['number'] = Configuration(1).card_sequence.get()
        return values

    @classmethod
    def copy(cls, cards, default=None):
        default = default.copy() if default else {}
        for name in ['number', 'sub_cards', 'replaced_by', 'lots', 'moves']:
            default.setdefault(name, None)
        default.setdefault('cash_balance', ZERO)
        default.setdefault('state', 'active')
        return super().copy(cards, default=default)

    @classmethod
    def check_modification(cls, mode, cards, values=None, external=False):
        super().check_modification(
            mode, cards, values=values, external=external)
        if mode == 'delete':
            for card in cards:
                if card.moves:
                    raise CardLedgerError(gettext(
                            'early_ed_crm.msg_card_delete_moves',
                            card=card.rec_name))

    # Workflow -----------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('lost')
    def report_loss(cls, cards):
        cls._log(cards, 'early_ed_crm.msg_card_log_lost')

    @classmethod
    @ModelView.button
    @Workflow.transition('frozen')
    def freeze(cls, cards):
        cls._log(cards, 'early_ed_crm.msg_card_log_frozen')

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def enable(cls, cards):
        cls._log(cards, 'early_ed_crm.msg_card_log_enabled')

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, cards):
        for card in cards:
            if card.cash_balance or card.hours_balance:
                raise CardError(gettext(
                        'early_ed_crm.msg_card_close_balance',
                        card=card.rec_name))

    @classmethod
    @Workflow.transition('replaced')
    def replace(cls, cards):
        pass

    @classmethod
    @ModelView.button_action('early_ed_crm.wizard_card_recharge')
    def recharge(cls, cards):
        pass

    @classmethod
    @ModelView.button_action('early_ed_crm.wizard_card_convert')
    def convert(cls, cards):
        pass

    @classmethod
    @ModelView.button_action('early_ed_crm.wizard_card_reissue')
    def reissue(cls, cards):
        pass

    @classmethod
    def _log(cls, cards, msg_id, **kwargs):
        "Log a follow-up on the member when the CRM core provides it"
        pool = Pool()
        try:
            Followup = pool.get('crm.followup')
        except KeyError:
            return
        if not hasattr(Followup, 'log'):
            return
        for card in cards:
            Followup.log(card.party, gettext(msg_id, card=card.rec_name,
                    **kwargs), method='system', origin=card)

    # Wallet operations --------------------------------------------------
    # Every balance change goes through these methods: they lock the card
    # (and the class-hour lots it draws from) before reading balances, so
    # concurrent operations are serialised on PostgreSQL.

    def check_spendable(self):
        if self.state != 'active':
            raise CardNotActiveError(gettext(
                    'early_ed_crm.msg_card_not_active',
                    card=self.rec_name,
                    state=self.state_string))

    @classmethod
    def _lock_card(cls, card):
        lock_rows((cls, [card]))
        return cls(card.id)

    @classmethod
    def spendable_lots(cls, card, lot=None):
        "Return the lots the card may draw hours from, oldest first"
        pool = Pool()
        Lot = pool.get('member.card.lot')
        domain = [('cards', '=', card.id), ('remaining', '>', 0)]
        if lot:
            domain.append(('id', '=', lot.id))
        return Lot.search(domain, order=[('date', 'ASC'), ('id', 'ASC')])

    @classmethod
    @without_check_access
    def debit_hours(cls, card, hours, kind, origin=None, lot=None,
            description=None, recognise=True):
        "Deduct hours from the card's lots, oldest first; return moves"
        pool = Pool()
        Lot = pool.get('member.card.lot')
        Move = pool.get('member.card.move')
        hours = _q(check_hours(hours))
        lots = cls.spendable_lots(card, lot=lot)
        lock_rows((cls, [card]), (Lot, lots))
        card = cls(card.id)
        card.check_spendable()
        available = sum((l.remaining for l in lots), ZERO)
        if available < hours:
            raise InsufficientBalanceError(gettext(
                    'early_ed_crm.msg_card_insufficient_hours',
                    card=card.rec_name, hours=hours, available=available))
        moves, todo = [], hours
        for lot in lots:
            if not todo:
                break
            quantity = min(todo, lot.remaining)
            todo -= quantity
            lot._set_remaining(lot.remaining - quantity)
            moves.append(Move(card=card, lot=lot, wallet='hours', kind=kind,
                    quantity=-quantity, balance=lot.remaining,
                    origin=origin, description=description))
        Move.save(moves)
        if recognise:
            Lot.recognise(moves)
        return moves

    @classmethod
    @without_check_access
    def credit_cash(cls, card, amount, kind, origin=None,
            description=None, payment_method=None):
        "Add amount to the card's cash wallet; return the move"
        pool = Pool()
        Move = pool.get('member.card.move')
        amount = _q(check_amount(amount, limit=MAX_BALANCE))
        card = cls._lock_card(card)
        if card.state in {'replaced', 'closed'}:
            raise CardNotActiveError(gettext(
                    'early_ed_crm.msg_card_not_active',
                    card=card.rec_name, state=card.state_string))
        if card.cash_balance + amount > MAX_BALANCE:
            raise InputError(gettext(
                    'early_ed_crm.msg_card_balance_too_large',
                    card=card.rec_name, limit=format(MAX_BALANCE, 'f')))
        balance = card._set_cash_balance(card.cash_balance + amount)
        move = Move(card=card, wallet='cash', kind=kind, quantity=amount,
            balance=balance, origin=origin, description=description,
            payment_method=payment_method)
        move.save()
        return move

    @classmethod
    @without_check_access
    def debit_cash(cls, card, amount, kind, origin=None, description=None):
        "Take amount from the card's cash wallet; return the move"
        pool = Pool()
        Move = pool.get('member.card.move')
        amount = _q(check_amount(amount, limit=MAX_BALANCE))
        card = cls._lock_card(card)
        card.check_spendable()
        if card.cash_balance < amount:
            raise InsufficientBalanceError(gettext(
                    'early_ed_crm.msg_card_insufficient_cash',
                    card=card.rec_name, amount=amount,
                    available=card.cash_balance))
        balance = card._set_cash_balance(card.cash_balance - amount)
        move = Move(card=card, wallet='cash', kind=kind, quantity=-amount,
            balance=balance, origin=origin, description=description)
        move.save()
        return move

    def _set_cash_balance(self, balance):
        # written through the ORM, which drops the cached balance: a second
        # operation on the card in the same transaction reads this one
        self.__class__.write([self], {'cash_balance': balance})
        return balance

    @classmethod
    @without_check_access
    def convert_hours(cls, card, hours, lot=None):
        "Convert class hours into cash at the configured rate"
        pool = Pool()
        Configuration = pool.get('member.configuration')
        Lot = pool.get('member.card.lot')
        config = Configuration(1)
        hours = check_hours(hours)
        amount = card.company.currency.round(hours * config.hour_cash_rate)
        cash_move = cls.credit_cash(card, amount, 'conversion')
        hour_moves = cls.debit_hours(card, hours, 'conversion', lot=lot,
            origin=cash_move, recognise=False)
        Lot.convert_entries(hour_moves, cash_move)
        return hour_moves, cash_move

    @classmethod
    @without_check_access
    def transfer(cls, old, new):
        "Move the balances of the old card to the new one"
        pool = Pool()
        Move = pool.get('member.card.move')
        Lot = pool.get('member.card.lot')
        LotCard = pool.get('member.card.lot-member.card')
        # the lots the old card shares (twins) are locked with it: a twin
        # checking in meanwhile waits, and the transfer moves carry the
        # lots' balances as they are
        lots = list({l.lot for l in LotCard.search([('card', '=', old.id)])})
        lock_rows((cls, [old]), (Lot, lots))
        old = cls(old.id)
        moves = []
        if old.cash_balance:
            amount = old.cash_balance
            old._set_cash_balance(ZERO)
            moves.append(Move(card=old, wallet='cash', kind='transfer',
                    quantity=-amount, balance=ZERO, origin=new))
            new._set_cash_balance(new.cash_balance + amount)
            moves.append(Move(card=new, wallet='cash', kind='transfer',
                    quantity=amount, balance=new.cash_balance, origin=old))
        links = LotCard.search([('card', '=', old.id)])
        for link in links:
            if link.lot.remaining:
                moves.append(Move(card=old, lot=link.lot, wallet='hours',
                        kind='transfer', quantity=-link.lot.remaining,
                        balance=link.lot.remaining, origin=new))
                moves.append(Move(card=new, lot=link.lot, wallet='hours',
                        kind='transfer', quantity=link.lot.remaining,
                        balance=link.lot.remaining, origin=old))
        LotCard.write(links, {'card': new.id})
        cls.write(list(old.sub_cards), {'parent': new.id})
        Move.save(moves)
        return moves

    @classmethod
    @without_check_access
    def do_recharge(cls, card, amount, method):
        "Recharge the cash wallet paid with method; post the deposit"
        pool = Pool()
        Configuration = pool.get('member.configuration')
        Lot = pool.get('member.card.lot')
        config = Configuration(1)
        amount = _q(check_amount(amount))
        if not method or method.member_card:
            raise InputError(gettext('early_ed_crm.msg_recharge_method_card'))
        move = cls.credit_cash(card, amount, 'recharge',
            payment_method=method)
        if config.accounting():
            Lot._post([(move, [(method.account, amount),
                            (config.deposit_account, -amount)])])
        cls._log([card], 'early_ed_crm.msg_card_log_recharge',
            amount=amount)
        return move

    @classmethod
    @without_check_access
    def reissue_card(cls, old, number=None):
        "Issue a new card, move balances to it and void the old one"
        new, = cls.copy([old], default={
                'number': number or None, 'parent': old.parent,
                })
        cls.transfer(old, new)
        cls.replace([old])
        cls.write([old], {'replaced_by': new.id})
        cls._log([old], 'early_ed_crm.msg_card_log_reissued',
            new=new.rec_name)
        return new


class Lot(ServerGuardMixin, ModelSQL, ModelView):
    __name__ = 'member.card.lot'
    __string__ = "Class Hour Lot"
    company = fields.Many2One('company.company', "Company", required=True,
        readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    description = fields.Char("Description", readonly=True)
    origin = fields.Reference("Origin", selection='get_origins',
        readonly=True)
    origin_name = fields.Function(fields.Char("Origin"), 'get_origin_name')
    product = fields.Many2One('product.product', "Course Package",
        readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    cards = fields.Many2Many('member.card.lot-member.card', 'lot', 'card',
        "Cards", readonly=True,
        help="Several cards share the lot as one pool.")
    hours = fields.Numeric("Hours", digits=HOURS, readonly=True)
    remaining = fields.Numeric("Remaining Hours", digits=HOURS,
        readonly=True,
        help="Kept up to date under a row lock with every hour move.")
    price_per_hour = fields.Numeric("Price per Hour", digits=(16, 4),
        readonly=True)
    deferred_account = fields.Many2One('account.account',
        "Deferred Revenue Account", readonly=True)
    revenue_account = fields.Many2One('account.account', "Revenue Account",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('remaining_positive', Check(t, t.remaining >= 0),
                'early_ed_crm.msg_card_balance_negative'),
            ]
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _get_origins(cls):
        return ['sale.line', 'member.card']

    @classmethod
    def get_origins(cls):
        IrModel = Pool().get('ir.model')
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in cls._get_origins()]

    get_origin_name = classmethod(_origin_names)

    def get_rec_name(self, name):
        return '%s (%s)' % (self.description or self.product and
            self.product.rec_name or '#%s' % self.id, self.remaining)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('description',) + tuple(clause[1:])]

    def _set_remaining(self, remaining):
        # through the ORM, which drops the cached value (see
        # Card._set_cash_balance)
        self.__class__.write([self], {'remaining': remaining})

    @classmethod
    @without_check_access
    def credit(cls, cards, hours, kind='contract', origin=None,
            description=None, product=None, price_per_hour=None,
            deferred_account=None, revenue_account=None, date=None):
        "Create a lot of hours shared by cards; return it"
        pool = Pool()
        Card = pool.get('member.card')
        Move = pool.get('member.card.move')
        Date = pool.get('ir.date')
        hours = _q(hours)
        lock_rows((Card, cards))
        cards = [Card(c.id) for c in cards]
        for card in cards:
            if card.state in {'replaced', 'closed'}:
                raise CardNotActiveError(gettext(
                        'early_ed_crm.msg_card_not_active',
                        card=card.rec_name, state=card.state_string))
        lot = cls(company=cards[0].company, date=date or Date.today(),
            description=description, origin=origin, product=product,
            cards=cards, hours=hours, remaining=hours,
            price_per_hour=price_per_hour,
            deferred_account=deferred_account,
            revenue_account=revenue_account)
        lot.save()
        Move.save([Move(card=c, lot=lot, wallet='hours', kind=kind,
                        quantity=hours, balance=hours, origin=origin,
                        description=description) for c in cards])
        return lot

    def value_of(self, remaining):
        "Deferred value of remaining hours"
        return self.company.currency.round(
            (self.price_per_hour or ZERO) * remaining)

    def _move_value(self, move):
        before = move.balance - move.quantity
        return self.value_of(before) - self.value_of(move.balance)

    @classmethod
    def recognise(cls, moves):
        "Recognise revenue of the hours consumed by moves"
        lines = []
        for move in moves:
            lot = move.lot
            if not (lot.price_per_hour and lot.deferred_account
                    and lot.revenue_account):
                continue
            amount = lot._move_value(move)
            if amount:
                lines.append((move, [
                            (lot.deferred_account, amount),
                            (lot.revenue_account, -amount)]))
        cls._post(lines)

    @classmethod
    def convert_entries(cls, hour_moves, cash_move):
        "Move the deferred value of converted hours to the member deposit"
        pool = Pool()
        Configuration = pool.get('member.configuration')
        config = Configuration(1)
        if not config.accounting():
            return
        entries, converted = [], ZERO
        for move in hour_moves:
            lot = move.lot
            if lot.price_per_hour and lot.deferred_account:
                amount = lot._move_value(move)
                converted += amount
                entries.append((lot.deferred_account, amount))
                if lot.revenue_account:
                    entries.append((lot.revenue_account, -amount))
        if not entries:
            return
        # the deferred value is recognised, then the cash becomes a deposit
        # paid out of that revenue
        revenue = hour_moves[0].lot.revenue_account
        entries += [(revenue, cash_move.quantity),
            (config.deposit_account, -cash_move.quantity)]
        cls._post([(cash_move, entries)])

    @classmethod
    @without_check_access
    def _post(cls, entries):
        """Record one account move per (ledger move, [(account, amount)])
        amount > 0 is a debit

        The move is saved with the ledger move and posted by a task queued
        for after the commit (Move.post_entries): posting takes the
        fiscal year's strict number sequence, a lock shared by every
        posting of the company that a card operation does not hold."""
        pool = Pool()
        Move = pool.get('member.card.move')
        AccountMove = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        Configuration = pool.get('member.configuration')
        if not entries:
            return
        config = Configuration(1)
        if not config.journal:
            raise CardConfigurationError(gettext(
                    'early_ed_crm.msg_card_no_journal'))
        account_moves = []
        for ledger_move, pairs in entries:
            date = ledger_move.date.date()
            company = ledger_move.card.company
            lines = [Line(account=a, debit=max(v, ZERO),
                    credit=max(-v, ZERO),
                    party=(ledger_move.card.party
                        if a.party_required else None))
                for a, v in pairs if v]
            account_moves.append(AccountMove(journal=config.journal,
                    company=company, date=date,
                    period=Period.find(company, date=date),
                    origin=ledger_move, lines=lines))
        AccountMove.save(account_moves)
        Move.__queue__.post_entries([m for m, _ in entries])


class LotCard(ModelSQL):
    __name__ = 'member.card.lot-member.card'
    __string__ = "Class Hour Lot - Member Card"
    lot = fields.Many2One('member.card.lot', "Lot", required=True,
        ondelete='CASCADE')
    card = fields.Many2One('member.card', "Card", required=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('lot_card_unique', Unique(t, t.lot, t.card),
                'early_ed_crm.msg_lot_card_unique'),
            ]


class Move(ServerGuardMixin, ModelSQL, ModelView):
    __name__ = 'member.card.move'
    __string__ = "Member Card Move"
    card = fields.Many2One('member.card', "Card", required=True,
        readonly=True, ondelete='RESTRICT')
    lot = fields.Many2One('member.card.lot', "Lot", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': Eval('wallet') != 'hours'})
    date = fields.DateTime("Date", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    wallet = fields.Selection(WALLETS, "Wallet", required=True,
        readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    kind_string = kind.translated('kind')
    wallet_string = wallet.translated('wallet')
    quantity = fields.Numeric("Quantity", digits=(16, 2), required=True,
        readonly=True, help="Class hours or cash; negative when spent.")
    balance = fields.Numeric("Balance After", digits=(16, 2),
        readonly=True,
        help="The cash wallet, or the lot for class hours, after the move.")
    origin = fields.Reference("Origin", selection='get_origins',
        readonly=True)
    origin_name = fields.Function(fields.Char("Origin"), 'get_origin_name')
    payment_method = fields.Many2One('sale.point.payment.method',
        "Payment Method", readonly=True,
        states={'invisible': ~Bool(Eval('payment_method'))})
    description = fields.Char("Description", readonly=True)
    account_move = fields.Function(fields.Many2One('account.move',
            "Account Move"), 'get_account_move')
    party = fields.Function(fields.Many2One('party.party', "Member"),
        'get_party', searcher='search_party')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.card, Index.Range())))

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @classmethod
    def default_user(cls):
        return Transaction().user

    @classmethod
    def _get_origins(cls):
        return ['sale.sale', 'sale.line', 'member.checkin',
            'sale.point.payment', 'member.card', 'member.card.move']

    @classmethod
    def get_origins(cls):
        IrModel = Pool().get('ir.model')
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in cls._get_origins()]

    get_origin_name = classmethod(_origin_names)

    def get_party(self, name):
        return self.card.party.id

    @classmethod
    def get_account_move(cls, moves, name):
        AccountMove = Pool().get('account.move')
        result = {m.id: None for m in moves}
        for sub in grouped_slice(moves, 500):
            for account_move in AccountMove.search([
                        ('origin', 'in', [str(m) for m in sub])]):
                result[account_move.origin.id] = account_move.id
        return result

    @classmethod
    def search_party(cls, name, clause):
        return [('card.party',) + tuple(clause[1:])]

    def get_rec_name(self, name):
        return '%s %s %s' % (self.card.rec_name, self.kind_string,
            self.quantity)

    @classmethod
    def check_modification(cls, mode, moves, values=None, external=False):
        super().check_modification(
            mode, moves, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise CardLedgerError(gettext(
                    'early_ed_crm.msg_move_append_only'))

    @classmethod
    def post_entries(cls, moves=None):
        """Post the card entries still in draft: those of moves and any
        other left by an earlier run (queued task and cron)"""
        AccountMove = Pool().get('account.move')
        drafts = AccountMove.search([
                ('origin', 'like', cls.__name__ + ',%'),
                ('state', '=', 'draft'),
                ], order=[('date', 'ASC'), ('id', 'ASC')])
        if drafts:
            AccountMove.post(drafts)


class CheckIn(ServerGuardMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'member.checkin'
    __string__ = "Class Check-in"
    _states = {'readonly': Eval('state') != 'draft'}
    company = fields.Many2One('company.company', "Company", required=True,
        states=_states)
    card = fields.Many2One('member.card', "Card", required=True,
        states=_states, domain=[('company', '=', Eval('company', -1))])
    child = fields.Char("Child", states=_states)
    type_ = fields.Selection([
            ('class', "Class"),
            ('event', "Paid Event"),
            ], "Type", required=True, states=_states)
    course = fields.Char("Class / Event", required=True, states=_states)
    date = fields.DateTime("Date", required=True, states=_states)
    wallet = fields.Selection(WALLETS, "Pay With", required=True,
        states={'readonly': (Eval('state') != 'draft')
            | (Eval('type_') == 'class')})
    hours = fields.Numeric("Hours", digits=HOURS,
        states={'readonly': _states['readonly'],
            'invisible': Eval('wallet') != 'hours',
            'required': Eval('wallet') == 'hours'})
    amount = fields.Numeric("Amount", digits=(16, 2),
        states={'readonly': _states['readonly'],
            'invisible': Eval('wallet') != 'cash',
            'required': Eval('wallet') == 'cash'})
    lot = fields.Many2One('member.card.lot', "Lot",
        domain=[('cards', '=', Eval('card', -1)), ('remaining', '>', 0)],
        states={'readonly': _states['readonly'],
            'invisible': Eval('wallet') != 'hours'},
        help="Leave empty to use the oldest hours first.")
    employee = fields.Many2One('company.employee', "Teacher", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ], "State", readonly=True, required=True)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('draft', 'done')}
        cls._buttons.update({
                'do': {'invisible': Eval('state') != 'draft',
                    'depends': ['state']},
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_type_(cls):
        return 'class'

    @classmethod
    def default_wallet(cls):
        return 'hours'

    @classmethod
    def default_hours(cls):
        return Decimal(1)

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @fields.depends('card')
    def on_change_card(self):
        if self.card:
            self.child = self.card.holder

    @fields.depends('type_', 'wallet')
    def on_change_type_(self):
        if self.type_ == 'class':
            self.wallet = 'hours'

    def get_rec_name(self, name):
        return '%s %s' % (self.card.rec_name, self.course)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        # what the user typed, in the user's terms before the ledger's
        if values.get('hours') is not None:
            check_hours(values['hours'])
        if values.get('amount') is not None:
            check_amount(values['amount'])
        return values

    @classmethod
    def copy(cls, checkins, default=None):
        default = default.copy() if default else {}
        default.setdefault('state', 'draft')
        return super().copy(checkins, default=default)

    @classmethod
    def check_modification(cls, mode, checkins, values=None, external=False):
        super().check_modification(
            mode, checkins, values=values, external=external)
        if mode == 'delete':
            for checkin in checkins:
                if checkin.state != 'draft':
                    raise CardLedgerError(gettext(
                            'early_ed_crm.msg_checkin_delete_done',
                            checkin=checkin.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, checkins):
        pool = Pool()
        Card = pool.get('member.card')
        for checkin in checkins:
            if checkin.wallet == 'hours':
                kind = 'checkin' if checkin.type_ == 'class' else 'event'
                Card.debit_hours(checkin.card, checkin.hours, kind,
                    origin=checkin, lot=checkin.lot,
                    description=checkin.course)
            else:
                move = Card.debit_cash(checkin.card, checkin.amount,
                    'event', origin=checkin, description=checkin.course)
                checkin._post_event(move)

    def _post_event(self, move):
        pool = Pool()
        Configuration = pool.get('member.configuration')
        Lot = pool.get('member.card.lot')
        config = Configuration(1)
        if config.accounting() and config.event_revenue_account:
            Lot._post([(move, [
                            (config.deposit_account, self.amount),
                            (config.event_revenue_account, -self.amount)])])


class RechargeStart(ModelView):
    __name__ = 'member.card.recharge.start'
    __string__ = "Recharge Member Card"
    card = fields.Many2One('member.card', "Card", readonly=True)
    method = fields.Many2One('sale.point.payment.method', "Payment Method",
        required=True, domain=[('member_card', '=', False)])
    amount = fields.Numeric("Amount", digits=(16, 2), required=True,
        domain=[('amount', '>', 0)])


class Recharge(Wizard):
    __name__ = 'member.card.recharge'
    __string__ = "Recharge Member Card"
    start = StateView('member.card.recharge.start',
        'early_ed_crm.card_recharge_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Recharge", 'recharge', 'tryton-ok', default=True),
            ])
    recharge = StateTransition()

    def default_start(self, fields):
        return {'card': self.record.id}

    def transition_recharge(self):
        pool = Pool()
        Card = pool.get('member.card')
        Card.do_recharge(self.record, self.start.amount, self.start.method)
        return 'end'


class ConvertStart(ModelView):
    __name__ = 'member.card.convert.start'
    __string__ = "Convert Class Hours"
    card = fields.Many2One('member.card', "Card", readonly=True)
    hours = fields.Numeric("Hours", digits=HOURS, required=True,
        domain=[('hours', '>', 0)])
    lot = fields.Many2One('member.card.lot', "Lot",
        domain=[('cards', '=', Eval('card', -1)), ('remaining', '>', 0)])
    rate = fields.Numeric("Cash per Hour", digits=(16, 2), readonly=True)


class Convert(Wizard):
    __name__ = 'member.card.convert'
    __string__ = "Convert Class Hours"
    start = StateView('member.card.convert.start',
        'early_ed_crm.card_convert_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Convert", 'convert', 'tryton-ok', default=True),
            ])
    convert = StateTransition()

    def default_start(self, fields):
        Configuration = Pool().get('member.configuration')
        return {'card': self.record.id,
            'rate': Configuration(1).hour_cash_rate}

    def transition_convert(self):
        self.model.convert_hours(self.record, self.start.hours,
            lot=self.start.lot)
        return 'end'


class ReissueStart(ModelView):
    __name__ = 'member.card.reissue.start'
    __string__ = "Reissue Member Card"
    card = fields.Many2One('member.card', "Card", readonly=True)
    number = fields.Char("New Number",
        help="Leave empty to take the next number.")


class Reissue(Wizard):
    __name__ = 'member.card.reissue'
    __string__ = "Reissue Member Card"
    start = StateView('member.card.reissue.start',
        'early_ed_crm.card_reissue_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reissue", 'reissue', 'tryton-ok', default=True),
            ])
    reissue = StateTransition()
    open_ = StateAction('early_ed_crm.act_card_form')

    def default_start(self, fields):
        return {'card': self.record.id}

    def transition_reissue(self):
        old = self.record
        new = self.model.reissue_card(old, number=self.start.number)
        self.start.card = new
        return 'open_'

    def do_open_(self, action):
        return action, {'res_id': [self.start.card.id]}


class CardReceipt(Report):
    __name__ = 'member.card.receipt'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['now'] = dt.datetime.now()
        return context


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('member.card.move|post_entries', "Post Member Card Entries"))
