"""`POST /admin/import`: administrators import history files over HTTP, bounded."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from domain.roles import Role
from tests.api.conftest import PEOPLE, Api, api_stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"


@pytest_asyncio.fixture(loop_scope="session")
async def admin_api(tmp_path: Path) -> AsyncIterator[Api]:
    people = {**PEOPLE, "ada.admin": ("Ada Admin", [Role.ADMIN])}
    async with api_stack(tmp_path, people) as api:
        yield api


def _files(*names: str) -> list[dict[str, str]]:
    return [
        {"name": n, "content_base64": base64.b64encode((EXAMPLES / n).read_bytes()).decode()}
        for n in names
    ]


async def test_an_administrator_imports_and_the_register_shows_the_real_dates(
    admin_api: Api,
) -> None:
    body = {"files": _files("pcd-512.history.yaml", "pcd-512.case.yaml", "pcd-700.history.yaml")}
    refused = await admin_api.post("ollie.lane", "/admin/import", body)
    assert refused.status_code == 403
    dry = await admin_api.post("ada.admin", "/admin/import", {**body, "check": True})
    assert dry.status_code == 200, dry.text
    assert {c["status"] for c in dry.json()["cases"]} == {"would_import"}
    assert admin_api.store.last_position() == 0

    done = await admin_api.post("ada.admin", "/admin/import", body)
    assert done.status_code == 200, done.text
    result = done.json()
    assert {c["source"]: c["status"] for c in result["cases"]} == {
        "pcd-512.history.yaml": "imported",
        "pcd-700.history.yaml": "imported",
    }
    assert result["part2_reviews"] == {"pcd-700": "review timer set for 2031-06-01"}
    entry = await admin_api.get(None, "/register/PCD 512")
    assert entry.status_code == 200, entry.text
    assert entry.json()["date_signed"] == "2022-03-14"
    assert entry.json()["published_at"].startswith("2022-03-17")

    again = await admin_api.post("ada.admin", "/admin/import", body)
    assert {c["status"] for c in again.json()["cases"]} == {"skipped"}


async def test_a_body_that_is_not_base64_or_too_many_files_is_refused(admin_api: Api) -> None:
    bad = {"files": [{"name": "a.history.yaml", "content_base64": "not base64!"}]}
    answer = await admin_api.post("ada.admin", "/admin/import", bad)
    assert answer.status_code == 422 and "files.0.content_base64" in answer.text
    many = {"files": [{"name": f"f{i}.history.yaml", "content_base64": "eA=="} for i in range(201)]}
    assert (await admin_api.post("ada.admin", "/admin/import", many)).status_code == 422
