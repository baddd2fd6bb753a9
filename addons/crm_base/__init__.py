# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What the suite's modules share below them: the phone service (one
normaliser, one masker, the hook that says who sees full numbers) and the
bulk writer"""
