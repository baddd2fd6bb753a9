# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from .access import ServerGuardMixin, check_readable
from .card import MAX_AMOUNT, check_amount
from .exceptions import CardError, InputError


class PaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'
    member_card = fields.Boolean("Member Card",
        states={'readonly': Bool(Eval('cash'))},
        help="Paid from the cash wallet of a member card; the account "
        "should be the member deposit liability.")

    @classmethod
    def default_member_card(cls):
        return False


class POSSale(ServerGuardMixin, metaclass=PoolMeta):
    "The state, the number and what is read-only once done hold over RPC"
    __name__ = 'sale.point.sale'

    @classmethod
    def default_point(cls):
        "The front desk of a centre with one point of sale"
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        Point = pool.get('sale.point')
        company = Transaction().context.get('company')
        if not ModelAccess.check('sale.point', 'read', raise_exception=False):
            return None
        points = Point.search(
            [('company', '=', company)] if company else [], limit=2)
        if len(points) == 1:
            return points[0].id


class POSSaleLine(ServerGuardMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'


class CashSession(ServerGuardMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.cash.session'


class CashTransfer(ServerGuardMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.cash.transfer'


class Payment(ServerGuardMixin, metaclass=PoolMeta):
    __name__ = 'sale.point.payment'
    member_card = fields.Many2One('member.card', "Member Card",
        domain=[('state', '=', 'active')],
        states={
            'invisible': ~Eval('member_card_method', False),
            'required': Eval('member_card_method', False),
            'readonly': Eval('sale_state') != 'open',
            })
    member_card_method = fields.Function(
        fields.Boolean("Member Card Method"),
        'on_change_with_member_card_method')
    card_move = fields.Many2One('member.card.move', "Card Move",
        readonly=True)

    @fields.depends('method')
    def on_change_with_member_card_method(self, name=None):
        return bool(self.method and self.method.member_card)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        amount = values.get('amount')
        if amount:
            # the sign is the host's (refunds in cash); the size and the
            # decimals are checked on what the user typed
            check_amount(abs(amount), limit=MAX_AMOUNT)
        return values

    @classmethod
    def create(cls, vlist):
        payments = super().create(vlist)
        cls._debit_cards(payments)
        return payments

    @classmethod
    def _debit_cards(cls, payments):
        pool = Pool()
        Card = pool.get('member.card')
        for payment in payments:
            if not payment.method.member_card:
                continue
            if not payment.member_card:
                raise CardError(gettext(
                        'early_ed_crm.msg_payment_card_required'))
            # the card pays only for a cashier who may see it: the card
            # field offers those, a crafted call may name any card
            check_readable(Card, [payment.member_card])
            if payment.amount is None or payment.amount <= 0:
                raise InputError(gettext(
                        'early_ed_crm.msg_amount_positive',
                        amount=payment.amount))
            payment.card_move = Card.debit_cash(
                payment.member_card, payment.amount, 'pos', origin=payment)
        with without_check_access():
            cls.save([p for p in payments if p.card_move])

    @classmethod
    def on_modification(cls, mode, payments, field_names=None):
        pool = Pool()
        Card = pool.get('member.card')
        super().on_modification(mode, payments, field_names=field_names)
        if mode == 'delete':
            # the checks passed: give the money back before the payment
            # disappears
            for payment in payments:
                if payment.card_move:
                    Card.credit_cash(payment.member_card, payment.amount,
                        'pos', description=payment.sale.rec_name)

    @classmethod
    def check_modification(cls, mode, payments, values=None, external=False):
        super().check_modification(
            mode, payments, values=values, external=external)
        if mode == 'write' and values and (
                {'amount', 'method', 'member_card'} & set(values)):
            for payment in payments:
                if payment.card_move:
                    raise CardError(gettext(
                            'early_ed_crm.msg_payment_card_modify'))
