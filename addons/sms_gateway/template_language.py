# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The SMS template language: ``${field}`` placeholders, nothing else.

No expressions, attribute access or code: a placeholder names one merge
field whose value the caller computed; ``$$`` writes a dollar sign.
"""
import re

PLACEHOLDER = re.compile(r'\$(?:\$|\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}|(.?))')


class TemplateSyntaxError(ValueError):
    pass


def fields_of(text):
    "Names used in ``text``; raise TemplateSyntaxError on a bad ``$``"
    names = []
    for match in PLACEHOLDER.finditer(text or ''):
        if match.group(0) == '$$':
            continue
        if match.group(1) is None:
            raise TemplateSyntaxError(match.start())
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def render(text, values):
    "Replace each placeholder by ``values[name]`` (missing → empty)"
    return compile_template(text)(values)


def compile_template(text):
    """Return a function ``values → text`` doing what :func:`render` does,
    the template parsed once: for a bulk send of one template.

    Raise TemplateSyntaxError on a bad ``$`` at once."""
    literals, names = [], []
    current, position = [], 0
    text = text or ''
    for match in PLACEHOLDER.finditer(text):
        current.append(text[position:match.start()])
        position = match.end()
        if match.group(0) == '$$':
            current.append('$')
            continue
        if match.group(1) is None:
            raise TemplateSyntaxError(match.start())
        literals.append(''.join(current))
        names.append(match.group(1))
        current = []
    current.append(text[position:])
    last = ''.join(current)
    if not names:
        return lambda values: last
    pairs = list(zip(literals, names))

    def render_compiled(values):
        parts = []
        for literal, name in pairs:
            parts.append(literal)
            value = values.get(name)
            if value is not None:
                parts.append(value if isinstance(value, str) else str(value))
        parts.append(last)
        return ''.join(parts)
    return render_compiled
