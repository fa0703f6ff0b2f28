"""Tables of the read-side projections, on `ratify.infra.db.metadata`.

Every row here is derived from the event store and can be rebuilt from position zero
(`Projector.rebuild`). `projection_positions` holds each projection's tracking position: the
position of the last event whose effects are in the tables, written in the same transaction
as those effects. Part 2 text appears only in `register_entries.part2_text`, and only once a
Part 2 review has published it.

The migrations of the `projections` branch (`ratify/infra/migrations/versions/p0*.py`) must build
exactly these models (a test compares them). The indexes serve the lists' queries
(`case_search`, `task_list`, `public_register`; `paging` says how they page), one index per
list, in the list's order, so a page is a short range scan on SQLite and PostgreSQL alike
(`p0003_list_indexes.py` says which query each one serves).
"""

from __future__ import annotations

import sqlalchemy as sa

from eventstore.schema import UTCDateTime
from ratify.infra.db import metadata

#: The name of the case views' row in `projection_positions`.
CASE_VIEWS = "case_views"

case_summaries = sa.Table(
    "case_summaries",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("stage", sa.String(30), nullable=False),
    sa.Column("reference", sa.String(20), nullable=True),
    sa.Column("decision_maker", sa.String(50), nullable=True),
    sa.Column("total_amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("required_by", sa.Date(), nullable=True),
    sa.Column("submitted_at", UTCDateTime(), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("late", sa.Boolean(), nullable=False),
    sa.Column("part1", sa.String(30), nullable=False),
    sa.Column("part2", sa.String(30), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    #: The case list of one stage, most recently changed first (read backwards).
    sa.Index("ix_case_summaries_stage_updated", "stage", "updated_at", "case_id"),
    sa.Index("ix_case_summaries_reference", "reference"),
    sa.Index("ix_case_summaries_required_by", "required_by"),
    sa.Index("ix_case_summaries_title", "title"),
    #: The case list, most recently changed first (read backwards).
    sa.Index("ix_case_summaries_updated", "updated_at", "case_id"),
    comment="one row per case: the fold of its stream, without Part 2 content",
)

case_tasks = sa.Table(
    "case_tasks",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(50), primary_key=True),
    sa.Column("role", sa.String(50), primary_key=True),
    #: The advice area of a sign-off task; '' for the other tasks (part of the key).
    sa.Column("area", sa.String(50), primary_key=True),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("due", sa.Date(), nullable=True),
    #: A personal task (the officer's submit and revise): only the people of
    #: `case_task_people` (and their deputies) see it; else anyone holding the role.
    sa.Column("personal", sa.Boolean(), nullable=False, server_default=sa.false()),
    #: The inbox: one role's tasks in the inbox's order (due date, then the key).
    sa.Index("ix_case_tasks_inbox", "role", "due", "case_id", "kind", "area"),
    comment="the open tasks of each case (domain.state.open_tasks)",
)

case_task_people = sa.Table(
    "case_task_people",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(50), primary_key=True),
    sa.Column("role", sa.String(50), primary_key=True),
    sa.Column("area", sa.String(50), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    comment="who may act on each personal open task (Task.people: the case's officers)",
)

case_participants = sa.Table(
    "case_participants",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(50), primary_key=True),
    #: When the person first took a step of the case in that role.
    sa.Column("first_acted_at", UTCDateTime(), nullable=False),
    #: The cases one person acted on (`case_search.cases_acted_on`).
    sa.Index("ix_case_participants_user", "user_id", "case_id"),
    comment=(
        "who took a step of each case in which role (not an irregularity or a date change): "
        "the deputy and the principal they acted for"
    ),
)

register_entries = sa.Table(
    "register_entries",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("reference", sa.String(20), nullable=True),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("date_signed", sa.Date(), nullable=False),
    sa.Column("decision_maker", sa.String(200), nullable=False),
    sa.Column("executive_summary", sa.Text(), nullable=False),
    sa.Column("recommendations", sa.Text(), nullable=False, comment="JSON list"),
    sa.Column("published_at", UTCDateTime(), nullable=False),
    sa.Column("part2_text", sa.Text(), nullable=True),
    sa.Column("part2_published_at", UTCDateTime(), nullable=True),
    #: Decided after the required-by date, and that in words (`domain.timeline.timeliness`).
    sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("timeliness", sa.String(200), nullable=True),
    #: When the decision was recorded, where that is not the day it was signed
    #: (`domain.timeline.recorded_words`, public: the date only).
    sa.Column("recorded", sa.String(200), nullable=True),
    #: The appendix each grant line falls in, and each group's total (JSON; Part 1).
    sa.Column("grants", sa.Text(), nullable=True, comment="JSON: lines and groups"),
    #: The decisions the paper refers to (JSON list).
    sa.Column("cross_references", sa.Text(), nullable=True, comment="JSON list"),
    #: The rest of Part 1, the board's advice, the reasons, the Part 2 notice (JSON, no
    #: Part 2 content: `public_register.RegisterPapers`).
    sa.Column("papers", sa.Text(), nullable=True, comment="JSON: RegisterPapers"),
    #: Who decided (the principal's user id): the register's search by decision maker.
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Index("ix_register_entries_reference", "reference"),
    sa.Index("ix_register_entries_decided_by", "decided_by", "published_at"),
    #: The register, newest first (read backwards); with the title, so a title search
    #: filters the index without reading the table row by row.
    sa.Index("ix_register_entries_published", "published_at", "case_id", "title"),
    #: Searching the register by the date signed.
    sa.Index("ix_register_entries_date_signed", "date_signed"),
    #: Searching the register's titles on PostgreSQL: a trigram index (pg_trgm) answers
    #: `title ILIKE '%words%'` without reading every title. SQLite has no such index.
    sa.Index(
        "ix_register_entries_title_trgm",
        "title",
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql"),
    comment="the public register: Part 1 as published; Part 2 once a review published it",
)

agenda_items = sa.Table(
    "agenda_items",
    metadata,
    sa.Column("meeting_id", sa.String(200), primary_key=True),
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("board", sa.String(10), nullable=False),
    sa.Column("meeting_date", sa.Date(), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("advice", sa.String(40), nullable=True),
    sa.Column("conditions", sa.Text(), nullable=True),
    sa.Index("ix_agenda_items_meeting_date", "meeting_date"),
    comment="every case placed on a board meeting's agenda, with the advice recorded",
)

projection_positions = sa.Table(
    "projection_positions",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger(), nullable=False),
    comment="the last event position each projection has applied",
)

#: Indexes that exist on PostgreSQL only (the migrations skip them on SQLite).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_register_entries_title_trgm"})

#: The tables a rebuild empties (the position is reset separately).
VIEW_TABLES = (
    case_summaries,
    case_tasks,
    case_task_people,
    case_participants,
    register_entries,
    agenda_items,
)
