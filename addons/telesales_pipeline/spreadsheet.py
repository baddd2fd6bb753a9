# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Streaming reader and writer of spreadsheets (.xlsx, .xls); no trytond

``read_sheet(data, filename)`` returns the header, an iterator of
``(row number, values)`` and the number of rows the sheet announces; a file it cannot read raises a ``SheetError`` whose
``code`` names the problem (``empty``, ``not_spreadsheet``, ``encrypted``,
``merged_cells``, ``no_header``, ``unsupported``) and whose ``details`` give
the variables of the message.
"""
import datetime
import io
import re
import zipfile
from itertools import islice

OLE_MAGIC = b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1'
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


IN_MAX = 1000


def chunks(iterable, size):
    "Lists of up to size items of iterable, consumed lazily"
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


class SheetError(Exception):
    def __init__(self, code, **details):
        super().__init__(code, details)
        self.code = code
        self.details = details


class FormulaValue:
    "A formula cell whose value was never computed (file not recalculated)"
    __slots__ = ('formula',)

    def __init__(self, formula):
        self.formula = formula

    def __repr__(self):
        return 'FormulaValue(%r)' % self.formula


def read_sheet(data, filename=''):
    "Return (header, rows, size) of the first worksheet of data"
    if not data:
        raise SheetError('empty')
    name = (filename or '').lower()
    if data[:8] == OLE_MAGIC:
        if name.endswith('.xlsx'):
            # An OOXML workbook saved with a password is an OLE container
            raise SheetError('encrypted')
        return _read_xls(data)
    if data[:4] == b'PK\x03\x04':
        return _read_xlsx(data)
    if name.endswith(('.xlsx', '.xls')):
        raise SheetError('not_spreadsheet')
    raise SheetError('unsupported', filename=filename)


def _sheet_part(archive):
    names = [n for n in archive.namelist()
        if n.startswith('xl/worksheets/') and n.endswith('.xml')]
    if not names:
        raise SheetError('not_spreadsheet')
    return sorted(names, key=lambda n: (len(n), n))[0]


def _scan(archive, part):
    "Return (merged ranges, has formulas) scanning the sheet XML in chunks"
    merged, formulas, tail = [], False, b''
    with archive.open(part) as fp:
        while True:
            chunk = fp.read(1 << 20)
            if not chunk:
                break
            text = tail + chunk
            merged.extend(m.decode() for m in _MERGE.findall(text))
            formulas = formulas or b'<f>' in text or b'<f ' in text
            tail = text[-64:]
    return sorted(set(merged)), formulas


def _read_xlsx(data):
    import openpyxl
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        part = _sheet_part(archive)
        merged, formulas = _scan(archive, part)
    except zipfile.BadZipFile as exc:
        raise SheetError('not_spreadsheet') from exc
    if merged:
        raise SheetError('merged_cells', ranges=', '.join(merged[:5]))
    try:
        values = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False
            ) if formulas else None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SheetError('not_spreadsheet') from exc
    sheet = values.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    if formula_book is not None:
        rows = _merge_formulas(
            rows, formula_book.worksheets[0].iter_rows(values_only=True))
    return _with_header(rows, close=values.close) + (sheet.max_row or 0,)


def _merge_formulas(values, formulas):
    for row, frow in zip(values, formulas):
        yield tuple(
            FormulaValue(f) if (v is None and isinstance(f, str)
                and f.startswith('=')) else v
            for v, f in zip(row, frow))


def _read_xls(data):
    import xlrd
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True,
            formatting_info=False)
    except xlrd.biffh.XLRDError as exc:
        if 'encrypted' in str(exc).lower():
            raise SheetError('encrypted') from exc
        raise SheetError('not_spreadsheet') from exc
    except Exception as exc:
        # xlrd raises bare struct/IndexError on damaged files
        raise SheetError('not_spreadsheet') from exc
    sheet = book.sheet_by_index(0)
    # merged_cells is only filled with formatting_info; xlrd cannot give it
    # for .xlsx-like files anyway, so it is not checked for .xls

    def rows():
        for index in range(sheet.nrows):
            yield tuple(_xls_value(book, cell) for cell in sheet.row(index))
    return _with_header(rows(), close=book.release_resources) + (
        sheet.nrows,)


def _xls_value(book, cell):
    import xlrd
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(cell.value, book.datemode)
        except (xlrd.xldate.XLDateError, OverflowError):
            return cell.value
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return None
    return cell.value


def _with_header(rows, close=None):
    rows = iter(rows)
    for number, row in enumerate(rows, 1):
        if any(v not in (None, '') for v in row):
            header = [_text(v) for v in row]
            return header, _numbered(rows, number, close)
    if close:
        close()
    raise SheetError('no_header')


def _numbered(rows, start, close):
    try:
        for number, row in enumerate(rows, start + 1):
            if any(v not in (None, '') for v in row):
                yield number, row
    finally:
        if close:
            close()


def _text(value):
    if value is None:
        return ''
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_text(value):
    "The text of a cell: numbers without '.0', stripped"
    return _text(value)


_DATE_FORMATS = ['%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y%m%d',
    '%Y年%m月%d日', '%d/%m/%Y', '%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M']


def cell_date(value):
    "Return the date of a cell (date, datetime or text) or raise ValueError"
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value).replace(' 号', '日').replace('号', '日')
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(text)


def write_xlsx(sheets):
    """Return the bytes of a workbook from [(title, header, rows)]

    Written in write-only mode so large results stay small in memory.
    """
    import openpyxl
    book = openpyxl.Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([_safe(v) for v in row])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _safe(value):
    if isinstance(value, FormulaValue):
        return "'" + value.formula
    if isinstance(value, str) and value.startswith('='):
        # never let an imported text become a live formula
        return "'" + value
    return value
