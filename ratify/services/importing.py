"""Importing a register: decisions taken before Ratify, written as closed cases.

Each history file (`domain.history`) becomes the complete event stream of one closed case:
every step the history gives, dated when it happened (`effective_at`), recorded now
(`occurred_at`), marked imported (`provenance`: how="imported", the importer, the register
it came from, the SHA-256 of the source file). The events are folded by the real fold as
they are built, so a history that could not have happened (a sign-off before submission,
the same person advising and deciding, a decision before the chief executive) is refused
naming the step and the rule; nothing of it is written. A good case is written in one append
(all of it or nothing), after its PCD reference is claimed in the `PCD` sequence.

The case is judged by the rules in force on its own submission date (`route_case`). Where the
register records something else (another decision maker, other paragraphs cited) the case
keeps what happened (its routing names the recorded decision maker, or the fold would refuse
the decision) and the difference is a *finding*: listed in the report and recorded on the
case as an irregularity by the importer, so auditors see it on the case, not only in a
report.

Idempotent: the case id comes from the reference (`pcd-512`) or the history's `case_id`, the
event ids from the case id; a case already stored from the same source (same SHA-256) is
skipped; from another source, or a live case under that id, is refused as a conflict. A
reference used twice in one import, or held by another case, is refused.

Dates: a step dated with a day happened at noon London time on it; each step's date may not
be before the step it follows, nor in the future. A required-by date that passed while the
case was open is recorded as missed at its own date (the day after it), before the first step
taken after it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain import events as ev
from domain.case import Case
from domain.casefile import CaseFileError, parse_case
from domain.clock import LONDON, london_date
from domain.deadlines import deadline_ended_at
from domain.errors import DomainError, RulesError
from domain.fold import apply, check_people
from domain.history import (
    Authority,
    History,
    HistoryFile,
    Outcome,
    day_of,
    effective_instant,
    parse_history,
    person_id,
)
from domain.ids import part2_review_id, reserved_prefix
from domain.register import part1_entry
from domain.roles import SYSTEM_ACTOR, Actor, Role
from domain.rules.delegation import DecisionMaker, Routing, route_case
from domain.state import CaseState, Part1Status, Part2Status
from eventstore import ConcurrencyConflict, EventStore, NumberTaken
from ratify.services.journal import from_stored, replay, to_new_event
from workflows import messages as m
from workflows.part2 import Part2ReviewWorkflow

#: The sequence of DMPC decision references.
PCD = "PCD"
#: How history files are named in a directory; the other files there are case files.
HISTORY_SUFFIXES = (".history.yaml", ".history.yml", ".history.json")
#: The most history files one import takes.
MAX_FILES = 10_000
#: The largest file (history or case file) an import reads.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: The secretariat officer of an imported board step the history does not name.
DEFAULT_SECRETARIAT = "board-secretariat"

_NAMESPACE = uuid.UUID("4b0c61a5-8f6e-4d3e-9a51-2a7c3f1e9d20")

Status = Literal["imported", "would_import", "skipped", "refused"]

_log = structlog.get_logger("ratify.import")


@dataclass(frozen=True)
class Source:
    """A file given to an import: its name (no directories) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Problem:
    """Why a case was refused: the field (`history.signoffs.1.date`) and the rule."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ImportRefused(Exception):
    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass
class CaseReport:
    """What an import did with one history file."""

    source: str
    status: Status
    case_id: str | None = None
    reference: str | None = None
    outcome: str | None = None
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Where the recorded outcome differs from what the rules in force said.
    findings: list[str] = field(default_factory=list)
    #: The Part 2 review date of an approved case whose Part 2 is still exempt.
    part2_review: date | None = None


@dataclass
class ImportReport:
    check: bool
    cases: list[CaseReport] = field(default_factory=list)

    def with_status(self, status: Status) -> list[CaseReport]:
        return [c for c in self.cases if c.status == status]

    @property
    def reviews(self) -> list[tuple[str, date]]:
        """The imported (or already imported) cases whose Part 2 review is to be started."""
        return [
            (c.case_id, c.part2_review)
            for c in self.cases
            if c.case_id and c.part2_review and c.status in ("imported", "skipped")
        ]


@dataclass(frozen=True)
class Plan:
    """The events of one imported case, folded, and what the import found."""

    case_id: str
    reference: str | None
    events: list[ev.Event]
    state: CaseState
    findings: list[str]
    routing: Routing | None


# -- reading sources ----------------------------------------------------------------------


def read_sources(path: Path) -> tuple[list[Source], list[Source]]:
    """The history files at `path` (a history file, or a directory of them: the files named
    `*.history.yaml|yml|json`) and the other files beside them (case files they may name).
    Raises ValueError naming the rule a path breaks."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        histories = [p for p in files if p.name.endswith(HISTORY_SUFFIXES)]
        if not histories:
            raise ValueError(f"{path}: no history files (*.history.yaml, *.history.json) in it")
    elif path.is_file():
        histories = [path]
        files = sorted(p for p in path.parent.iterdir() if p.is_file())
    else:
        raise ValueError(f"{path}: no such file or directory")
    if len(histories) > MAX_FILES:
        raise ValueError(f"{path}: {len(histories)} history files; at most {MAX_FILES} at a time")
    wanted = {p.name for p in histories}
    others = [p for p in files if p.name not in wanted and p.suffix in (".yaml", ".yml", ".json")]
    # Read one at a time as each is imported, so a large directory never sits in memory
    # whole, and a file too large is refused alone.
    return [_lazy_source(p) for p in histories], [_lazy_source(p) for p in others]


def _source(path: Path) -> Source:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name}: {size:,} bytes; a file may have at most {MAX_FILE_BYTES:,}")
    return Source(path.name, path.read_bytes())


def _lazy_source(path: Path) -> Source:
    # Case files are few next to their histories; read them when named (see _case_for).
    return _PathSource(path.name, b"", path)


@dataclass(frozen=True)
class _PathSource(Source):
    path: Path | None = None

    def read(self) -> bytes:
        return _source(self.path).data if self.path is not None else self.data


def _bytes_of(source: Source) -> bytes:
    return source.read() if isinstance(source, _PathSource) else source.data


def _text(source: Source, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRefused(Problem("(file)", f"{source.name} is not UTF-8 text")) from None


def _file_problems(exc: CaseFileError, prefix: str = "") -> list[Problem]:
    return [Problem(f"{prefix}{p.path}", p.message) for p in exc.problems]


def load(source: Source, beside: dict[str, Source]) -> tuple[HistoryFile, Case, str]:
    """A history file read and validated, its case, and its source SHA-256 (of the history
    file's bytes, followed by the case file's when the case is in a file of its own)."""
    try:
        raw = _bytes_of(source)
    except ValueError:  # too large to read (see `_source`)
        raise ImportRefused(Problem("(file)", f"at most {MAX_FILE_BYTES:,} bytes")) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ImportRefused(Problem("(file)", f"at most {MAX_FILE_BYTES:,} bytes"))
    try:
        history = parse_history(_text(source, raw), source.name)
    except CaseFileError as exc:
        raise ImportRefused(*_file_problems(exc)) from None
    digest = hashlib.sha256(raw)
    if history.case is not None:
        return history, history.case, digest.hexdigest()
    assert history.case_file is not None
    other = beside.get(history.case_file)
    if other is None:
        raise ImportRefused(
            Problem("case_file", f"no file {history.case_file!r} beside {source.name}")
        )
    data = _bytes_of(other)
    try:
        case = parse_case(_text(other, data), other.name)
    except CaseFileError as exc:
        raise ImportRefused(*_file_problems(exc, f"{history.case_file}: ")) from None
    digest.update(data)
    return history, case, digest.hexdigest()


# -- planning one case ----------------------------------------------------------------------


def _paragraph(text: str) -> str:
    """ "para 4.8", "paragraph 4.8", "4.8" -> "4.8"."""
    found = re.search(r"\d+(?:\.\d+)*", text)
    return found.group(0) if found else text.strip().lower()


class _Builder:
    """Builds a case's events step by step, folding each as it goes."""

    def __init__(self, case_id: str, provenance: ev.Provenance, now: datetime) -> None:
        self.case_id = case_id
        self.provenance = provenance
        self.now = now
        self.state = CaseState(case_id=case_id)
        self.events: list[ev.Event] = []
        self.last: tuple[str, datetime] | None = None
        #: Where a step breaks today's rules over persons (separation of duties, four eyes):
        #: the past is what it was, so these are findings, not refusals.
        self.findings: list[str] = []

    def step(
        self,
        where: str,
        cls: type[ev.Event],
        actor: Actor,
        when: date | datetime,
        **fields: Any,
    ) -> None:
        at = effective_instant(when)
        if at > self.now:
            raise ImportRefused(Problem(where, f"{_shown(when)} is in the future"))
        if self.last is not None and at < self.last[1]:
            raise ImportRefused(
                Problem(
                    where,
                    f"{_shown(when)} is before the step it follows ({self.last[0]}, "
                    f"{_shown(self.last[1])})",
                )
            )
        self._deadline_before(at)
        self._add(where, cls, actor, at, fields)
        self.last = (where, at)

    def _deadline_before(self, at: datetime) -> None:
        """A required-by date that passed while the case was open: missed at its own date."""
        state = self.state
        due = state.required_by
        if due is None or state.deadline_missed or state.stage.is_closed or state.case is None:
            return
        missed_at = deadline_ended_at(due)
        if at > missed_at:
            self._add(
                "time_sensitivity.required_by",
                ev.DeadlineMissed,
                SYSTEM_ACTOR,
                missed_at,
                {"required_by": due},
            )

    def _add(
        self,
        where: str,
        cls: type[ev.Event],
        actor: Actor,
        at: datetime | None,
        fields: dict[str, Any],
    ) -> None:
        event = cls(
            event_id=uuid.uuid5(_NAMESPACE, f"{self.case_id}/{len(self.events)}"),
            case_id=self.case_id,
            occurred_at=self.now,
            actor=actor,
            effective_at=at,
            provenance=self.provenance,
            **fields,
        )
        try:
            check_people(self.state, event)
        except DomainError as exc:
            self.findings.append(f"{where}: {exc}")
        try:
            self.state = apply(self.state, event)
        except DomainError as exc:
            raise ImportRefused(Problem(where, str(exc))) from None
        self.events.append(event)


def _shown(when: date | datetime) -> str:
    if isinstance(when, datetime):
        local = when.astimezone(LONDON)
        return local.date().isoformat() if local.time() == time(12) else local.isoformat()
    return when.isoformat()


def plan_case(
    history_file: HistoryFile,
    case: Case,
    *,
    source: str,
    source_sha256: str,
    importer: str,
    now: datetime,
) -> Plan:
    """The complete events of one imported case, folded by the real fold, and the findings
    where the register's record differs from the rules in force on its submission date.
    Raises ImportRefused naming the field and the rule of the first impossible step."""
    h = history_file.history
    case_id = h.ratify_case_id
    if (prefix := reserved_prefix(case_id)) is not None:
        raise ImportRefused(Problem("history.case_id", f"begins with {prefix!r}, kept by Ratify"))
    if h.part2_review_on is not None:
        paper = case.part2.review_date if case.part2 else None
        if paper != h.part2_review_on:
            said = paper.isoformat() if paper else "no Part 2"
            raise ImportRefused(
                Problem("history.part2_review_on", f"the case file's part2 gives {said}")
            )
    provenance = ev.Provenance(
        how="imported",
        recorded_by=importer,
        evidence=h.evidence or ev.Evidence(kind=ev.EvidenceKind.REGISTER, reference=source),
        source_sha256=source_sha256,
    )
    b = _Builder(case_id, provenance, now)
    officer = Actor(user_id=person_id(h.officer), role=Role.ORIGINATING_OFFICER)
    b.step("history.drafted_on", ev.CaseDrafted, officer, h.drafted_on, case=case)
    findings: list[str] = []
    routing: Routing | None = None
    if h.submitted_on is not None:
        routing, findings = _judge(h, case, day_of(h.submitted_on))
        b.step("history.submitted_on", ev.CaseSubmitted, officer, h.submitted_on, routing=routing)
    _board(b, h, case)
    for index, signoff in sorted(enumerate(h.signoffs), key=lambda s: effective_instant(s[1].date)):
        adviser = Actor(user_id=person_id(signoff.by), role=signoff.area.adviser_role)
        where = f"history.signoffs.{index}"
        if signoff.not_required is not None:
            b.step(
                where,
                ev.AdviceNotRequired,
                adviser,
                signoff.date,
                area=signoff.area,
                reason=signoff.not_required,
            )
        else:
            b.step(
                where,
                ev.SignOffGiven,
                adviser,
                signoff.date,
                area=signoff.area,
                comment=signoff.comment,
            )
    if (h.chief_executive or h.decision) and routing is not None:
        _advice_complete(b, h, routing)
    if h.chief_executive is not None:
        ceo = Actor(user_id=person_id(h.chief_executive.by), role=Role.CHIEF_EXECUTIVE)
        b.step(
            "history.chief_executive",
            ev.ChiefExecutiveConsulted,
            ceo,
            h.chief_executive.date,
            comment=h.chief_executive.comment,
        )
    if h.decision is not None:
        _decide(b, h)
    if h.outcome is Outcome.APPROVED:
        _publish(b, h, case)
    if h.withdrawn is not None:
        by = person_id(h.withdrawn.by) if h.withdrawn.by else officer.user_id
        b.step(
            "history.withdrawn",
            ev.CaseWithdrawn,
            Actor(user_id=by, role=Role.ORIGINATING_OFFICER),
            h.withdrawn.date,
            reason=h.withdrawn.reason,
        )
    if b.state.stage.value != h.outcome.value:
        raise ImportRefused(
            Problem("history.outcome", f"the steps given end with the case {b.state.stage.label}")
        )
    findings = [*findings, *b.findings]
    importer_actor = Actor(user_id=importer, role=Role.ADMIN)
    for finding in findings:
        b._add(
            "history",
            ev.IrregularityRecorded,
            importer_actor,
            None,
            {"description": f"Found on import: {finding}"},
        )
    return Plan(case_id, h.reference, b.events, b.state, findings, routing)


def _judge(h: History, case: Case, submitted: date) -> tuple[Routing, list[str]]:
    """The routing by the rules in force on the submission date, with the decision maker the
    register records, and where the two differ."""
    try:
        engine = route_case(case, submitted)
    except RulesError as exc:
        raise ImportRefused(Problem("history.submitted_on", str(exc))) from None
    findings: list[str] = []
    routing = engine
    on = f"the rules in force on {submitted.isoformat()} (scheme {engine.rule_set.scheme_version})"
    if h.decision is not None:
        recorded = (
            DecisionMaker.DMPC
            if h.decision.authority is Authority.DMPC
            else DecisionMaker.MPS_DELEGATED
        )
        if recorded is not engine.decision_maker:
            findings.append(
                f"{on} make it {_maker(engine.decision_maker)}; the register records "
                f"{_maker(recorded)}"
            )
            routing = engine.model_copy(update={"decision_maker": recorded})
        if h.decision.paragraphs:
            cited = sorted({_paragraph(p) for p in h.decision.paragraphs})
            ruled = sorted({_paragraph(p) for p in engine.paragraphs})
            if cited != ruled:
                findings.append(f"the paper cites {_paras(cited)}; {on} give {_paras(ruled)}")
    return routing, findings


def _maker(maker: DecisionMaker) -> str:
    return "a DMPC decision" if maker is DecisionMaker.DMPC else "an MPS-delegated decision"


def _paras(numbers: Sequence[str]) -> str:
    return ", ".join(f"para {n}" for n in numbers) if numbers else "no paragraph"


def _board(b: _Builder, h: History, case: Case) -> None:
    if h.board is not None:
        board = h.board
        if case.board is None:
            raise ImportRefused(Problem("history.board", "the case file names no board"))
        secretariat = Actor(
            user_id=person_id(board.secretariat or DEFAULT_SECRETARIAT),
            role=Role.BOARD_SECRETARIAT,
        )
        meeting_day = day_of(board.meeting_on)
        meeting_id = board.meeting_id or f"imported-{case.board.board.value}-{meeting_day}"
        placed = board.placed_on or h.submitted_on or board.meeting_on
        b.step(
            "history.board.placed_on",
            ev.PlacedOnAgenda,
            secretariat,
            placed,
            meeting_id=meeting_id,
            meeting_date=meeting_day,
            board=case.board.board,
        )
        b.step(
            "history.board.meeting_on",
            ev.BoardAdviceRecorded,
            secretariat,
            board.meeting_on,
            meeting_id=meeting_id,
            advice=board.advice,
            conditions=board.conditions,
        )
    if h.extremis is not None:
        chair = Actor(user_id=person_id(h.extremis.chair), role=Role.BOARD_CHAIR)
        b.step(
            "history.extremis",
            ev.ExtremisAgreed,
            chair,
            h.extremis.agreed_on,
            reason=case.extremis_reason or "Extremis submission",
        )


def _advice_complete(b: _Builder, h: History, routing: Routing) -> None:
    """Every sign-off the routing requires is in the history before the case goes on."""
    given = {s.area for s in h.signoffs}
    missing = [a for a in routing.required_signoffs if a not in given]
    if missing:
        names = ", ".join(a.label for a in missing)
        raise ImportRefused(
            Problem(
                "history.signoffs",
                f"the rules in force on {routing.judged_on.isoformat()} require "
                f"{', '.join(a.label for a in routing.required_signoffs)} advice; the history "
                f"gives none for {names} (write it with not_required and the reason if none "
                "was taken)",
            )
        )


def _decide(b: _Builder, h: History) -> None:
    decision = h.decision
    assert decision is not None
    decider = person_id(decision.by)
    if decision.authority is Authority.DMPC or h.interests is not None:
        interests = h.interests
        dmpc = person_id(interests.by) if interests and interests.by else decider
        declared_on = (interests.date if interests else None) or decision.date
        has_interest = bool(interests and interests.has_interest)
        b.step(
            "history.interests",
            ev.InterestsDeclared,
            Actor(user_id=dmpc, role=b.state.decision_maker_role or Role.DMPC),
            declared_on,
            has_interest=has_interest,
            details=interests.details if interests else None,
        )
        if has_interest:
            assert interests is not None
            b.step(
                "history.interests.alternate_declared_on",
                ev.InterestsDeclared,
                Actor(user_id=decider, role=Role.ALTERNATE_DECISION_MAKER),
                interests.alternate_declared_on or decision.date,
                has_interest=False,
            )
    role = b.state.decision_maker_role or (
        Role.DMPC if decision.authority is Authority.DMPC else Role.MPS_DECISION_MAKER
    )
    actor = Actor(user_id=decider, role=role)
    if h.outcome is Outcome.APPROVED:
        b.step(
            "history.decision",
            ev.DecisionApproved,
            actor,
            decision.date,
            reference=h.reference,
            comment=decision.reason,
        )
    else:
        assert decision.reason is not None
        b.step(
            "history.decision", ev.DecisionDeclined, actor, decision.date, comment=decision.reason
        )


def _publish(b: _Builder, h: History, case: Case) -> None:
    state = b.state
    if state.part1 is not Part1Status.PENDING:
        if h.publication is not None:
            raise ImportRefused(
                Problem("history.publication", "an MPS-delegated decision is not published")
            )
        return
    assert h.decision is not None
    publisher = (
        Actor(user_id=person_id(h.publication.by), role=Role.PUBLICATION_OFFICER)
        if h.publication and h.publication.by
        else SYSTEM_ACTOR
    )
    deferral = case.part1_deferral
    decided = state.decided_at
    assert decided is not None
    if deferral is not None and deferral.until > london_date(decided):
        b.step(
            "part1_deferral",
            ev.Part1Deferred,
            publisher,
            decided,
            until=deferral.until,
            reason=deferral.reason,
        )
    if h.publication is None:
        raise ImportRefused(
            Problem(
                "history.publication",
                "an approved DMPC decision is published on the register: give published_on "
                "(a deferral still running cannot be imported: no workflow would publish it)",
            )
        )
    b.step(
        "history.publication.published_on",
        ev.Part1Published,
        publisher,
        h.publication.published_on,
        entry=part1_entry(b.state),
    )


# -- the import -------------------------------------------------------------------------


def _stored_import(store: EventStore, case_id: str) -> ev.Provenance | Literal[False] | None:
    """How the case under this id was stored: its provenance if imported, None if Ratify
    witnessed it (a live case), False if there is none."""
    first = store.read_stream(case_id, to_version=1)
    if not first:
        return False
    return from_stored(first[0]).provenance


def import_histories(
    store: EventStore,
    histories: Sequence[Source],
    *,
    beside: Iterable[Source] = (),
    importer: str,
    now: datetime,
    check: bool = False,
    on_case: Callable[[CaseReport], None] | None = None,
) -> ImportReport:
    """Import history files: each case written whole or not at all (`check`: nothing
    written, the report says what would be). `beside`: case files the histories may name."""
    if len(histories) > MAX_FILES:
        raise ValueError(f"{len(histories)} history files; at most {MAX_FILES} at a time")
    files = {s.name: s for s in [*beside, *histories]}
    report = ImportReport(check=check)
    loaded: list[tuple[Source, HistoryFile, Case, str] | CaseReport] = []
    for source in histories:
        try:
            loaded.append((source, *load(source, files)))
        except ImportRefused as exc:
            loaded.append(CaseReport(source.name, "refused", problems=exc.problems))
        except Exception as exc:
            loaded.append(_unexpected(source.name, None, exc))
    good = [item[1].history for item in loaded if not isinstance(item, CaseReport)]
    references = Counter(h.reference for h in good if h.reference)
    case_ids = Counter(h.ratify_case_id for h in good)
    held = {number: owner for owner, number in store.allocations(PCD).items()}
    for item in loaded:
        if isinstance(item, CaseReport):
            report.cases.append(item)
            continue
        source, history_file, case, sha = item
        try:
            result = _import_one(
                store,
                source,
                history_file,
                case,
                sha,
                importer=importer,
                now=now,
                check=check,
                duplicate_reference=references[history_file.history.reference or ""] > 1,
                duplicate_case=case_ids[history_file.history.ratify_case_id] > 1,
                held=held,
            )
        except Exception as exc:
            result = _unexpected(source.name, history_file.history.ratify_case_id, exc)
        report.cases.append(result)
        if on_case is not None:
            on_case(result)
    return report


def _unexpected(name: str, case_id: str | None, error: BaseException) -> CaseReport:
    """A case the importer could not take for a reason it did not foresee: refused alone
    (the others go on), logged with its type only, never its text (it may quote Part 2)."""
    _log.error(
        "import of one history failed", source=name, case_id=case_id, error=type(error).__name__
    )
    return CaseReport(
        name,
        "refused",
        case_id=case_id,
        problems=[
            Problem(
                "(file)",
                "this history could not be imported (an unexpected error, logged for the "
                "operators); nothing of it was written",
            )
        ],
    )


def _import_one(
    store: EventStore,
    source: Source,
    history_file: HistoryFile,
    case: Case,
    sha: str,
    *,
    importer: str,
    now: datetime,
    check: bool,
    duplicate_reference: bool,
    duplicate_case: bool,
    held: dict[int, str],
) -> CaseReport:
    h = history_file.history
    case_id = h.ratify_case_id
    result = CaseReport(
        source.name, "refused", case_id=case_id, reference=h.reference, outcome=h.outcome.value
    )
    if duplicate_reference:
        result.problems.append(
            Problem("history.reference", f"{h.reference} is given by more than one file")
        )
        return result
    if duplicate_case:
        result.problems.append(
            Problem("history.case_id", f"{case_id} is given by more than one file")
        )
        return result
    stored = _stored_import(store, case_id)
    if stored is not False:
        if stored is not None and stored.how == "imported" and stored.source_sha256 == sha:
            result.status = "skipped"
            result.part2_review = _review_due(store, case_id)
            return result
        what = (
            "a case Ratify recorded itself (a live case)"
            if stored is None or stored.how != "imported"
            else "a case imported from another file (a different SHA-256)"
        )
        result.problems.append(Problem("history.case_id", f"{case_id} is already {what}"))
        return result
    number = h.reference_number
    if number is not None and held.get(number, case_id) != case_id:
        result.problems.append(
            Problem("history.reference", f"{h.reference} is held by case {held[number]}")
        )
        return result
    try:
        plan = plan_case(
            history_file, case, source=source.name, source_sha256=sha, importer=importer, now=now
        )
    except ImportRefused as exc:
        result.problems.extend(exc.problems)
        return result
    result.findings = plan.findings
    result.events = len(plan.events)
    if plan.state.part2 is Part2Status.EXEMPT:
        result.part2_review = plan.state.part2_review_date
    if check:
        result.status = "would_import"
        return result
    try:
        if number is not None:
            store.claim(PCD, case_id, number)
            held[number] = case_id
        store.append(case_id, 0, [to_new_event(e) for e in plan.events])
    except NumberTaken as exc:
        result.problems.append(
            Problem("history.reference", f"{h.reference} is held by case {exc.holder}")
        )
        return result
    except ConcurrencyConflict:
        result.problems.append(Problem("history.case_id", f"{case_id} was written meanwhile"))
        return result
    result.status = "imported"
    return result


def _review_due(store: EventStore, case_id: str) -> date | None:
    """The Part 2 review date of an already imported case whose Part 2 is still exempt."""
    state, _ = replay(case_id, store.read_stream(case_id))
    return state.part2_review_date if state.part2 is Part2Status.EXEMPT else None


# -- Part 2 reviews ---------------------------------------------------------------------------


async def start_part2_reviews(
    client: Client, reviews: Sequence[tuple[str, date]], *, task_queue: str, today: date
) -> dict[str, str]:
    """Start the Part 2 review workflow of each imported case whose Part 2 is exempt, under
    the id the decision workflow gives it (`part2-review-<case>`): a review date ahead sets
    its timer; one already past opens the publication officer's review task at once (the
    workflow records the review as due and notifies). A review already started (a second
    import) or finished is left as it is. Returns what was done, by case id."""
    done: dict[str, str] = {}
    for case_id, review_date in reviews:
        try:
            await client.start_workflow(
                Part2ReviewWorkflow.run,
                m.Part2ReviewInput(case_id=case_id, review_date=review_date),
                id=part2_review_id(case_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            done[case_id] = "review already started"
            continue
        done[case_id] = (
            f"review task opened (review date {review_date.isoformat()} has passed)"
            if review_date <= today
            else f"review timer set for {review_date.isoformat()}"
        )
    return done
