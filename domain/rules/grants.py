"""Grants to third parties: which lines are one award, and which appendix each falls in.

Each grant of £50,000 or more needs the DMPC; smaller ones are approved by the MPS and
noted. Related lines (one award split up) are added together before the test:

- lines with the same declared `group` (group names compared normalised) are one award;
- ungrouped lines to one recipient (names compared normalised: `recipient_key`) are one
  award, so that splitting cannot slip a grant under the threshold by default;
- a batch line ("23 further grants, each under £50,000") is a group of its own, tested by
  its largest single award and never by its total.

Where the grouping may hide one award split up, the engine raises splitting warnings for
the officer to fix or acknowledge: a recipient in more than one group, groups that look like
one award (similar recipient, same purpose, each just under the threshold, together over
it), and recipients whose names differ only slightly.

Everything here runs inside the decision workflow: iterate lists and dicts only, never sets,
so that the answer (and each warning's key) is the same on every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from difflib import SequenceMatcher

from pydantic import BaseModel, ConfigDict

from domain.case import Case, GrantLine
from domain.money import format_pounds
from domain.rules.findings import (
    Check,
    CheckKind,
    Finding,
    GrantGroup,
    GrantLineOutcome,
    Outcome,
    Severity,
    make_check,
    recipient_key,
    threshold_test,
)
from domain.rules.scheme import RuleKind, Scheme

#: Two groups look like one award split when each is below the threshold by no more than
#: this share of it ...
NEAR_THRESHOLD = Decimal("0.20")
#: ... their recipients' names (normalised) are this alike or more (difflib ratio) ...
SIMILAR_RECIPIENT = 0.85
#: ... and their purposes share this much of their words (Jaccard index).
SHARED_PURPOSE = 0.5
#: Recipients whose normalised names are this alike, but not equal, may be one
#: organisation misspelt ("Bright Futures Trust" and "Bright Futures Trsut").
SLIGHTLY_DIFFERENT = 0.9
#: Alike by ratio is not enough: long names that share most of their words ("London
#: Borough of Barnet" and "London Borough of Brent", ratio 0.94) are different bodies. Two
#: names are near-identical only when a typing slip apart: at most this many letters
#: inserted, deleted, changed or swapped with a neighbour (one more for names of
#: `LONG_NAME` characters or more).
MAX_SLIPS = 1
LONG_NAME = 30
#: Names are compared only when they begin or end with the same three letters, on their
#: first `MAX_COMPARED_CHARS` characters, and at most `MAX_COMPARISONS` pairs of names or of
#: groups are compared: a bound on the work for 1,000 grant lines, each of which may name a
#: batch of recipients (about a second at worst; a real paper's names take milliseconds).
MAX_COMPARISONS = 5_000
MAX_COMPARED_CHARS = 100
#: A warning lists at most this many groups, names or line numbers, then says how many more.
MAX_LISTED = 12

#: What the officer can do about a splitting warning.
_UNRELATED = "confirm with a reason that the awards are unrelated"
_TO_DO = f"{_UNRELATED.capitalize()}, or put the lines in one group."

# Words that say nothing about what a grant is for.
# fmt: off
_STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it",
    "its", "of", "on", "or", "our", "over", "that", "the", "their", "this", "to", "with",
    "within", "grant", "grants", "funding", "funded", "award", "awards", "towards", "year",
    "years",
))
# fmt: on


class GrantRouting(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding]
    lines: list[GrantLineOutcome]
    groups: list[GrantGroup]
    warnings: list[Check]


@dataclass
class _Group:
    key: str
    label: str
    kind: str
    lines: list[int] = field(default_factory=list)


def route_grants(scheme: Scheme, on: date, case: Case) -> GrantRouting:
    """The grant lines of `case` judged by the rules in force `on` a date."""
    grants = case.grant_lines
    groups = _group(grants)
    threshold = scheme.scheme_on(on).rules[RuleKind.THIRD_PARTY_GRANT].threshold

    results: list[GrantGroup] = []
    per_line: dict[int, tuple[Finding, GrantGroup]] = {}
    for group in groups:
        members = [grants[i] for i in group.lines]
        total = sum((g.amount for g in members), Decimal("0.00"))
        batch = members[0].batch if group.kind == "batch" else None
        tested = batch.largest if batch is not None else total
        verdict = threshold_test(
            scheme,
            on,
            RuleKind.THIRD_PARTY_GRANT,
            _group_subject(group, members),
            tested,
            below=Outcome.DMPC_NOTES,
            aggregated_note=_group_note(group, total),
        )
        result = GrantGroup(
            key=group.key,
            label=group.label,
            kind=group.kind,
            lines=list(group.lines),
            total=total,
            tested_amount=tested,
            threshold=verdict.threshold,
            outcome=verdict.outcome,
            reference=verdict.reference,
            explanation=verdict.explanation,
        )
        results.append(result)
        for index in group.lines:
            finding = threshold_test(
                scheme,
                on,
                RuleKind.THIRD_PARTY_GRANT,
                _line_subject(grants[index]),
                tested,
                below=Outcome.DMPC_NOTES,
                aggregated_note=_line_note(group),
            )
            per_line[index] = (finding, result)

    findings: list[Finding] = []
    lines: list[GrantLineOutcome] = []
    for index, grant in enumerate(grants):
        finding, result = per_line[index]
        findings.append(finding)
        lines.append(
            GrantLineOutcome(
                index=index,
                line_id=grant.id,
                recipient=grant.recipient,
                amount=grant.amount,
                group=result.key,
                tested_amount=result.tested_amount,
                batch_count=grant.batch.count if grant.batch is not None else None,
                outcome=finding.outcome,
                reference=finding.reference,
                explanation=finding.explanation,
            )
        )
    by_key = {g.key: g for g in results}
    split, covered = _split_awards(grants, groups, by_key, threshold)
    warnings = [
        *_in_several_groups(grants, groups, by_key, covered),
        *split,
        *_slightly_different_names(grants, groups, by_key, covered),
    ]
    return GrantRouting(findings=findings, lines=lines, groups=results, warnings=warnings)


# -- grouping -------------------------------------------------------------------------


def _key(name: str) -> str:
    return recipient_key(name) or " ".join(name.casefold().split())


def declared_group_key(group: str) -> str:
    """The `GrantGroup.key` of the group a paper names `group` (names compared normalised,
    so "Youth Fund 2019-22" and "youth fund 2019 22" are one): for a recommendation that
    covers a group by name."""
    return f"group:{_key(group)}"


def _group(grants: list[GrantLine]) -> list[_Group]:
    """The groups in the order of their first line: a declared group, the ungrouped lines
    to one recipient, or one batch line."""
    groups: dict[str, _Group] = {}
    for index, grant in enumerate(grants):
        if grant.batch is not None:
            key = f"batch:{index + 1}"
            label = grant.recipient or f"{grant.batch.count} grants (grant line {index + 1})"
            groups[key] = _Group(key=key, label=label, kind="batch")
        elif grant.group is not None:
            key = declared_group_key(grant.group)
            groups.setdefault(key, _Group(key=key, label=grant.group, kind="declared"))
        else:
            key = f"recipient:{_key(grant.recipient or '')}"
            groups.setdefault(key, _Group(key=key, label=grant.recipient or "", kind="recipient"))
        groups[key].lines.append(index)
    return list(groups.values())


# -- words ------------------------------------------------------------------------------


def _and(items: list[str], more: str = "others") -> str:
    """'a', 'a and b', 'a, b and c'; past `MAX_LISTED` items, 'a, b, ... and 7 others'."""
    if len(items) > MAX_LISTED:
        items = [*items[:MAX_LISTED], f"{len(items) - MAX_LISTED} {more}"]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _line_numbers(indices: list[int]) -> str:
    """'grant line 3', 'grant lines 3 and 7' (1-based, as the paper numbers them)."""
    numbers = [str(i + 1) for i in indices]
    return f"grant line{'s' if len(numbers) > 1 else ''} {_and(numbers)}"


def _quoted(names: list[str]) -> str:
    return _and([f'"{n}"' for n in names], more="other names")


def _line_subject(grant: GrantLine) -> str:
    if grant.batch is not None:
        subject = (
            f"{grant.batch.count} grants totalling {format_pounds(grant.amount)}, "
            f"largest {format_pounds(grant.batch.largest)}"
        )
        return f"{subject}, to {grant.recipient}" if grant.recipient else subject
    return f"grant of {format_pounds(grant.amount)} to {grant.recipient}"


def _group_subject(group: _Group, members: list[GrantLine]) -> str:
    numbers = _line_numbers(group.lines)
    if group.kind == "declared":
        return f'group "{group.label}" ({numbers})'
    if group.kind == "batch":
        batch = members[0].batch
        count = batch.count if batch is not None else 0
        return f"batch of {count} grants ({numbers})"
    return f"grants to {group.label} ({numbers})"


def _group_note(group: _Group, total: Decimal) -> str:
    if group.kind == "batch":
        return (
            f" (the largest single award of the batch's {format_pounds(total)}; each award "
            "is tested on its own, never the batch's total)"
        )
    return " in total" if len(group.lines) > 1 else ""


def _line_note(group: _Group) -> str:
    if group.kind == "batch":
        return (
            " (the largest single award in the batch: each award in it is tested on its "
            "own, never the batch's total)"
        )
    where = f'group "{group.label}"' if group.kind == "declared" else None
    if len(group.lines) > 1:
        return (
            f" (the total of {where or f'the ungrouped grants to {group.label}'}: "
            f"{_line_numbers(group.lines)} added together as one award)"
        )
    if where:
        return f" (the total of {where}, which has only this line)"
    return ""


def _names(grant: GrantLine) -> list[str]:
    """The recipients a line names, as written: its recipient, and a batch's recipients."""
    names = [grant.recipient] if grant.recipient else []
    if grant.batch is not None:
        names.extend(grant.batch.recipients)
    return names


def _group_in_words(
    group: GrantGroup, grants: list[GrantLine], indices: list[int], keys: list[str]
) -> str:
    """'group "Youth Fund" (grant lines 1 and 2 to Bright Futures Ltd, £120,000 in total:
    approve)': the group, and its lines among `indices` naming a recipient of `keys`."""
    where = _line_numbers(indices)
    written = _quoted(
        list(dict.fromkeys(n for i in indices for n in _names(grants[i]) if _key(n) in keys))
    )
    if group.kind == "batch":
        return (
            f"the batch at {where} (naming {written}; largest award "
            f"{format_pounds(group.tested_amount)}: {group.outcome.label})"
        )
    amount = format_pounds(group.total)
    if group.kind == "declared":
        in_total = " in total" if len(group.lines) > 1 else ""
        state = f"{amount}{in_total}: {group.outcome.label}"
        return f'group "{group.label}" ({where} to {written}, {state})'
    return f"ungrouped ({where} to {written}, {amount}: {group.outcome.label})"


def _groups_in_words(parts: list[str]) -> str:
    if len(parts) > MAX_LISTED:
        parts = [*parts[:MAX_LISTED], f"and {len(parts) - MAX_LISTED} more groups"]
    return "; ".join(parts)


# -- comparing names ----------------------------------------------------------------------


def _alike(a: str, b: str, at_least: float) -> bool:
    """Equal, or alike by `at_least` (difflib ratio) and a typing slip or two apart."""
    if a == b:
        return True
    a, b = a[:MAX_COMPARED_CHARS], b[:MAX_COMPARED_CHARS]
    slips = MAX_SLIPS + (1 if max(len(a), len(b)) >= LONG_NAME else 0)
    if abs(len(a) - len(b)) > slips:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= at_least
        and matcher.quick_ratio() >= at_least
        and matcher.ratio() >= at_least
        and _slips(a, b) <= slips
    )


def _slips(a: str, b: str) -> int:
    """The optimal string alignment distance: letters inserted, deleted, changed, or two
    neighbours swapped ('trust' and 'trsut' are one slip apart)."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[len(b)]


def _similar_pairs(keys: list[str], at_least: float) -> list[tuple[int, int]]:
    """Pairs (i < j, in order) of the distinct `keys` alike by `at_least` (difflib ratio).

    Only keys that begin or end with the same three letters are compared (a slight
    misspelling leaves one end alone), and at most `MAX_COMPARISONS` pairs.
    """
    blocks: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        compact = key.replace(" ", "")
        for block in (f"<{compact[:3]}", f">{compact[-3:]}"):
            blocks.setdefault(block, []).append(i)
    compared: dict[tuple[int, int], bool] = {}
    for members in blocks.values():
        for position, i in enumerate(members):
            for j in members[position + 1 :]:
                if (i, j) in compared:
                    continue
                if len(compared) >= MAX_COMPARISONS:
                    return sorted(pair for pair, alike in compared.items() if alike)
                compared[(i, j)] = _alike(keys[i], keys[j], at_least)
    return sorted(pair for pair, alike in compared.items() if alike)


def _purpose_words(text: str) -> list[str]:
    words: dict[str, None] = {}
    for word in re.findall(r"[a-z0-9]+", text.casefold()):
        if word in _STOP_WORDS or word.isdigit():
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words[word] = None
    return list(words)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


# -- splitting warnings -----------------------------------------------------------------


def _covered(group_keys: list[str], covered: list[frozenset[str]]) -> bool:
    """Whether a warning about one award split up already names all these groups."""
    return any(all(k in together for k in group_keys) for together in covered)


def _in_several_groups(
    grants: list[GrantLine],
    groups: list[_Group],
    by_key: dict[str, GrantGroup],
    covered: list[frozenset[str]],
) -> list[Check]:
    """One recipient (names compared normalised) in more than one group (unless a warning
    that the groups look like one award split up says so already)."""
    where: dict[str, dict[str, dict[int, None]]] = {}
    written: dict[str, dict[str, None]] = {}
    for group in groups:
        for index in group.lines:
            for name in _names(grants[index]):
                key = _key(name)
                where.setdefault(key, {}).setdefault(group.key, {})[index] = None
                written.setdefault(key, {})[name] = None
    checks = []
    for key, in_groups in where.items():
        if len(in_groups) < 2 or _covered(list(in_groups), covered):
            continue
        indices = sorted(i for lines in in_groups.values() for i in lines)
        parts = [
            _group_in_words(by_key[g], grants, list(lines), [key]) for g, lines in in_groups.items()
        ]
        names = list(written[key])
        message = (
            f"{_quoted(names)} {'are' if len(names) > 1 else 'is'} one recipient (names "
            f"compared without case, punctuation and legal form) in {len(in_groups)} groups, "
            f"each tested against the threshold on its own: {_groups_in_words(parts)}. If "
            f"these are one award split up, put the lines in one group; otherwise {_UNRELATED}."
        )
        checks.append(
            make_check(
                CheckKind.SPLITTING,
                Severity.ACKNOWLEDGE,
                f"{_line_numbers(indices)} ({names[0]})",
                message,
            )
        )
    return checks


def _split_awards(
    grants: list[GrantLine],
    groups: list[_Group],
    by_key: dict[str, GrantGroup],
    threshold: Decimal | None,
) -> tuple[list[Check], list[frozenset[str]]]:
    """Groups that look like one award split: similar recipients, the same purpose, each
    just under the threshold and together at or over it. Also the keys of the groups each
    warning names."""
    if threshold is None:
        return [], []
    floor = threshold * (1 - NEAR_THRESHOLD)
    near = [
        g for g in groups if g.kind != "batch" and floor <= by_key[g.key].tested_amount < threshold
    ]
    words = [_purpose_words(" ".join(grants[i].purpose for i in g.lines)) for g in near]
    purposes = [frozenset(w) for w in words]
    # The groups naming each recipient, then pairs of groups with alike recipients.
    naming: dict[str, list[int]] = {}
    for position, group in enumerate(near):
        for index in group.lines:
            for name in _names(grants[index]):
                at = naming.setdefault(_key(name), [])
                if position not in at:
                    at.append(position)
    keys = list(naming)
    pairs: dict[tuple[int, int], None] = {}
    related = [(k, k) for k in range(len(keys))]
    related.extend(_similar_pairs(keys, SIMILAR_RECIPIENT))
    for a, b in related:
        for i in naming[keys[a]]:
            for j in naming[keys[b]]:
                if i != j and len(pairs) < MAX_COMPARISONS:
                    pairs[(min(i, j), max(i, j))] = None

    parent = list(range(len(near)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in sorted(pairs):
        if root(i) != root(j) and _jaccard(purposes[i], purposes[j]) >= SHARED_PURPOSE:
            parent[root(j)] = root(i)
    components: dict[int, list[int]] = {}
    for i in range(len(near)):
        components.setdefault(root(i), []).append(i)

    checks = []
    covered: list[frozenset[str]] = []
    for members in components.values():
        if len(members) < 2:
            continue
        parts = [by_key[near[m].key] for m in members]
        together = sum((p.tested_amount for p in parts), Decimal("0.00"))
        if together < threshold:
            continue
        indices = sorted(i for m in members for i in near[m].lines)
        names = list(dict.fromkeys(n for i in indices for n in _names(grants[i])))
        shared = [w for w in words[members[0]] if all(w in purposes[m] for m in members)]
        described = _groups_in_words(
            [
                _group_in_words(p, grants, near[m].lines, [_key(n) for n in names])
                for p, m in zip(parts, members, strict=True)
            ]
        )
        message = (
            f"{len(members)} groups look like one award split up: {described}. Their "
            f"recipients ({_quoted(names)}) are the same or nearly so, their purposes "
            f"share {_and(shared, more='other words') or 'most of their words'}, each is "
            f"below the {format_pounds(threshold)} threshold by less than "
            f"{int(NEAR_THRESHOLD * 100)}% of it, and together they come to "
            f"{format_pounds(together)}, at or over it. {_TO_DO}"
        )
        checks.append(
            make_check(
                CheckKind.SPLITTING,
                Severity.ACKNOWLEDGE,
                f"{_line_numbers(indices)} ({names[0] if names else parts[0].label})",
                message,
            )
        )
        covered.append(frozenset(p.key for p in parts))
    return checks, covered


def _slightly_different_names(
    grants: list[GrantLine],
    groups: list[_Group],
    by_key: dict[str, GrantGroup],
    covered: list[frozenset[str]],
) -> list[Check]:
    """Recipients whose names differ only slightly, on lines not in one group."""
    group_of = {i: g.key for g in groups for i in g.lines}
    lines: dict[str, dict[int, None]] = {}
    written: dict[str, str] = {}
    for index, grant in enumerate(grants):
        for name in _names(grant):
            key = _key(name)
            written.setdefault(key, name)
            lines.setdefault(key, {})[index] = None
    keys = list(lines)
    checks = []
    for a, b in _similar_pairs(keys, SLIGHTLY_DIFFERENT):
        both = sorted(dict.fromkeys([*lines[keys[a]], *lines[keys[b]]]))
        in_groups: dict[str, list[int]] = {}
        for i in both:
            in_groups.setdefault(group_of[i], []).append(i)
        if len(in_groups) < 2 or _covered(list(in_groups), covered):
            continue
        first, second = written[keys[a]], written[keys[b]]
        parts = [
            _group_in_words(by_key[g], grants, at, [keys[a], keys[b]])
            for g, at in in_groups.items()
        ]
        message = (
            f'"{first}" ({_line_numbers(list(lines[keys[a]]))}) and "{second}" '
            f"({_line_numbers(list(lines[keys[b]]))}) differ only slightly, so they were "
            "taken as different recipients and their grants were not added together: "
            f"{_groups_in_words(parts)}. If they are one organisation, correct the name or "
            f"put the lines in one group; otherwise {_UNRELATED}."
        )
        checks.append(
            make_check(
                CheckKind.SPLITTING,
                Severity.ACKNOWLEDGE,
                f'{_line_numbers(both)} ("{first}" and "{second}")',
                message,
            )
        )
    return checks
