# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .access import ServerGuardMixin, check_write_values
from .exceptions import AllocationError

ZERO = Decimal(0)


class Category(metaclass=PoolMeta):
    __name__ = 'product.category'
    course_deferred_account = fields.Many2One(
        'account.account', "Deferred Course Revenue",
        domain=[('type.member_liability', '=', True),
            ('closed', '!=', True)],
        states={'invisible': ~Eval('accounting', False)},
        help="Liability credited by the invoices of course packages; "
        "check-ins move it to the revenue account as hours are consumed.")


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'
    course_hours = fields.Numeric(
        "Class Hours per Unit", digits=(16, 2),
        states={'invisible': Eval('type') != 'service'},
        help="Set on course packages: hours credited to the member card "
        "for each unit sold.")


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'
    member_card = fields.Many2One(
        'member.card', "Member Card",
        domain=[('party', '=', Eval('party', -1)), ('parent', '=', None)],
        states={'readonly': Eval('state') != 'draft'},
        help="The card credited with the class hours of the contract.")
    member_allocation = fields.Selection([
            ('pool', "Shared Pool"),
            ('fixed', "Fixed per Card"),
            ], "Hours Allocation",
        states={'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('member_card')},
        help="Shared pool: the card and its sub-cards draw from the same "
        "hours (twins). Fixed: each card may use only its own hours "
        "(co-signed contract).")
    member_allocations = fields.One2Many(
        'sale.member_allocation', 'sale', "Card Allocations",
        states={'readonly': Eval('state') != 'draft',
            'invisible': Eval('member_allocation') != 'fixed'})
    course_hours = fields.Function(fields.Numeric(
            "Class Hours", digits=(16, 2)), 'get_course_hours')

    @classmethod
    def default_member_allocation(cls):
        return 'pool'

    def get_course_hours(self, name):
        return sum((l.course_hours for l in self.lines
                if l.type == 'line'), ZERO)

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default else {}
        default.setdefault('member_allocations', None)
        return super().copy(sales, default=default)

    @classmethod
    def check_modification(cls, mode, sales, values=None, external=False):
        super().check_modification(
            mode, sales, values=values, external=external)
        if external and mode == 'write':
            # the card credited and its allocation are the contract's terms
            check_write_values(cls, sales, values, {
                    'member_card', 'member_allocation',
                    'member_allocations'})

    @classmethod
    def quote(cls, sales):
        super().quote(sales)
        for sale in sales:
            sale.check_member_card()

    def check_member_card(self):
        hours = self.course_hours
        if hours and not self.member_card:
            raise AllocationError(gettext(
                    'early_ed_crm.msg_sale_member_card_required',
                    sale=self.rec_name))
        if hours and self.member_allocation == 'fixed':
            allocated = sum((a.hours for a in self.member_allocations), ZERO)
            if allocated != hours:
                raise AllocationError(gettext(
                        'early_ed_crm.msg_sale_allocation_mismatch',
                        sale=self.rec_name, hours=hours,
                        allocated=allocated))

    @classmethod
    def proceed(cls, sales):
        super().proceed(sales)
        cls.credit_member_cards(sales)

    @classmethod
    def credit_member_cards(cls, sales):
        "Credit the class hours of the contracts, once"
        pool = Pool()
        Lot = pool.get('member.card.lot')
        for sale in sales:
            lines = [l for l in sale.lines if l.course_hours]
            if not lines or Lot.search([
                        ('origin', 'in', [str(l) for l in lines])],
                    limit=1):
                continue
            for line, cards, hours in sale._member_card_chunks(lines):
                line.credit_lot(cards, hours)
            cls._log_contract(sale)

    def _member_card_chunks(self, lines):
        "Yield (line, cards, hours) for each lot to create"
        if self.member_allocation != 'fixed':
            cards = [self.member_card] + [c for c in self.member_card.sub_cards
                if c.state == 'active']
            for line in lines:
                yield line, cards, line.course_hours
            return
        available = [[l, l.course_hours] for l in lines]
        for allocation in self.member_allocations:
            todo = allocation.hours
            for item in available:
                if not todo:
                    break
                hours = min(todo, item[1])
                if hours:
                    item[1] -= hours
                    todo -= hours
                    yield item[0], [allocation.card], hours

    @classmethod
    def _log_contract(cls, sale):
        pool = Pool()
        try:
            Followup = pool.get('crm.followup')
        except KeyError:
            return
        if hasattr(Followup, 'log'):
            Followup.log(sale.party, gettext(
                    'early_ed_crm.msg_contract_signed', sale=sale.rec_name,
                    hours=sale.course_hours,
                    card=sale.member_card.rec_name),
                method='system', origin=sale)


class SaleLine(metaclass=PoolMeta):
    __name__ = 'sale.line'
    course_hours = fields.Function(fields.Numeric(
            "Class Hours", digits=(16, 2)), 'get_course_hours')

    def get_course_hours(self, name=None):
        if (self.type == 'line' and self.product
                and self.product.template.course_hours and self.quantity):
            return (self.product.template.course_hours
                * Decimal(str(self.quantity))).quantize(Decimal('0.01'))
        return ZERO

    @property
    def course_deferred_account(self):
        category = self.product and self.product.account_category
        return category.course_deferred_account if category else None

    def credit_lot(self, cards, hours):
        pool = Pool()
        Lot = pool.get('member.card.lot')
        price_per_hour = None
        if self.unit_price is not None and self.course_hours:
            price_per_hour = (self.amount / self.course_hours)
        return Lot.credit(cards, hours, kind='contract', origin=self,
            description='%s %s' % (self.sale.number or '',
                self.product.rec_name),
            product=self.product, price_per_hour=price_per_hour,
            deferred_account=self.course_deferred_account,
            revenue_account=self.product.account_revenue_used,
            date=self.sale.sale_date)

    def get_invoice_line(self):
        lines = super().get_invoice_line()
        if self.course_hours and self.course_deferred_account:
            for line in lines:
                line.account = self.course_deferred_account
        return lines


class MemberAllocation(ServerGuardMixin, ModelSQL, ModelView):
    __name__ = 'sale.member_allocation'
    __string__ = "Contract Card Allocation"
    _states = {'readonly': Eval('sale_state', 'draft') != 'draft'}
    sale = fields.Many2One('sale.sale', "Contract", required=True,
        ondelete='CASCADE', states=_states)
    card = fields.Many2One('member.card', "Card", required=True,
        domain=[('party', '=', Eval('_parent_sale', {}).get('party', -1))],
        states=_states)
    hours = fields.Numeric("Hours", digits=(16, 2), required=True,
        domain=[('hours', '>', 0)], states=_states)
    sale_state = fields.Function(fields.Selection(
            'get_sale_states', "Contract State"),
        'on_change_with_sale_state')
    del _states

    @classmethod
    def get_sale_states(cls):
        Sale = Pool().get('sale.sale')
        return Sale.fields_get(['state'])['state']['selection']

    @fields.depends('sale', '_parent_sale.state')
    def on_change_with_sale_state(self, name=None):
        if self.sale:
            return self.sale.state

    @classmethod
    def check_modification(cls, mode, allocations, values=None,
            external=False):
        super().check_modification(
            mode, allocations, values=values, external=external)
        if not external:
            return
        sales = {a.sale for a in allocations}
        if values and values.get('sale'):
            sales.add(Pool().get('sale.sale')(values['sale']))
        if any(s.state != 'draft' for s in sales):
            raise AllocationError(gettext(
                    'early_ed_crm.msg_allocation_sale_draft'))
