"""An auditor's timeline of a case: every event in order, in plain words.

Each entry says what happened, who did it (and for whom, when a deputy acted), in which
role and when, the rule-set version in force for the case at that step, and, for the
decision, whether it was taken on time against the required-by date. A revision of the
case also carries its diff, section by section (`domain.revisions`); `without_part2` takes
the Part 2 text out of it for readers without Part 2 clearance. Pure: it folds the events
with the same fold the workflows use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain import events as ev
from domain.clock import london_date, long_date
from domain.deadlines import overdue_words
from domain.fold import apply
from domain.fold.drafting import changed_sections
from domain.money import format_pounds
from domain.revisions import SectionDiff, diff_cases, withhold_part2
from domain.rules.findings import GrantGroup, Outcome
from domain.state import CaseState


def recorded_words(event: ev.Event, *, public: bool = False) -> str | None:
    """How a step Ratify did not witness came to be recorded, when its two times differ:
    "recorded 17 March 2022 by rec.rita, from the signed form (DMPC form 512)" ("imported
    ..." for a step from an earlier register); None for a step recorded when it happened
    (same London day, and no provenance). `public` (the register): the date only, without
    who recorded it or the document's reference."""
    if event.effective_at is None:
        return None
    recorded_on = london_date(event.occurred_at)
    prov = event.provenance
    if prov is None and london_date(event.effective_at) == recorded_on:
        return None
    verb = "imported" if prov is not None and prov.how == "imported" else "recorded"
    words = f"{verb} {long_date(recorded_on)}"
    if prov is not None and not public:
        words += f" by {prov.recorded_by}"
        if prov.evidence is not None:
            words += f", {prov.evidence.describe()}"
    return words


def when_words(event: ev.Event, verb: str = "", *, public: bool = False) -> str:
    """When a step happened, and when it was recorded wherever the two differ, in the words
    every reader sees (the timeline, the case page, `ratify case show`, the evidence
    bundle, the register): "signed 14 March 2022, recorded 17 March 2022 by rec.rita, from
    the signed form (DMPC form 512)"; just "signed 14 March 2022" when they do not."""
    words = f"{verb} {long_date(london_date(event.at))}".strip()
    recorded = recorded_words(event, public=public)
    return f"{words}, {recorded}" if recorded else words


def decision_event(events: Iterable[ev.Event]) -> ev.Event | None:
    """The case's decision (approved or declined), if it has one."""
    found = None
    for event in events:
        if isinstance(event, ev.DecisionApproved | ev.DecisionDeclined):
            found = event
    return found


def decided_words(events: Iterable[ev.Event]) -> str | None:
    """ "signed 14 March 2022, recorded 17 March 2022 by ..." of the decision; None before it."""
    event = decision_event(events)
    if event is None:
        return None
    return when_words(event, "signed" if isinstance(event, ev.DecisionApproved) else "declined")


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int
    #: When Ratify recorded the step.
    occurred_at: datetime
    #: When the step happened (the signature's date, the meeting's): `occurred_at` unless
    #: it was taken on paper or imported.
    effective_at: datetime | None = None
    #: Where the two differ: "recorded 17 March 2022 by rec.rita, from the signed form
    #: (DMPC form 512)" (`recorded_words`).
    recorded: str | None = None
    event_type: str
    summary: str
    actor: str
    role: str
    on_behalf_of: str | None
    #: The scheme of delegation and thresholds the case was judged by (after submission).
    rule_set: str | None
    #: For a revision of the case: what changed, section by section. Part 2 sections hold
    #: Part 2 text: give readers without Part 2 clearance `without_part2(entries)`.
    changes: list[SectionDiff] = Field(default_factory=list)


def _label(value: Any) -> str:
    return str(getattr(value, "value", value)).replace("_", " ")


def _submitted(e: ev.CaseSubmitted, before: CaseState, after: CaseState) -> str:
    r = e.routing
    who = "the DMPC" if r.decision_maker.value == "dmpc" else "the MPS (delegated authority)"
    paras = ", ".join(r.paragraphs) or "no DMPC threshold met"
    signoffs = ", ".join(a.label for a in r.required_signoffs)
    summary = (
        f"Submitted by the {r.route.value} route: {who} decides ({paras}); sign-offs: {signoffs}"
    )
    return summary + _grant_outcomes(r.grant_groups)


def _grant_outcomes(groups: list[GrantGroup]) -> str:
    """ "; grants: 4 awards for approval (£612,000: Safer London, ...), 31 noted (£402,118)"."""
    if not groups:
        return ""
    parts = []
    for outcome, words in (
        (Outcome.DMPC_APPROVES, "for the DMPC's approval"),
        (Outcome.DMPC_NOTES, "noted"),
    ):
        chosen = [g for g in groups if g.outcome is outcome]
        if not chosen:
            continue
        total = format_pounds(sum((g.total for g in chosen), Decimal("0.00")))
        names = ", ".join(g.label for g in chosen[:5]) + (", ..." if len(chosen) > 5 else "")
        noun = "award" if len(chosen) == 1 else "awards"
        parts.append(f"{len(chosen)} {noun} {words} ({total}: {names})")
    return "; grants: " + "; ".join(parts)


def _revised(e: ev.CaseRevised, before: CaseState, after: CaseState) -> str:
    sections = changed_sections(before.case, e.case) if before.case else []
    what = ", ".join(s.replace("_", " ") for s in sections) or "no section"
    return f"Revised (version {after.case_revision} of the papers): changed {what}"


def _decided(
    e: ev.DecisionApproved | ev.DecisionDeclined, before: CaseState, after: CaseState
) -> str:
    head = (
        f"Approved as {e.reference}"
        if isinstance(e, ev.DecisionApproved) and e.reference
        else "Approved"
        if isinstance(e, ev.DecisionApproved)
        else "Declined"
    )
    timing = timeliness(after)
    return f"{head}, {timing}" if timing else head


def _decided_with_reason(
    e: ev.DecisionApproved | ev.DecisionDeclined, before: CaseState, after: CaseState
) -> str:
    """ "Declined. Reason: ..." / "Approved as PCD 123, on time (...). Comment: ..."."""
    words = _decided(e, before, after)
    if not e.comment:
        return words
    what = "Comment" if isinstance(e, ev.DecisionApproved) else "Reason"
    return f"{words}. {what}: {e.comment}"


def _board_advice(e: ev.BoardAdviceRecorded, before: CaseState, after: CaseState) -> str:
    """ "Board advice at IAM-1: supported with conditions. Conditions: ... Comment: ..."
    (the conditions' and the comment's line breaks kept)."""
    words = f"Board advice at {e.meeting_id}: {_label(e.advice)}"
    if e.conditions:
        words += f". Conditions:\n{e.conditions}"
    if e.comment:
        words += f"\nComment: {e.comment}" if e.conditions else f". Comment: {e.comment}"
    return words


def _signed_off(e: ev.SignOffGiven, before: CaseState, after: CaseState) -> str:
    words = f"{e.area.label.capitalize()} sign-off given"
    return f"{words}. Comment: {e.comment}" if e.comment else words


def board_advice_event(events: Iterable[ev.Event]) -> ev.BoardAdviceRecorded | None:
    """The board's advice last recorded for the case (its comment is not in the state)."""
    found = None
    for event in events:
        if isinstance(event, ev.BoardAdviceRecorded):
            found = event
    return found


def timeliness(state: CaseState) -> str | None:
    """Whether a decided case was decided by its required-by date, in the words every
    reader sees (the timeline, the case page, `ratify case show`, the API's case view and
    the register entry): "late: required by 13 December 2019, decided 16 December 2019",
    or "on time (required by 13 December 2019)"; None before the decision or without a
    required-by date."""
    if state.decided_at is None or state.required_by is None:
        return None
    if state.late:
        decided = long_date(london_date(state.decided_at))
        return f"late: required by {long_date(state.required_by)}, decided {decided}"
    return f"on time (required by {long_date(state.required_by)})"


SUMMARIES: dict[type[ev.Event], Callable[[Any, CaseState, CaseState], str]] = {
    ev.CaseDrafted: lambda e, b, a: (
        f"Drafted: {e.case.title} ({format_pounds(e.case.total_expenditure)})"
    ),
    ev.CaseRevised: _revised,
    ev.CaseSubmitted: _submitted,
    ev.CaseWithdrawn: lambda e, b, a: f"Withdrawn: {e.reason}",
    ev.CheckAcknowledged: lambda e, b, a: (
        f"Check acknowledged ({e.subject}): {e.message} Reason: {e.reason}"
    ),
    ev.PlacedOnAgenda: lambda e, b, a: (
        f"Placed on the agenda of {e.board.value} meeting {e.meeting_id} "
        f"({long_date(e.meeting_date)})"
    ),
    ev.BoardAdviceRecorded: _board_advice,
    ev.ExtremisAgreed: lambda e, b, a: f"Extremis route agreed by the board chair: {e.reason}",
    ev.SignOffGiven: _signed_off,
    ev.AdviceNotRequired: lambda e, b, a: (
        f"{e.area.label.capitalize()} advice not required: {e.reason}"
    ),
    ev.ChangesRequested: lambda e, b, a: (
        f"{e.area.label.capitalize()} sent the case back for changes: {'; '.join(e.reasons)}"
    ),
    ev.ChiefExecutiveConsulted: lambda e, b, a: "Chief executive consulted and content",
    ev.ChiefExecutiveSentBack: lambda e, b, a: (
        f"Chief executive sent the case back: {'; '.join(e.reasons)}"
    ),
    ev.InterestsDeclared: lambda e, b, a: (
        f"Declared an interest ({e.details}): the alternate decision maker decides"
        if e.has_interest
        else "Declared no personal or prejudicial interest"
    ),
    ev.DecisionApproved: _decided_with_reason,
    ev.DecisionDeclined: _decided_with_reason,
    ev.Part1Published: lambda e, b, a: "Part 1 published on the register",
    ev.Part1Deferred: lambda e, b, a: (
        f"Part 1 publication deferred to {long_date(e.until)}: {e.reason}"
    ),
    ev.Part2ReviewDue: lambda e, b, a: f"Part 2 review due ({long_date(e.review_date)})",
    ev.Part2Published: lambda e, b, a: f"Part 2 published in full: {e.reason}",
    ev.Part2PublishedRedacted: lambda e, b, a: (
        f"Part 2 published with {len(e.redactions)} redaction(s): {e.reason}"
    ),
    ev.Part2ExemptionExtended: lambda e, b, a: (
        f"Part 2 exemption extended to {long_date(e.new_review_date)}: {'; '.join(e.reasons)}"
    ),
    ev.RequiredByChanged: lambda e, b, a: (
        f"Required-by date {'set to ' + long_date(e.required_by) if e.required_by else 'removed'}"
        f": {e.reason}"
    ),
    ev.DeadlineReminderSent: lambda e, b, a: (
        f"Reminder: {e.working_days_before} working day(s) before {long_date(e.required_by)}"
    ),
    ev.DeadlineEscalated: lambda e, b, a: (
        f"Escalated to the {e.escalated_to}: {overdue_words(e.required_by, e.at)}"
    ),
    ev.DeadlineMissed: lambda e, b, a: f"Deadline of {long_date(e.required_by)} missed",
    ev.IrregularityRecorded: lambda e, b, a: f"Irregularity recorded: {e.description}",
    ev.StepDisputed: lambda e, b, a: _disputed(e, b),
}


#: The summaries as evidence bundles wrote them before reasons and comments were shown:
#: a bundle exported then is checked by rendering its report again with these.
BEFORE_REASONS: dict[type[ev.Event], Callable[[Any, CaseState, CaseState], str]] = {
    **SUMMARIES,
    ev.BoardAdviceRecorded: lambda e, b, a: (
        f"Board advice at {e.meeting_id}: {_label(e.advice)}"
        + (f" ({e.conditions})" if e.conditions else "")
    ),
    ev.SignOffGiven: lambda e, b, a: f"{e.area.label.capitalize()} sign-off given",
    ev.DecisionApproved: _decided,
    ev.DecisionDeclined: _decided,
}


def _disputed(e: ev.StepDisputed, before: CaseState) -> str:
    """ "Disputed the step of version 9 (decision approved), recorded on paper by ..."."""
    step = next((p for p in before.paper_steps if p.event_id == e.disputed_event_id), None)
    by = f", recorded on paper by {step.recorded_by}" if step is not None else ""
    what = _label(e.disputed_type.replace(".", " "))
    return f"Disputed the step of version {e.disputed_version} ({what}){by}: {e.reason}"


def timeline(case_id: str, events: list[ev.Event], *, reasons: bool = True) -> list[TimelineEntry]:
    """The case's events in order, each with its summary and the rules then in force; the
    decision's comment or reason, the board's comment and conditions and each adviser's
    comment in the summaries (`reasons=False`: without them, as bundles exported before
    they were shown have it)."""
    summaries = SUMMARIES if reasons else BEFORE_REASONS
    state = CaseState(case_id=case_id)
    entries = []
    for event in events:
        before, state = state, apply(state, event)
        summarise = summaries.get(type(event))
        summary = summarise(event, before, state) if summarise else event.TYPE
        changes = (
            diff_cases(before.case, event.case)
            if isinstance(event, ev.CaseRevised) and before.case is not None
            else []
        )
        entries.append(
            TimelineEntry(
                version=state.version,
                occurred_at=event.occurred_at,
                effective_at=event.at,
                recorded=recorded_words(event),
                event_type=event.TYPE,
                summary=summary,
                actor=event.actor.user_id,
                role=event.actor.role.value,
                on_behalf_of=event.actor.on_behalf_of,
                rule_set=state.routing.rule_set.label if state.routing else None,
                changes=changes,
            )
        )
    return entries


def without_part2(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """The entries as a reader without Part 2 clearance may see them: each Part 2 section
    of a revision says only that Part 2 changed, with none of its text. (The summaries
    never carry Part 2 text: a revision's summary names the sections changed.)"""
    return [
        e.model_copy(update={"changes": withhold_part2(e.changes)})
        if any(d.is_part2 for d in e.changes)
        else e
        for e in entries
    ]
