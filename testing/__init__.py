# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Helpers shared by the tests, the scenarios and the benchmarks.

Importable from the repository root, as ``demo`` and ``tests`` are
(``conftest.py`` puts the root on ``sys.path``; the benchmarks do too)."""
