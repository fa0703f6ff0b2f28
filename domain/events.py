"""The events of a decision's life: one type per step, each with a schema version.

Every event carries an id, the case it belongs to, when it happened, and the actor (user
id, role, and the principal when a deputy acted). The payload is the rest of its fields.

Stored events are plain `(type, schema_version, payload)` triples. `encode` makes one from
an event; `decode` loads one back, first running the *upcasters* registered for its type
from the stored schema version up to the current one, so that events written under an
older schema keep loading after a type changes. Upcasters are never removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from domain.case import BoardAdvice, BoardName, Case, Text
from domain.errors import UnknownEventError
from domain.register import RegisterEntry
from domain.roles import Actor, AdviceArea
from domain.rules.delegation import Routing

#: The fields every event has; the rest of an event's fields are its payload.
ENVELOPE_FIELDS = frozenset({"event_id", "case_id", "occurred_at", "actor"})


class EvidenceKind(StrEnum):
    """What a step taken outside Ratify is recorded from."""

    SIGNED_FORM = "signed_form"
    EMAIL = "email"
    MINUTES = "minutes"
    LETTER = "letter"
    PHONE_NOTE = "phone_note"
    REGISTER = "register"
    OTHER = "other"


SHA256_PATTERN = r"^[0-9a-f]{64}$"


class Evidence(BaseModel):
    """The document a step taken outside Ratify is recorded from: a scanned signed form,
    an e-mail, the minutes of a meeting. Its reference, and optionally its SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    kind: EvidenceKind
    reference: str = Field(min_length=1, max_length=500)
    sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)

    def describe(self) -> str:
        """ "from the signed form (DMPC form PCD 512, scan 2022-03-14)"."""
        return f"from the {self.kind.value.replace('_', ' ')} ({self.reference})"


class Provenance(BaseModel):
    """How a step Ratify did not witness came to be recorded: on paper (recorded by a
    records officer for the person who took it), or imported from an earlier register."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    how: Literal["on_paper", "imported"]
    #: Who recorded it in Ratify: the records officer, or the administrator who imported.
    recorded_by: str = Field(min_length=1, max_length=200)
    evidence: Evidence | None = None
    #: For an import: the SHA-256 of the source file the history came from.
    source_sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)


class Event(BaseModel):
    """Base of every event. Subclasses set `TYPE` (stable, stored) and `VERSION`.

    Two times: `occurred_at` is when Ratify recorded the step (the workflow's clock; the
    store adds its own `recorded_at`), `effective_at` when it happened, where the two
    differ (a form signed on paper, a decision imported from an earlier register). The
    fold, deadlines and lateness go by `at` (when it happened); the hash chain and positions
    stay in recorded order. Events stored before `effective_at` existed read it as None:
    they happened when they were recorded.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    event_id: UUID
    case_id: str = Field(min_length=1, max_length=200)
    occurred_at: AwareDatetime
    actor: Actor
    #: When the step happened, when that is not when Ratify recorded it.
    effective_at: AwareDatetime | None = None
    #: How a step Ratify did not witness was recorded (on paper, imported).
    provenance: Provenance | None = None

    @property
    def at(self) -> datetime:
        """When the step happened: `effective_at`, else when it was recorded."""
        return self.effective_at or self.occurred_at

    def payload(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS))
        # A step Ratify witnessed stores exactly what it stored before these two existed.
        for name in ("effective_at", "provenance"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


EVENT_TYPES: dict[str, type[Event]] = {}


_E = TypeVar("_E", bound=Event)


def _register(cls: type[_E]) -> type[_E]:
    if cls.TYPE in EVENT_TYPES:
        raise RuntimeError(f"event type {cls.TYPE} registered twice")
    EVENT_TYPES[cls.TYPE] = cls
    return cls


# -- drafting ---------------------------------------------------------------------------


@_register
class CaseDrafted(Event):
    TYPE = "case.drafted"
    case: Case


@_register
class CaseRevised(Event):
    """The officer changed the case: in draft, or answering a request for changes."""

    TYPE = "case.revised"
    case: Case
    note: Text | None = None
    #: After submission, the case re-judged by the rules in force on the submission day
    #: (a revision can change the amounts, and so who must approve and which sign-offs).
    routing: Routing | None = None


@_register
class CaseSubmitted(Event):
    """Submitted: the rules engine fixed the route, sign-offs and decision maker."""

    TYPE = "case.submitted"
    routing: Routing


@_register
class CaseWithdrawn(Event):
    TYPE = "case.withdrawn"
    reason: Text


#: A check's key (`domain.rules.findings.make_check`): its kind, a colon, a hex digest.
CHECK_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}:[0-9a-f]{6,64}$"


@_register
class CheckAcknowledged(Event):
    """The officer acknowledged a check (a recommendation that disagrees with the routing,
    a total that does not add up, a possible split award) with a reason, instead of fixing
    it. The check's subject and message are kept as the officer saw them, so the record
    reads on its own after a revision has changed the checks."""

    TYPE = "case.check_acknowledged"
    check: str = Field(min_length=1, max_length=100, pattern=CHECK_KEY_PATTERN)
    reason: Text
    subject: Text
    message: Text


# -- board -----------------------------------------------------------------------------


@_register
class PlacedOnAgenda(Event):
    TYPE = "board.placed_on_agenda"
    meeting_id: str = Field(min_length=1, max_length=200)
    meeting_date: date
    board: BoardName


@_register
class BoardAdviceRecorded(Event):
    TYPE = "board.advice_recorded"
    meeting_id: str = Field(min_length=1, max_length=200)
    advice: BoardAdvice
    conditions: Text | None = None
    comment: Text | None = None


@_register
class ExtremisAgreed(Event):
    """The board chair agreed that the case goes outside the meeting cycle."""

    TYPE = "board.extremis_agreed"
    reason: Text


# -- advice and sign-offs --------------------------------------------------------------


@_register
class SignOffGiven(Event):
    TYPE = "advice.signed_off"
    area: AdviceArea
    comment: Text | None = None


@_register
class ChangesRequested(Event):
    """An adviser sent the case back to the officer for changes.

    v2 (current): `reasons` (one or more) and the `sections` of the case they concern.
    v1 stored a single `reason` string; its upcaster makes it `reasons=[reason]`.
    """

    TYPE = "advice.changes_requested"
    VERSION = 2
    area: AdviceArea
    reasons: list[Text] = Field(min_length=1)
    sections: list[str] = Field(default_factory=list)


@_register
class AdviceNotRequired(Event):
    TYPE = "advice.not_required"
    area: AdviceArea
    reason: Text


# -- chief executive and decision ---------------------------------------------------------


@_register
class ChiefExecutiveConsulted(Event):
    TYPE = "ceo.consulted"
    comment: Text | None = None


@_register
class ChiefExecutiveSentBack(Event):
    TYPE = "ceo.sent_back"
    reasons: list[Text] = Field(min_length=1)


@_register
class InterestsDeclared(Event):
    """The decision maker's declaration of any personal or prejudicial interest."""

    TYPE = "decision.interests_declared"
    has_interest: bool
    details: Text | None = None


@_register
class DecisionApproved(Event):
    """ "The above request has my approval." A DMPC decision carries its `PCD n` reference."""

    TYPE = "decision.approved"
    reference: str | None = Field(default=None, pattern=r"^PCD \d+$")
    comment: Text | None = None


@_register
class DecisionDeclined(Event):
    TYPE = "decision.declined"
    comment: Text


# -- publication -----------------------------------------------------------------------


@_register
class Part1Published(Event):
    """Part 1 is on the public register: the entry is exactly what was published."""

    TYPE = "publication.part1_published"
    entry: RegisterEntry


@_register
class Part1Deferred(Event):
    TYPE = "publication.part1_deferred"
    until: date
    reason: Text


@_register
class Part2ReviewDue(Event):
    TYPE = "part2.review_due"
    review_date: date


@_register
class Part2Published(Event):
    TYPE = "part2.published"
    reason: Text
    #: The Part 2 text as published.
    content: Text


class Redaction(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    passage: Text
    reason: Text


@_register
class Part2PublishedRedacted(Event):
    TYPE = "part2.published_redacted"
    redactions: list[Redaction] = Field(min_length=1)
    reason: Text
    #: The Part 2 text as published, each redacted passage replaced by [REDACTED].
    content: Text


@_register
class Part2ExemptionExtended(Event):
    TYPE = "part2.exemption_extended"
    new_review_date: date
    reasons: list[Text] = Field(min_length=1)


# -- deadlines -------------------------------------------------------------------------


@_register
class RequiredByChanged(Event):
    """The required-by date was set, moved or removed (None)."""

    TYPE = "deadline.changed"
    required_by: date | None
    reason: Text


@_register
class DeadlineReminderSent(Event):
    TYPE = "deadline.reminder_sent"
    required_by: date
    working_days_before: int = Field(ge=1)


@_register
class DeadlineEscalated(Event):
    TYPE = "deadline.escalated"
    required_by: date
    escalated_to: str = "chief executive's office"


@_register
class DeadlineMissed(Event):
    TYPE = "deadline.missed"
    required_by: date


# -- irregularities --------------------------------------------------------------------


@_register
class IrregularityRecorded(Event):
    """Recorded, not hidden: e.g. grants paid before the case was referred."""

    TYPE = "irregularity.recorded"
    description: Text


# -- steps recorded on paper ---------------------------------------------------------------


@_register
class StepDisputed(Event):
    """The person a step was recorded for on paper says the record is wrong (they did not
    take it, not on that date, not so). The disputed step stays in the history: the dispute
    stands beside it for the auditors."""

    TYPE = "step.disputed"
    disputed_event_id: UUID
    disputed_version: int = Field(ge=1)
    disputed_type: str = Field(min_length=1, max_length=100)
    reason: Text


# -- encoding and upcasting ----------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

#: (event type, stored schema version) -> function giving the payload at version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


@upcaster("advice.changes_requested", 1)
def _changes_requested_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    upgraded = {k: v for k, v in payload.items() if k != "reason"}
    upgraded["reasons"] = [payload["reason"]]
    upgraded.setdefault("sections", [])
    return upgraded


def upcast(event_type: str, schema_version: int, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """Bring a stored payload from its schema version up to the current one."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventError(f"unknown event type {event_type!r}")
    if schema_version > cls.VERSION:
        raise UnknownEventError(
            f"{event_type} v{schema_version} is newer than this code (v{cls.VERSION}): "
            "upgrade Ratify before reading this stream"
        )
    if schema_version == cls.VERSION:
        return payload  # nothing to upcast: the caller copies it as it needs
    data = dict(payload)
    for version in range(schema_version, cls.VERSION):
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownEventError(f"no upcaster for {event_type} v{version} -> v{version + 1}")
        data = step(data)
    return data


def encode(event: Event) -> tuple[str, int, dict[str, Any]]:
    """An event as stored: its type, its current schema version, its JSON payload."""
    return event.TYPE, event.VERSION, event.payload()


def decode(
    event_type: str,
    schema_version: int,
    payload: Mapping[str, Any],
    *,
    event_id: UUID,
    case_id: str,
    occurred_at: Any,
    actor: Actor,
) -> Event:
    """Load a stored event, upcasting its payload first."""
    data = upcast(event_type, schema_version, payload)
    cls = EVENT_TYPES[event_type]
    try:
        return cls.model_validate(
            {
                **data,
                "event_id": event_id,
                "case_id": case_id,
                "occurred_at": occurred_at,
                "actor": actor,
            }
        )
    except ValidationError as exc:
        raise UnknownEventError(
            f"stored {event_type} v{schema_version} event {event_id} does not load: {exc}"
        ) from exc
