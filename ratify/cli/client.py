"""`RatifyClient`: a small synchronous client of Ratify's HTTP API, used by the CLI.

    with RatifyClient("http://127.0.0.1:8000", token) as ratify:
        draft = ratify.upload_case(Path("examples/mettrace.yaml"))
        ratify.submit(draft["case_id"])
        ratify.act(draft["case_id"], "sign_off", {"area": "finance"})

It holds no rules of its own: every check is the API's, so the CLI and the web refuse the
same things with the same codes. A refusal (any 4xx) raises `ApiRefusal` with the API's
`code`, `detail` and, for a stale action, the case's current `state`; FastAPI's own
validation errors (a list of problems) become one `invalid` refusal reading
`field: message; ...`. A 5xx raises `ServerFailure`, and a server that cannot be reached
(refused connection, unknown host, timeout) raises `Unreachable` naming the URL.

`transport` replaces the network, e.g. with `httpx.MockTransport` or a bridge to an
in-process app in tests.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx

#: Seconds to wait for an answer: actions wait for the workflow to store their events.
DEFAULT_TIMEOUT = 60.0

#: How many times an action is sent when its answer is lost, and the pause between sends.
ACT_ATTEMPTS = 3
RETRY_PAUSE = 1.0

#: The locations FastAPI puts before a field's name in its validation errors.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


class RatifyError(Exception):
    """Anything that stopped a call to the API from giving an answer."""


class ApiRefusal(RatifyError):
    """The API refused the request (HTTP 4xx), naming the rule in `code` and `detail`."""

    def __init__(
        self, status: int, code: str, detail: str, state: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.state = state

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiRefusal:
        """Build the refusal from the API's JSON (`{"code","detail","state"?}`), or from
        FastAPI's validation JSON (`{"detail": [{"loc","msg"}, ...]}`)."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = response.status_code
        if isinstance(body, dict):
            detail = body.get("detail")
            if isinstance(detail, list):
                return cls(status, "invalid", validation_problems(detail))
            code = body.get("code")
            state = body.get("state")
            return cls(
                status,
                str(code) if code else _code_for_status(status),
                str(detail) if detail is not None else response.reason_phrase,
                state if isinstance(state, dict) else None,
            )
        text = response.text.strip()[:300] or response.reason_phrase
        return cls(status, _code_for_status(status), text)


class ServerFailure(RatifyError):
    """The API failed (HTTP 5xx, or an answer that is not the API's JSON)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the server failed (HTTP {status}): {detail}")
        self.status = status
        self.detail = detail


def _failure_detail(response: httpx.Response) -> str:
    """The API's own sentence for a 5xx when it gave one (`{"code","detail"}`), else the
    start of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return f"{body.get('code', 'error')}: {body['detail']}"
    return response.text.strip()[:300] or response.reason_phrase


class Unreachable(RatifyError):
    """No answer from the server at all."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot reach Ratify at {base_url}: {reason}")
        self.base_url = base_url
        self.reason = reason


def validation_problems(errors: list[Any]) -> str:
    """FastAPI's validation errors as `field: message; ...` (without `body.`/`query.`)."""
    problems = []
    for err in errors:
        if not isinstance(err, dict):
            problems.append(str(err))
            continue
        loc = [str(p) for p in err.get("loc", [])]
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        problems.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(problems) or "the request is not valid"


def _code_for_status(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
        422: "invalid",
    }.get(status, f"http_{status}")


class RatifyClient:
    """Ratify's HTTP API as methods; each returns the API's JSON."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "ratify-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )

    def __enter__(self) -> RatifyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method,
                path,
                params=query,
                json=json_body,
                content=content,
                headers=headers,
            )
        except httpx.TimeoutException:
            raise Unreachable(self.base_url, "no answer in time") from None
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, str(exc) or type(exc).__name__) from None
        if response.status_code >= 500:
            raise ServerFailure(response.status_code, _failure_detail(response))
        if response.status_code >= 400:
            raise ApiRefusal.from_response(response)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ServerFailure(response.status_code, "the answer is not JSON") from None

    def _object(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        found = self._request(method, path, **kw)
        if not isinstance(found, dict):
            raise ServerFailure(200, f"expected a JSON object from {path}")
        return cast(dict[str, Any], found)

    def _page(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """A page of a list: `{"items": [...], "next": cursor or None, ...}`."""
        found = self._object("GET", path, params=params)
        if not isinstance(found.get("items"), list):
            raise ServerFailure(200, f"expected a page (items, next) from {path}")
        return found

    def _list(self, path: str, **kw: Any) -> list[dict[str, Any]]:
        found = self._request("GET", path, **kw)
        if not isinstance(found, list):
            raise ServerFailure(200, f"expected a JSON list from {path}")
        return cast(list[dict[str, Any]], found)

    # -- cases ---------------------------------------------------------------------------

    def upload_case(
        self,
        source: Path | str,
        filename: str | None = None,
        case_id: str | None = None,
        *,
        submit: bool = False,
    ) -> dict[str, Any]:
        """Create a draft from a case file: a `Path` is read (UTF-8), a `str` is the text.

        `filename` (default: the path's name, else `case.yaml`) tells YAML from JSON by
        its suffix. Returns `{"case_id", "version"}`, with `"submitted"` (the submit's
        result) when `submit` is true; a refused submit leaves the draft stored.
        """
        if isinstance(source, Path):
            text = source.read_text(encoding="utf-8-sig")
            filename = filename or source.name
        else:
            text = source
        created = self._object(
            "POST",
            "/cases/upload",
            params={"filename": filename or "case.yaml", "case_id": case_id},
            content=text,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if submit:
            created["submitted"] = self.submit(str(created["case_id"]))
        return created

    def create_case(self, case: Mapping[str, Any], case_id: str | None = None) -> dict[str, Any]:
        """Create a draft from a case as JSON data (the `Case` model)."""
        return self._object("POST", "/cases", json_body={"case": case, "case_id": case_id})

    def submit(self, case_id: str, expected_version: int | None = None) -> dict[str, Any]:
        """Submit a draft: the rules fix its route, sign-offs and decision maker."""
        fields: dict[str, Any] = {}
        if expected_version is not None:
            fields["expected_version"] = expected_version
        return self.act(case_id, "submit", fields)

    def show(
        self, case_id: str, version: int | None = None, as_of: datetime | str | None = None
    ) -> dict[str, Any]:
        """The case now, or as of a version or an instant (Part 2 only if cleared)."""
        when = as_of.isoformat() if isinstance(as_of, datetime) else as_of
        return self._object(
            "GET", f"/cases/{_segment(case_id)}", params={"version": version, "as_of": when}
        )

    def checks(self, case_id: str) -> dict[str, Any]:
        """The checks on a case, each with whether and how it was acknowledged."""
        return self._object("GET", f"/cases/{_segment(case_id)}/checks")

    def list_cases(self, **filters: str | int | None) -> dict[str, Any]:
        """A page of the case search, most recently changed first: `{"items", "next"}`.

        Filters: `stage`, `reference`, `title`, `submitted_from`, `submitted_to`,
        `required_by_before`, `min_amount`, `max_amount`; `limit` (at most 500) and `cursor`
        (the `next` of the page before).
        """
        return self._page("/cases", filters)

    # -- tasks and actions ---------------------------------------------------------------

    def tasks(self, *, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """A page of my open tasks (own roles and delegated ones), soonest due first:
        `{"items", "total", "more", "next"}` (`more`: how many come after this page;
        `next`: the cursor of the next page, or None)."""
        return self._page("/tasks", {"limit": limit, "cursor": cursor})

    def act(
        self,
        case_id: str,
        action: str,
        fields: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        attempts: int = ACT_ATTEMPTS,
    ) -> dict[str, Any]:
        """Do an action on a case; `fields` are the action's (plus `role`,
        `on_behalf_of`, `expected_version`). Returns `{"case_id","version","stage","events"}`.

        The action carries an `Idempotency-Key` (a new one unless given): when the answer
        is lost (no answer in time, a dropped connection, a 503 from a busy server) it is
        sent again, up to `attempts` times, with the same key, and the API answers with the
        first attempt's outcome: the step is never applied twice.
        """
        key = idempotency_key or uuid.uuid4().hex
        for attempt in range(1, attempts + 1):
            try:
                return self._object(
                    "POST",
                    f"/cases/{_segment(case_id)}/actions/{_segment(action)}",
                    json_body=dict(fields),
                    headers={"Idempotency-Key": key},
                )
            except (Unreachable, ServerFailure) as exc:
                retry = isinstance(exc, Unreachable) or exc.status in (502, 503, 504)
                if not retry or attempt == attempts:
                    raise
                time.sleep(RETRY_PAUSE * attempt)
        raise AssertionError("unreachable: the loop returns or raises")

    # -- who am I -------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """Who the token signs in as: `{"user": {"id", "name"}, "roles": [...], ...}`."""
        return self._object("GET", "/session")

    # -- board meetings ------------------------------------------------------------------

    def meetings(self, from_date: date | str | None = None) -> list[dict[str, Any]]:
        """Every meeting with its agenda and the advice recorded, by date (signed in)."""
        day = from_date.isoformat() if isinstance(from_date, date) else from_date
        return self._list("/meetings", params={"from_date": day})

    def meeting(self, meeting_id: str) -> dict[str, Any]:
        """One meeting as its workflow holds it: agenda, advice, whether it is closed."""
        return self._object("GET", f"/meetings/{_segment(meeting_id)}")

    def create_meeting(
        self, meeting_id: str, board: str, meeting_date: date | str
    ) -> dict[str, Any]:
        """Create a board meeting (board secretariat)."""
        day = meeting_date.isoformat() if isinstance(meeting_date, date) else meeting_date
        return self._object(
            "POST",
            "/meetings",
            json_body={"meeting_id": meeting_id, "board": board, "meeting_date": day},
        )

    def meeting_step(self, meeting_id: str, step: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A meeting step (board secretariat): `cases` (add a case to the agenda),
        `advice` (record the board's advice on a case) or `close`."""
        return self._object(
            "POST", f"/meetings/{_segment(meeting_id)}/{_segment(step)}", json_body=dict(fields)
        )

    # -- history and the register -------------------------------------------------------

    def history(self, case_id: str) -> list[dict[str, Any]]:
        """Every stored event of a case, oldest first (auditors only)."""
        return self._list(f"/cases/{_segment(case_id)}/events")

    # -- auditors ------------------------------------------------------------------------

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        """Every event in plain words, revisions section by section (auditors only)."""
        return self._list(f"/cases/{_segment(case_id)}/timeline")

    def access(self, case_id: str) -> list[dict[str, Any]]:
        """Who read the case's confidential Part 2, who exported its evidence (auditors)."""
        return self._list(f"/cases/{_segment(case_id)}/access")

    def bundle(self, ref: str) -> bytes:
        """The evidence bundle of a case id or reference (auditors; the export is recorded)."""
        try:
            response = self._http.get(
                f"/cases/{_segment(ref)}/bundle", headers={"Accept": "text/html"}
            )
        except httpx.TimeoutException:
            raise Unreachable(self.base_url, "no answer in time") from None
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, str(exc) or type(exc).__name__) from None
        if response.status_code >= 500:
            raise ServerFailure(response.status_code, response.text.strip()[:300])
        if response.status_code >= 400:
            raise ApiRefusal.from_response(response)
        return response.content

    def digest(self) -> dict[str, Any]:
        """The store-wide digest now (auditors)."""
        return self._object("GET", "/audit/digest")

    def verify(self, since: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check every hash chain, and consistency with an older digest (auditors)."""
        return self._object("POST", "/audit/verify", json_body={"since": since})

    def register(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        reference: str | None = None,
        title: str | None = None,
        signed_from: date | str | None = None,
        signed_to: date | str | None = None,
    ) -> dict[str, Any]:
        """A page of the public register, most recently published first (no token needed):
        `{"items", "next"}`, searched by `reference`, `title` (contains) and the date signed
        (`signed_from`, `signed_to`, both included); `cursor` is the `next` of the page before.
        """
        days = {
            name: day.isoformat() if isinstance(day, date) else day
            for name, day in (("signed_from", signed_from), ("signed_to", signed_to))
        }
        params = {"limit": limit, "cursor": cursor, "reference": reference, "title": title}
        return self._page("/register", {**params, **days})

    def register_entry(self, reference: str) -> dict[str, Any]:
        """One published decision, e.g. `PCD 679`."""
        return self._object("GET", f"/register/{_segment(reference)}")


def _segment(value: str) -> str:
    """A path segment, percent-encoded (a case id or reference may hold spaces)."""
    return quote(value, safe="")
