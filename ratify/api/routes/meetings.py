"""Board meetings: create one, list them with their agendas, read one, take its commands."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from ratify.api.deps import Me, SignedInFirst, Svc
from ratify.api.schemas import (
    REFUSED,
    AgendaEntry,
    MeetingAction,
    MeetingAgenda,
    MeetingCreated,
    MeetingStepResult,
    NewMeeting,
)
from ratify.services import commands
from ratify.services import meetings as meeting_steps
from ratify.services.projections import agenda
from workflows import messages as m

router = APIRouter(tags=["meetings"], route_class=SignedInFirst, responses=REFUSED)


@router.post("/meetings", status_code=201)
async def create_meeting(me: Me, services: Svc, body: NewMeeting) -> MeetingCreated:
    await meeting_steps.create_meeting(services, me, body.meeting_id, body.board, body.meeting_date)
    return MeetingCreated(meeting_id=body.meeting_id)


@router.get("/meetings")
def list_meetings(me: Me, services: Svc, from_date: date | None = None) -> list[MeetingAgenda]:
    """Meetings and their agendas (from the read view), by date."""
    commands.check_dates(services, from_date, "from_date")
    grouped: dict[str, MeetingAgenda] = {}
    for row in agenda.meetings(services.engine, from_date=from_date):
        meeting = grouped.setdefault(
            row.meeting_id,
            MeetingAgenda(
                meeting_id=row.meeting_id,
                board=row.board,
                meeting_date=row.meeting_date,
                agenda=[],
            ),
        )
        meeting.agenda.append(
            AgendaEntry(
                case_id=row.case_id,
                title=row.title,
                advice=row.advice,
                conditions=row.conditions,
            )
        )
    return list(grouped.values())


@router.get("/meetings/{meeting_id}")
async def get_meeting(me: Me, services: Svc, meeting_id: str) -> m.MeetingView:
    return await meeting_steps.meeting_view(services, meeting_id)


@router.post("/meetings/{meeting_id}/{action}", response_model=MeetingStepResult)
async def meeting_action(
    me: Me, services: Svc, meeting_id: str, action: str, body: MeetingAction
) -> dict[str, Any]:
    result = await meeting_steps.meeting_action(
        services, me, meeting_id, action, dict(body.model_extra or {})
    )
    return result if isinstance(result, dict) else {"result": result}
