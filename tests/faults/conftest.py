"""Fault tests against the real stack of `tests/api`: time-skipping Temporal, a worker, SQLite,
the FastAPI app in-process (loopback only: httpx's ASGI transport, no socket).

The people are those of `tests/api/conftest.py` plus one user for each role PEOPLE lacks (so
the RBAC matrix has a holder for every role a person can hold), a deputy who holds no approver
role of their own, and a fuzzing user holding every role a person can hold.

The HTTP client does not re-raise the app's exceptions: an unhandled error comes back as the
500 a real server would send, so the tests assert on status codes (never a 5xx) instead of
stopping at the first traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from domain.roles import Role
from ratify.services.identity.rules import PERSON_ROLES
from tests.api.conftest import PEOPLE, Api, api_stack
from workflows import messages as m

#: The alternate decision maker the workflows are configured with (`m.Settings` default).
ALTERNATE = m.Settings().alternate_decision_maker

MORE_PEOPLE: dict[str, tuple[str, list[Role]]] = {
    "bo.chair": ("Board Chair", [Role.BOARD_CHAIR]),
    ALTERNATE: ("Alternate Decision Maker", [Role.ALTERNATE_DECISION_MAKER]),
    "mps.dm": ("MPS Decision Maker", [Role.MPS_DECISION_MAKER]),
    "ad.min": ("Admin", [Role.ADMIN]),
    # The clearance role alone is not clearance: it is held *with* the auditor role.
    "clear.only": ("Cleared, not an auditor", [Role.PART2_CLEARANCE]),
    # Acts in approvers' roles only under delegations made by the tests.
    "deputy.dan": ("Dan Deputy", [Role.DRAFTING_OFFICER]),
    # The API fuzzer: every role a person can hold.
    "fuzz.all": ("Fuzz All Roles", list(PERSON_ROLES)),
}

ALL_PEOPLE = {**PEOPLE, **MORE_PEOPLE}


#: The stack of the fault tests is the API tests' stack with more people.
Stack = Api


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(tmp_path, ALL_PEOPLE, raise_app_exceptions=False) as made:
        yield made
