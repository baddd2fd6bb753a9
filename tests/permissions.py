# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The permission matrix, read from the documentation.

``doc/permissions.rst`` at the top of the repository defines the roles and
the notation; each module's ``doc/permissions.rst`` holds its tables. The
tables are reStructuredText *simple tables* whose header row names the table:

* ``model``: one row per model — ``model``, ``customer`` (the path or paths
  from the model to the party or employee that decides its scope, ``|``
  between several, ``-`` for none), then one column per role;
* ``action``: one row per button (``model:button``), wizard
  (``wizard:name``) or report (``report:name``) — ``action``, ``allowed``
  (the roles that may use it, space separated; ``nobody`` or a role list);
* ``protected field``: fields no role may set by a plain write or create
  unless named — ``protected field`` (``model.field``), ``when`` (empty or
  ``field = value`` / ``field != value``: the records the protection
  applies to), ``may write`` (roles, or ``nobody``);
* ``masked field``: ``masked field`` (``model.field``), ``full value for``
  (roles);
* ``role`` (top-level document only): ``role``, ``login``,
  ``full numbers`` (yes/no), ``who``.

A model cell is ``-`` (no access at all: every read, search, create, write
and delete is refused) or ``<scope> <perms>``: scope one of ``all``,
``branch``, ``team``, ``own``, ``lookup``, ``none``; perms the letters of
``rwcd`` it may do within that scope (read, write, create, delete).

Run ``python -m tests.permissions`` to check and print the tables, and
``python -m tests.permissions --align FILE…`` to realign the tables of files
(cells are separated by two spaces or more; the widths are recomputed).
"""
import pathlib
import re
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCOPES = ('all', 'branch', 'team', 'own', 'lookup', 'none')
PERMS = 'rwcd'


class MatrixError(ValueError):
    pass


@dataclass
class Cell:
    scope: str | None      # None: no access at all
    perms: str = ''

    @property
    def denied(self):
        return self.scope is None

    def may(self, perm):
        return self.scope is not None and perm in self.perms

    def __str__(self):
        return '-' if self.denied else f'{self.scope} {self.perms}'.strip()


@dataclass
class ModelRow:
    model: str
    paths: list
    cells: dict
    source: str


@dataclass
class Role:
    name: str
    login: str
    full_numbers: bool
    who: str


@dataclass
class Matrix:
    roles: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)
    protected: list = field(default_factory=list)
    masked: dict = field(default_factory=dict)

    def role_names(self):
        return list(self.roles)


def parse_simple_tables(text):
    "Yield (header, rows) of each reST simple table of text"
    lines = text.splitlines()
    i = 0
    border = re.compile(r'^(=+)( +=+)*\s*$')
    while i < len(lines):
        if not border.match(lines[i]):
            i += 1
            continue
        columns = [(m.start(), m.end())
            for m in re.finditer(r'=+', lines[i])]
        if len(columns) < 2:  # a title's underline
            i += 1
            continue
        # header, separator, rows, closing border
        j = i + 1
        header_lines = []
        while j < len(lines) and not border.match(lines[j]):
            header_lines.append(lines[j])
            j += 1
        j += 1
        rows = []
        while j < len(lines) and not border.match(lines[j]):
            if lines[j].strip():
                rows.append(_split(lines[j], columns, lines, j))
            j += 1
        header = [' '.join(c.strip() for c in col).strip()
            for col in zip(*[_split(h, columns, lines, i)
                    for h in header_lines])]
        yield header, rows
        i = j + 1


def _split(line, columns, lines, index):
    cells = []
    for n, (start, end) in enumerate(columns):
        last = n == len(columns) - 1
        stop = None if last else columns[n + 1][0]
        if not last and line[end:stop].strip():
            raise MatrixError(
                f'line {index + 1}: text between columns: {line!r}')
        cells.append(line[start:stop].strip())
    return cells


def parse_cell(text, where):
    text = text.strip()
    if text == '-':
        return Cell(None)
    parts = text.split()
    if not parts or parts[0] not in SCOPES:
        raise MatrixError(f'{where}: bad cell {text!r}')
    perms = parts[1] if len(parts) > 1 else ''
    if len(parts) > 2 or any(p not in PERMS for p in perms):
        raise MatrixError(f'{where}: bad permissions {text!r}')
    if parts[0] != 'none' and 'r' not in perms:
        raise MatrixError(f'{where}: a scope without r {text!r}')
    return Cell(parts[0], perms)


def _roles(text, matrix, where):
    names = text.split()
    if names == ['nobody']:
        return set()
    unknown = set(names) - set(matrix.roles)
    if unknown:
        raise MatrixError(f'{where}: unknown roles {sorted(unknown)}')
    return set(names)


def load(root=ROOT):
    "The matrix of the suite: the top-level roles and every module's tables"
    matrix = Matrix()
    top = root / 'doc' / 'permissions.rst'
    for header, rows in parse_simple_tables(top.read_text()):
        if header[:1] == ['role']:
            for name, login, full, who in rows:
                matrix.roles[name] = Role(name, login, full == 'yes', who)
    if not matrix.roles:
        raise MatrixError(f'{top}: no role table')
    for path in sorted(root.glob('addons/*/doc/permissions.rst')):
        _load_module(path, matrix)
    return matrix


def _load_module(path, matrix):
    where = str(path.relative_to(ROOT))
    for header, rows in parse_simple_tables(path.read_text()):
        kind = header[0] if header else ''
        if kind == 'model':
            roles = header[2:]
            if roles != matrix.role_names():
                raise MatrixError(
                    f'{where}: role columns {roles} '
                    f'are not {matrix.role_names()}')
            for row in rows:
                name, paths = row[0], row[1]
                if name in matrix.models:
                    raise MatrixError(f'{where}: {name} listed twice')
                matrix.models[name] = ModelRow(name,
                    [] if paths == '-' else [
                        p.strip() for p in paths.split('|')],
                    {role: parse_cell(cell, f'{where} {name} {role}')
                        for role, cell in zip(roles, row[2:])},
                    where)
        elif kind == 'action':
            for name, allowed in rows:
                if name in matrix.actions:
                    raise MatrixError(f'{where}: {name} listed twice')
                matrix.actions[name] = _roles(
                    allowed, matrix, f'{where} {name}')
        elif kind == 'protected field':
            for name, when, allowed in rows:
                model, fname = name.rsplit('.', 1)
                matrix.protected.append((model, fname, _when(when, where),
                        _roles(allowed, matrix, f'{where} {name}')))
        elif kind == 'masked field':
            for name, allowed in rows:
                model, fname = name.rsplit('.', 1)
                matrix.masked[(model, fname)] = _roles(
                    allowed, matrix, f'{where} {name}')
        elif kind:
            raise MatrixError(f'{where}: unknown table {header}')


def _when(text, where):
    "The domain of a protected field's 'when' column"
    text = text.strip()
    if not text or text == '-':
        return []
    match = re.fullmatch(r'([\w.]+)\s*(!=|=|in|not in)\s*(.+)', text)
    if not match:
        raise MatrixError(f'{where}: bad condition {text!r}')
    name, operator, value = match.groups()
    if operator in {'in', 'not in'}:
        value = [v.strip() for v in value.split(',')]
    else:
        value = {'None': None, 'True': True, 'False': False}.get(
            value.strip(), value.strip())
    return [(name, operator, value)]


def align(text):
    "text with every simple table's columns realigned to their contents"
    lines = text.splitlines()
    border = re.compile(r'^=+( {2,}=+)+\s*$')
    out, i = [], 0
    while i < len(lines):
        if not border.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        block = [lines[i]]
        i += 1
        borders = 1
        while i < len(lines) and borders < 3:
            block.append(lines[i])
            borders += bool(border.match(lines[i]))
            i += 1
        columns = [(m.start(), m.end())
            for m in re.finditer(r'=+', block[0])]
        rows = [None if border.match(line) else _cells(line, columns)
            for line in block]
        width = max(len(r) for r in rows if r)
        sizes = [max([_width(r[n]) for r in rows if r and n < len(r)]
                + [1]) for n in range(width)]
        for row in rows:
            if row is None:
                out.append('  '.join('=' * s for s in sizes))
            else:
                cells = row + [''] * (width - len(row))
                out.append('  '.join(c + ' ' * (s - _width(c))
                        for c, s in zip(cells, sizes)).rstrip())
    return '\n'.join(out) + '\n'


def _cells(line, columns):
    """The cells of a row: by runs of two spaces or more when that gives
    every column, else by the table's columns (an empty cell stays empty)"""
    parts = re.split(r' {2,}', line.strip())
    if len(parts) == len(columns):
        return parts
    try:
        return _split(line, columns, [line], 0)
    except MatrixError:
        return parts


def _width(text):
    "Columns text takes in the table's source (one per character)"
    return len(text)


def main():
    import sys
    if sys.argv[1:2] == ['--align']:
        for name in sys.argv[2:]:
            path = pathlib.Path(name)
            path.write_text(align(path.read_text()))
        return
    matrix = load()
    print('roles:', ', '.join(
            f'{r.name}={r.login}' for r in matrix.roles.values()))
    for row in matrix.models.values():
        print(f'{row.model:40} {"|".join(row.paths) or "-":24}',
            ' '.join(f'{str(c):8}' for c in row.cells.values()))
    for name, roles in matrix.actions.items():
        print(f'{name:50} {" ".join(sorted(roles)) or "nobody"}')
    for model, fname, when, roles in matrix.protected:
        print(f'protected {model}.{fname} {when} {sorted(roles)}')
    for (model, fname), roles in matrix.masked.items():
        print(f'masked {model}.{fname} full for {sorted(roles)}')


if __name__ == '__main__':
    main()
