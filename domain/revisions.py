"""Revisions of a case shown as a diff between two versions, section by section.

`diff_cases(before, after)` gives one `SectionDiff` per top-level section of the `Case` that
changed, in the order of the form, each with the section's label as the papers write it and
the list of `FieldChange`s inside it: where (a dotted path such as `money_lines[2].amount`,
and the same place in words, "Money line 3, amount") and what, before and after, as a person
reads it (amounts as `£650,000`, dates as `13 December 2019`, enums by value, a missing
value as "(none)", list items said as added or removed). A long free text (more than
`LONG_TEXT` characters, or several lines) is not given as two whole blobs: its change is the
list of edited words (`TextEdit`), each with a few words of context.

Part 2 is confidential: its section is marked `is_part2`, and `withhold_part2` replaces its
detail by a bare "Part 2 changed" for readers without Part 2 clearance.

Pure and deterministic: the same two cases always give the same diff.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from difflib import SequenceMatcher
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.case import Case, GrantLine, MoneyLine, Recommendation, RecommendationPart
from domain.clock import long_date
from domain.money import format_pounds

#: A text longer than this (in characters), or of more than one line, is diffed word by word.
LONG_TEXT = 120

#: Words of context kept either side of an edit of a long text.
CONTEXT_WORDS = 4

#: How a missing value (None, or an empty list) reads.
NONE = "(none)"

#: The top-level sections of the case that are Part 2 (confidential).
PART2_SECTIONS = frozenset({"part2"})

#: The section labels, as the papers write them.
SECTION_LABELS: dict[str, str] = {
    "schema_version": "Case-file format version",
    "form_version": "Form version",
    "title": "Title",
    "executive_summary": "Executive summary",
    "recommendations": "Recommendations",
    "approval_sought": "Approval sought",
    "introduction_and_background": "Introduction and background",
    "issues_for_consideration": "Issues for consideration",
    "police_and_crime_plan": "Police and Crime Plan",
    "financial_comments": "Financial comments",
    "commercial_comments": "Commercial comments",
    "procurement_comments": "Procurement comments",
    "legal_comments": "Legal comments",
    "equality_comments": "Equality comments",
    "privacy_comments": "Privacy comments",
    "real_estate_implications": "Real estate implications",
    "environmental_implications": "Environmental implications",
    "background_papers": "Background papers",
    "cross_references": "Other decisions referred to",
    "report_author": "Report author",
    "co_officers": "Co-officers",
    "board": "Board",
    "extremis_reason": "Extremis reason",
    "money_lines": "Money lines",
    "grant_lines": "Grant lines",
    "procurements": "Procurements",
    "incoming_funding": "Incoming funding",
    "financial_tables": "Financial tables",
    "virement_amount": "Virement amount",
    "time_sensitivity": "Time sensitivity",
    "part1_deferral": "Part 1 deferral",
    "part2": "Part 2",
    "officer_declaration": "Officer declaration",
}

#: How one item of a list reads ("Money line 3", "Money line 1, financial year 2"); the
#: items of other lists read "<list>, item 3", and recommendation parts are lettered.
_ITEM_NOUNS: dict[str, str] = {
    "recommendations": "Recommendation",
    "money_lines": "Money line",
    "grant_lines": "Grant line",
    "procurements": "Procurement",
    "incoming_funding": "Incoming funding",
    "financial_tables": "Financial table",
    "cross_references": "Reference",
    "background_papers": "Background paper",
    "financial_years": "financial year",
    "foi_sections": "FOI section",
}

#: Fields that only say where an item stands in its list: a renumbering is not a change.
_POSITIONAL: dict[type[BaseModel], frozenset[str]] = {Recommendation: frozenset({"number"})}

#: A word, or a line break (with any blank lines and indentation after it).
_WORD = re.compile(r"\S+|\n\s*")

#: How a line break reads in an edit of a long text.
LINE_BREAK = "¶"


class TextEdit(BaseModel):
    """One edited place in a long text: the words taken out and put in, with context.

    The context is up to `CONTEXT_WORDS` words either side, with "…" where the text goes
    on. A line break (or a blank line) reads "¶".
    """

    model_config = ConfigDict(frozen=True)

    context_before: str
    removed: str
    added: str
    context_after: str

    def marked(self) -> str:
        """The edit in place: `… a [-five-year-] {+six-year+} investment …`."""
        parts = [
            self.context_before,
            f"[-{self.removed}-]" if self.removed else "",
            f"{{+{self.added}+}}" if self.added else "",
            self.context_after,
        ]
        return " ".join(p for p in parts if p)


class FieldChange(BaseModel):
    """One change inside a section.

    `path` is dotted from the section down, with list indexes from 0 as in the data
    (`money_lines[2].amount`); `label` says the same place in words, counting from 1
    ("Money line 3, amount"). A changed or added list item is indexed as in the new
    version, a removed one as in the old.

    `before` and `after` are the values as a person reads them ("(none)" for an added or
    removed value on the side where it is missing). For a long free text both are None and
    `edits` lists the edited words instead.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    label: str
    kind: Literal["changed", "added", "removed"]
    before: str | None
    after: str | None
    edits: list[TextEdit] = Field(default_factory=list)

    def describe(self) -> list[str]:
        """The change as lines of plain text."""
        if self.edits:
            return [f"{self.label}:", *(f"  {e.marked()}" for e in self.edits)]
        if self.kind == "added":
            return [f"{self.label} added: {self.after}"]
        if self.kind == "removed":
            return [f"{self.label} removed: {self.before}"]
        return [f"{self.label}: {self.before} → {self.after}"]


class SectionDiff(BaseModel):
    """The changes to one top-level section of the case.

    `withheld` is True when the detail of a Part 2 section was taken out for a reader
    without Part 2 clearance: `changes` is then empty and the diff says only that the
    section changed.
    """

    model_config = ConfigDict(frozen=True)

    section: str
    label: str
    is_part2: bool
    changes: list[FieldChange]
    withheld: bool = False

    def describe(self) -> list[str]:
        """The section's changes as lines of plain text."""
        if self.withheld:
            return [f"{self.label} changed (not shown without Part 2 clearance)"]
        return [line for change in self.changes for line in change.describe()]


def section_label(section: str) -> str:
    """The label of a top-level section of the case ("Financial comments", "Part 2")."""
    return SECTION_LABELS.get(section) or section.replace("_", " ").capitalize()


def diff_cases(before: Case, after: Case) -> list[SectionDiff]:
    """The sections changed from `before` to `after`, in the order of the form, each with
    its changes as a person reads them. Identical cases give []."""
    diffs: list[SectionDiff] = []
    for name in Case.model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        label = section_label(name)
        changes = _diff(old, new, name, label, name)
        if not changes:  # a difference no rule below can see: say the section changed
            changes = [_changed(name, label, old, new)]
        diffs.append(
            SectionDiff(section=name, label=label, is_part2=name in PART2_SECTIONS, changes=changes)
        )
    return diffs


def withhold_part2(diffs: Iterable[SectionDiff]) -> list[SectionDiff]:
    """The diffs with every Part 2 section reduced to "Part 2 changed", with no text."""
    return [
        SectionDiff(section=d.section, label=d.label, is_part2=True, changes=[], withheld=True)
        if d.is_part2
        else d
        for d in diffs
    ]


# -- rendering ---------------------------------------------------------------------------


def render(value: Any) -> str:
    """A value of the case as a person reads it."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ")
    if isinstance(value, Decimal):
        return format_pounds(value)
    if isinstance(value, date):
        return long_date(value)
    if isinstance(value, BaseModel):
        return _render_model(value)
    if isinstance(value, list | tuple):
        return "; ".join(render(v) for v in value) if value else NONE
    return str(value)


def _render_model(m: BaseModel) -> str:
    if isinstance(m, Recommendation):
        text = f"{m.number}. {m.text}"
        if m.amount is not None:
            text += f" ({format_pounds(m.amount)})"
        if m.action == "note":
            text += " [to note]"
        for letter, part in zip("abcdefghijklmnopqrstuvwxyz", m.parts, strict=False):
            text += f" {letter}. {_render_model(part)}"
        return text
    if isinstance(m, RecommendationPart):
        return m.text + (f" ({format_pounds(m.amount)})" if m.amount is not None else "")
    if isinstance(m, MoneyLine):
        text = (
            f"{m.kind.value.capitalize()} {format_pounds(m.amount)} in "
            f"{', '.join(m.financial_years)}, from {m.funding_source}"
        )
        return text + (f": {m.description}" if m.description else "")
    if isinstance(m, GrantLine):
        return f"{format_pounds(m.amount)} to {m.recipient}: {m.purpose}"
    shown = []
    for name in type(m).model_fields:
        value = getattr(m, name)
        if value is None or value == []:
            continue
        shown.append(f"{_words(name)}: {render(value)}")
    return "; ".join(shown) or NONE


def _words(name: str) -> str:
    return name.replace("_", " ")


# -- diffing -----------------------------------------------------------------------------


def _diff(old: Any, new: Any, path: str, label: str, field: str) -> list[FieldChange]:
    """The changes from `old` to `new` at `path`; `field` is the name of the list or field
    the values belong to (it names list items)."""
    if old == new:
        return []
    if old is None:
        return [FieldChange(path=path, label=label, kind="added", before=NONE, after=render(new))]
    if new is None:
        return [FieldChange(path=path, label=label, kind="removed", before=render(old), after=NONE)]
    if isinstance(old, BaseModel) and type(old) is type(new):
        skip = _POSITIONAL.get(type(old), frozenset())
        changes: list[FieldChange] = []
        for name in type(old).model_fields:
            if name in skip:
                continue
            a, b = getattr(old, name), getattr(new, name)
            # a list's items are named from the item that holds them ("Money line 2,
            # financial year 3"), any other value by its field ("Money line 2, amount")
            inner = label if isinstance(a, list) else f"{label}, {_words(name)}"
            changes += _diff(a, b, f"{path}.{name}", inner, name)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        return _diff_list(old, new, path, label, field)
    if isinstance(old, str) and isinstance(new, str) and (_is_long(old) or _is_long(new)):
        edits = _text_edits(old, new)
        if edits:
            return [
                FieldChange(
                    path=path, label=label, kind="changed", before=None, after=None, edits=edits
                )
            ]
    return [_changed(path, label, old, new)]


def _changed(path: str, label: str, old: Any, new: Any) -> FieldChange:
    return FieldChange(
        path=path, label=label, kind="changed", before=render(old), after=render(new)
    )


def _item_label(label: str, path: str, field: str, index: int) -> str:
    if field == "parts":
        return f"{label}, part {_letter(index)}"
    top = path == field  # a section that is a list: `label` is the section's
    noun = _ITEM_NOUNS.get(field)
    if noun is None:
        return f"{label}, item {index + 1}" if top else f"{label}, {_words(field)} item {index + 1}"
    return f"{noun} {index + 1}" if top else f"{label}, {noun} {index + 1}"


def _letter(index: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[index] if index < 26 else str(index + 1)


def _key(item: Any) -> str:
    """What makes two list items the same item (its position excluded)."""
    if isinstance(item, BaseModel):
        return item.model_dump_json(exclude=set(_POSITIONAL.get(type(item), frozenset())))
    return f"{type(item).__name__}:{item!r}"


def _diff_list(
    old: Sequence[Any], new: Sequence[Any], path: str, label: str, field: str
) -> list[FieldChange]:
    """Items matched as difflib matches lines: equal runs are skipped; a replaced run is
    compared item by item, the extra items said as added or removed."""
    matcher = SequenceMatcher(None, [_key(i) for i in old], [_key(i) for i in new], autojunk=False)
    changes: list[FieldChange] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        for k in range(paired):
            j = j1 + k
            changes += _diff(
                old[i1 + k], new[j], f"{path}[{j}]", _item_label(label, path, field, j), field
            )
        for i in range(i1 + paired, i2):
            changes.append(
                FieldChange(
                    path=f"{path}[{i}]",
                    label=_item_label(label, path, field, i),
                    kind="removed",
                    before=render(old[i]),
                    after=NONE,
                )
            )
        for j in range(j1 + paired, j2):
            changes.append(
                FieldChange(
                    path=f"{path}[{j}]",
                    label=_item_label(label, path, field, j),
                    kind="added",
                    before=NONE,
                    after=render(new[j]),
                )
            )
    return changes


def _is_long(text: str) -> bool:
    return len(text) > LONG_TEXT or "\n" in text


def _words_of(text: str) -> list[str]:
    return [LINE_BREAK if w[0] == "\n" else w for w in _WORD.findall(text)]


def _join(words: Sequence[str]) -> str:
    return " ".join(words)


def _text_edits(old: str, new: str) -> list[TextEdit]:
    """The edited words of a long text, each with a few words of context (from the new
    text). Differences of spacing or of blank lines alone give no edit."""
    a, b = _words_of(old), _words_of(new)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    edits = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        start = max(0, j1 - CONTEXT_WORDS)
        end = min(len(b), j2 + CONTEXT_WORDS)
        before = _join(b[start:j1])
        after = _join(b[j2:end])
        edits.append(
            TextEdit(
                context_before=("… " if start > 0 else "") + before,
                removed=_join(a[i1:i2]),
                added=_join(b[j1:j2]),
                context_after=after + (" …" if end < len(b) else ""),
            )
        )
    return edits
