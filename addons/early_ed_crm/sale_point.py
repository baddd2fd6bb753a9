# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval

from .exceptions import CardError


class PaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'
    member_card = fields.Boolean("Member Card",
        states={'readonly': Bool(Eval('cash'))},
        help="Paid from the cash wallet of a member card; the account "
        "should be the member deposit liability.")

    @classmethod
    def default_member_card(cls):
        return False


class Payment(metaclass=PoolMeta):
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
            if payment.amount > 0:
                move = Card.debit_cash(payment.member_card, payment.amount,
                    'pos', origin=payment)
            else:
                move = Card.credit_cash(payment.member_card, -payment.amount,
                    'pos', origin=payment)
            payment.card_move = move
        cls.save([p for p in payments if p.card_move])

    @classmethod
    def delete(cls, payments):
        pool = Pool()
        Card = pool.get('member.card')
        for payment in payments:
            if payment.card_move:
                # give the money back before the payment disappears
                if payment.amount > 0:
                    Card.credit_cash(payment.member_card, payment.amount,
                        'pos', description=payment.sale.rec_name)
                else:
                    Card.debit_cash(payment.member_card, -payment.amount,
                        'pos', description=payment.sale.rec_name)
        super().delete(payments)

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
