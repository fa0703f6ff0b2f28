"""A new case from a case file, and a case's page: its documents, timeline and the forms
for the open tasks the signed-in person holds, and the steps those forms take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from domain.bounds import quote_id
from domain.case import BoardAdvice, Case
from domain.casefile import CaseFileError, parse_case
from domain.events import EvidenceKind
from domain.roles import Role
from domain.state import CaseState, Part1Status, Task, open_tasks
from domain.timeline import (
    board_advice_event,
    decision_event,
    recorded_words,
    timeline,
    timeliness,
    without_part2,
)
from ratify.http.errors import status_of
from ratify.http.services import HttpServices
from ratify.infra.observability.interceptors import record_refusal
from ratify.services import commands
from ratify.services import meetings as meeting_steps
from ratify.services.checks import checks_of, routing_shown
from ratify.services.commands import Refusal
from ratify.services.journal import CaseHistory
from ratify.services.projections import public_register
from ratify.services.projections.paging import normalise_reference
from ratify.services.views import chain_view
from ratify.web.pages.actions import ACTION_FIELDS, MEETING_ACTION_FIELDS
from ratify.web.pages.common import (
    MAX_CASE_FILE,
    Visitor,
    Who,
    page_context,
    read_form,
    router,
    services_of,
)
from ratify.web.pages.kept import NOTHING_TYPED, Typed, refused_field, typed_values
from ratify.web.pages.since_advice import changes_since_advice, section_choices
from ratify.web.render import page

# -- a new case ----------------------------------------------------------------------------


async def _case_file_text(form: FormData) -> tuple[str, str]:
    """(text, filename) of the uploaded case file, else the pasted one."""
    upload = form.get("case_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_CASE_FILE + 1)
        if len(data) > MAX_CASE_FILE:
            raise Refusal("invalid_case_file", "case_file: at most 2 MB")
        try:
            return data.decode("utf-8"), upload.filename
        except UnicodeDecodeError:
            raise Refusal("invalid_case_file", "case_file: must be UTF-8 text") from None
    pasted = form.get("case_text")
    if isinstance(pasted, str) and pasted.strip():
        return pasted, "case.yaml"
    raise Refusal("invalid_case_file", "choose a case file to upload, or paste one")


def _parse(text: str, filename: str) -> Case:
    """The case a file describes, or the API's refusal naming the field and the rule."""
    try:
        return parse_case(text, filename)
    except CaseFileError as exc:
        raise Refusal("invalid_case_file", str(exc)) from None
    except ValueError as exc:  # a file name that says neither YAML nor JSON
        raise Refusal("invalid_case_file", f"filename: {exc}") from None


@router.get("/cases/new")
async def new_case_form(request: Request, who: Who) -> Response:
    """Upload a case file (YAML or JSON, the format of `examples/`) to start a draft."""
    return page("case_new.html", page_context(request, "New case", typed=NOTHING_TYPED))


async def _uploaded_text(form: FormData) -> str | None:
    """The uploaded case file's text, to put in the paste box of a refused form (None when
    none was uploaded, or it is too large or not UTF-8)."""
    upload = form.get("case_file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    await upload.seek(0)
    data = await upload.read(MAX_CASE_FILE + 1)
    if len(data) > MAX_CASE_FILE:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def own_fields(action: str) -> frozenset[str]:
    """The fields a case or meeting step's form has, sent or not (a choice left unmade is
    not sent, and is the field its refusal names)."""
    named = ACTION_FIELDS.get(action, ()) + MEETING_ACTION_FIELDS.get(action, ())
    return frozenset(name.rstrip("*") for name in named)


async def kept_typing(
    form: FormData, key: str, exc: Refusal, hidden: frozenset[str], fields: frozenset[str]
) -> Typed:
    """What was typed into the refused form `key`, with the field its refusal concerns: a
    case file's error beside the case file (an uploaded file's text put in the paste box,
    so it can be corrected there), else the field the refusal names (one sent, or one of
    the form's `fields`), else none."""
    values = typed_values(form)
    uploaded = await _uploaded_text(form)
    if uploaded is not None:
        values["case_text"] = uploaded
    shown = {
        name
        for name in {*values, *fields}
        if name not in hidden and not name.startswith("expected_")
    }
    named = refused_field(exc.message, shown)
    if named is None and exc.code == "invalid_case_file":
        named = "case_text"
    texts = tuple((k, v) for k, v in values.items() if k in shown and v.strip())
    return Typed(key, values, named, texts)


@router.post("/cases/new")
async def new_case(request: Request, who: Who) -> Response:
    form = await read_form(request)
    case_id = str(form.get("case_id") or "").strip() or None
    try:
        # In a worker thread: a large YAML file takes a while to parse.
        case = await run_in_threadpool(_parse, *await _case_file_text(form))
        try:
            services_of(request).window.check_case_file(case, None)
        except CaseFileError as exc:
            raise Refusal("invalid_case_file", str(exc)) from None
        created = await commands.start_case(services_of(request), who.principal, case, case_id)
    except Refusal as exc:
        record_refusal(exc.code, exc.message)
        typed = await kept_typing(form, "new", exc, frozenset(), frozenset({"case_id"}))
        context = page_context(
            request, "New case", error=exc.message, typed=typed, error_anchor=typed.anchor()
        )
        return page("case_new.html", context, status_of(exc))
    return RedirectResponse(f"/ui/cases/{quote(created)}?done=created", status_code=303)


# -- a case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskForm:
    """An open task the visitor holds, with whom they may act for."""

    task: Task
    #: None for their own role; else the principals who delegated it to them.
    behalf: list[str | None]


def _behalf(who: Visitor, role: Role, people: tuple[str, ...]) -> list[str | None]:
    """On whose behalf the visitor may act in `role` on a task for `people` (empty: anyone
    in the role): None for themselves, else each principal; [] when they may not."""
    held = who.holdings.get(role, [])
    if not people or who.user_id in people:
        return list(held)
    return [b for b in held if (who.user_id if b is None else b) in people]


def load_history(services: HttpServices, case_id: str) -> CaseHistory:
    """The case's stored history; a case with no events is a 404 refusal."""
    history = services.journal.history(case_id)
    if history.state.version == 0:
        raise Refusal("not_found", f"there is no case {quote_id(case_id)}")
    return history


def timeline_rows(history: CaseHistory, part2_visible: bool) -> list[dict[str, Any]]:
    """Each stored event with its summary in words and, for a revision, what changed
    (Part 2's changes, and the hashes that would confirm a guess of Part 2, only for those
    cleared to see Part 2)."""
    entries = timeline(history.state.case_id, history.events)
    if not part2_visible:
        entries = without_part2(entries)
    links = chain_view(history.records, part2=part2_visible)
    return [
        {
            "version": r.version,
            "type": r.event_type,
            "summary": entry.summary,
            "changes": entry.changes,
            "occurred_at": r.occurred_at,
            "effective_at": entry.effective_at,
            "recorded": entry.recorded,
            "actor": r.actor_id,
            "role": r.actor_role,
            "on_behalf_of": r.metadata.get("on_behalf_of"),
            "hash": link["hash"],
            "hash_withheld": link["hash_withheld"],
        }
        for r, entry, link in zip(history.records, entries, links, strict=True)
    ]


def _decision_recorded(history: CaseHistory) -> str | None:
    """When the decision was recorded, where that is not when it was taken."""
    decision = decision_event(history.events)
    return recorded_words(decision) if decision is not None else None


def _register_link(state: CaseState) -> str | None:
    """The published decision's page on the public register, once Part 1 is published."""
    if state.part1 is not Part1Status.PUBLISHED or state.reference is None:
        return None
    return "/ui/register/" + quote(normalise_reference(state.reference), safe="")


def case_context(
    request: Request,
    who: Visitor,
    case_id: str,
    error: str | None = None,
    typed: Typed = NOTHING_TYPED,
) -> dict[str, Any]:
    """What the case page shows `who` (with `error` when a step on it was refused, and
    what was `typed` into the refused form)."""
    services = services_of(request)
    history = load_history(services, case_id)
    state = history.state
    cleared = commands.shown_part2(services, who.principal, history, "page")
    tasks = open_tasks(state)
    mine = [TaskForm(t, behalf) for t in tasks if (behalf := _behalf(who, t.role, t.people))]
    # Withdrawing and moving the date are for the case's own officers (or their deputies).
    officer = _behalf(who, Role.ORIGINATING_OFFICER, state.case_officers)
    return page_context(
        request,
        state.title or case_id,
        error=error,
        case_id=case_id,
        state=state,
        case=state.case,
        part2_visible=cleared,
        tasks=tasks,
        mine=mine,
        officer=officer,
        may_withdraw=bool(officer) and not state.stage.is_closed,
        my_roles=sorted({r.value for r in who.holdings}),
        timeline=timeline_rows(history, cleared),
        timeliness=timeliness(state),
        board=board_advice_event(history.events),
        register_link=_register_link(state),
        decision_recorded=_decision_recorded(history),
        published=public_register.published_references(
            services.engine, [x.reference for x in state.case.cross_references]
        )
        if state.case
        else set(),
        board_advice=[a.value for a in BoardAdvice],
        is_auditor=who.holds(Role.AUDITOR),
        # Round 2 and after: what changed since each of my sign-offs' last advice.
        since_advice={
            tf.task.area.value: changes_since_advice(state, history.events, tf.task.area, cleared)
            for tf in mine
            if tf.task.kind == "sign_off" and tf.task.area is not None
        },
        section_choices=section_choices(state.case),
        board_cases=[],
        checks=checks_of(state, commands.today()),
        routing=routing_shown(state, commands.today()),
        # A records officer records any open task's step for the person who took it on paper.
        paper_tasks=[t for t in tasks if t.kind in ACTION_FIELDS and not state.stage.is_closed]
        if who.holds(Role.RECORDS_OFFICER)
        else [],
        action_fields=ACTION_FIELDS,
        evidence_kinds=[k.value for k in EvidenceKind],
        disputed={d.event_id for d in state.disputes},
        user_id=who.user_id,
        typed=typed,
        error_anchor=typed.anchor(),
    )


def _on_paper(form: FormData) -> dict[str, Any] | None:
    """The `on_paper` part of a records officer's form, or None when not on paper."""

    def text(name: str) -> str:
        raw = form.get(name)
        return raw.strip() if isinstance(raw, str) else ""

    for_user = text("on_paper_for")
    if not for_user:
        return None
    evidence: dict[str, Any] = {
        "kind": text("evidence_kind"),
        "reference": text("evidence_reference"),
    }
    if text("evidence_sha256"):
        evidence["sha256"] = text("evidence_sha256").lower()
    return {"effective_at": text("effective"), "for_user": for_user, "evidence": evidence}


async def with_open_meetings(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    """The case page's context with the open meetings to pick from, when one of its tasks
    is placing the case on an agenda (each meeting is a query to its workflow)."""
    if any(t.kind == "place_on_agenda" for t in context.get("tasks", [])):
        listed = await meeting_steps.listed_meetings(services_of(request), commands.today())
        context["open_meetings"] = [v for v in listed if not v.closed]
    return context


@router.get("/cases/{case_id}")
async def case_page(request: Request, who: Who, case_id: str) -> Response:
    """A case: stage, documents (Part 2 only if cleared), timeline, and my forms."""
    return page("case.html", await with_open_meetings(request, case_context(request, who, case_id)))


def _action_fields(action: str, form: FormData) -> dict[str, Any]:
    """The action's fields from the form: blanks left out, `*` fields one item a line."""
    fields: dict[str, Any] = {}
    for name in ACTION_FIELDS[action]:
        many = name.endswith("*")
        name = name.rstrip("*")
        if many:
            # One item a line of a textarea, or one a ticked checkbox.
            texts = [v for v in form.getlist(name) if isinstance(v, str)]
            lines = [line.strip() for text in texts for line in text.splitlines()]
            fields[name] = [line for line in lines if line]
            continue
        raw = form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if value:
            fields[name] = value
    for name in ("expected_version", "expected_revision"):
        number = form.get(name)
        if isinstance(number, str) and number.strip():
            try:
                fields[name] = int(number)
            except ValueError:
                raise Refusal("invalid", f"{name}: a whole number") from None
    for name in ("expected_stage", "expected_task"):
        seen = form.get(name)
        if isinstance(seen, str) and seen.strip():
            fields[name] = seen.strip()
    if action == "decide" and "approve" not in fields:
        raise Refusal("invalid", "approve: choose whether you approve or decline")
    if (
        action == "decide"
        and str(fields["approve"]).lower() == "false"
        and not fields.get("comment")
    ):
        # Refused here, beside the field, before the workflow would refuse it.
        raise Refusal("invalid", "comment: a decline needs a reason, which the officer is shown")
    return fields


def _role_field(form: FormData) -> tuple[Role | None, str | None]:
    raw_role = form.get("role")
    role = None
    if isinstance(raw_role, str) and raw_role:
        try:
            role = Role(raw_role)
        except ValueError:
            raise Refusal("invalid", f"role: no role {raw_role!r}") from None
    raw_behalf = form.get("on_behalf_of")
    behalf = raw_behalf.strip() if isinstance(raw_behalf, str) and raw_behalf.strip() else None
    return role, behalf


#: Fields of the case page's forms that the person does not type.
_HIDDEN = frozenset({"action", "form", "role", "area", "return_to", "case_id", "meeting_id"})


async def _take_step(
    request: Request, who: Visitor, case_id: str, action: str, form: FormData
) -> str:
    """Take the step a case page's form asks for; the page to show next."""
    services = services_of(request)
    if action == "place_on_agenda":
        meeting_id = str(form.get("meeting_id") or "").strip()
        if not meeting_id:
            raise Refusal("invalid", "meeting_id: say which meeting")
        await meeting_steps.meeting_action(
            services, who.principal, meeting_id, "cases", {"case_id": case_id}
        )
        return f"/ui/meetings/{quote(meeting_id)}?done=cases"
    if action == "advice":
        meeting_id = str(form.get("meeting_id") or "").strip()
        fields = meeting_fields("advice", form)
        fields["case_id"] = case_id
        await meeting_steps.meeting_action(services, who.principal, meeting_id, "advice", fields)
        return f"/ui/cases/{quote(case_id)}?done=advice"
    if action not in ACTION_FIELDS:
        raise Refusal("unknown_action", f"no action '{quote_id(action)}' on these pages")
    fields = _action_fields(action, form)
    if action == "revise":
        fields["case"] = _parse(*await _case_file_text(form))
    if action == "review_part2":
        # One passage to redact a line; each with the reason given for the review.
        raw = form.get("redactions")
        passages = [x.strip() for x in str(raw or "").splitlines() if x.strip()]
        fields["redactions"] = [
            {"passage": x, "reason": fields.get("reason", "")} for x in passages
        ]
    paper = _on_paper(form)
    if paper is not None:
        fields["on_paper"] = paper
    role, behalf = _role_field(form)
    key = form.get("idempotency_key")
    await commands.act(
        services,
        who.principal,
        case_id,
        action,
        fields,
        role=role,
        on_behalf_of=behalf,
        idempotency_key=key if isinstance(key, str) and key else None,
    )
    return f"/ui/cases/{quote(case_id)}?done={action}"


def meeting_fields(action: str, form: FormData) -> dict[str, Any]:
    """A meeting step's fields from a form; the board's advice has no default: a form
    without one is refused naming the field."""
    fields: dict[str, Any] = {}
    for name in MEETING_ACTION_FIELDS[action]:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    if action == "advice" and "advice" not in fields:
        raise Refusal(
            "invalid",
            "advice: choose the board's advice (supported, supported with conditions, not "
            "supported or deferred)",
        )
    return fields


async def answer_step(
    request: Request, who: Visitor, case_id: str, action: str, form: FormData
) -> Response:
    """Take a case page's step: on to the next page, or the case page again with the
    refusal beside the field it names and everything the person typed."""
    try:
        target = await _take_step(request, who, case_id, action, form)
    except Refusal as exc:
        record_refusal(exc.code, exc.message)
        key = form.get("form")
        typed = await kept_typing(
            form, key if isinstance(key, str) else action, exc, _HIDDEN, own_fields(action)
        )
        context = case_context(request, who, case_id, error=exc.message, typed=typed)
        context["code"] = exc.code
        context = await with_open_meetings(request, context)
        return page("case.html", context, status_of(exc))
    return RedirectResponse(target, status_code=303)


@router.post("/cases/{case_id}")
async def case_step(request: Request, who: Who, case_id: str) -> Response:
    """The case page's forms post to the page itself (`action` says which step), so a
    refused form is answered from the page's own URL, filled in as it was sent."""
    form = await read_form(request)
    action = form.get("action")
    return await answer_step(request, who, case_id, action if isinstance(action, str) else "", form)


@router.post("/cases/{case_id}/actions/{action}")
async def case_action(request: Request, who: Who, case_id: str, action: str) -> Response:
    """Act on a case (the form's older address); a refusal is shown on the case page."""
    if action not in ACTION_FIELDS:
        raise Refusal("unknown_action", f"no action '{quote_id(action)}' on these pages")
    return await answer_step(request, who, case_id, action, await read_form(request))


@router.post("/cases/{case_id}/agenda")
async def place_on_agenda(request: Request, who: Who, case_id: str) -> Response:
    """The secretariat adds the case to a meeting's agenda (the form's older address)."""
    return await answer_step(request, who, case_id, "place_on_agenda", await read_form(request))
