"""Bounded input at the edge: request bodies and JSON shape (the window of dates a person may
write is `ratify.services.dates`).

`BodyLimitMiddleware` runs before routing and authentication. Each request body has a cap
by route (`body_limit`): a `Content-Length` over it is refused with 413 before a byte is
read, and a streamed (chunked) body is counted as it comes and refused with 413 as soon as
it passes the cap. A body that should be JSON is checked before any route sees it, signed
in or not: sent under another content type, not UTF-8, or nested deeper than
`MAX_JSON_DEPTH`, it gets a 400 naming the problem. That check runs at C speed on any body
within the caps (no parsing, no Python loop over the bytes): an anonymous client cannot make
the service spend its time. The body is parsed only after sign-in (the API's routes are
`ratify.api.deps.SignedInFirst`: they sign the person in before FastAPI reads the JSON),
and JSON that is not valid gets the same 400 `malformed` there. Nothing is written on a
refusal.
"""

from __future__ import annotations

import asyncio
import json
import re

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.bounds import KIB, MAX_CASE_FILE_BYTES, MIB

#: The largest body of a JSON step or a case sent as JSON (`POST /cases`, actions, meetings).
MAX_JSON_BYTES = 256 * KIB
#: The largest body of `POST /admin/import` (history files, base64): a larger register is
#: sent in several requests, or imported with `ratify import` from a directory.
MAX_IMPORT_BYTES = 8 * MIB
#: The largest sign-in body (user id and password).
MAX_SIGN_IN_BYTES = 16 * KIB
#: The deepest JSON nesting accepted (a case file is about 5 deep).
MAX_JSON_DEPTH = 32

_JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
#: Bodies that are not JSON: case files (YAML or JSON as text), the web pages' forms.
_NOT_JSON_PATHS = ("/cases/upload", "/ui/", "/session")


def body_limit(method: str, path: str) -> int:
    """The largest body this route takes, in bytes."""
    carries_a_case = path in ("/cases", "/cases/upload", "/ui/cases/new") or (
        path.startswith("/cases/") and path.endswith("/actions/revise")
    )
    if carries_a_case:
        return MAX_CASE_FILE_BYTES + 64 * KIB  # the file, and a form's fields around it
    if path in ("/session", "/ui/sign-in"):
        return MAX_SIGN_IN_BYTES
    if path == "/admin/import":
        return MAX_IMPORT_BYTES
    return MAX_JSON_BYTES


def _expects_json(path: str) -> bool:
    return not any(path == p or (p.endswith("/") and path.startswith(p)) for p in _NOT_JSON_PATHS)


def _media(headers: dict[bytes, bytes]) -> str:
    raw = headers.get(b"content-type", b"").decode("latin-1")
    return raw.split(";")[0].strip().lower()


#: Each byte of a JSON text as a step of its nesting depth: an opening bracket +1, a closing
#: one -1 (255 as int8), a quote 2 (it opens or closes a string); every other byte deleted.
_DEPTH_STEPS = bytes(
    {0x5B: 1, 0x7B: 1, 0x5D: 255, 0x7D: 255, 0x22: 2}.get(byte, 0) for byte in range(256)
)
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit` (strings skipped).

    It runs before sign-in on any body within the caps, so it costs a few milliseconds a
    megabyte whatever the shape: no Python loop over the bytes, no regular expression, no
    parsing. Escaped backslashes and quotes are dropped, every byte but brackets and quotes
    deleted (`bytes.translate`), and the depth is the running sum of the brackets outside strings
    (numpy's `cumsum`; a bracket is inside a string when an odd number of quotes precede it).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    if b"\\" in body:  # escaped backslashes dropped, then escaped quotes
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    steps = np.frombuffer(body.translate(_DEPTH_STEPS, _NOT_STRUCTURE), dtype=np.int8)
    quotes = steps == 2
    if quotes.any():
        in_string = (np.cumsum(quotes, dtype=np.int32) & 1).astype(bool)
        steps = np.where(in_string | quotes, 0, steps)
    return bool(steps.size) and int(np.cumsum(steps, dtype=np.int32).max()) > limit


def json_problem(body: bytes) -> str | None:
    """What is wrong with a JSON body that can be told without parsing it (too deep, not
    UTF-8), naming no content; None otherwise. It costs little on any body within the caps
    (it runs before sign-in): the parse itself, and its 400 for JSON that is not valid,
    come after sign-in (`ratify.api.deps.SignedInFirst`)."""
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        return f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "body: JSON must be UTF-8"
    return None


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"code": code, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: How long a request's body may take to arrive, before sign-in and before anything else:
#: a client that declares a large body and sends it slowly, or stops, would otherwise hold
#: its memory and a connection for as long as it liked.
BODY_READ_SECONDS = 30.0


class BodyLimitMiddleware:
    """Pure ASGI middleware: the body cap (413) and the JSON check (400), per route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope.get("path", "")
        limit = body_limit(method, path)
        headers = dict(scope.get("headers") or [])
        too_large = f"body: at most {limit} bytes on {method} {path}"
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _refuse(send, 400, "malformed", "Content-Length: not a number")
                return
            if length > limit:
                await _refuse(send, 413, "too_large", f"{too_large} (Content-Length {length})")
                return
        try:
            async with asyncio.timeout(BODY_READ_SECONDS):
                body = await _read(receive, limit)
        except TimeoutError:  # a body trickled or stalled: it holds memory and a connection
            await _refuse(
                send, 408, "timeout", f"body: not received within {BODY_READ_SECONDS:g} s"
            )
            return
        except _TooLarge:
            await _refuse(send, 413, "too_large", too_large)
            return
        except _Disconnected:  # the client went before its body was whole: nothing to do
            return
        if body and _expects_json(path):
            media = _media(headers)
            if not _JSON_MEDIA.match(media):
                await _refuse(
                    send,
                    400,
                    "malformed",
                    f"Content-Type: send JSON as application/json (got {media or 'none'!r})",
                )
                return
            problem = json_problem(body)
            if problem is not None:
                await _refuse(send, 400, "malformed", problem)
                return
        elif body and path == "/session" and _media(headers) == "application/json":
            problem = json_problem(body)
            if problem is not None:
                await _refuse(send, 400, "malformed", problem)
                return
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, limit: int) -> bytes:
    """The whole body, refused (`_TooLarge`) as soon as it passes `limit` bytes; a client
    that disconnects before the end is `_Disconnected` (a partial body is never used)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay
