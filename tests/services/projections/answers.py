"""A case with every part the engine answers on (grant groups and a batch, a negotiated
procedure with an unknown VAT basis, an offer of funding, a table of figures,
cross-references, a later form, an extremis submission to a board, Part 2 cited by FOI
subsections without a basis), and a routing that places each grant line in its appendix.

The routing is written out here, as the engine's grant and procurement modules will give
it, so that what readers see is tested against the types, not against the engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from domain import events as ev
from domain.case import Case
from domain.register import part1_entry
from domain.rules.delegation import Routing, route_case
from domain.rules.findings import (
    CheckKind,
    GrantGroup,
    GrantLineOutcome,
    Outcome,
    ProcedureAssessment,
    Severity,
    make_check,
)
from eventstore import EventStore
from tests.factories import (
    CEO,
    CHAIR,
    COMMERCIAL,
    DMPC,
    EQUALITIES,
    FINANCE,
    LEGAL,
    OFFICER,
    SYSTEM,
    case_data,
)
from tests.services.projections.stories import Story

#: A phrase of the Part 2 text: never on the register, never shown to the uncleared.
SECRET = "The informant network in the borough"

BRIGHT = "Bright Futures: Youth Mentoring 2019-22"
SPLIT_WARNING = "Bright Futures Ltd has a second award outside its declared group"


def grants_case_data(**overrides: Any) -> dict[str, Any]:
    data = case_data(
        schema_version=2,
        title="Violence Reduction: grants, an offer and a contract",
        form_version="dmpc-2021",
        recommendations=[
            {
                "number": 1,
                "text": "Approve the grants of Appendix 1.",
                "covers": [BRIGHT, "G5"],
                "amount": "175000",
            },
            {"number": 2, "text": "Note the grants of Appendix 2.", "action": "note"},
        ],
        approval_sought=["expenditure", "third_party_grants", "procurement", "grant_funding_offer"],
        commercial_comments="N/A",
        real_estate_implications=None,
        environmental_implications=None,
        board={"board": "IAB"},
        extremis_reason="The funder's offer lapses before the next meeting.",
        grant_lines=[
            {
                "id": "G1",
                "recipient": "Bright Futures Ltd",
                "amount": "30000",
                "purpose": "Mentoring, phase 1",
                "group": BRIGHT,
            },
            {
                "id": "G2",
                "recipient": "Bright Futures",
                "amount": "25000",
                "purpose": "Mentoring, phase 2",
                "group": BRIGHT,
            },
            {
                "id": "G3",
                "recipient": "Bright Futures Ltd",
                "amount": "12000",
                "purpose": "A summer sports day",
            },
            {
                "id": "G4",
                "amount": "402118",
                "purpose": "Community safety projects",
                "batch": {"count": 23, "largest": "48000"},
            },
            {
                "id": "G5",
                "recipient": "Safer London",
                "amount": "120000",
                "purpose": "Youth workers in A&E",
            },
        ],
        procurements=[
            {
                "id": "C1",
                "subject": "Knife-crime analytics platform",
                "route": "negotiated_without_prior_publication",
                "regulation_ground": "reg 32(2)(b)",
                "contract_value": "240000",
                "vat_included": "unknown",
                "term_years": "3",
                "extension_years": "2",
                "supplier": "Acme Analytics Ltd",
            },
        ],
        incoming_funding=[
            {
                "id": "HO1",
                "funder": "Home Office",
                "amount": "2100000",
                "capital": "100000",
                "revenue": "2000000",
                "spend_by": "2020-03-31",
                "conditions": "Quarterly returns to the Home Office.",
                "match_funding_required": "250000",
                "match_funding_source": "MOPAC Violence Reduction budget",
            },
        ],
        financial_tables=[
            {
                "id": "T1",
                "title": "Programme budget 2019/20",
                "columns": ["Allocation", "Expenditure", "Variance"],
                "rows": [
                    {"label": "Mentoring", "amounts": ["67000", "70000", "-3000"]},
                    {"label": "Community projects", "amounts": ["402118", "400000", "2118"]},
                    {"label": "Total", "amounts": ["469118", "470000", "-882"], "total": True},
                ],
            },
        ],
        cross_references=[
            {"reference": "pcd 512", "relation": "builds_on", "note": "the first year"},
            {"reference": "PCD 9999", "relation": "companion"},
        ],
        part2={
            "security_marking": "OFFICIAL-SENSITIVE [OPERATIONAL]",
            "foi_sections": ["s31(1)(a)", "s43(2)"],
            "review_on": "2029-06-01",
            "content": f"{SECRET} is named in the annex.",
        },
        time_sensitivity={"required_by": "2019-11-20", "reason": "The offer lapses."},
    )
    data["officer_declaration"] = {
        k: {"confirmed": True, "statement": "Covered in the body of the report."}
        for k in (
            "financial_advice",
            "legal_advice",
            "equalities_advice",
            "gdpr_data_privacy",
            "drafting_officer",
            "director_head_of_service",
        )
    }
    data.update(overrides)
    return data


def grants_case(**overrides: Any) -> Case:
    return Case.model_validate(grants_case_data(**overrides))


def _line(
    index: int, case: Case, group: str, tested: str, outcome: Outcome, batch: int | None = None
) -> GrantLineOutcome:
    line = case.grant_lines[index]
    return GrantLineOutcome(
        index=index,
        line_id=line.id,
        recipient=line.recipient,
        amount=line.amount,
        group=group,
        tested_amount=Decimal(tested),
        batch_count=batch,
        outcome=outcome,
        reference="grants to third parties",
        explanation=f"line {index + 1}: tested at £{tested}",
    )


def grants_routing(case: Case, on: date) -> Routing:
    """The routing of `grants_case`, each line in its appendix."""
    approve, note = Outcome.DMPC_APPROVES, Outcome.DMPC_NOTES
    lines = [
        _line(0, case, "declared:bright", "55000", approve),
        _line(1, case, "declared:bright", "55000", approve),
        _line(2, case, "recipient:bright futures", "12000", note),
        _line(3, case, "batch:3", "48000", note, batch=23),
        _line(4, case, "recipient:safer london", "120000", approve),
    ]

    def group(
        key: str, label: str, kind: str, idx: list[int], total: str, tested: str, outcome: Outcome
    ) -> GrantGroup:
        return GrantGroup(
            key=key,
            label=label,
            kind=kind,
            lines=idx,
            total=Decimal(total),
            tested_amount=Decimal(tested),
            threshold=Decimal("50000"),
            outcome=outcome,
            reference="grants to third parties",
            explanation=f"{label}: £{tested} against the £50,000 threshold",
        )

    groups = [
        group("declared:bright", BRIGHT, "declared", [0, 1], "55000", "55000", approve),
        group(
            "recipient:bright futures",
            "Bright Futures Ltd",
            "recipient",
            [2],
            "12000",
            "12000",
            note,
        ),
        group("batch:3", "23 grants", "batch", [3], "402118", "48000", note),
        group(
            "recipient:safer london", "Safer London", "recipient", [4], "120000", "120000", approve
        ),
    ]
    procedures = [
        ProcedureAssessment(
            index=0,
            line_id="C1",
            subject="Knife-crime analytics platform",
            procedure="negotiated_without_prior_publication",
            regulations_engaged=True,
            allowed=True,
            explanation="A negotiated procedure on the ground reg 32(2)(b).",
        )
    ]
    warnings = [
        make_check(
            CheckKind.SPLITTING, Severity.ACKNOWLEDGE, "grant lines 1, 2 and 3", SPLIT_WARNING
        ),
    ]
    return route_case(case, on).model_copy(
        update={
            "grant_lines": lines,
            "grant_groups": groups,
            "procedures": procedures,
            "warnings": warnings,
        }
    )


def decided_grants_case(store: EventStore, case_id: str = "vr-grants", *, late: bool) -> Story:
    """The grants case submitted with its routing and approved (on 19 November 2019, or
    late on 22 November 2019 against a required-by date of 20 November 2019), its Part 1
    published; and PCD 512, the decision it builds on, published before it."""
    earlier = Story(store, "earlier", start=datetime(2019, 10, 1, 10, tzinfo=UTC))
    earlier.to_advice().sign_all().approve("PCD 512").publish_part1()

    story = Story(store, case_id)
    story.case = grants_case()
    story.draft()
    story.do(ev.CaseSubmitted, OFFICER, routing=grants_routing(story.case, story.clock.now.date()))
    story.do(ev.ExtremisAgreed, CHAIR, reason="The offer lapses.")
    for actor, area in (
        (FINANCE, "finance"),
        (LEGAL, "legal"),
        (COMMERCIAL, "commercial"),
        (EQUALITIES, "equalities"),
    ):
        story.do(ev.SignOffGiven, actor, area=area)
    story.do(ev.ChiefExecutiveConsulted, CEO)
    story.do(ev.InterestsDeclared, DMPC, has_interest=False)
    story.clock.jump_to(datetime(2019, 11, 22 if late else 19).date())
    story.do(ev.DecisionApproved, DMPC, reference="PCD 700")
    story.do(ev.Part1Published, SYSTEM, entry=part1_entry(story.state))
    return story
