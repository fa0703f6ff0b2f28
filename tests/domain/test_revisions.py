"""Revisions of a case as a diff, section by section, in the words a reader sees."""

from __future__ import annotations

from typing import Any

from domain.case import Case
from domain.revisions import (
    SECTION_LABELS,
    FieldChange,
    SectionDiff,
    TextEdit,
    diff_cases,
    withhold_part2,
)
from tests.factories import case_data, make_case

#: The executive summary of the MetTrace paper (examples/mettrace.yaml), two paragraphs.
SUMMARY = (
    "MetTrace is the MPS flagship crime prevention project to reduce residential burglary. "
    "The MPS mission is to focus on crime that matters to Londoners and take more of a "
    "preventative stance.\n\n"
    "Based upon the success to date, MPS Management Board took the decision to continue "
    "MetTrace for 5 years and a budget has been secured in order to do this."
)

CAPITAL_LINE = {
    "kind": "capital",
    "amount": "188000",
    "financial_years": ["2019/20", "2020/21"],
    "funding_source": "MOPAC capital programme",
}

PART2 = {
    "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
    "foi_sections": ["s43 Commercial interests"],
    "review_on": "2029-06-30",
    "exemption_note": "Unit prices would prejudice the re-tender of the kits.",
    "content": "The unit price tendered by the supplier is £12.40 per kit.",
}


def money_lines(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*case_data()["money_lines"], *extra]


def test_identical_cases_give_no_diff():
    case = make_case(executive_summary=SUMMARY, part2=PART2)
    assert diff_cases(case, case) == []
    # equal, not the same object
    assert diff_cases(case, make_case(executive_summary=SUMMARY, part2=PART2)) == []


def test_every_section_of_the_case_has_a_label():
    assert set(SECTION_LABELS) == set(Case.model_fields)


def test_an_amount_changed_in_a_money_line_reads_in_pounds_and_only_that_section_shows():
    before = make_case(money_lines=money_lines(CAPITAL_LINE))
    after = make_case(money_lines=money_lines({**CAPITAL_LINE, "amount": "212500.50"}))
    assert diff_cases(before, after) == [
        SectionDiff(
            section="money_lines",
            label="Money lines",
            is_part2=False,
            changes=[
                FieldChange(
                    path="money_lines[1].amount",
                    label="Money line 2, amount",
                    kind="changed",
                    before="£188,000",
                    after="£212,500.50",
                )
            ],
        )
    ]
    assert diff_cases(before, after)[0].describe() == [
        "Money line 2, amount: £188,000 → £212,500.50"
    ]


def test_money_lines_added_removed_and_a_year_added_are_said_so():
    before = make_case(money_lines=money_lines(CAPITAL_LINE))
    three_years = {**CAPITAL_LINE, "financial_years": ["2019/20", "2020/21", "2021/22"]}
    (section,) = diff_cases(before, make_case(money_lines=money_lines(three_years)))
    assert [(c.path, c.label, c.kind, c.before, c.after) for c in section.changes] == [
        (
            "money_lines[1].financial_years[2]",
            "Money line 2, financial year 3",
            "added",
            "(none)",
            "2021/22",
        )
    ]
    (section,) = diff_cases(before, make_case(money_lines=money_lines()))
    assert section.describe() == [
        "Money line 2 removed: Capital £188,000 in 2019/20, 2020/21, from MOPAC capital programme"
    ]


def test_an_added_recommendation_is_said_as_added_and_renumbering_is_no_change():
    note = {
        "number": 2,
        "action": "note",
        "text": "Note that £5.6m cost over 5 years is included within existing approved budgets.",
    }
    before = make_case()
    after = make_case(recommendations=[*case_data()["recommendations"], note])
    assert [d.describe() for d in diff_cases(before, after)] == [
        [
            "Recommendation 2 added: 2. Note that £5.6m cost over 5 years is included within "
            "existing approved budgets. [to note]"
        ]
    ]
    (added,) = diff_cases(before, after)[0].changes
    assert (added.path, added.kind, added.before) == ("recommendations[1]", "added", "(none)")

    # a new first recommendation: the old one, now number 2, has not changed
    first = {"number": 1, "text": "Approve a 5-year investment of £788K.", "amount": "788000"}
    renumbered = make_case(
        recommendations=[first, {"number": 2, "text": "Approve the expenditure."}]
    )
    (section,) = diff_cases(before, renumbered)
    assert section.describe() == [
        "Recommendation 1 added: 1. Approve a 5-year investment of £788K. (£788,000)"
    ]


def test_a_recommendation_text_edited_and_a_part_amount_changed():
    rec = {
        "number": 1,
        "text": "Approve the expenditure.",
        "parts": [{"text": "Kits."}, {"text": "Signage.", "amount": "20000"}],
    }
    edited = {
        **rec,
        "text": "Approve the expenditure of £600,000.",
        "parts": [{"text": "Kits."}, {"text": "Signage.", "amount": "25000"}],
    }
    (section,) = diff_cases(make_case(recommendations=[rec]), make_case(recommendations=[edited]))
    assert [(c.path, c.label, c.before, c.after) for c in section.changes] == [
        (
            "recommendations[0].text",
            "Recommendation 1, text",
            "Approve the expenditure.",
            "Approve the expenditure of £600,000.",
        ),
        (
            "recommendations[0].parts[1].amount",
            "Recommendation 1, part b, amount",
            "£20,000",
            "£25,000",
        ),
    ]


def test_one_sentence_edited_in_a_long_summary_shows_only_the_edited_words():
    before = make_case(executive_summary=SUMMARY)
    after = make_case(executive_summary=SUMMARY.replace("for 5 years", "for six years"))
    (section,) = diff_cases(before, after)
    (change,) = section.changes
    assert (section.label, change.path, change.before, change.after) == (
        "Executive summary",
        "executive_summary",
        None,
        None,
    )
    assert change.edits == [
        TextEdit(
            context_before="… to continue MetTrace for",
            removed="5",
            added="six",
            context_after="years and a budget …",
        )
    ]
    assert section.describe() == [
        "Executive summary:",
        "  … to continue MetTrace for [-5-] {+six+} years and a budget …",
    ]
    # neither whole text is carried
    dumped = section.model_dump_json()
    assert "flagship crime prevention" not in dumped and "secured in order" not in dumped


def test_a_paragraph_added_to_a_long_text_reads_with_its_line_break():
    before = make_case(executive_summary=SUMMARY)
    after = make_case(executive_summary=SUMMARY + "\n\nKits will also go to small businesses.")
    (change,) = diff_cases(before, after)[0].changes
    assert change.edits == [
        TextEdit(
            context_before="… order to do this.",
            removed="",
            added="¶ Kits will also go to small businesses.",
            context_after="",
        )
    ]
    assert (
        change.describe()[1] == "  … order to do this. {+¶ Kits will also go to small businesses.+}"
    )


def test_a_short_text_is_shown_whole_and_a_missing_one_as_none():
    before = make_case()
    after = make_case(
        legal_comments="Paragraph 4.13 applies.",
        commercial_comments="A call-off from the CCS framework.",
    )
    assert [line for d in diff_cases(before, after) for line in d.describe()] == [
        "Commercial comments added: A call-off from the CCS framework.",
        "Legal comments: No legal implications. → Paragraph 4.13 applies.",
    ]
    assert [d.section for d in diff_cases(after, before)] == [
        "commercial_comments",
        "legal_comments",
    ]
    assert diff_cases(after, before)[0].changes[0].model_dump() == {
        "path": "commercial_comments",
        "label": "Commercial comments",
        "kind": "removed",
        "before": "A call-off from the CCS framework.",
        "after": "(none)",
        "edits": [],
    }


def test_dates_enums_and_yes_no_read_as_a_person_writes_them():
    urgent = {"required_by": "2019-12-13", "reason": "The contract ends in January."}
    before = make_case(time_sensitivity=urgent)
    after = make_case(
        time_sensitivity={**urgent, "required_by": "2020-01-06"},
        privacy_comments={
            "text": "Names and addresses of kit holders.",
            "personal_data": True,
            "dpia": "to_follow",
        },
        approval_sought=["expenditure", "procurement"],
        procurements=[
            {
                "subject": "MetTrace kits",
                "route": "open_tender",
                "contract_value": "5600000",
                "vat_included": False,
            }
        ],
    )
    lines = [line for d in diff_cases(before, after) for line in d.describe()]
    assert lines == [
        "Approval sought, item 2 added: procurement",
        "Privacy comments, text: No personal data. → Names and addresses of kit holders.",
        "Privacy comments, personal data: no → yes",
        "Privacy comments, dpia: not required → to follow",
        "Procurement 1 added: subject: MetTrace kits; route: open tender; contract value: "
        "£5,600,000; vat included: no; single tender action: no",
        "Time sensitivity, required by: 13 December 2019 → 6 January 2020",
    ]
    assert diff_cases(make_case(), before)[0].describe() == [
        "Time sensitivity added: required by: 13 December 2019; reason: The contract ends in "
        "January."
    ]


def test_sections_come_in_the_order_of_the_form():
    before = make_case(part2=PART2)
    after = make_case(
        title="MetTrace",
        part2={**PART2, "content": "The unit price tendered by the supplier is £11.90 per kit."},
        money_lines=money_lines(CAPITAL_LINE),
        financial_comments="£1.12m a year has been set aside in the Frontline Policing budget.",
    )
    diffs = diff_cases(before, after)
    assert [(d.section, d.label, d.is_part2) for d in diffs] == [
        ("title", "Title", False),
        ("financial_comments", "Financial comments", False),
        ("money_lines", "Money lines", False),
        ("part2", "Part 2", True),
    ]
    assert diffs == diff_cases(before, after)  # deterministic


def test_part2_changes_are_marked_and_withholding_leaves_no_part2_text():
    before = make_case(executive_summary=SUMMARY, part2=PART2)
    new_part2 = {
        **PART2,
        "security_marking": "SECRET",
        "review_on": None,
        "ceases_to_be_exempt_on": "2024-04-01",
        "exemption_note": "Prices stay confidential until the kits are re-tendered.",
        "content": "The unit price tendered by the supplier is £11.90 per kit.",
    }
    after = make_case(executive_summary=SUMMARY.replace("5 years", "6 years"), part2=new_part2)
    diffs = diff_cases(before, after)
    part2 = diffs[-1]
    assert (part2.section, part2.is_part2) == ("part2", True)
    assert [c.path for c in part2.changes] == [
        "part2.security_marking",
        "part2.review_on",
        "part2.ceases_to_be_exempt_on",
        "part2.exemption_note",
        "part2.content",
    ]
    assert part2.changes[1].describe() == ["Part 2, review on removed: 30 June 2029"]
    assert part2.changes[4].describe() == [
        "Part 2, content: The unit price tendered by the supplier is £12.40 per kit. → "
        "The unit price tendered by the supplier is £11.90 per kit."
    ]

    hidden = withhold_part2(diffs)
    assert hidden[0] == diffs[0]  # Part 1 sections untouched
    assert hidden[-1] == SectionDiff(
        section="part2", label="Part 2", is_part2=True, changes=[], withheld=True
    )
    assert hidden[-1].describe() == ["Part 2 changed (not shown without Part 2 clearance)"]
    dumped = "".join(d.model_dump_json() for d in hidden)
    for secret in (
        "£12.40",
        "£11.90",
        "unit price",
        "re-tender",
        "confidential until",
        "SECRET",
        "OFFICIAL-SENSITIVE",
        "2029",
        "2024",
    ):
        assert secret not in dumped
    # Part 2 added or removed as a whole is withheld too
    for a, b in (
        (make_case(executive_summary=SUMMARY), before),
        (before, make_case(executive_summary=SUMMARY)),
    ):
        (only,) = withhold_part2(diff_cases(a, b))
        assert only.withheld and "unit price" not in only.model_dump_json()
