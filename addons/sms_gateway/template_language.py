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
    def replace(match):
        if match.group(0) == '$$':
            return '$'
        if match.group(1) is None:
            raise TemplateSyntaxError(match.start())
        value = values.get(match.group(1))
        return '' if value is None else str(value)
    return PLACEHOLDER.sub(replace, text or '')
