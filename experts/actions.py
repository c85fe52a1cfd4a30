"""评标操作: the evaluation's actions, named once for the API path (``evaluation/<action>``) and the room page's
form, and run through one function so that both do the same thing."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from experts.services import evaluation
from trading.services.errors import NotFound


class EvaluationAction(models.TextChoices):
    START = "start"
    DECLARATION = "declaration"  # 回避声明 (R24)
    LEADER_VOTE = "leader-vote"  # 推选评标委员会主任
    SCORES = "scores"
    SUBMIT = "submit"
    CONCLUDE = "conclude"
    SIGN = "sign"  # 签署评标报告 (R26)
    FINALIZE = "finalize"

    @classmethod
    def parse(cls, raw: str) -> "EvaluationAction":
        """The action a request names; the room page's first names (declare, vote, score) still work."""
        raw = OLD_PAGE_NAMES.get(raw, raw)
        if raw not in cls.values:
            raise NotFound(_("Not found."))
        return cls(raw)


OLD_PAGE_NAMES = {"declare": EvaluationAction.DECLARATION, "vote": EvaluationAction.LEADER_VOTE,
                  "score": EvaluationAction.SCORES}


def evaluation_act(*, user, section_id: int, action: EvaluationAction, conflict: bool = False, text: str = "",
                   seat: int = 0, bid_id: str = "", scores: dict | None = None, passes: bool = True,
                   reason: str = "", agree: bool = True, price_settings: dict | None = None) -> None:
    """Run one evaluation action with the arguments the caller has already parsed from its request."""
    A = EvaluationAction
    if action == A.START:
        evaluation.evaluation_start(user=user, section_id=section_id, price_settings=price_settings)
    elif action == A.DECLARATION:
        evaluation.member_declare(user=user, section_id=section_id, conflict=conflict, text=text)
    elif action == A.LEADER_VOTE:
        evaluation.leader_vote(user=user, section_id=section_id, seat=seat)
    elif action == A.SCORES:
        evaluation.score_save(user=user, section_id=section_id, bid_id=bid_id, scores=scores or {}, passes=passes,
                              reason=reason)
    elif action == A.SUBMIT:
        evaluation.scores_submit(user=user, section_id=section_id)
    elif action == A.CONCLUDE:
        evaluation.report_conclude(user=user, section_id=section_id)
    elif action == A.SIGN:
        evaluation.report_sign(user=user, section_id=section_id, agree=agree, reason=reason)
    elif action == A.FINALIZE:
        evaluation.report_finalize(user=user, section_id=section_id)
