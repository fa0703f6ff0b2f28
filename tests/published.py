"""The public register read straight from the event store: the tests' oracle.

Each entry is exactly what a `publication.part1_published` event recorded (Part 1 only;
Part 2 text once a Part 2 review published it, in full or redacted). Ratify serves the
register from a projection (`ratify.services.projections`); the tests compare it with this
direct read of the log.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.register import RegisterEntry
from eventstore import EventStore

PART1_PUBLISHED = "publication.part1_published"
PART2_PUBLISHED = ("part2.published", "part2.published_redacted")


class PublishedDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: RegisterEntry
    #: The Part 2 text once a review has published it (redacted or in full); else None.
    part2: str | None = None


def published_register(store: EventStore) -> list[PublishedDecision]:
    """Every published decision, in the order of publication."""
    entries: dict[str, RegisterEntry] = {}
    part2: dict[str, str] = {}
    for event in store.read_all():
        if event.event_type == PART1_PUBLISHED:
            entry = RegisterEntry.model_validate(event.data["entry"])
            entries[entry.case_id] = entry
        elif event.event_type in PART2_PUBLISHED:
            part2[event.stream_id] = event.data["content"]
    return [PublishedDecision(entry=e, part2=part2.get(cid)) for cid, e in entries.items()]
