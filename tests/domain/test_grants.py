"""Grants to third parties: which lines are one award, which appendix each falls in, and
the splitting warnings the officer must fix or acknowledge (issue 14)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.rules.delegation import DecisionMaker, Outcome, Routing, route_case
from domain.rules.findings import CheckKind, Severity, recipient_key
from domain.rules.grants import declared_group_key
from tests.factories import make_case

ON = date(2019, 11, 20)
REFERENCE = "grants to third parties"


def _grant(recipient: str | None, amount: str, purpose: str = "Youth mentoring", **more: Any):
    line: dict[str, Any] = {"recipient": recipient, "amount": amount, "purpose": purpose}
    return {**line, **more}


def _route(*grants: dict[str, Any]) -> Routing:
    case = make_case(
        grant_lines=list(grants), approval_sought=["third_party_grants"], money_lines=[]
    )
    return route_case(case, ON)


def _outcomes(routing: Routing) -> list[Outcome]:
    return [line.outcome for line in routing.grant_lines]


# -- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "Bright Futures Ltd",
        "bright futures",
        "The Bright Futures Limited",
        "BRIGHT FUTURES LTD.",
        "Bright  Futures, Ltd",
        "Bright-Futures plc",
        "Bright Futures LLP",
        "Bright Futures C.I.C.",
        "Bright Futures CIO",
        "Bright Futures Community Interest Company",
    ],
)
def test_a_recipient_is_one_organisation_whatever_its_case_punctuation_and_legal_form(variant):
    assert recipient_key(variant) == "bright futures"


def test_and_and_ampersand_apostrophes_and_a_name_of_legal_words_only():
    assert recipient_key("Women & Girls Network") == recipient_key("Women and Girls Network")
    assert recipient_key("St Giles' Trust") == recipient_key("St Giles Trust")
    assert recipient_key("The Limited") == recipient_key("Limited") == "limited"
    assert recipient_key("Victim Support") != recipient_key("Victim Support Trust")


# -- the cases -------------------------------------------------------------------


def test_an_unrelated_small_award_in_its_own_group_stays_noted_and_is_flagged():
    routing = _route(
        _grant("Bright Futures Ltd", "30000", "Mentoring phase 1", group="Youth mentoring"),
        _grant("Bright Futures Ltd", "40000", "Mentoring phase 2", group="Youth mentoring"),
        _grant("Bright Futures", "12000", "Summer football tournament", group="Summer sport"),
    )
    assert _outcomes(routing) == [Outcome.DMPC_APPROVES] * 2 + [Outcome.DMPC_NOTES]
    assert [line.tested_amount for line in routing.grant_lines] == [
        Decimal("70000.00"),
        Decimal("70000.00"),
        Decimal("12000.00"),
    ]
    [warning] = routing.warnings
    assert warning.kind is CheckKind.SPLITTING and warning.severity is Severity.ACKNOWLEDGE
    assert warning.subject == "grant lines 1, 2 and 3 (Bright Futures Ltd)"
    assert (
        'group "Youth mentoring" (grant lines 1 and 2 to "Bright Futures Ltd", £70,000 in '
        'total: approve); group "Summer sport" (grant line 3 to "Bright Futures", £12,000: '
        "note)"
    ) in warning.message
    assert "confirm with a reason that the awards are unrelated" in warning.message


def test_three_lines_of_one_award_with_slightly_different_names_are_added_together():
    routing = _route(
        _grant("Bright Futures Ltd", "20000", "Phase 1"),
        _grant("Bright Futures", "20000", "Phase 2"),
        _grant("The Bright Futures Limited", "20000", "Phase 3"),
    )
    assert _outcomes(routing) == [Outcome.DMPC_APPROVES] * 3
    assert routing.decision_maker is DecisionMaker.DMPC
    [group] = routing.grant_groups
    assert (group.kind, group.lines, group.total) == ("recipient", [0, 1, 2], Decimal("60000"))
    assert group.label == "Bright Futures Ltd"
    assert routing.grant_lines[2].explanation == (
        "grant of £20,000 to The Bright Futures Limited: £60,000 (the total of the ungrouped "
        "grants to Bright Futures Ltd: grant lines 1, 2 and 3 added together as one award) is "
        "at or above the £50,000 threshold, so the DMPC approves under grants to third parties."
    )
    assert routing.warnings == []


def _batch(
    total: str, largest: str, count: int = 23, recipients: list[str] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "amount": total,
        "purpose": "Further grants, each under £50,000",
        "batch": {"count": count, "largest": largest, "recipients": recipients or []},
        **more,
    }


def test_a_batch_of_small_grants_is_tested_by_its_largest_award_not_its_total():
    routing = _route(_batch("402118", "49500"))
    [line] = routing.grant_lines
    assert line.outcome is Outcome.DMPC_NOTES
    assert (line.amount, line.tested_amount, line.batch_count) == (
        Decimal("402118"),
        Decimal("49500"),
        23,
    )
    assert routing.decision_maker is DecisionMaker.MPS_DELEGATED
    [finding] = routing.grants(Outcome.DMPC_NOTES)
    assert finding.subject == "23 grants totalling £402,118, largest £49,500"
    assert finding.amount == Decimal("49500")
    assert "never the batch's total" in finding.explanation
    [group] = routing.grant_groups
    assert (group.kind, group.total, group.tested_amount) == (
        "batch",
        Decimal("402118"),
        Decimal("49500"),
    )


def test_a_batch_whose_largest_award_is_over_the_threshold_needs_approval():
    routing = _route(_batch("402118", "60000"))
    assert _outcomes(routing) == [Outcome.DMPC_APPROVES]
    assert routing.grant_lines[0].tested_amount == Decimal("60000")
    assert routing.paragraphs == [REFERENCE]


def test_group_totals_outcomes_and_paragraphs_are_in_the_answer():
    routing = _route(
        _grant("Safer London", "30000", "Outreach, Lambeth", group="Youth Violence Fund 2019-22"),
        _grant("Safer London", "30000", "Outreach, Southwark", group="youth violence fund 2019 22"),
        _grant("Victim Support", "20000", "Helpline"),
        _batch("402118", "49500", id="B1"),
    )
    fund, victim, batch = routing.grant_groups
    assert (fund.kind, fund.label, fund.lines) == (
        "declared",
        "Youth Violence Fund 2019-22",
        [0, 1],
    )
    assert (fund.total, fund.threshold, fund.outcome, fund.reference) == (
        Decimal("60000"),
        Decimal("50000"),
        Outcome.DMPC_APPROVES,
        REFERENCE,
    )
    assert fund.explanation == (
        'group "Youth Violence Fund 2019-22" (grant lines 1 and 2): £60,000 in total is at '
        "or above the £50,000 threshold, so the DMPC approves under grants to third parties."
    )
    assert (victim.kind, victim.total, victim.outcome) == (
        "recipient",
        Decimal("20000"),
        Outcome.DMPC_NOTES,
    )
    assert (batch.kind, batch.lines, batch.outcome) == ("batch", [3], Outcome.DMPC_NOTES)
    assert [line.group for line in routing.grant_lines] == [
        fund.key,
        fund.key,
        victim.key,
        batch.key,
    ]
    assert fund.key == declared_group_key("YOUTH VIOLENCE FUND 2019/22")
    assert routing.grant_lines[3].line_id == "B1"
    assert [line.reference for line in routing.grant_lines] == [REFERENCE] * 4
    assert 'the total of group "Youth Violence Fund 2019-22"' in routing.grant_lines[0].explanation
    assert routing.paragraphs == [REFERENCE]
    assert [f.subject for f in routing.grants(Outcome.DMPC_APPROVES)] == [
        "grant of £30,000 to Safer London",
        "grant of £30,000 to Safer London",
    ]
    assert len(routing.grants(Outcome.DMPC_NOTES)) == 2


def test_a_declared_group_of_one_line_is_tested_on_its_own():
    routing = _route(_grant("Safer London", "45000", group="Knife crime pilot"))
    [line] = routing.grant_lines
    assert line.outcome is Outcome.DMPC_NOTES
    assert 'the total of group "Knife crime pilot", which has only this line' in line.explanation


def test_groups_of_different_recipients_are_tested_on_their_own_without_warnings():
    routing = _route(
        _grant("Safer London", "45000", "Outreach", group="Safer London outreach"),
        _grant("Victim Support", "45000", "Outreach", group="Victim Support outreach"),
    )
    assert _outcomes(routing) == [Outcome.DMPC_NOTES] * 2
    assert routing.warnings == []


# -- splitting warnings ------------------------------------------------------------------


def test_groups_that_look_like_one_award_split_under_the_threshold_are_flagged_once():
    routing = _route(
        _grant("Safer London", "45000", "Knife crime outreach in Lambeth", group="Lambeth"),
        _grant("Safer London Ltd", "46000", "Knife crime outreach in Southwark", group="Southwark"),
    )
    assert _outcomes(routing) == [Outcome.DMPC_NOTES] * 2
    [warning] = routing.warnings
    assert warning.subject == "grant lines 1 and 2 (Safer London)"
    assert warning.message.startswith("2 groups look like one award split up")
    assert "share knife, crime and outreach" in warning.message
    assert "together they come to £91,000, at or over it" in warning.message
    assert warning.message.endswith(
        "Confirm with a reason that the awards are unrelated, or put the lines in one group."
    )


def test_near_identical_recipients_of_one_purpose_just_under_the_threshold_are_flagged():
    routing = _route(
        _grant("Safer London", "45000", "Knife crime outreach", group="Lambeth"),
        _grant("Safer Londn", "46000", "Knife crime outreach", group="Southwark"),
    )
    [warning] = routing.warnings
    assert "look like one award split up" in warning.message
    assert '("Safer London" and "Safer Londn")' in warning.message


def test_groups_of_one_recipient_for_different_purposes_get_the_plain_warning():
    routing = _route(
        _grant("Safer London", "45000", "Knife crime outreach", group="Outreach"),
        _grant("Safer London", "46000", "Staff training on safeguarding", group="Training"),
    )
    [warning] = routing.warnings
    assert "look like one award" not in warning.message
    assert "one recipient" in warning.message and "in 2 groups" in warning.message


def test_names_that_differ_only_slightly_are_flagged():
    routing = _route(
        _grant("Bright Futures Trust", "20000", "Mentoring"),
        _grant("Brightside", "5000", "Outreach"),
        _grant("Bright Futures Trsut", "20000", "Mentoring"),
    )
    assert _outcomes(routing) == [Outcome.DMPC_NOTES] * 3
    [warning] = routing.warnings
    assert warning.subject == (
        'grant lines 1 and 3 ("Bright Futures Trust" and "Bright Futures Trsut")'
    )
    assert warning.message.startswith(
        '"Bright Futures Trust" (grant line 1) and "Bright Futures Trsut" (grant line 3) '
        "differ only slightly"
    )
    assert "correct the name or put the lines in one group" in warning.message


def test_slightly_different_names_in_one_declared_group_raise_nothing():
    routing = _route(
        _grant("Bright Futures Trust", "20000", group="Mentoring"),
        _grant("Bright Futures Trsut", "20000", group="Mentoring"),
    )
    assert routing.warnings == []
    assert routing.grant_groups[0].total == Decimal("40000")


def test_a_recipient_named_in_a_batch_and_on_its_own_line_is_flagged():
    routing = _route(
        _grant("Victim Support", "20000", "Helpline"),
        _batch("402118", "49500", recipients=["Safer London", "Victim Support Ltd"]),
    )
    [warning] = routing.warnings
    assert warning.subject == "grant lines 1 and 2 (Victim Support)"
    assert (
        'the batch at grant line 2 (naming "Victim Support Ltd"; largest award £49,500: note)'
        in warning.message
    )


def test_a_recipient_in_one_group_only_raises_no_warning():
    routing = _route(
        _grant("Bright Futures", "30000", "Phase 1", group="Mentoring"),
        _grant("Bright Futures Ltd", "30000", "Phase 2", group="Mentoring"),
        _grant("Victim Support", "1000", "Helpline"),
    )
    assert routing.warnings == []
    assert _outcomes(routing) == [Outcome.DMPC_APPROVES] * 2 + [Outcome.DMPC_NOTES]


def test_a_warning_keeps_its_key_for_the_same_facts_and_changes_it_for_new_ones():
    lines = [
        _grant("Bright Futures", "30000", "Mentoring", group="Mentoring"),
        _grant("Bright Futures", "12000", "Football", group="Football"),
    ]
    first, again = _route(*lines).warnings, _route(*lines).warnings
    assert first == again
    changed = _route(lines[0], {**lines[1], "amount": "13000"}).warnings
    assert changed[0].key != first[0].key


def test_a_warning_about_many_groups_lists_a_dozen_and_counts_the_rest():
    routing = _route(
        *(_grant("Safer London", "1000", f"Project {i}", group=f"Project {i}") for i in range(40))
    )
    [warning] = routing.warnings
    assert "and 28 more groups" in warning.message
    assert warning.subject == (
        "grant lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 28 others (Safer London)"
    )


BOROUGHS = [
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon",
    "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey",
    "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
    "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
    "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
]  # fmt: skip


def test_one_programme_to_each_london_borough_raises_no_warning():
    # Alike by ratio alone ("London Borough of Barnet" and "... of Brent": 0.94; "... of
    # Merton" and "... of Sutton": 0.88), but different councils, not a typing slip.
    routing = _route(
        *(
            _grant(f"London Borough of {b}", "45000", "Violence reduction: local action plan")
            for b in BOROUGHS
        )
    )
    assert _outcomes(routing) == [Outcome.DMPC_NOTES] * 32
    assert routing.warnings == []
