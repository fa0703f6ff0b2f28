"""Who takes part in a decision: the roles of DOMAIN.md, the advice areas, and an actor.

An actor is a user acting in one role, possibly as the deputy of another user (out of
office). The history keeps both the deputy who acted and the principal they acted for.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    ORIGINATING_OFFICER = "originating_officer"
    DRAFTING_OFFICER = "drafting_officer"
    BOARD_SECRETARIAT = "board_secretariat"
    BOARD_CHAIR = "board_chair"
    FINANCE_ADVISER = "finance_adviser"
    LEGAL_ADVISER = "legal_adviser"
    COMMERCIAL_ADVISER = "commercial_adviser"
    EQUALITIES_ADVISER = "equalities_adviser"
    INFORMATION_ASSURANCE_ADVISER = "information_assurance_adviser"
    CHIEF_EXECUTIVE = "chief_executive"
    DMPC = "dmpc"
    ALTERNATE_DECISION_MAKER = "alternate_decision_maker"
    MPS_DECISION_MAKER = "mps_decision_maker"
    PUBLICATION_OFFICER = "publication_officer"
    #: Records a step taken on paper (a form signed while travelling, an extremis decision
    #: agreed by phone) on behalf of the person who took it, with its date and evidence.
    RECORDS_OFFICER = "records_officer"
    AUDITOR = "auditor"
    #: Held with AUDITOR: may read a case's unpublished Part 2 (e.g. information rights).
    PART2_CLEARANCE = "part2_clearance"
    ADMIN = "admin"
    #: Ratify itself: timers (reminders, escalations, publication on the deferral date).
    SYSTEM = "system"


class AdviceArea(StrEnum):
    """A kind of advice that may be required before the chief executive is consulted."""

    FINANCE = "finance"
    LEGAL = "legal"
    COMMERCIAL = "commercial"
    EQUALITIES = "equalities"
    INFORMATION_ASSURANCE = "information_assurance"

    @property
    def adviser_role(self) -> Role:
        return ADVISER_ROLES[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


ADVISER_ROLES: dict[AdviceArea, Role] = {
    AdviceArea.FINANCE: Role.FINANCE_ADVISER,
    AdviceArea.LEGAL: Role.LEGAL_ADVISER,
    AdviceArea.COMMERCIAL: Role.COMMERCIAL_ADVISER,
    AdviceArea.EQUALITIES: Role.EQUALITIES_ADVISER,
    AdviceArea.INFORMATION_ASSURANCE: Role.INFORMATION_ASSURANCE_ADVISER,
}


class Actor(BaseModel):
    """Who did a step: a user id, the role they acted in, and whom they deputised for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1, max_length=200)
    role: Role
    #: The principal's user id when a deputy acted under a delegation; None otherwise.
    on_behalf_of: str | None = None

    @property
    def accountable_user(self) -> str:
        """The person whose authority was used: the principal when a deputy acted."""
        return self.on_behalf_of or self.user_id

    def describe(self) -> str:
        who = self.user_id if not self.on_behalf_of else f"{self.user_id} for {self.on_behalf_of}"
        return f"{who} ({self.role.value.replace('_', ' ')})"


SYSTEM_ACTOR = Actor(user_id="ratify", role=Role.SYSTEM)
