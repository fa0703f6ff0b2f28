"""The boards' agendas: every item of every meeting, from the projection tables."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from ratify.services.projections.tables import agenda_items


class AgendaRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    meeting_id: str
    board: str
    meeting_date: date
    case_id: str
    title: str
    advice: str | None
    conditions: str | None


def meetings(engine: Engine, *, from_date: date | None = None) -> list[AgendaRow]:
    """Every agenda item of every meeting (from `from_date` on), by date then meeting."""
    t = agenda_items
    query = sa.select(t).order_by(t.c.meeting_date, t.c.meeting_id, t.c.case_id)
    if from_date is not None:
        query = query.where(t.c.meeting_date >= from_date)
    with engine.connect() as conn:
        return [AgendaRow.model_validate(dict(r)) for r in conn.execute(query).mappings()]
