# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond import backend
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import TemplateError
from .access import check_parties_visible
from .template_language import (
    TemplateSyntaxError, compile_template, fields_of, render)

IN_MAX = backend.MAX_QUERY_PARAMS // 2
MESSAGE_KINDS = [
    ('marketing', "Marketing"),
    ('notification', "Notification"),
    ]


class Template(DeactivableMixin, ModelSQL, ModelView):
    __string__ = "SMS Template"
    __name__ = 'sms.template'
    name = fields.Char("Name", required=True, translate=True)
    kind = fields.Selection(
        MESSAGE_KINDS, "Kind", required=True,
        help="Marketing messages respect opt-outs and quiet hours.")
    content = fields.Text(
        "Content", required=True,
        help="The text; ${name} inserts a merge field, $$ a dollar sign.")
    provider_code = fields.Char(
        "Provider Template Code",
        help="The template code approved by Aliyun (SMS_123…) or the "
        "template ID of Tencent Cloud.")
    provider_params = fields.Char(
        "Provider Parameters",
        help="Merge fields sent to the provider template, comma-separated "
        "and in the template's order, for example: name,date.")
    merge_fields = fields.Function(
        fields.Text("Available Merge Fields"), 'get_merge_fields')
    preview_party = fields.Function(fields.Many2One(
            'party.party', "Preview For",
            help="A customer whose message is shown in the preview."),
        'get_preview_party', setter='set_preview_party')
    preview = fields.Function(fields.Text("Preview"), 'on_change_with_preview')

    @classmethod
    def default_kind(cls):
        return 'marketing'

    def get_preview_party(self, name):
        return None

    @classmethod
    def set_preview_party(cls, templates, name, value):
        pass

    def get_merge_fields(self, name):
        return '\n'.join(
            '${%s}  %s' % (key, label)
            for key, label in self.merge_field_labels().items())

    @classmethod
    def merge_field_labels(cls):
        """Hook: the merge fields known to templates, ``{name: label}``.

        Extend it together with :meth:`get_merge_values`."""
        return {
            'name': gettext('sms_gateway.msg_field_name'),
            'company': gettext('sms_gateway.msg_field_company'),
            'consultant': gettext('sms_gateway.msg_field_consultant'),
            'date': gettext('sms_gateway.msg_field_date'),
            }

    @classmethod
    def get_merge_values(cls, parties, values=None):
        """Hook: ``{party id: {field: value}}`` for ``parties`` (None for a
        typed number); ``values`` are extra values given by the caller."""
        pool = Pool()
        Company = pool.get('company.company')
        User = pool.get('res.user')
        context = Transaction().context
        company = context.get('company')
        company = Company(company).rec_name if company else ''
        user = User(Transaction().user)
        consultant = user.employee.rec_name if getattr(
            user, 'employee', None) else user.name or ''
        common = {
            'company': company,
            'consultant': consultant,
            'date': dt.date.today().isoformat(),
            }
        common.update(values or {})
        result = {None: dict(common)}
        names = cls._party_names(parties)
        for party in parties:
            result[party.id] = {**common, 'name': names.get(party.id) or ''}
        return result

    @classmethod
    def _party_names(cls, parties):
        """``{party id: name}``, read with SQL: a bulk send reaches every
        customer of a list and the ORM read of whole party records cost
        a third of the preparation. The parties were read under the
        user's rules by the caller."""
        Party = Pool().get('party.party')
        table = Party.__table__()
        cursor = Transaction().connection.cursor()
        ids = [p.id for p in parties if p.id is not None and p.id >= 0]
        names = {}
        for sub in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.select(table.id, table.name,
                    where=fields.SQL_OPERATORS['in'](table.id, list(sub))))
            names.update(cursor)
        # unsaved parties (a preview)
        for party in parties:
            if party.id is None or party.id < 0:
                names[party.id] = party.name
        return names

    def on_change_with(self, fieldnames):
        # a client's on_change_with of a stored template reads its other
        # values without the rules: the user must see it
        if (self.id is not None and self.id >= 0
                and Transaction().check_access):
            self.__class__.read([self.id], ['id'])
        return super().on_change_with(fieldnames)

    @fields.depends('content', 'preview_party', 'provider_params')
    def on_change_with_preview(self, name=None):
        if not self.content:
            return ''
        # the merge values are read without the user's rules
        check_parties_visible([self.preview_party])
        parties = [self.preview_party] if self.preview_party else []
        values = self.get_merge_values(parties)
        key = self.preview_party.id if self.preview_party else None
        try:
            return self.render(values[key])
        except TemplateSyntaxError:
            return ''

    def render(self, values):
        return render(self.content, values)

    def renderer(self):
        """A function ``values → (text, params)`` doing what :meth:`render`
        and :meth:`render_params` do, the template parsed once (bulk
        sends)"""
        text = compile_template(self.content)
        names = self.param_names()

        def render_message(values):
            return text(values), {
                name: str(values.get(name) or '') for name in names}
        return render_message

    def render_params(self, values):
        "The ordered parameters of the provider template"
        return {name: str(values.get(name) or '') for name in
            self.param_names()}

    def param_names(self):
        return [n.strip() for n in (self.provider_params or '').split(',')
            if n.strip()]

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if field_names & {'content', 'provider_params'}:
            known = set(cls.merge_field_labels())
            for template in templates:
                template.check_content(known)

    def check_content(self, known):
        try:
            names = fields_of(self.content)
        except TemplateSyntaxError as exc:
            raise TemplateError(gettext(
                    'sms_gateway.msg_template_syntax',
                    template=self.rec_name, position=exc.args[0])) from exc
        for name in names + self.param_names():
            if name not in known:
                raise TemplateError(gettext(
                        'sms_gateway.msg_template_unknown_field',
                        template=self.rec_name, field=name))
