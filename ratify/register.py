"""The public register, read from the event store: published Part 1 decisions.

Anyone may read it (no sign-in). Each entry is exactly what a `publication.part1_published`
event recorded, so it holds Part 1 only; Part 2 text appears only once a Part 2 review has
published it, in full or redacted. This reads the log directly; the HTTP API (issue 4) will
serve it from a projection that keeps up with the log.
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
