"""Reading and writing case files: every bad file fails naming the field and the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from domain.case import Case
from domain.casefile import (
    TOP_LEVEL,
    CaseFileError,
    CaseFileProblem,
    CaseFormat,
    case_format,
    case_from_data,
    dump_case,
    parse_case,
)
from tests.factories import case_data


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def problems(text: str, hint: str = "case.yaml") -> list[str]:
    with pytest.raises(CaseFileError) as info:
        parse_case(text, hint)
    return [str(problem) for problem in info.value.problems]


def mutated(change: Callable[[dict[str, Any]], object]) -> str:
    data = case_data()
    change(data)
    return as_yaml(data)


def test_a_valid_file_loads() -> None:
    case = parse_case(as_yaml(case_data()), "yaml")
    assert case.title == "Test Case"
    assert case.total_expenditure == Decimal("600000.00")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("yaml", CaseFormat.YAML),
        ("YML", CaseFormat.YAML),
        ("json", CaseFormat.JSON),
        ("examples/mettrace.yaml", CaseFormat.YAML),
        ("/tmp/Case.YML", CaseFormat.YAML),
        ("case.json", CaseFormat.JSON),
        (CaseFormat.JSON, CaseFormat.JSON),
    ],
)
def test_format_from_name_or_filename(hint: str, expected: CaseFormat) -> None:
    assert case_format(hint) is expected


@pytest.mark.parametrize("hint", ["toml", "case.txt", "", "yaml.bak"])
def test_unknown_format_is_refused(hint: str) -> None:
    with pytest.raises(ValueError, match="cannot tell the case file format"):
        case_format(hint)


def test_error_message_names_file_and_lists_each_problem() -> None:
    text = mutated(lambda d: d.update(foo=1, title=""))
    with pytest.raises(CaseFileError) as info:
        parse_case(text, "cases/bad.yaml")
    message = str(info.value)
    assert message.splitlines()[0] == "case file 'cases/bad.yaml' is not valid (2 problems):"
    assert "  title: must not be empty" in message.splitlines()
    assert "  (top level): extra field 'foo' is not allowed" in message.splitlines()
    assert info.value.source == "cases/bad.yaml"
    assert sorted(info.value.paths) == [TOP_LEVEL, "title"]


def test_a_case_file_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        CaseFileError([])


# --- the document as a whole ---------------------------------------------------------------


def test_malformed_yaml_names_line_and_column() -> None:
    assert problems("title: Met Trace\n  board: [IAB,\n") == [
        "line 2, column 8: not valid YAML: mapping values are not allowed here"
    ]


def test_unclosed_flow_sequence() -> None:
    (problem,) = problems("title: x\nrecommendations: [1, 2\n")
    assert problem.startswith("line 3, column 1: not valid YAML:")


def test_top_level_list_is_refused() -> None:
    assert problems("- title: Met Trace\n- title: DES\n") == [
        "(top level): the case file must be a mapping of field names to values, not a list"
    ]


@pytest.mark.parametrize(
    ("text", "found"), [("just some words", "a piece of text"), ("42", "a number")]
)
def test_top_level_scalar_is_refused(text: str, found: str) -> None:
    assert problems(text) == [
        f"(top level): the case file must be a mapping of field names to values, not {found}"
    ]


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n"])
def test_empty_file(text: str) -> None:
    assert problems(text) == ["(top level): the case file is empty"]


def test_python_tags_are_refused_by_safe_load() -> None:
    (problem,) = problems("!!python/object/apply:os.system ['echo pwned']\n")
    assert problem.startswith("line 1, column 1: not valid YAML: could not determine a constructor")
    assert "only plain YAML" in problem


def test_duplicate_keys_are_refused_with_their_path() -> None:
    text = as_yaml(case_data()).replace("title: Test Case\n", "title: A\ntitle: B\n")
    assert problems(text) == ["title: the key 'title' is given twice (lines 1 and 2)"]
    nested = "board:\n  board: IAB\n  board: IAM\n"
    assert problems(nested) == ["board.board: the key 'board' is given twice (lines 2 and 3)"]


def test_yaml_anchors_and_merge_keys_are_not_duplicates() -> None:
    data = case_data()
    data.pop("money_lines")
    text = as_yaml(data) + (
        "money_lines:\n"
        "  - &line {kind: revenue, amount: 87000, financial_years: [2019/20],\n"
        "           funding_source: MOPAC approved revenue budget}\n"
        "  - {<<: *line, financial_years: [2020/21]}\n"
    )
    case = parse_case(text, "yaml")
    assert [line.financial_years for line in case.money_lines] == [["2019/20"], ["2020/21"]]
    assert case.total_expenditure == Decimal("174000.00")


@pytest.mark.parametrize("hint", ["yaml", "json"])
def test_absurd_nesting_is_refused(hint: str) -> None:
    assert problems("[" * 5000 + "]" * 5000, hint) == [
        "(top level): the file is nested too deeply to be a case file"
    ]


def test_recursive_yaml_alias_is_harmless() -> None:
    text = as_yaml(case_data()) + "background_papers: &b [*b]\n"
    assert problems(text) == ["background_papers.0: must be text"]


def test_too_long_a_file_is_refused_before_parsing() -> None:
    (problem,) = problems("title: " + "x" * 2_000_001)
    assert problem.startswith("(top level): the file is too long")


# --- fields ----------------------------------------------------------------------------------


def test_unknown_field_at_top_level_with_suggestion() -> None:
    assert problems(mutated(lambda d: d.update(titel="Met Trace"))) == [
        "(top level): extra field 'titel' is not allowed (did you mean 'title'?)"
    ]


def test_unknown_nested_field() -> None:
    text = mutated(lambda d: d["money_lines"][0].update(vat="20%"))
    assert problems(text) == ["money_lines.0: extra field 'vat' is not allowed"]


def test_missing_field() -> None:
    assert problems(mutated(lambda d: d.pop("legal_comments"))) == [
        "legal_comments: this field is required"
    ]


def test_negative_amount() -> None:
    assert problems(mutated(lambda d: d["money_lines"][0].update(amount=-600000))) == [
        "money_lines.0.amount: an amount cannot be negative"
    ]


@pytest.mark.parametrize("amount", [20_000_000_000, "20,000,000,000", "£20000000000.00"])
def test_absurd_amount(amount: object) -> None:
    assert problems(mutated(lambda d: d["money_lines"][0].update(amount=amount))) == [
        "money_lines.0.amount: an amount cannot exceed £10,000,000,000.00 (is a zero too many?)"
    ]


def test_float_with_fractions_of_a_penny() -> None:
    text = mutated(lambda d: d["money_lines"][0].update(amount=87000.005))
    assert "amount: 87000.005" in text  # a YAML float, as an officer would type it
    assert problems(text) == ["money_lines.0.amount: an amount cannot have fractions of a penny"]


def test_float_with_pence_is_exact() -> None:
    text = mutated(lambda d: d["money_lines"][0].update(amount=600000.1))
    case = parse_case(text, "yaml")
    assert case.money_lines[0].amount == Decimal("600000.10")


def test_amount_that_is_not_a_number() -> None:
    assert problems(mutated(lambda d: d["money_lines"][0].update(amount="lots"))) == [
        'money_lines.0.amount: must be an amount in pounds, e.g. 788000, "788000.00" or "£788,000"'
    ]


@pytest.mark.parametrize(
    ("year", "rule"),
    [
        ("2019/2020", "financial year '2019/2020' must look like 2019/20"),
        ("19/20", "financial year '19/20' must look like 2019/20"),
        ("2019/21", "financial year '2019/21' must span consecutive years, e.g. 2019/20"),
    ],
)
def test_bad_financial_year(year: str, rule: str) -> None:
    text = mutated(lambda d: d["money_lines"][0].update(financial_years=[year]))
    assert problems(text) == [f"money_lines.0.financial_years: {rule}"]


def test_recommendations_numbered_1_3() -> None:
    recommendations = [{"number": 1, "text": "Approve."}, {"number": 3, "text": "Note."}]
    text = mutated(lambda d: d.update(recommendations=recommendations))
    assert problems(text) == [
        "recommendations: recommendations must be numbered 1, 2, 3, ... in order; got [1, 3]"
    ]


def test_no_recommendations() -> None:
    assert problems(mutated(lambda d: d.update(recommendations=[]))) == [
        "recommendations: must list at least 1 item"
    ]


def test_an_extremis_submission_keeps_its_board() -> None:
    text = mutated(lambda d: d.update(extremis_reason="Urgent: the funding lapses."))
    case = parse_case(text, "yaml")
    assert case.is_extremis
    assert case.board is not None and case.board.board.value == "IAM"


def test_neither_board_nor_extremis() -> None:
    assert problems(mutated(lambda d: d.pop("board"))) == [
        "board: give board (the IAB/IAM meeting) or extremis_reason (urgent case)"
    ]


def _part2(**dates: str) -> dict[str, Any]:
    return {
        "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
        "foi_sections": ["s43 Commercial interests"],
        "content": "Held separately.",
        **dates,
    }


@pytest.mark.parametrize(
    "dates", [{"review_on": "2029-06-01", "ceases_to_be_exempt_on": "2024-04-01"}, {}]
)
def test_part2_needs_exactly_one_date(dates: dict[str, str]) -> None:
    assert problems(mutated(lambda d: d.update(part2=_part2(**dates)))) == [
        "part2.review_on: give exactly one of review_on or ceases_to_be_exempt_on"
    ]


def test_part2_unknown_foi_section() -> None:
    part2 = _part2(review_on="2029-06-01") | {"foi_sections": ["s99"]}
    (problem,) = problems(mutated(lambda d: d.update(part2=part2)))
    assert problem.startswith("part2.foi_sections.0: an FOI exemption must be one of the exemp")


@pytest.mark.parametrize(
    "written",
    ["The informant lives at 12 Acacia Avenue", "s31(1)" + "(a)" * 20_000],
    ids=["part2-text-pasted", "60k-characters"],
)
def test_a_bad_foi_citation_is_refused_without_quoting_it(written: str) -> None:
    # Part 2: a refusal reaches the request log, so it names the rule, never the text.
    part2 = _part2(review_on="2029-06-01") | {"foi_sections": [written]}
    (problem,) = problems(mutated(lambda d: d.update(part2=part2)))
    assert problem.startswith("part2.foi_sections.0: an FOI exemption ")
    assert "Acacia" not in problem and "(a)(a)" not in problem


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("s31(1)(a)", "s31(1)(a)"),
        ("S.31(1)(b)", "s31(1)(b)"),
        ("section 40(2)", "s40(2)"),
        ("s43 Commercial interests", "s43"),
    ],
)
def test_part2_foi_citations_keep_their_subsections(written: str, read: str) -> None:
    part2 = _part2(review_on="2029-06-01") | {"foi_sections": [written]}
    case = parse_case(mutated(lambda d: d.update(part2=part2)), "yaml")
    assert case.part2 is not None and case.part2.foi_sections == [read]


def test_part2_basis_is_never_assumed_in_a_version_2_file() -> None:
    part2 = _part2(review_on="2029-06-01")
    case = parse_case(mutated(lambda d: d.update(part2=part2, schema_version=2)), "yaml")
    assert case.part2 is not None and case.part2.exemption_basis is None


def test_a_version_1_file_keeps_the_basis_it_defaulted_to() -> None:
    part2 = _part2(review_on="2029-06-01")
    case = parse_case(mutated(lambda d: d.update(part2=part2)), "yaml")
    assert case.schema_version == 2 and case.form_version.value == "dmpc-2019"
    assert case.part2 is not None
    assert case.part2.exemption_basis is not None
    assert case.part2.exemption_basis.startswith("Article 2(2)(a)")


def test_a_newer_schema_version_is_refused_by_name() -> None:
    assert problems(mutated(lambda d: d.update(schema_version=3))) == [
        "schema_version: schema_version 3 is not one this Ratify reads (1 or 2)"
    ]


def test_unticked_declaration_without_reason_is_kept_in_a_draft() -> None:
    # Nothing typed is lost: the draft keeps the line; submission refuses it (the checks).
    def untick(data: dict[str, Any]) -> None:
        data["officer_declaration"]["legal_advice"] = {
            "confirmed": False,
            "statement": "The MPS legal team has been consulted on the proposal.",
        }

    case = parse_case(mutated(untick), "yaml")
    assert case.officer_declaration.unexplained() == ["legal_advice"]


def test_a_section_the_form_requires_names_the_form() -> None:
    assert problems(mutated(lambda d: d.pop("real_estate_implications"))) == [
        "real_estate_implications: real_estate_implications is required by the dmpc-2019 "
        'form (write "Not applicable" if it does not apply)'
    ]


def test_a_later_form_needs_no_real_estate_section_and_reads_n_a() -> None:
    def later(data: dict[str, Any]) -> None:
        data.pop("real_estate_implications")
        data["form_version"] = "dmpc-2020"
        data["commercial_comments"] = "N/A"

    case = parse_case(mutated(later), "yaml")
    assert case.real_estate_implications is None
    assert case.commercial_comments == "Not applicable"


def test_unticked_declaration_with_reason_is_fine() -> None:
    def untick(data: dict[str, Any]) -> None:
        data["officer_declaration"]["legal_advice"] = {
            "confirmed": False,
            "statement": "The MPS legal team has been consulted on the proposal.",
            "reason": "Legal advice is not required.",
        }

    legal = parse_case(mutated(untick), "yaml").officer_declaration.legal_advice
    assert legal is not None and not legal.confirmed


def test_single_tender_action_without_justification() -> None:
    procurement = {
        "subject": "Kits",
        "route": "single_tender_action",
        "single_tender_action": True,
        "contract_value": 150000,
        "vat_included": False,
    }
    text = mutated(lambda d: d.update(procurements=[procurement]))
    assert problems(text) == [
        "procurements.0.single_tender_justification: single_tender_justification is required "
        "when a single tender action is used"
    ]


def test_procurement_sought_without_procurements() -> None:
    text = mutated(lambda d: d.update(approval_sought=["expenditure", "procurement"]))
    assert problems(text) == [
        "procurements: procurements are required when approval_sought has procurement"
    ]


def test_bad_enum_date_and_bool() -> None:
    def spoil(data: dict[str, Any]) -> None:
        data["board"] = {"board": "PIB", "intended_meeting": "July 2019"}
        data["privacy_comments"]["personal_data"] = "perhaps"

    assert problems(mutated(spoil)) == [
        "privacy_comments.personal_data: must be true or false",
        "board.board: must be one of 'IAB' or 'IAM'",
        "board.intended_meeting: must be a date written YYYY-MM-DD, e.g. 2019-12-13",
    ]


def test_dates_as_yaml_dates_or_iso_strings() -> None:
    as_date = as_yaml(case_data()) + "time_sensitivity:\n  required_by: 2019-12-13\n  reason: r\n"
    as_text = as_date.replace("2019-12-13", "'2019-12-13'")
    assert as_text != as_date
    first, second = parse_case(as_date, "yaml"), parse_case(as_text, "yaml")
    assert first == second
    assert first.time_sensitivity is not None
    assert first.time_sensitivity.required_by.isoformat() == "2019-12-13"


def test_many_problems_are_all_reported() -> None:
    def spoil(data: dict[str, Any]) -> None:
        data["money_lines"][0]["amount"] = -1
        data["report_author"].pop("role")
        data["recommendations"][0]["parts"] = [{"text": "a.", "amount": "1.001"}]

    assert problems(mutated(spoil)) == [
        "recommendations.0.parts.0.amount: an amount cannot have fractions of a penny",
        "report_author.role: this field is required",
        "money_lines.0.amount: an amount cannot be negative",
    ]


# --- JSON ------------------------------------------------------------------------------------


def test_json_file_loads_with_exact_decimals() -> None:
    data = case_data()
    text = json.dumps(data).replace('"600000"', "600000.10")
    case = parse_case(text, "case.json")
    assert case.money_lines[0].amount == Decimal("600000.10")


def test_malformed_json() -> None:
    assert problems('{"title": "x",}', "json") == [
        "line 1, column 15: not valid JSON: Expecting property name enclosed in double quotes"
    ]


def test_json_top_level_list_and_duplicates() -> None:
    assert problems("[]", "json") == [
        "(top level): the case file must be a mapping of field names to values, not a list"
    ]
    assert problems('{"board": {"board": "IAB", "board": "IAM"}}', "json") == [
        "board.board: the key 'board' is given twice"
    ]


def test_case_from_data_validates_parsed_data() -> None:
    assert isinstance(case_from_data(case_data()), Case)
    with pytest.raises(CaseFileError) as info:
        case_from_data(case_data(title=" "))
    assert info.value.problems == (CaseFileProblem("title", "must not be empty"),)


# --- writing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_round_trips_and_keeps_amounts_exact(fmt: str) -> None:
    case = parse_case(as_yaml(case_data()), "yaml")
    text = dump_case(case, fmt)
    assert "600000.00" in text
    assert parse_case(text, fmt) == case


def test_yaml_dump_writes_multiline_text_as_block_and_dates_as_dates() -> None:
    data = case_data(
        executive_summary="First paragraph.\n\nSecond paragraph.",
        time_sensitivity={"required_by": "2019-12-13", "reason": "Funding lapses."},
    )
    text = dump_case(case_from_data(data), CaseFormat.YAML)
    assert "executive_summary: |-\n  First paragraph.\n\n  Second paragraph.\n" in text
    assert "  required_by: 2019-12-13\n" in text
    assert "  amount: '600000.00'\n" in text
    assert "approval_sought:\n  - expenditure\n" in text


amounts = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("10000000000"), places=2, allow_nan=False
)


@given(amount=amounts, style=st.sampled_from(["int-or-str", "str", "commas", "pounds"]))
def test_amounts_survive_load_and_dump_exactly(amount: Decimal, style: str) -> None:
    if style == "int-or-str":
        written: object = int(amount) if amount == amount.to_integral_value() else str(amount)
    elif style == "str":
        written = str(amount)
    elif style == "commas":
        written = f"{amount:,.2f}"
    else:
        written = f"£{amount:,.2f}"
    text = mutated(lambda d: d["money_lines"][0].update(amount=written))
    case = parse_case(text, "yaml")
    assert case.money_lines[0].amount == amount
    for fmt in ("yaml", "json"):
        assert parse_case(dump_case(case, fmt), fmt) == case


@given(
    amount=st.decimals(
        min_value=Decimal("0"), max_value=Decimal("1000000"), places=3, allow_nan=False
    ).filter(lambda d: d != d.quantize(Decimal("0.01")))
)
def test_fractions_of_a_penny_are_always_refused(amount: Decimal) -> None:
    text = mutated(lambda d: d["money_lines"][0].update(amount=str(amount)))
    assert problems(text) == ["money_lines.0.amount: an amount cannot have fractions of a penny"]


def test_a_date_written_as_a_number_is_refused():
    data = case_data(time_sensitivity={"required_by": 0, "reason": "Soon."})
    with pytest.raises(CaseFileError) as info:
        parse_case(json.dumps(data), "case.json")
    assert "time_sensitivity.required_by: a date must be written as 2019-12-13" in str(info.value)


def test_a_recommendation_covering_an_unknown_line_names_the_field_and_the_id() -> None:
    def cover(data: dict[str, Any]) -> None:
        data["recommendations"][0]["covers"] = ["G99"]

    assert problems(mutated(cover)) == [
        "recommendations.covers: recommendations.covers of recommendation 1 names 'G99', "
        "which is neither a line id nor a grant group"
    ]
