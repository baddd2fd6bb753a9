# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Customer assessment questionnaires (ED-01)"
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .access import ServerGuardMixin

ZERO = Decimal(0)


class Section(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.assessment.section'
    __string__ = "Assessment Section"
    name = fields.Char("Name", required=True, translate=True)
    questions = fields.One2Many(
        'crm.assessment.question', 'section', "Questions")


class Question(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.assessment.question'
    __string__ = "Assessment Question"
    section = fields.Many2One('crm.assessment.section', "Section",
        required=True, ondelete='CASCADE')
    name = fields.Char("Question", required=True, translate=True)
    weight = fields.Numeric("Weight", digits=(16, 2), required=True,
        help="The score of the chosen option is multiplied by the weight.")
    options = fields.One2Many(
        'crm.assessment.option', 'question', "Options")

    @classmethod
    def default_weight(cls):
        return Decimal(1)


class Option(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.assessment.option'
    __string__ = "Assessment Option"
    question = fields.Many2One('crm.assessment.question', "Question",
        required=True, ondelete='CASCADE')
    name = fields.Char("Answer", required=True, translate=True)
    score = fields.Numeric("Score", digits=(16, 2), required=True)


class Threshold(ModelSQL, ModelView):
    __name__ = 'crm.assessment.threshold'
    __string__ = "Assessment Level Threshold"
    score = fields.Numeric("Minimal Score", digits=(16, 2), required=True)
    level = fields.Many2One('crm.level', "Customer Level", required=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('score', 'DESC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('level_unique', Unique(t, t.level),
                'early_ed_crm.msg_threshold_level_unique'),
            ]

    @classmethod
    def level_for(cls, score):
        "Return the threshold reached by score, or None"
        for threshold in cls.search([('score', '<=', score)], limit=1):
            return threshold

    @classmethod
    def rank_of(cls, level):
        "The minimal score of a level; levels without threshold rank lowest"
        if not level:
            return None
        for threshold in cls.search([('level', '=', level.id)], limit=1):
            return threshold.score


class Answer(ServerGuardMixin, ModelSQL, ModelView):
    __name__ = 'crm.assessment.answer'
    __string__ = "Assessment Answer"
    party = fields.Many2One('party.party', "Customer", required=True,
        ondelete='CASCADE')
    section = fields.Function(fields.Many2One(
            'crm.assessment.section', "Section"),
        'on_change_with_section', searcher='search_section')
    question = fields.Many2One('crm.assessment.question', "Question",
        required=True, ondelete='CASCADE')
    option = fields.Many2One('crm.assessment.option', "Answer",
        required=True, ondelete='RESTRICT',
        domain=[('question', '=', Eval('question', -1))])
    score = fields.Function(fields.Numeric("Score", digits=(16, 2)),
        'on_change_with_score')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_question_unique', Unique(t, t.party, t.question),
                'early_ed_crm.msg_answer_question_unique'),
            ]

    @fields.depends('question')
    def on_change_with_section(self, name=None):
        return self.question.section if self.question else None

    @classmethod
    def search_section(cls, name, clause):
        return [('question.section',) + tuple(clause[1:])]

    @fields.depends('option', 'question')
    def on_change_with_score(self, name=None):
        if self.option and self.question:
            return (self.option.score * self.question.weight).quantize(
                Decimal('0.01'))
        return ZERO

    @classmethod
    def on_modification(cls, mode, answers, field_names=None):
        super().on_modification(mode, answers, field_names=field_names)
        pool = Pool()
        Party = pool.get('party.party')
        if mode in {'create', 'write'}:
            # the level follows the score whoever saved the answers
            with without_check_access():
                Party.upgrade_level(list({a.party for a in answers}))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    assessment_answers = fields.One2Many(
        'crm.assessment.answer', 'party', "Assessment")
    assessment_score = fields.Function(
        fields.Numeric("Assessment Score", digits=(16, 2)),
        'get_assessment_score')

    def get_assessment_score(self, name=None):
        return sum((a.score for a in self.assessment_answers), ZERO)

    @classmethod
    def upgrade_level(cls, parties):
        "Raise the level of parties whose score reached a higher threshold"
        pool = Pool()
        Threshold = pool.get('crm.assessment.threshold')
        Followup = pool.get('crm.followup')
        for party in parties:
            score = party.get_assessment_score()
            threshold = Threshold.level_for(score)
            if not threshold or threshold.level == party.crm_level:
                continue
            current = Threshold.rank_of(party.crm_level)
            if current is not None and current >= threshold.score:
                continue
            old = party.crm_level.rec_name if party.crm_level else '-'
            party.crm_level = threshold.level
            party.save()
            Followup.log(party, gettext(
                    'early_ed_crm.msg_assessment_level_upgraded',
                    old=old, level=threshold.level.rec_name, score=score),
                method='system')
