# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The suite's modules, read from the installed distribution.

A module of the suite is a ``trytond.modules`` entry point (declared in
``pyproject.toml``) whose package lies in this repository's ``addons/``;
adding an entry point adds the module everywhere the list is used (demo,
cross-module tests)."""
import functools
import importlib.util
import pathlib
from importlib.metadata import entry_points

ADDONS = pathlib.Path(__file__).resolve().parents[1] / 'addons'


@functools.cache
def suite_modules():
    """Names of the suite's modules in dependency order: each after the
    suite's modules it depends on, ``extras_depend`` included (ties by
    name)"""
    names = {ep.name for ep in entry_points(group='trytond.modules')
        if _in_addons(ep.module)}
    return tuple(_dependency_order(names))


def _in_addons(module):
    spec = importlib.util.find_spec(module.split('.')[0])
    origin = spec and (spec.origin or next(
            iter(spec.submodule_search_locations or []), None))
    return bool(origin) and ADDONS in pathlib.Path(origin).resolve().parents


def _dependency_order(names):
    from trytond.modules import get_module_info
    requires = {}
    for name in names:
        info = get_module_info(name)
        requires[name] = (set(info.get('depends', []))
            | set(info.get('extras_depend', []))) & names
    ordered = []
    while requires:
        ready = sorted(n for n, r in requires.items() if r <= set(ordered))
        if not ready:
            raise ValueError(f'dependency cycle among {sorted(requires)}')
        ordered.append(ready[0])
        del requires[ready[0]]
    return ordered


if __name__ == '__main__':
    print('\n'.join(suite_modules()))
