"""The checks on a case, each with whether and how it was acknowledged: one read for the
case page, the API (`GET /cases/{id}/checks`) and the CLI (`ratify case checks`), so that
they agree.

The checks are those of `domain.fold.checks.current_checks` (the case as it stands, with its
routing; in draft, the routing it would get if submitted today). They are Part 1: they name
lines, amounts and declaration lines, never Part 2 text. Acknowledgements that no longer
match a check (the facts changed in a revision) are kept as history.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from domain.bounds import quote_id
from domain.clock import london_date
from domain.errors import RulesError
from domain.fold.checks import current_checks
from domain.rules.delegation import Routing, route_case
from domain.rules.findings import CheckKind, Severity
from domain.state import Acknowledgement, CaseState, Stage
from ratify.services.commands import Refusal, Services, today


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class AcknowledgementView(_View):
    """Who acknowledged a check, when, why, and the check as they saw it."""

    check: str
    by: str
    on_behalf_of: str | None
    at: datetime
    reason: str
    subject: str
    message: str

    @classmethod
    def of(cls, ack: Acknowledgement) -> AcknowledgementView:
        return cls(
            check=ack.check,
            by=ack.by.user_id,
            on_behalf_of=ack.by.on_behalf_of,
            at=ack.at,
            reason=ack.reason,
            subject=ack.subject,
            message=ack.message,
        )


class CheckView(_View):
    key: str
    kind: CheckKind
    severity: Severity
    subject: str
    message: str
    #: Whether it still stops the case going on: a FIX check, or an ACKNOWLEDGE check not
    #: acknowledged.
    open: bool
    acknowledgement: AcknowledgementView | None = None


class CaseChecks(_View):
    case_id: str
    version: int
    stage: str
    #: The day the checks were judged on (today; for a decided case, the day of decision).
    judged_on: date
    checks: list[CheckView]
    #: How many checks are open.
    open: int
    #: Acknowledgements of checks the case no longer has (its facts changed since).
    earlier_acknowledgements: list[AcknowledgementView]
    #: Why no checks could be judged (no scheme of delegation in force), if so.
    problem: str | None = None


def checks_of(state: CaseState, on: date) -> CaseChecks:
    """The checks on a case in `state` judged `on` a day (a decided case: the day it was
    decided), each with its acknowledgement."""
    judged_on = london_date(state.decided_at) if state.decided_at is not None else on
    problem = None
    try:
        found = current_checks(state, judged_on)
    except RulesError as exc:
        found, problem = [], str(exc)
    views = []
    for check in found:
        ack = state.acknowledgements.get(check.key)
        acknowledged = ack is not None and check.severity is Severity.ACKNOWLEDGE
        views.append(
            CheckView(
                key=check.key,
                kind=check.kind,
                severity=check.severity,
                subject=check.subject,
                message=check.message,
                open=check.severity is Severity.FIX
                or (check.severity is Severity.ACKNOWLEDGE and not acknowledged),
                acknowledgement=AcknowledgementView.of(ack) if ack and acknowledged else None,
            )
        )
    current = {c.key for c in found}
    return CaseChecks(
        case_id=state.case_id,
        version=state.version,
        stage=state.stage.value,
        judged_on=judged_on,
        checks=views,
        open=sum(1 for v in views if v.open),
        earlier_acknowledgements=[
            AcknowledgementView.of(a)
            for key, a in state.acknowledgements.items()
            if key not in current
        ],
        problem=problem,
    )


def routing_shown(state: CaseState, on: date) -> Routing | None:
    """The routing to show with a case: the one fixed at submission, or for a draft the one
    it would be given if submitted `on` a day (a preview, so that the officer sees which
    appendix each award falls in before submitting); None when there is nothing to judge or
    no rules are in force."""
    if state.routing is not None:
        return state.routing
    if state.case is None or state.stage is not Stage.DRAFT:
        return None
    try:
        return route_case(state.case, on)
    except RulesError:
        return None


def case_checks(services: Services, case_id: str) -> CaseChecks:
    """The checks on a case now, for whoever may read the case: they are Part 1, so the
    caller's sign-in (as for reading the case) is all that is asked."""
    state = services.journal.history(case_id).state
    if state.version == 0:
        raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
    return checks_of(state, today())
