# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Excel import of customers (PL-16)

An import (``crm.party.import``) holds the uploaded file and its options; its
*Import* button queues the work, which reads the first sheet in streaming
mode, checks every row, creates the customers in chunks and writes a result
workbook listing every rejected (and every flagged) row and why.
"""
import logging
import time

from crm_base.bulk import bulk_create
from crm_base.phone import formatted, mask_phone

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools.email_ import EmailNotValidError, validate_email
from trytond.transaction import Transaction

from .duplicate import describe, normalize_name
from .exceptions import ImportError_
from .customer import STAGES
from .spreadsheet import (
    IN_MAX, FormulaValue, SheetError, cell_date, cell_text, chunks,
    read_sheet, write_xlsx)

logger = logging.getLogger(__name__)

# target, label, header aliases (the first one is the template's header)
FIELDS = [
    ('name', "Customer Name", ['客户名称', '名称', '客户', 'customer name',
            'name', 'customer']),
    ('keyword', "Keyword", ['关键字', '关键词', 'keyword']),
    ('mobile', "Mobile", ['手机', '手机号', '手机号码', 'mobile']),
    ('phone', "Phone", ['电话', '座机', '固定电话', 'phone']),
    ('fax', "Fax", ['传真', 'fax']),
    ('email', "Email", ['邮箱', '电子邮件', 'email', 'e-mail']),
    ('website', "Website", ['网址', '网站', 'website']),
    ('city', "City", ['城市', 'city']),
    ('street', "Address", ['地址', '详细地址', 'address', 'street']),
    ('industry', "Industry", ['行业', 'industry']),
    ('source', "Source", ['客户来源', '来源', 'source']),
    ('level', "Level", ['客户等级', '等级', 'level']),
    ('next_callback', "Next Callback", ['下次回访', '回访日期',
            'next callback']),
    ]
PHONE_FIELDS = [('mobile', 'mobile'), ('phone', 'phone'), ('fax', 'fax')]
CHUNK = 500
# checked rows created together in "valid rows" mode
CREATE_BATCH = 10000
TEMPLATE_EXAMPLE = ['深圳市海尔贸易有限公司', '海尔', '13798312311',
    '0755-83710010', '', 'info@example.com', '', '深圳', '南山区科技园',
    '', '', '', '2026-12-01']


class ImportMapping(ModelSQL, ModelView):
    __name__ = 'crm.party.import.mapping'
    __string__ = "Import Mapping Template"

    name = fields.Char("Name", required=True)
    lines = fields.One2Many(
        'crm.party.import.mapping.line', 'mapping', "Columns")

    def get_columns(self):
        "Return {normalised column header: target}"
        return {normalize_name(l.column): l.target for l in self.lines}


class ImportMappingLine(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.party.import.mapping.line'
    __string__ = "Import Mapping Column"

    mapping = fields.Many2One('crm.party.import.mapping', "Template",
        required=True, ondelete='CASCADE')
    column = fields.Char("Column", required=True,
        help="The header of the column in the spreadsheet.")
    target = fields.Selection(
        [(f, l) for f, l, _ in FIELDS], "Field", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('mapping')


class PartyImport(Workflow, ModelSQL, ModelView):
    __name__ = 'crm.party.import'
    __string__ = "Customer Import"
    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One('company.company', "Company", required=True,
        states=_states)
    file = fields.Binary("File", filename='filename',
        states=_states, help="An Excel workbook (.xlsx or .xls); "
        "the first sheet is read, its first row holds the headers.")
    filename = fields.Char("File Name", states=_states)
    mapping = fields.Many2One('crm.party.import.mapping', "Mapping Template",
        states=_states,
        help="Which column holds which field; "
        "leave empty to recognise the template's headers.")
    owner = fields.Many2One('company.employee', "Owner", required=True,
        states=_states, domain=[('company', '=', Eval('company', -1))])
    stage = fields.Selection(STAGES, "Stage", required=True, states=_states)
    allow_duplicate_names = fields.Boolean(
        "Allow Duplicate Names", states=_states,
        help="Import customers even when a customer of the same name exists.")
    mode = fields.Selection([
            ('all', "All or Nothing"),
            ('valid', "Valid Rows"),
            ], "Mode", required=True, states=_states,
        help="All or nothing: a single bad row rejects the whole file.\n"
        "Valid rows: the valid rows are imported, the others reported.")
    call_list_name = fields.Char("Call List", states=_states,
        help="When set, the imported customers' phones become a call list "
        "of this name.")
    call_list = fields.Many2One('crm.call.list', "Call List", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('queued', "Queued"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", readonly=True, required=True, sort=False)
    rows = fields.Integer("Rows", readonly=True)
    imported = fields.Integer("Imported", readonly=True)
    rejected = fields.Integer("Rejected", readonly=True)
    flagged = fields.Integer("Flagged", readonly=True,
        help="Imported rows whose phone or keyword is already a customer's.")
    message = fields.Text("Message", readonly=True)
    result = fields.Binary("Result", filename='result_filename',
        readonly=True, file_id='result_id')
    result_id = fields.Char("Result ID", readonly=True)
    result_filename = fields.Function(
        fields.Char("Result File Name"), 'get_result_filename')
    progress = fields.Function(
        fields.Float("Progress", digits=(1, 2)), 'get_progress')
    progress_rows = fields.Function(
        fields.Integer("Rows Done"), 'get_progress')
    template = fields.Function(
        fields.Binary("Template", filename='template_filename'),
        'get_template')
    template_filename = fields.Function(
        fields.Char("Template File Name"), 'get_template')
    duration = fields.Float("Duration (s)", readonly=True, digits=(16, 1))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'queued'),
            ('queued', 'done'),
            ('queued', 'failed'),
            ('failed', 'draft'),
            }
        cls._buttons.update({
                'run': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'failed',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_owner():
        return Transaction().context.get('employee')

    @staticmethod
    def default_stage():
        return 'reserve'

    @staticmethod
    def default_mode():
        return 'all'

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_allow_duplicate_names():
        return False

    def get_result_filename(self, name):
        stem = (self.filename or 'import').rsplit('.', 1)[0]
        return '%s-result.xlsx' % stem

    @classmethod
    def get_template(cls, imports, names):
        result = {}
        if 'template' in names:
            data = template_file()
            result['template'] = {i.id: data for i in imports}
        if 'template_filename' in names:
            result['template_filename'] = {
                i.id: 'customer-import-template.xlsx' for i in imports}
        return result

    @classmethod
    def get_progress(cls, imports, names):
        pool = Pool()
        Progress = pool.get('crm.party.import.progress')
        result = {n: {} for n in names}
        progress = {p.import_.id: p for p in Progress.search(
                [('import_', 'in', [i.id for i in imports])])}
        for record in imports:
            p = progress.get(record.id)
            if record.state in {'done', 'failed'}:
                done, total = 1, 1
            elif p and p.total:
                done, total = p.done, p.total
            else:
                done, total = 0, 1
            if 'progress' in names:
                result['progress'][record.id] = done / total
            if 'progress_rows' in names:
                result['progress_rows'][record.id] = (
                    min(p.done, p.total // 2) if p and p.total else 0)
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, imports):
        cls.write(imports, {
                'rows': None, 'imported': None, 'rejected': None,
                'flagged': None, 'message': None, 'result': None,
                'duration': None})

    @classmethod
    @ModelView.button
    @Workflow.transition('queued')
    def run(cls, imports):
        Party = Pool().get('party.party')
        for record in imports:
            # a 0-byte file has a name: it is read and reported as empty
            if not record.file and not record.filename:
                raise ImportError_(gettext(
                        'telesales_pipeline.msg_import_file_empty'))
            # the queue runs the import without the user's rights: the
            # owner is checked here, as for a customer entered by hand
            if not Party._crm_may_own(record.owner):
                raise ImportError_(gettext(
                        'telesales_pipeline.msg_import_owner_not_allowed',
                        employee=record.owner.rec_name))
        cls.__queue__.process(imports)

    @classmethod
    def process(cls, imports):
        for record in imports:
            if record.state == 'queued':
                record._process()

    def _process(self):
        start = time.monotonic()
        transaction = Transaction()
        try:
            with transaction.set_context(
                    company=self.company.id, employee=self.owner.id):
                values = self._import()
        except ImportError_ as exc:
            # raised before anything is created
            values = {'state': 'failed', 'message': exc.message,
                'imported': 0}
        except UserError as exc:
            # the database refused a row (e.g. a concurrent import of the
            # same name): undo every row, whatever the mode
            transaction.rollback()
            values = {'state': 'failed', 'imported': 0,
                'message': gettext('telesales_pipeline.msg_import_refused',
                    error=exc.message)}
        values['duration'] = round(time.monotonic() - start, 1)
        self.__class__.write([self.__class__(self.id)], values)

    def _import(self):
        "Check and create the customers; return the import's new values"
        try:
            header, rows, size = read_sheet(self.file, self.filename)
            columns = self._columns(header)
        except SheetError as exc:
            raise ImportError_(gettext(
                    'telesales_pipeline.msg_import_sheet_%s' % exc.code,
                    filename=self.filename or '', **exc.details)) from exc
        checker = RowChecker(self, header, columns)
        # "valid rows" creates the checked rows every CREATE_BATCH rows, so
        # that they are not all held in memory; "all or nothing" checks
        # every row before it creates any
        create_now = self.mode != 'all'
        valid, rejected, flagged, party_ids, listed = [], [], [], [], []
        total = 0
        size = max(size - 1, 1)
        self._report(0, 0, size)
        for chunk in chunks(rows, CHUNK):
            chunk = list(chunk)
            total += len(chunk)
            ok, bad, flags = checker.check(chunk)
            rejected.extend(bad)
            flagged.extend(flags)
            valid.extend(ok)
            if create_now and len(valid) >= CREATE_BATCH:
                created = len(party_ids)
                for sub in chunks(valid, CHUNK):
                    self._create_chunk(list(sub), party_ids, listed)
                valid = []
                # the next rows are checked against the customers that
                # were there before the import, as in "all or nothing"
                checker.created.update(party_ids[created:])
                self._report(total, len(party_ids), size)
            else:
                self._report(total, None if not create_now
                    else len(party_ids), size)
        values = {'rows': total, 'rejected': len(rejected),
            'flagged': len(flagged)}
        if rejected and self.mode == 'all':
            values.update(state='failed', imported=0,
                message=gettext('telesales_pipeline.msg_import_all_rejected',
                    rejected=len(rejected), rows=total))
        elif not valid and not party_ids and not rejected:
            raise ImportError_(gettext(
                    'telesales_pipeline.msg_import_no_rows'))
        else:
            for chunk in chunks(valid, CHUNK):
                self._create_chunk(list(chunk), party_ids, listed)
                self._report(total, len(party_ids), size)
            values.update(state='done', imported=len(party_ids),
                message=gettext('telesales_pipeline.msg_import_done',
                    imported=len(party_ids), rejected=len(rejected),
                    flagged=len(flagged), rows=total))
            if self.call_list_name and party_ids:
                values['call_list'] = self._make_call_list(
                    party_ids, listed).id
        if rejected or flagged:
            values['result'] = checker.result_file(rejected, flagged)
        return values

    def _columns(self, header):
        "Return [(index, target)] of the mapped columns"
        if self.mapping:
            known = self.mapping.get_columns()
        else:
            known = {normalize_name(a): f for f, _, aliases in FIELDS
                for a in aliases}
        columns = [(i, known[normalize_name(h)]) for i, h in enumerate(header)
            if normalize_name(h) in known]
        if 'name' not in {t for _, t in columns}:
            raise SheetError('no_name_column', columns=', '.join(
                    h for h in header if h))
        return columns

    def _create_chunk(self, valid, party_ids, listed):
        """Create a chunk of checked rows in bulk (see bulk.py); add their
        ids to ``party_ids`` and, for the call list, their phones to
        ``listed`` (as ``_make_call_list`` reads them)

        The rows were checked by RowChecker, so they are inserted without
        the ORM's per-record validation; the names are checked once more
        against customers created meanwhile (``party_ids`` excluded).
        """
        pool = Pool()
        Party = pool.get('party.party')
        if not valid:
            return
        sequence = Party._code_sequence()
        vlist = [dict(v) for _, v in valid]
        if sequence:
            for values, code in zip(vlist, sequence.get_many(len(vlist))):
                values.setdefault('code', code)
        context = {'crm_allow_duplicate_name': self.allow_duplicate_names}
        with Transaction().set_context(context):
            # phones are formatted by _parse as the mechanism does
            new_ids = bulk_create(Party, vlist,
                computed={'party.contact_mechanism'})
            party_ids.extend(new_ids)
            if not self.allow_duplicate_names:
                # customers of these names created meanwhile
                keys = {normalize_name(v['name']): i
                    for v, i in zip(vlist, new_ids)}
                for key, other in Party.duplicate_name_ids(
                        keys, exclude=party_ids).items():
                    Party._raise_duplicate_name(
                        Party(keys[key]), Party(other))
        if self.call_list_name:
            listed.extend((None, {
                        'contact_mechanisms': v['contact_mechanisms']}
                    if 'contact_mechanisms' in v else {})
                for _, v in valid)

    def _make_call_list(self, party_ids, valid):
        pool = Pool()
        CallList = pool.get('crm.call.list')
        call_list = CallList(name=self.call_list_name, company=self.company)
        call_list.save()
        rows = []
        for party, (_, values) in zip(party_ids, valid):
            for mechanism in values.get('contact_mechanisms', [[None, []]])[
                    0][1]:
                if mechanism['type'] in {'mobile', 'phone'}:
                    rows.append((party, None, mechanism['value_compact']))
                    break
        call_list.add_numbers(rows)
        return call_list

    def _report(self, checked, created, size):
        """Record progress in its own transaction so users can watch it

        SQLite databases (embedded, single process) are not reported: a
        second transaction would wait on the import's own lock.
        """
        if backend.name == 'sqlite':
            return
        pool = Pool()
        Progress = pool.get('crm.party.import.progress')
        transaction = Transaction()
        with transaction.new_transaction() as new:
            with new.set_user(0):
                # an import not committed yet (run inside its creating
                # transaction, e.g. in tests) has no progress to show
                if not self.__class__.search([('id', '=', self.id)]):
                    return
                records = Progress.search([('import_', '=', self.id)])
                # Checking is the first half of the work, creating the second
                done = checked + (created or 0)
                values = {'done': done,
                    'total': 2 * max(size, checked)}
                if records:
                    Progress.write(records, values)
                else:
                    Progress.create([dict(values, import_=self.id)])
            new.commit()

    @classmethod
    def copy(cls, imports, default=None):
        default = default.copy() if default is not None else {}
        for name in ['call_list', 'rows', 'imported', 'rejected', 'flagged',
                'message', 'result', 'result_id', 'duration']:
            default.setdefault(name, None)
        return super().copy(imports, default=default)


class PartyImportProgress(ModelSQL):
    "Written by the import's worker in separate transactions only"
    __name__ = 'crm.party.import.progress'
    __string__ = "Customer Import Progress"

    import_ = fields.Many2One('crm.party.import', "Import", required=True,
        ondelete='CASCADE')
    done = fields.Integer("Done")
    total = fields.Integer("Total")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('import_')


class RowChecker:
    "Check rows against the database and the rows seen before"

    def __init__(self, record, header, columns):
        pool = Pool()
        self.record = record
        self.header = header
        self.columns = columns
        self.Party = pool.get('party.party')
        self.Mechanism = pool.get('party.contact_mechanism')
        self.names = {}
        self.phones = {}
        self.keywords = {}
        self.lists = {}
        for target, model in [('industry', 'crm.industry'),
                ('source', 'crm.source'), ('level', 'crm.level')]:
            Model = pool.get(model)
            records = Model.search([])
            index = {normalize_name(r.name): r.id for r in records}
            index.update({normalize_name(r.rec_name): r.id for r in records})
            index.update({normalize_name(r.code): r.id for r in records
                    if r.code})
            self.lists[target] = index
        self.employee = record.owner.id
        # customers created by this import so far: rows repeating one of
        # them are reported as repeated rows, not as existing customers
        self.created = set()

    def check(self, rows):
        "Return (valid [(row, values)], rejected, flagged) of rows"
        parsed = [(n, row, self._parse(row)) for n, row in rows]
        existing_names = {}
        if not self.record.allow_duplicate_names:
            existing_names = self.Party.duplicate_name_ids(
                [p['name_key'] for _, _, (p, _) in parsed if p.get(
                        'name_key')], exclude=self.created)
        phones = {e for _, _, (p, _) in parsed for e in p.get('phones', [])}
        existing_phones = self._existing_phones(phones)
        keywords = {p['keyword_key'] for _, _, (p, _) in parsed
            if p.get('keyword_key')}
        existing_keywords = self._existing_keywords(keywords)
        valid, rejected, flagged = [], [], []
        for number, row, (parsed_row, errors) in parsed:
            errors = list(errors)
            flags = []
            key = parsed_row.get('name_key')
            if key and not self.record.allow_duplicate_names:
                if key in existing_names:
                    errors.append(gettext(
                            'telesales_pipeline.msg_import_row_name_exists',
                            existing=self._describe(existing_names[key])))
                elif key in self.names:
                    errors.append(gettext(
                            'telesales_pipeline.msg_import_row_name_repeated',
                            row=self.names[key]))
            for phone in parsed_row.get('phones', []):
                if phone in existing_phones:
                    flags.append(gettext(
                            'telesales_pipeline.msg_import_row_phone_exists',
                            phone=mask_phone(phone),
                            existing=self._describe(existing_phones[phone])))
                elif phone in self.phones:
                    flags.append(gettext(
                            'telesales_pipeline.msg_import_row_phone_repeated',
                            phone=mask_phone(phone), row=self.phones[phone]))
            kkey = parsed_row.get('keyword_key')
            if kkey and kkey in existing_keywords:
                flags.append(gettext(
                        'telesales_pipeline.msg_import_row_keyword_exists',
                        keyword=parsed_row['values'].get('crm_keyword'),
                        existing=self._describe(existing_keywords[kkey])))
            if errors:
                rejected.append((number, row, errors))
                continue
            if key:
                self.names.setdefault(key, number)
            for phone in parsed_row.get('phones', []):
                self.phones.setdefault(phone, number)
            if flags:
                flagged.append((number, row, flags))
            valid.append((number, parsed_row['values']))
        return valid, rejected, flagged

    def _describe(self, party_id):
        return describe(self.Party(party_id), self.employee)

    def _existing_phones(self, phones):
        result = {}
        table = self.Mechanism.__table__()
        cursor = Transaction().connection.cursor()
        for sub in chunks(phones, IN_MAX):
            cursor.execute(*table.select(table.value_compact, table.party,
                    where=table.value_compact.in_(list(sub))
                    & table.type.in_(['phone', 'mobile', 'fax'])))
            for phone, party in cursor:
                if party not in self.created:
                    result.setdefault(phone, party)
        return result

    def _existing_keywords(self, keywords):
        result = {}
        table = self.Party.__table__()
        cursor = Transaction().connection.cursor()
        for sub in chunks(keywords, IN_MAX):
            cursor.execute(*table.select(table.crm_keyword_key, table.id,
                    where=table.crm_keyword_key.in_(list(sub))))
            for key, party in cursor:
                if party not in self.created:
                    result.setdefault(key, party)
        return result

    def _mechanism(self, type_, value):
        "Values of a contact mechanism as its compute_fields gives them"
        mechanism = self.Mechanism(type=type_)
        return {'type': type_,
            'value': mechanism.format_value(value=value, type_=type_),
            'value_compact': mechanism.format_value_compact(
                value=value, type_=type_)}

    def _parse(self, row):
        "Return ({values, name_key, phones, keyword_key}, errors) of row"
        cells, errors = {}, []
        for index, target in self.columns:
            value = row[index] if index < len(row) else None
            if isinstance(value, FormulaValue):
                errors.append(gettext(
                        'telesales_pipeline.msg_import_row_formula',
                        column=self.header[index], formula=value.formula))
                continue
            if value not in (None, ''):
                cells[target] = value
        record = self.record
        values = {
            'crm_stage': record.stage,
            'crm_ownership': 'personal',
            'crm_owner': record.owner.id,
            }
        result = {'values': values, 'phones': []}
        name = cell_text(cells.get('name'))
        if not name:
            errors.append(gettext('telesales_pipeline.msg_import_row_no_name'))
        else:
            values['name'] = name
            result['name_key'] = normalize_name(name)
        if cells.get('keyword'):
            values['crm_keyword'] = cell_text(cells['keyword'])
            result['keyword_key'] = normalize_name(values['crm_keyword'])
        mechanisms = self._parse_contacts(cells, result, errors)
        if mechanisms:
            values['contact_mechanisms'] = [('create', mechanisms)]
        if cells.get('city') or cells.get('street'):
            values['addresses'] = [('create', [{
                            'city': cell_text(cells.get('city')) or None,
                            # what Address.set_street writes
                            'street_unstructured': (
                                cell_text(cells.get('street')) or None),
                            }])]
        self._parse_lists(cells, values, errors)
        return result, errors

    def _parse_contacts(self, cells, result, errors):
        """The contact mechanisms of a row's cells; its phones in E.164 are
        added to result"""
        mechanisms = []
        for target, type_ in PHONE_FIELDS:
            if target not in cells:
                continue
            raw = cell_text(cells[target])
            number = formatted(raw)
            if number is None:
                errors.append(gettext(
                        'telesales_pipeline.msg_import_row_phone_invalid',
                        phone=raw))
                continue
            international, e164 = number
            mechanisms.append({'type': type_,
                    'value': international, 'value_compact': e164})
            if type_ != 'fax':
                result['phones'].append(e164)
        if cells.get('email'):
            email = cell_text(cells['email'])
            try:
                validate_email(email)
            except EmailNotValidError:
                errors.append(gettext(
                        'telesales_pipeline.msg_import_row_email_invalid',
                        email=email))
            else:
                mechanisms.append(self._mechanism('email', email))
        if cells.get('website'):
            mechanisms.append(
                self._mechanism('website', cell_text(cells['website'])))
        return mechanisms

    def _parse_lists(self, cells, values, errors):
        "The row's industry, source, level and next callback"
        for target in ['industry', 'source', 'level']:
            if target in cells:
                text = cell_text(cells[target])
                id_ = self.lists[target].get(normalize_name(text))
                if id_ is None:
                    errors.append(gettext(
                            'telesales_pipeline.msg_import_row_%s_unknown'
                            % target, value=text))
                else:
                    values['crm_' + target] = id_
        if 'next_callback' in cells:
            try:
                values['crm_next_callback'] = cell_date(
                    cells['next_callback'])
            except ValueError:
                errors.append(gettext(
                        'telesales_pipeline.msg_import_row_date_invalid',
                        value=cell_text(cells['next_callback'])))

    def result_file(self, rejected, flagged):
        reason = gettext('telesales_pipeline.msg_import_result_reason')
        row_label = gettext('telesales_pipeline.msg_import_result_row')
        header = [row_label] + list(self.header) + [reason]
        return write_xlsx([
                (gettext('telesales_pipeline.msg_import_result_rejected'),
                    header,
                    ([n] + list(r) + ['; '.join(e)] for n, r, e in rejected)),
                (gettext('telesales_pipeline.msg_import_result_flagged'),
                    header,
                    ([n] + list(r) + ['; '.join(e)] for n, r, e in flagged)),
                ])


def template_file():
    "The downloadable import template: the headers and one example row"
    header = [aliases[0] for _, _, aliases in FIELDS]
    return write_xlsx([('客户', header, [TEMPLATE_EXAMPLE])])
