"""`case_checks`: what the officer must see before submission, built from the case and its
routing: recommendations against the routing, tables that do not add up, the officer
declaration, a required-by date already past, and the engine's own warnings."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.case import Case
from domain.rules.checks import case_checks
from domain.rules.delegation import Routing, route_case
from domain.rules.findings import (
    CheckKind,
    GrantLineOutcome,
    Outcome,
    Severity,
    make_check,
)
from tests.factories import make_case

DAY = date(2019, 11, 18)
PARA = "Scheme of Delegation para 4.8"


def grants_case(recommendations: list[dict[str, Any]], **overrides: Any) -> Case:
    """Three grants: G1 £60,000 and G3 £30,000 in the group 'Youth Fund', G2 £20,000."""
    return make_case(
        approval_sought=["third_party_grants"],
        money_lines=[],
        grant_lines=[
            {
                "id": "G1",
                "recipient": "Safer London",
                "amount": "60000",
                "purpose": "Youth work",
                "group": "Youth Fund",
            },
            {"id": "G2", "recipient": "Bright Futures", "amount": "20000", "purpose": "Mentoring"},
            {
                "id": "G3",
                "recipient": "Safer London",
                "amount": "30000",
                "purpose": "Youth work, phase 2",
                "group": "Youth Fund",
            },
        ],
        recommendations=recommendations,
        **overrides,
    )


def judged(case: Case, outcomes: dict[str, Outcome] | None = None) -> Routing:
    """The case's routing, with per-line grant outcomes as the grants engine gives them:
    by default G1 and G3 (one award of £90,000) approved, G2 (£20,000) noted."""
    outcomes = outcomes or {"G1": Outcome.DMPC_APPROVES, "G2": Outcome.DMPC_NOTES}
    outcomes.setdefault("G3", outcomes.get("G1", Outcome.DMPC_APPROVES))
    routing = route_case(case, DAY)
    lines = [
        GrantLineOutcome(
            index=index,
            line_id=grant.id,
            recipient=grant.recipient,
            amount=grant.amount,
            group=grant.group or grant.recipient or "",
            tested_amount=grant.amount,
            outcome=outcomes[grant.id or ""],
            reference=PARA,
            explanation="as tested",
        )
        for index, grant in enumerate(case.grant_lines)
    ]
    return routing.model_copy(update={"grant_lines": lines})


def rec(number: int, action: str, covers: list[str], amount: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": number,
        "text": f"Recommendation {number}",
        "action": action,
        "covers": covers,
    }
    if amount is not None:
        data["amount"] = amount
    return data


def messages(case: Case, routing: Routing, kind: CheckKind) -> list[str]:
    return [c.message for c in case_checks(case, routing, DAY) if c.kind is kind]


# -- recommendations against the routing -----------------------------------------------------


def test_recommendations_that_match_the_routing_raise_nothing():
    case = grants_case(
        [rec(1, "approve", ["Youth Fund"], "90000"), rec(2, "note", ["G2"], "20000")]
    )
    assert case_checks(case, judged(case), DAY) == []


def test_an_amount_that_is_not_the_sum_of_its_lines_names_both_amounts_and_the_lines():
    case = grants_case([rec(1, "approve", ["G1", "G3"], "95000"), rec(2, "note", ["G2"])])
    checks = case_checks(case, judged(case), DAY)
    assert [(c.kind, c.severity, c.subject) for c in checks] == [
        (CheckKind.RECOMMENDATION, Severity.ACKNOWLEDGE, "recommendation 1")
    ]
    message = checks[0].message
    assert "Recommendation 1 states £95,000" in message
    assert "add up to £90,000" in message
    assert "grant line 1 (G1, Safer London): £60,000" in message
    assert "grant line 3 (G3, Safer London): £30,000" in message


def test_a_line_the_dmpc_must_approve_that_no_approve_recommendation_covers():
    case = grants_case([rec(1, "approve", ["G1"]), rec(2, "note", ["G2"])])
    assert messages(case, judged(case), CheckKind.RECOMMENDATION) == [
        "The routing says the DMPC must approve grant line 3 (G3, Safer London) (£30,000, "
        f"{PARA}), but no recommendation to approve covers it."
    ]


def test_a_recommendation_to_approve_a_line_the_dmpc_only_notes():
    case = grants_case([rec(1, "approve", ["Youth Fund", "G2"])])
    assert messages(case, judged(case), CheckKind.RECOMMENDATION) == [
        "Recommendation 1 asks the DMPC to approve grant line 2 (G2, Bright Futures) "
        f"(£20,000), but the routing says the DMPC only notes it ({PARA})."
    ]


def test_a_recommendation_to_note_a_line_the_dmpc_must_approve():
    # The case: the engine moved G2 from "noted" to "approve" (one organisation's
    # awards added together), and the paper's own recommendation still only notes it.
    case = grants_case([rec(1, "approve", ["Youth Fund"]), rec(2, "note", ["G2"])])
    routing = judged(case, {"G1": Outcome.DMPC_APPROVES, "G2": Outcome.DMPC_APPROVES})
    assert messages(case, routing, CheckKind.RECOMMENDATION) == [
        "Recommendation 2 asks the DMPC to note grant line 2 (G2, Bright Futures) (£20,000), "
        f"but the routing says the DMPC must approve it ({PARA}).",
        "The routing says the DMPC must approve grant line 2 (G2, Bright Futures) (£20,000, "
        f"{PARA}), but no recommendation to approve covers it.",
    ]


def test_without_covers_only_the_coarse_check_applies():
    noting = make_case(recommendations=[{"number": 1, "text": "Note it.", "action": "note"}])
    routing = route_case(noting, DAY)
    [message] = messages(noting, routing, CheckKind.RECOMMENDATION)
    assert message.startswith("The routing says the DMPC must approve this case (para 4.8)")
    assert "every recommendation only asks the DMPC to note" in message
    approving = make_case()
    assert messages(approving, route_case(approving, DAY), CheckKind.RECOMMENDATION) == []


def test_a_contract_is_matched_to_its_finding_in_the_routing():
    case = make_case(
        approval_sought=["procurement"],
        money_lines=[],
        procurements=[
            {
                "id": "P1",
                "subject": "Data platform",
                "route": "open_tender",
                "contract_value": "750000",
                "vat_included": False,
            }
        ],
        recommendations=[rec(1, "note", ["P1"], "750000")],
    )
    assert messages(case, route_case(case, DAY), CheckKind.RECOMMENDATION) == [
        "Recommendation 1 asks the DMPC to note procurement 1 (P1, Data platform) (£750,000), "
        "but the routing says the DMPC must approve it (para 4.13).",
        "The routing says the DMPC must approve procurement 1 (P1, Data platform) (£750,000, "
        "para 4.13), but no recommendation to approve covers it.",
    ]


# -- financial tables ------------------------------------------------------------------------


def table(rows: list[tuple[str, list[str | None], bool]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "T1",
        "title": "Budget",
        "columns": extra.pop("columns", ["2019/20", "2020/21"]),
        "rows": [
            {"label": label, "amounts": amounts, "total": total} for label, amounts, total in rows
        ],
        **extra,
    }


def figures(*tables: dict[str, Any]) -> list[str]:
    case = make_case(financial_tables=list(tables))
    return messages(case, route_case(case, DAY), CheckKind.FIGURES)


def test_a_total_row_that_adds_up_raises_nothing():
    assert (
        figures(
            table(
                [
                    ("Staff", ["100", "200"], False),
                    ("Kit", ["50", None], False),
                    ("Total", ["150", "200"], True),
                ]
            )
        )
        == []
    )


def test_a_total_row_that_does_not_add_up_names_table_row_column_and_both_amounts():
    assert figures(
        table(
            [
                ("Staff", ["100", "200"], False),
                ("Kit", ["50", "-25"], False),
                ("Total", ["150", "180"], True),
            ]
        )
    ) == [
        "In table 1 (T1, Budget), row 3 (Total) states £180 in column 2020/21, but the rows "
        "it totals add up to £175."
    ]


def test_a_total_adds_the_rows_back_to_the_previous_total_only():
    assert figures(
        table(
            [
                ("A", ["10", None], False),
                ("Subtotal", ["10", None], True),
                ("B", ["5", None], False),
                ("Total", ["15", None], True),
            ]
        )
    ) == [
        "In table 1 (T1, Budget), row 4 (Total) states £15 in column 2019/20, but the rows "
        "it totals add up to £5."
    ]


def test_blank_cells_count_only_where_the_span_has_a_value():
    # Column 2 is blank above the total: nothing to add up, whatever the total says.
    assert (
        figures(
            table(
                [("A", ["10", None], False), ("B", [None, None], False), ("T", ["10", "99"], True)]
            )
        )
        == []
    )


def test_a_total_column_must_be_the_sum_of_the_row():
    assert figures(
        table(
            [("Capital", ["100", "50", "150"], False), ("Revenue", ["10", None, "20"], False)],
            columns=["2019/20", "2020/21", "Total"],
            total_column=True,
        )
    ) == [
        "In table 1 (T1, Budget), row 2 (Revenue) states £20 in column Total, but its other "
        "columns add up to £10."
    ]


# -- the officer declaration and the required-by date ----------------------------------------


def declaration(**items: dict[str, Any]) -> dict[str, Any]:
    tick = {"confirmed": True, "statement": "Done."}
    names = (
        "financial_advice",
        "legal_advice",
        "equalities_advice",
        "commercial_issues",
        "gdpr_data_privacy",
        "director_head_of_service",
    )
    return {name: items.get(name, tick) for name in names}


def test_each_line_neither_ticked_nor_explained_must_be_fixed():
    unticked = {"confirmed": False, "statement": "Legal advice taken."}
    explained = {**unticked, "reason": "Legal advice is not needed for a grant renewal."}
    case = make_case(
        officer_declaration=declaration(legal_advice=unticked, equalities_advice=explained)
    )
    checks = case_checks(case, route_case(case, DAY), DAY)
    assert [(c.kind, c.severity, c.subject, c.message) for c in checks] == [
        (
            CheckKind.DECLARATION,
            Severity.FIX,
            "officer_declaration.legal_advice",
            "officer_declaration.legal_advice: not ticked and no reason given",
        )
    ]


def test_a_declaration_with_every_line_unticked_says_so():
    unticked = {"confirmed": False, "statement": "Advice."}
    all_off = {name: unticked for name in declaration()}
    case = make_case(officer_declaration=all_off)
    checks = case_checks(case, route_case(case, DAY), DAY)
    assert all(c.severity is Severity.FIX for c in checks)
    assert checks[0].message.startswith("Every line of the officer declaration is unticked (")
    assert len(checks) == 1 + 6


def test_a_required_by_date_already_past_is_shown_and_its_key_does_not_change_daily():
    case = make_case(time_sensitivity={"required_by": "2019-11-01", "reason": "Contract ends."})
    routing = route_case(case, DAY)
    [check] = case_checks(case, routing, DAY)
    assert (check.kind, check.severity) == (CheckKind.REQUIRED_BY, Severity.INFO)
    assert "required by 1 November 2019, a date that has already passed" in check.message
    assert case_checks(case, routing, date(2019, 12, 25)) == [check]
    assert case_checks(case, routing, date(2019, 11, 1)) == []


# -- keys and order --------------------------------------------------------------------------


def test_the_engines_warnings_come_first_and_keys_follow_the_facts():
    case = grants_case([rec(1, "approve", ["G1", "G3"], "95000"), rec(2, "note", ["G2"])])
    warning = make_check(
        CheckKind.SPLITTING, Severity.ACKNOWLEDGE, "grant lines 1 and 2", "May be one award."
    )
    routing = judged(case).model_copy(update={"warnings": [warning]})
    first = case_checks(case, routing, DAY)
    assert [c.kind for c in first] == [CheckKind.SPLITTING, CheckKind.RECOMMENDATION]
    assert case_checks(case, routing, DAY) == first
    revised = grants_case([rec(1, "approve", ["G1", "G3"], "96000"), rec(2, "note", ["G2"])])
    again = case_checks(revised, routing, DAY)
    assert again[0].key == first[0].key
    assert again[1].key != first[1].key
    assert again[1].key.startswith("recommendation:")


def test_a_message_names_at_most_ten_lines_and_counts_the_rest():
    grants = [
        {"id": f"G{n}", "recipient": f"Group {n}", "amount": "1000", "purpose": "Youth work"}
        for n in range(1, 31)
    ]
    case = make_case(
        approval_sought=["third_party_grants"],
        money_lines=[],
        grant_lines=grants,
        recommendations=[rec(1, "note", [g["id"] for g in grants], "1")],
    )
    routing = judged(case, {g["id"]: Outcome.DMPC_NOTES for g in grants})
    [message] = messages(case, routing, CheckKind.RECOMMENDATION)
    assert "grant line 10 (G10, Group 10): £1,000; and 20 more line(s)" in message
    assert "G11" not in message and "add up to £30,000" in message


def test_a_large_table_typed_wrong_is_one_check_naming_its_first_mismatches():
    # 500 rows by 40 columns, every stated total wrong: one thing to fix or acknowledge,
    # not the 10,000 checks one a cell would make (each acknowledgement an event).
    rows: list[tuple[str, list[str | None], bool]] = [
        (f"r{r}", [str(r + c) for c in range(40)], r % 2 == 1) for r in range(500)
    ]
    case = make_case(
        financial_tables=[table(rows, columns=[f"c{i}" for i in range(40)], total_column=True)]
    )
    [message] = messages(case, route_case(case, DAY), CheckKind.FIGURES)
    assert message.startswith("In table 1 (T1, Budget), ")
    assert "stated totals do not add up: row 1 (r0) states" in message
    assert message.endswith("more.") and message.count(" states ") == 5


def test_lines_no_recommendation_approves_are_one_check_however_many():
    grants = [
        {"id": f"G{n}", "recipient": f"Group {n}", "amount": "60000", "purpose": "Youth work"}
        for n in range(1, 31)
    ]
    case = make_case(
        approval_sought=["third_party_grants"],
        money_lines=[],
        grant_lines=grants,
        recommendations=[rec(1, "note", ["G1"])],
    )
    routing = judged(case, {g["id"]: Outcome.DMPC_APPROVES for g in grants})
    found = messages(case, routing, CheckKind.RECOMMENDATION)
    assert len(found) == 2  # recommendation 1 notes G1; 30 lines no one asks to approve
    assert found[1].startswith("The routing says the DMPC must approve grant line 1 (G1")
    assert found[1].endswith("and 20 more line(s), but no recommendation to approve covers them.")
