"""The checks in the fold: an acknowledgement is an event the state keeps, and a new
submission (or a revision that sends the case back on its way) is refused while checks are
open. Stored histories fold whatever the checks say (`apply`)."""

from __future__ import annotations

from typing import Any

from domain import events as ev
from domain.clock import london_date
from domain.fold import apply_new
from domain.fold.checks import current_checks, open_checks
from domain.roles import Actor, Role
from domain.rules.delegation import route_case
from domain.rules.findings import Check, Severity
from domain.state import Stage
from domain.timeline import timeline
from tests.domain.test_fold import CASE_ID, Story
from tests.factories import LEGAL, OFFICER, SECRETARIAT, case_data

OTHER_OFFICER = Actor(user_id="officer.olga", role=Role.ORIGINATING_OFFICER)


def mismatched(**overrides: Any) -> dict[str, Any]:
    """A case whose recommendation asks for £650,000 of a £600,000 money line."""
    data = case_data(**overrides)
    data["money_lines"] = [{**data["money_lines"][0], "id": "M1"}]
    data["recommendations"] = [
        {"number": 1, "text": "Approve £650,000.", "covers": ["M1"], "amount": "650000"}
    ]
    return data


def drafted(**overrides: Any) -> Story:
    s = Story()
    s.case = s.case.model_validate(mismatched(**overrides))
    s.do(ev.CaseDrafted, OFFICER, case=s.case)
    return s


def the_check(s: Story) -> Check:
    [check] = open_checks(s.state, current_checks(s.state, london_date(s.clock.now)))
    return check


def acknowledge(s: Story, check: Check, actor: Actor = OFFICER, **fields: Any) -> dict[str, Any]:
    return {
        "check": check.key,
        "reason": "The £50,000 contingency is in the reserve, not a money line.",
        "subject": check.subject,
        "message": check.message,
        **fields,
    }


def routing_now(s: Story) -> Any:
    return route_case(s.case, london_date(s.clock.now))


def test_a_submission_with_an_open_check_is_refused_naming_it():
    s = drafted()
    check = the_check(s)
    assert check.severity is Severity.ACKNOWLEDGE
    message = s.refused_new(ev.CaseSubmitted, OFFICER, "checks_open", routing=routing_now(s))
    assert message.startswith("the case cannot be submitted: 1 check(s) open")
    assert "Recommendation 1 states £650,000" in message
    assert f"(check {check.key})" in message


def test_an_acknowledged_check_lets_the_case_be_submitted_and_is_kept_in_the_state():
    s = drafted()
    check = the_check(s)
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, check))
    kept = s.state.acknowledgements[check.key]
    assert (kept.by, kept.subject, kept.message) == (OFFICER, check.subject, check.message)
    assert kept.reason.startswith("The £50,000 contingency")
    assert open_checks(s.state, current_checks(s.state, london_date(s.clock.now))) == []
    assert s.new(ev.CaseSubmitted, OFFICER, routing=routing_now(s)).stage is Stage.BOARD
    entry = timeline(CASE_ID, s.events)[1]
    assert entry.event_type == "case.check_acknowledged"
    assert entry.summary.startswith("Check acknowledged (recommendation 1): Recommendation 1")
    assert entry.summary.endswith("Reason: " + kept.reason)


def test_only_a_current_acknowledge_check_can_be_acknowledged():
    s = drafted(
        officer_declaration={
            **case_data()["officer_declaration"],
            "legal_advice": {"confirmed": False, "statement": "Legal advice taken."},
        }
    )
    checks = current_checks(s.state, london_date(s.clock.now))
    fix = next(c for c in checks if c.severity is Severity.FIX)
    ack = next(c for c in checks if c.severity is Severity.ACKNOWLEDGE)
    unknown = ack.model_copy(update={"key": "recommendation:000000000000"})
    message = s.refused_new(ev.CheckAcknowledged, OFFICER, "invalid", **acknowledge(s, unknown))
    assert "recommendation:000000000000 is not a check on this case" in message
    assert ack.key in message
    s.refused_new(ev.CheckAcknowledged, OFFICER, "invalid", **acknowledge(s, fix))
    misquoted = acknowledge(s, ack, message="Nothing to see.")
    s.refused_new(ev.CheckAcknowledged, OFFICER, "invalid", **misquoted)
    s.refused_new(ev.CheckAcknowledged, OTHER_OFFICER, "not_case_officer", **acknowledge(s, ack))
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, ack))
    s.refused_new(ev.CheckAcknowledged, OFFICER, "already_done", **acknowledge(s, ack))
    # The declaration is FIX: acknowledging the rest does not let the case go.
    message = s.refused_new(ev.CaseSubmitted, OFFICER, "checks_open", routing=routing_now(s))
    assert "officer_declaration.legal_advice: not ticked and no reason given" in message


def test_checks_are_acknowledged_by_an_officer_until_the_case_is_decided():
    s = drafted()
    check = the_check(s)
    s.refused(ev.CheckAcknowledged, LEGAL, "wrong_role", **acknowledge(s, check))
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, check))
    s.new(ev.CaseSubmitted, OFFICER, routing=routing_now(s))
    s.do(ev.CaseWithdrawn, OFFICER, reason="Superseded by a new paper.")
    s.refused(ev.CheckAcknowledged, OFFICER, "wrong_stage", **acknowledge(s, check))


def test_a_check_a_revision_raises_goes_on_open_and_is_acknowledged_where_the_case_is():
    s = drafted()
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, the_check(s)))
    s.new(ev.CaseSubmitted, OFFICER, routing=routing_now(s))
    s.do(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        meeting_id="IAM-1",
        board="IAM",
        meeting_date=s.clock.now.date(),
    )
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-1", advice="supported")
    s.do(ev.ChangesRequested, LEGAL, area="legal", reasons=["The amount is wrong."])
    data = s.case.model_dump(mode="json")
    data["recommendations"][0]["amount"] = "640000"
    revised = s.case.model_validate(data)
    routing = route_case(revised, s.state.routing.judged_on)  # type: ignore[union-attr]
    assert s.new(ev.CaseRevised, OFFICER, case=revised, routing=routing).stage is Stage.ADVICE
    s.case = revised
    raised = the_check(s)
    assert "£640,000" in raised.message
    # Every approver sees it open until the officer acknowledges it, at the advice stage.
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, raised))
    assert raised.key in s.state.acknowledgements
    assert open_checks(s.state, current_checks(s.state, london_date(s.clock.now))) == []


def test_a_stored_submission_with_open_checks_still_folds():
    s = drafted()
    assert s.do(ev.CaseSubmitted, OFFICER, routing=routing_now(s)).stage is Stage.BOARD
    # A step of a run recorded before the rule: its handler folds without it.
    t = drafted()
    event = t.make(ev.CaseSubmitted, OFFICER, routing=routing_now(t))
    assert apply_new(t.state, event, with_checks=False).stage is Stage.BOARD


def test_a_revision_after_changes_requested_may_not_leave_a_fix_check():
    s = drafted()
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, the_check(s)))
    s.new(ev.CaseSubmitted, OFFICER, routing=routing_now(s))
    s.do(
        ev.PlacedOnAgenda,
        SECRETARIAT,
        meeting_id="IAM-1",
        board="IAM",
        meeting_date=s.clock.now.date(),
    )
    s.do(ev.BoardAdviceRecorded, SECRETARIAT, meeting_id="IAM-1", advice="supported")
    s.do(ev.ChangesRequested, LEGAL, area="legal", reasons=["Say why legal is not needed."])
    data = s.case.model_dump(mode="json")
    data["officer_declaration"]["legal_advice"] = {"confirmed": False, "statement": "Legal."}
    unexplained = s.case.model_validate(data)
    routing = route_case(unexplained, s.state.routing.judged_on)  # type: ignore[union-attr]
    message = s.refused_new(
        ev.CaseRevised, OFFICER, "checks_open", case=unexplained, routing=routing
    )
    assert message.startswith("the case cannot be revised: 1 check(s) open")
    assert "officer_declaration.legal_advice" in message
    # Unchanged facts keep the key, so the acknowledgement still covers the mismatch; and
    # a revision that only explains the line goes on.
    data["officer_declaration"]["legal_advice"]["reason"] = "No legal question arises."
    explained = s.case.model_validate(data)
    assert s.new(ev.CaseRevised, OFFICER, case=explained, routing=routing).stage is Stage.ADVICE


def test_a_revision_that_changes_the_facts_leaves_the_old_acknowledgement_as_history():
    s = drafted()
    check = the_check(s)
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, check))
    data = s.case.model_dump(mode="json")
    data["recommendations"][0]["amount"] = "640000"
    s.case = s.case.model_validate(data)
    s.new(ev.CaseRevised, OFFICER, case=s.case)
    changed = the_check(s)
    assert changed.key != check.key and "£640,000" in changed.message
    assert check.key in s.state.acknowledgements
    s.refused_new(ev.CaseSubmitted, OFFICER, "checks_open", routing=routing_now(s))
