"""History files: a decision taken before Ratify, as an earlier register records it.

One file per decision (YAML or JSON): the business case (`case`, a case file written as
`domain.case.Case`, or `case_file`, the name of a case file next to it) and `history`, what
happened to it and when: the reference it was given ("PCD 512"), the date of each step
that was taken (drafted, submitted, the board meeting and its advice or the extremis
agreement, each sign-off, the chief executive, the declaration of interests, the decision,
the publication of Part 1), and the outcome (approved, declined, withdrawn with its reason).
`ratify.services.importing` turns one into the events of a closed case.

People are written as a Ratify user id (`dmpc.sl`: lower case, no spaces) or as a name
("Sophie Linden"); a name becomes the user id `sophie-linden` (`person_id`). Imported people
need not be Ratify users; the role each acted in is the step's (an adviser's is their area's,
the decision maker's is the one the fold says decides: the DMPC, the alternate after the DMPC
declared an interest, or the MPS for a delegated decision).

A date (`2022-03-14`) is read as noon London time on that day (`effective_instant`); a full
time with its offset (`2022-03-14T16:30:00+00:00`) is kept as written.

Pure, bounded: every text, list and date has a limit (`domain.bounds`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from domain.bounds import moment_in_window
from domain.case import BoardAdvice, Case, ShortText, Text
from domain.casefile import (
    TOP_LEVEL,
    CaseFileError,
    CaseFileProblem,
    load_document,
    problems_from_validation_error,
)
from domain.clock import LONDON
from domain.events import Evidence
from domain.roles import AdviceArea

#: The version of this file format.
HISTORY_FORMAT_VERSION = 1

#: When a step dated with a day only happened: noon, London time.
NOON = time(12, 0)

#: A person as the register names them: a Ratify user id, or a name.
Person = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]

#: The day of a step, or its exact time with an offset, inside the dates Ratify accepts.
When = Annotated[AwareDatetime | date, AfterValidator(moment_in_window)]

#: A reference as the register prints it: "PCD 512".
REFERENCE_PATTERN = r"^PCD [1-9][0-9]{0,8}$"

_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,199}$")


def person_id(person: str) -> str:
    """The user id of a person named in a history: a user id as written (`dmpc.sl`), a name
    in lower case with each run of other characters a hyphen ("Sophie Linden" ->
    `sophie-linden`, "Dr. A. O'Neil" -> `dr-a-o-neil`)."""
    if _USER_ID.match(person):
        return person
    plain = unicodedata.normalize("NFKD", person).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return slug[:200] or "unnamed"


def effective_instant(when: date | datetime) -> datetime:
    """When a step happened: a day is noon London time on it; a time is kept."""
    if isinstance(when, datetime):
        return when
    return datetime.combine(when, NOON, tzinfo=LONDON)


def day_of(when: date | datetime) -> date:
    """The London day of a step."""
    if isinstance(when, datetime):
        return when.astimezone(LONDON).date()
    return when


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )


class Outcome(StrEnum):
    """How the decision ended."""

    APPROVED = "approved"
    """The decision maker approved it (a DMPC decision carries its PCD reference)."""
    DECLINED = "declined"
    """The decision maker declined it, with a reason."""
    WITHDRAWN = "withdrawn"
    """The officer withdrew it before a decision, with a reason."""


class Authority(StrEnum):
    """Who decided, as the register records it."""

    DMPC = "dmpc"
    """The Deputy Mayor for Policing and Crime (or the alternate, after a declared interest)."""
    MPS_DELEGATED = "mps_delegated"
    """The Metropolitan Police Service under its delegated authority (no PCD reference)."""


class BoardStep(_Model):
    """The board meeting the case went to, and its advice."""

    #: The day the board met.
    meeting_on: When
    #: What the board advised (a case that went on needs supported, or supported with
    #: conditions).
    advice: BoardAdvice = BoardAdvice.SUPPORTED
    conditions: Text | None = None
    #: The board secretariat officer who recorded the advice (default: "board-secretariat").
    secretariat: Person | None = None
    #: The day the case was put on the agenda (default: the day it was submitted).
    placed_on: When | None = None
    #: The meeting's id (default: `imported-<board>-<meeting day>`).
    meeting_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")] | None = None


class ExtremisStep(_Model):
    """The board chair agreeing that an urgent case goes outside the meeting cycle."""

    agreed_on: When
    chair: Person


class SignOffStep(_Model):
    """One adviser's sign-off (or advice recorded as not required, with its reason)."""

    area: AdviceArea
    by: Person
    date: When
    comment: Text | None = None
    #: Set when the advice was recorded as not required: why.
    not_required: Text | None = None


class ChiefExecutiveStep(_Model):
    by: Person
    date: When
    comment: Text | None = None


class InterestsStep(_Model):
    """The decision maker's declaration of interests. Left out, the decision maker declared
    none, on the day of the decision. A declared interest hands the decision to the
    alternate decision maker, who then declares too (`alternate`)."""

    by: Person | None = None
    date: When | None = None
    has_interest: bool = False
    details: Text | None = None
    #: When the DMPC declared an interest: the alternate's own declaration (none declared).
    alternate_declared_on: When | None = None


class DecisionStep(_Model):
    """The decision: who took it, when, on what authority, and why (for a decline)."""

    by: Person
    date: When
    authority: Authority = Authority.DMPC
    #: For a decline: the reason given. For an approval: a comment, if any.
    reason: Text | None = None
    #: The paragraphs of the scheme of delegation the paper cites for the decision maker's
    #: approval ("para 4.8"), if it cites any: compared with the rules in force.
    paragraphs: Annotated[list[ShortText], Field(max_length=20)] = Field(default_factory=list)


class PublicationStep(_Model):
    """Part 1 on the public register, after any deferral the case file gives."""

    published_on: When
    #: Who published it (default: Ratify's own publication, as for a decision taken here).
    by: Person | None = None


class WithdrawalStep(_Model):
    date: When
    reason: Text
    #: The officer who withdrew it (default: the officer who drafted it).
    by: Person | None = None


class History(_Model):
    """What happened to one decision, as the earlier register records it."""

    #: The PCD reference the decision was given ("PCD 512"): an approved DMPC decision has
    #: one; other outcomes have none.
    reference: Annotated[str, Field(pattern=REFERENCE_PATTERN)] | None = None
    #: The case id in Ratify (default: from the reference, "PCD 512" -> `pcd-512`); a
    #: decision without a reference must give one.
    case_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")] | None = None
    outcome: Outcome
    #: The originating officer who drafted and submitted the case.
    officer: Person
    drafted_on: When
    #: Left out only for a case withdrawn while still a draft.
    submitted_on: When | None = None
    board: BoardStep | None = None
    extremis: ExtremisStep | None = None
    signoffs: Annotated[list[SignOffStep], Field(max_length=10)] = Field(default_factory=list)
    chief_executive: ChiefExecutiveStep | None = None
    interests: InterestsStep | None = None
    decision: DecisionStep | None = None
    publication: PublicationStep | None = None
    withdrawn: WithdrawalStep | None = None
    #: The Part 2 review date, as the register gives it: it must be the case file's
    #: (`part2.review_on` or `part2.ceases_to_be_exempt_on`).
    part2_review_on: Annotated[date, AfterValidator(moment_in_window)] | None = None
    #: What the history was taken from (default: the register, named by the file).
    evidence: Evidence | None = None

    @model_validator(mode="after")
    def _outcome_steps(self) -> Self:
        if self.outcome is Outcome.WITHDRAWN:
            if self.withdrawn is None:
                raise ValueError(
                    "withdrawn: a withdrawn decision needs its withdrawal (on, reason)"
                )
            if self.decision is not None or self.publication is not None:
                raise ValueError("decision: a withdrawn case has no decision nor publication")
        else:
            if self.withdrawn is not None:
                raise ValueError(f"withdrawn: the outcome is {self.outcome.value}, not withdrawn")
            if self.decision is None:
                raise ValueError(f"decision: an {self.outcome.value} decision needs its decision")
            if self.submitted_on is None:
                raise ValueError("submitted_on: a decided case was submitted: give the date")
        if self.outcome is Outcome.DECLINED:
            if self.decision is not None and self.decision.reason is None:
                raise ValueError("decision.reason: a declined decision needs its reason")
            if self.publication is not None:
                raise ValueError("publication: a declined decision is not published")
        if self.reference is not None and self.outcome is not Outcome.APPROVED:
            raise ValueError("reference: only an approved DMPC decision has a PCD reference")
        if self.reference is None and self.case_id is None:
            raise ValueError("case_id: a decision without a PCD reference needs a case_id")
        return self

    @property
    def ratify_case_id(self) -> str:
        """The case id: as given, else from the reference ("PCD 512" -> `pcd-512`)."""
        if self.case_id is not None:
            return self.case_id
        assert self.reference is not None
        return self.reference.lower().replace(" ", "-")

    @property
    def reference_number(self) -> int | None:
        return int(self.reference.split()[1]) if self.reference else None


class HistoryFile(_Model):
    """A history file: the case (inline, or a case file next to this one) and its history."""

    #: The version of the history-file format.
    format_version: Literal[1] = 1
    #: The business case, written as a case file (`docs/case-file.md`).
    case: Case | None = None
    #: Or: the name of a case file in the same directory ("pcd-512.case.yaml").
    case_file: (
        Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.(ya?ml|json)$")] | None
    ) = None
    history: History

    @model_validator(mode="after")
    def _one_case(self) -> Self:
        if (self.case is None) == (self.case_file is None):
            raise ValueError("case: give the case inline (case) or a case file (case_file)")
        return self


def parse_history(text: str, hint: str) -> HistoryFile:
    """Read and validate a history file (`hint`: its name or format, as for a case file).
    Raises `CaseFileError` naming each field and the rule it breaks
    (`history.signoffs.0.area: must be one of ...`)."""
    data = load_document(text, hint)
    source = hint if "." in hint else None
    if not isinstance(data, dict):
        raise CaseFileError(
            [CaseFileProblem(TOP_LEVEL, "a history file must be a mapping of field names")],
            source,
        )
    try:
        return HistoryFile.model_validate(data)
    except ValidationError as exc:
        raise CaseFileError(problems_from_validation_error(exc, HistoryFile), source) from None
