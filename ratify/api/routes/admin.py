"""Administration: import an existing register (`ratify import`, over HTTP)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from domain.clock import london_date
from domain.roles import Role
from ratify.api.deps import Me, SignedInFirst, Svc
from ratify.api.schemas import REFUSED
from ratify.services import commands
from ratify.services.commands import Refusal
from ratify.services.importing import (
    CaseReport,
    Source,
    import_histories,
    start_part2_reviews,
)

router = APIRouter(tags=["admin"], route_class=SignedInFirst, responses=REFUSED)

#: The most files one request carries (a larger register is sent in several requests, or
#: imported with `ratify import` from a directory).
MAX_IMPORT_FILES = 200

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.(ya?ml|json)$"


class ImportFile(BaseModel):
    """One file: a history file (`*.history.yaml|json`) or a case file a history names."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=_NAME)]
    #: The file's bytes, base64 (so that the SHA-256 recorded is the file's own).
    content_base64: Annotated[str, Field(min_length=1, max_length=3_000_000)]


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: Annotated[list[ImportFile], Field(min_length=1, max_length=MAX_IMPORT_FILES)]
    #: A dry run: the report of what would be imported, nothing written.
    check: bool = False


class ImportProblem(BaseModel):
    field: str
    rule: str


class ImportedCase(BaseModel):
    source: str
    status: str
    case_id: str | None
    reference: str | None
    outcome: str | None
    events: int
    problems: list[ImportProblem]
    findings: list[str]
    part2_review: str | None


class ImportResult(BaseModel):
    check: bool
    cases: list[ImportedCase]
    #: What was done about each imported Part 2 still exempt (its review workflow).
    part2_reviews: dict[str, str]


def _sources(body: ImportRequest) -> tuple[list[Source], list[Source]]:
    histories: list[Source] = []
    beside: list[Source] = []
    names: set[str] = set()
    for index, item in enumerate(body.files):
        if item.name in names:
            raise Refusal("invalid", f"files.{index}.name: {item.name} is given twice")
        names.add(item.name)
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise Refusal("invalid", f"files.{index}.content_base64: not base64") from None
        source = Source(item.name, data)
        (histories if ".history." in item.name else beside).append(source)
    if not histories:
        raise Refusal("invalid", "files: no history file (*.history.yaml or *.history.json)")
    return histories, beside


@router.post("/admin/import")
async def import_register(me: Me, services: Svc, body: ImportRequest) -> ImportResult:
    """Import decisions taken before Ratify (administrators only): each history file becomes
    a closed case with its real dates and reference, written whole or not at all; importing
    the same files again changes nothing. `check`: report only."""
    if Role.ADMIN not in me.roles:
        raise Refusal("wrong_role", "importing a register is for administrators")
    histories, beside = _sources(body)
    # The import is synchronous (the store): run it off the event loop.
    report = await run_in_threadpool(
        import_histories,
        services.store,
        histories,
        beside=beside,
        importer=me.user_id,
        now=datetime.now(UTC),
        check=body.check,
    )
    reviews: dict[str, str] = {}
    if not body.check and report.reviews:
        reviews = await start_part2_reviews(
            services.client,
            report.reviews,
            task_queue=services.task_queue,
            today=london_date(datetime.now(UTC)),
        )
    if not body.check:
        commands.notify_written(services)
    return ImportResult(
        check=report.check,
        cases=[_case(c) for c in report.cases],
        part2_reviews=reviews,
    )


def _case(c: CaseReport) -> ImportedCase:
    return ImportedCase(
        source=c.source,
        status=c.status,
        case_id=c.case_id,
        reference=c.reference,
        outcome=c.outcome,
        events=c.events,
        problems=[ImportProblem(field=p.field, rule=p.rule) for p in c.problems],
        findings=c.findings,
        part2_review=c.part2_review.isoformat() if c.part2_review else None,
    )
