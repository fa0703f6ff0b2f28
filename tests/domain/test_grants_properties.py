"""Properties of the grants engine that must hold for any paper, not just the examples:
splitting an award never changes its outcome, a variant of a name never escapes, and a
batch is never approved for its total alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rules.delegation import Outcome, Routing, route_case
from tests.factories import make_case

ON = date(2019, 11, 20)
THRESHOLD = Decimal("50000")
SETTINGS = settings(max_examples=100, deadline=None)


def _route(grants: list[dict[str, Any]]) -> Routing:
    case = make_case(grant_lines=grants, approval_sought=["third_party_grants"], money_lines=[])
    return route_case(case, ON)


def _expected(amount: Decimal) -> Outcome:
    return Outcome.DMPC_APPROVES if amount >= THRESHOLD else Outcome.DMPC_NOTES


def _pounds(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(Decimal("0.01"))


@st.composite
def _split(draw: st.DrawFn) -> tuple[int, list[int]]:
    """An award in pence and its parts (each at least a penny)."""
    parts = draw(st.integers(min_value=1, max_value=12))
    total = draw(st.integers(min_value=parts, max_value=20_000_000))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=1, max_value=total - 1),
                min_size=parts - 1,
                max_size=parts - 1,
                unique=True,
            )
        )
        if parts > 1
        else []
    )
    bounds = [0, *cuts, total]
    return total, [b - a for a, b in pairwise(bounds)]


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8).filter(
    lambda w: w not in {"the", "and", "ltd", "plc", "llp", "cic", "cio", "limited"}
)


@st.composite
def _name(draw: st.DrawFn) -> str:
    """An organisation's name: a few words, perhaps with an 'and' between two of them."""
    words = [w.title() for w in draw(st.lists(_WORD, min_size=1, max_size=4))]
    if len(words) > 1 and draw(st.booleans()):
        at = draw(st.integers(min_value=1, max_value=len(words) - 1))
        words.insert(at, "and")
    return " ".join(words)


@st.composite
def _variant(draw: st.DrawFn, name: str) -> str:
    """The same organisation written another way: case, spacing, punctuation, a leading
    'The', a legal form, '&' for 'and'."""
    words = [draw(st.sampled_from(["&", "and", "AND"])) if w == "and" else w for w in name.split()]
    case = draw(st.sampled_from([str.upper, str.lower, str.title, lambda w: w]))
    separator = draw(st.sampled_from([" ", "  ", ", ", " - ", "-", ". "]))
    text = separator.join(case(w) for w in words)
    if draw(st.booleans()):
        text = f"{draw(st.sampled_from(['The', 'the', 'THE']))} {text}"
    form = draw(st.sampled_from(["", " Ltd", " Ltd.", " Limited", " plc", " LLP", " CIC", " CIO"]))
    return f"{text}{form}{draw(st.sampled_from(['', '.', ' ', '!']))}"


@SETTINGS
@given(award=_split(), declared=st.booleans())
def test_splitting_an_award_into_lines_of_one_group_never_changes_its_outcome(award, declared):
    total, parts = award
    whole = _route([{"recipient": "Safer London", "amount": str(_pounds(total)), "purpose": "x"}])
    group = {"group": "Youth Violence Fund"} if declared else {}
    split = _route(
        [
            {
                "recipient": "Safer London",
                "amount": str(_pounds(p)),
                "purpose": f"part {i}",
                **group,
            }
            for i, p in enumerate(parts)
        ]
    )
    [outcome] = {line.outcome for line in whole.grant_lines}
    assert outcome is _expected(_pounds(total))
    assert [line.outcome for line in split.grant_lines] == [outcome] * len(parts)
    [group_answer] = split.grant_groups
    assert group_answer.total == _pounds(total) and group_answer.outcome is outcome
    assert split.decision_maker is whole.decision_maker


@SETTINGS
@given(data=st.data(), name=_name(), award=_split())
def test_a_variant_of_a_recipients_name_never_escapes_aggregation(data, name, award):
    total, parts = award
    names = [name, *(data.draw(_variant(name)) for _ in parts[1:])]
    routing = _route(
        [
            {"recipient": n, "amount": str(_pounds(p)), "purpose": "x"}
            for n, p in zip(names, parts, strict=True)
        ]
    )
    assert len(routing.grant_groups) == 1, names
    assert [line.outcome for line in routing.grant_lines] == [_expected(_pounds(total))] * len(
        parts
    )


@SETTINGS
@given(
    data=st.data(), name=_name(), first=st.integers(1, 9_999_999), second=st.integers(1, 9_999_999)
)
def test_a_variant_of_a_recipients_name_in_another_group_never_escapes_a_warning(
    data, name, first, second
):
    variant = data.draw(_variant(name))
    routing = _route(
        [
            {"recipient": name, "amount": str(_pounds(first)), "purpose": "x", "group": "One"},
            {"recipient": variant, "amount": str(_pounds(second)), "purpose": "y"},
        ]
    )
    assert len(routing.grant_groups) == 2
    assert any(
        w.kind == "splitting" and w.subject.startswith("grant lines 1 and 2")
        for w in routing.warnings
    ), (name, variant)


@SETTINGS
@given(
    count=st.integers(min_value=2, max_value=500),
    largest=st.integers(min_value=1, max_value=4_999_999),
    share=st.floats(min_value=0, max_value=1),
)
def test_a_batch_is_never_approved_for_its_total_alone(count, largest, share):
    # Any total the batch can have: from its largest award to count times it.
    top = largest * count
    total = largest + int((top - largest) * share)
    routing = _route(
        [
            {
                "amount": str(_pounds(total)),
                "purpose": "Small grants",
                "batch": {"count": count, "largest": str(_pounds(largest))},
            }
        ]
    )
    [line] = routing.grant_lines
    assert line.outcome is Outcome.DMPC_NOTES
    assert line.tested_amount == _pounds(largest)
    assert routing.dmpc_approves == []
