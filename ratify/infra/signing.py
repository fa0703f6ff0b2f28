"""Signed actions: only what Ratify's API (or its worker) issued reaches a workflow.

Anyone who can reach the Temporal frontend can start a workflow or send an update naming
any actor. So every person's action carries a *proof* in its Temporal header
(`ratify-proof`): an HMAC-SHA256, with a key the API and the worker share
(`RATIFY_ACTION_SIGNING_KEY`), over a canonical encoding of

* what it is: an update (its name and update id) or a workflow start (its type),
* where it goes: the workflow id (the case, the meeting, the Part 2 review),
* the action's arguments, the actor included (every field, as JSON with sorted keys),
* when it was issued (seconds since the epoch) and the key's id.

`ActionSigner` (a client interceptor) adds the proof to every workflow start and update
Ratify's clients send, the two halves of an update-with-start included. `ActionVerifier` (a
worker interceptor) checks it:

* an update in its validator, before the workflow's own validator and before anything is
  recorded; validators are not run on replay, so histories recorded before signing (or
  with a retired key) still replay. A proof is good for `MAX_AGE` after it was issued.
* a workflow start before the workflow runs: a refused start fails the workflow at once,
  with a patch marker in its history so that a replay refuses it again without the key;
  a child workflow (the Part 2 review a decision starts) or a continued run needs none.

A refusal is an `ApplicationError` of type `unsigned_action` and one WARNING log line with
the workflow id, the update name and the claimed actor (never the payload's text).

Keys: `id:base64key[,id:base64key...]` (at least 32 random bytes each; `ratify
payload-key ID` makes one); the first signs, every one listed verifies, so a key is
rotated by putting the new one first on every worker, then on every API. A bare base64
key is taken as the id `default`. On the embedded defaults (no `TEMPORAL_ADDRESS`) a key is
made once and kept in the data directory (`action-signing.key`, mode 0600).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import stat
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic_core
import structlog
import temporalio.client
import temporalio.converter
import temporalio.worker
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from ratify.infra.observability import metrics

log = structlog.get_logger("ratify.signing")

#: The Temporal header holding the proof.
PROOF_HEADER = "ratify-proof"
#: The refusal code of an action without a valid proof.
UNSIGNED = "unsigned_action"
#: How long a proof is good for after it was issued (a step waits for a worker at most
#: this long; a client resending sends a fresh proof), and how far ahead of the worker's
#: clock an issuing clock may run.
MAX_AGE = 600
CLOCK_SKEW = 120
#: The smallest key accepted, in bytes.
MIN_KEY_BYTES = 32
#: The patch marker a refused workflow start leaves in its history.
START_REFUSED = "ratify-start-refused"
#: The name of the key file on the embedded defaults, in the data directory.
KEY_FILE = "action-signing.key"

_DOMAIN = b"ratify-action-proof/v1\n"
_converter = temporalio.converter.PayloadConverter.default


class SigningKeyError(ValueError):
    """RATIFY_ACTION_SIGNING_KEY is malformed (the message names the entry, never the key)."""


@dataclass(frozen=True)
class ActionKeys:
    """The signing keys, in order: the first signs, all verify."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise SigningKeyError("RATIFY_ACTION_SIGNING_KEY: no key given")

    def __repr__(self) -> str:  # never the key material
        return f"ActionKeys(ids={[key_id for key_id, _ in self.keys]})"

    @property
    def signing_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes | None:
        return dict(self.keys).get(key_id)


def parse_signing_keys(text: str) -> ActionKeys:
    """`id:base64key,...` (or one bare base64 key) as ActionKeys, or SigningKeyError."""
    name = "RATIFY_ACTION_SIGNING_KEY"
    if not text.strip():
        raise SigningKeyError(f"{name} is set but empty: give id:base64key")
    keys: list[tuple[str, bytes]] = []
    for n, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep:
            key_id, encoded = "default", entry
        key_id = key_id.strip()
        if not key_id:
            raise SigningKeyError(f"{name}: entry {n} must be id:base64key (e.g. 2026-12:...)")
        if any(k == key_id for k, _ in keys):
            raise SigningKeyError(f"{name}: key id {key_id!r} is listed twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SigningKeyError(f"{name}: key {key_id!r} is not base64") from None
        if len(key) < MIN_KEY_BYTES:
            raise SigningKeyError(
                f"{name}: key {key_id!r} must be at least {MIN_KEY_BYTES} random bytes, "
                f"not {len(key)}"
            )
        keys.append((key_id, key))
    return ActionKeys(tuple(keys))


def new_signing_keys() -> ActionKeys:
    return ActionKeys((("embedded", os.urandom(MIN_KEY_BYTES)),))


def embedded_keys(data_dir: Path) -> ActionKeys:
    """The embedded defaults' key: read from `data_dir/action-signing.key`, made there (mode
    0600) the first time. Every process on the same data directory shares it."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)  # nobody else on the machine may sign actions
        for _ in range(50):  # another process may be writing it this moment
            text = path.read_text("ascii").strip()
            if text:
                try:
                    return parse_signing_keys(text)
                except SigningKeyError:
                    raise SigningKeyError(
                        f"{path} does not hold a signing key: delete it to make a new one"
                    ) from None
            time.sleep(0.02)
        raise SigningKeyError(f"{path} is empty: delete it to make a new one") from None
    key = base64.b64encode(os.urandom(MIN_KEY_BYTES)).decode()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"embedded:{key}\n")
    return parse_signing_keys(f"embedded:{key}")


# -- the proof --------------------------------------------------------------------------------


def _canonical(
    kind: str, workflow_id: str, name: str, update_id: str, args: Sequence[Any], issued: int
) -> bytes:
    body = {
        "kind": kind,
        "workflow_id": workflow_id,
        "name": name,
        "update_id": update_id,
        "args": [pydantic_core.to_jsonable_python(a) for a in args],
        "issued": issued,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _DOMAIN + text.encode()


def _mac(key: bytes, key_id: str, message: bytes) -> str:
    digest = hmac.new(key, key_id.encode() + b"\n" + message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_proof(
    keys: ActionKeys,
    *,
    kind: str,
    workflow_id: str,
    name: str,
    update_id: str = "",
    args: Sequence[Any],
    issued: int | None = None,
) -> Payload:
    """The header payload proving Ratify issued this action."""
    at = int(time.time()) if issued is None else issued
    key_id, key = keys.keys[0]
    mac = _mac(key, key_id, _canonical(kind, workflow_id, name, update_id, args, at))
    return _converter.to_payloads([{"v": 1, "kid": key_id, "issued": at, "mac": mac}])[0]


def check_proof(
    keys: ActionKeys | None,
    headers: Mapping[str, Payload],
    *,
    kind: str,
    workflow_id: str,
    name: str,
    update_id: str = "",
    args: Sequence[Any],
    now: float,
) -> str | None:
    """None when the header holds a valid, fresh proof for exactly this action; else why
    not (for the log: never a key or the action's text)."""
    payload = headers.get(PROOF_HEADER)
    if payload is None:
        return "no proof"
    if keys is None:
        return "this process has no signing key"
    try:
        proof = _converter.from_payloads([payload])[0]
        key_id, issued, mac = str(proof["kid"]), int(proof["issued"]), str(proof["mac"])
    except Exception:
        return "a malformed proof"
    key = keys.key(key_id)
    if key is None:
        return f"a proof made with key {key_id[:40]!r}, which is not listed"
    expected = _mac(key, key_id, _canonical(kind, workflow_id, name, update_id, args, issued))
    if not hmac.compare_digest(expected, mac):
        return "a proof that does not match this action, actor and workflow"
    if issued < now - MAX_AGE:
        return f"a proof issued {int(now - issued)} s ago (good for {MAX_AGE} s)"
    if issued > now + CLOCK_SKEW:
        return "a proof issued in the future"
    return None


def _claimed_actor(args: Sequence[Any]) -> str | None:
    for arg in args[:1]:
        for field in ("actor", "officer", "created_by"):
            actor = getattr(arg, field, None)
            if actor is None and isinstance(arg, Mapping):
                actor = arg.get(field)
            if isinstance(actor, Mapping):
                user, role = actor.get("user_id"), actor.get("role")
            else:
                user, role = getattr(actor, "user_id", None), getattr(actor, "role", None)
            if user is not None:  # whatever the sender claimed: bounded for the log
                role = getattr(role, "value", role)
                claimed = f"{user} ({role})" if role is not None else str(user)
                return claimed[:120]
    return None


def _refused(workflow_id: str, name: str, args: Sequence[Any], why: str) -> ApplicationError:
    actor = _claimed_actor(args)
    log.warning(
        "action refused: not issued by Ratify",
        workflow_id=workflow_id,
        update=name,
        claimed_actor=actor,
        reason=why,
    )
    metrics.REFUSALS.labels(code=UNSIGNED).inc()
    return ApplicationError(
        f"refused: the {name.replace('_', ' ')} step for workflow {workflow_id} does not carry "
        f"a valid proof that Ratify issued it ({why}); act through Ratify's API",
        type=UNSIGNED,
        non_retryable=True,
    )


# -- client: sign ----------------------------------------------------------------------------


class _SigningOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, keys: ActionKeys) -> None:
        super().__init__(next)
        self._keys = keys

    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        proof = make_proof(
            self._keys, kind="start", workflow_id=input.id, name=input.workflow, args=input.args
        )
        input.headers = {**input.headers, PROOF_HEADER: proof}
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        # The proof names the update id, so the id is fixed here if the caller gave none.
        input.update_id = input.update_id or str(uuid.uuid4())
        proof = make_proof(
            self._keys,
            kind="update",
            workflow_id=input.id,
            name=input.update,
            update_id=input.update_id,
            args=input.args,
        )
        input.headers = {**input.headers, PROOF_HEADER: proof}
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        # Both halves are checked on their own (the start before the run, the update in its
        # validator), so each carries its own proof, as if sent one after the other.
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = {
            **start.headers,
            PROOF_HEADER: make_proof(
                self._keys, kind="start", workflow_id=start.id, name=start.workflow, args=start.args
            ),
        }
        update.update_id = update.update_id or str(uuid.uuid4())
        update.headers = {
            **update.headers,
            PROOF_HEADER: make_proof(
                self._keys,
                kind="update",
                workflow_id=start.id,
                name=update.update,
                update_id=update.update_id,
                args=update.args,
            ),
        }
        return await super().start_update_with_start_workflow(input)


class ActionSigner(temporalio.client.Interceptor):
    """Client interceptor: signs every workflow start and update this client sends."""

    def __init__(self, keys: ActionKeys) -> None:
        self.keys = keys

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _SigningOutbound(next, self.keys)


def signer_keys(client: temporalio.client.Client) -> ActionKeys | None:
    """The keys a client signs with, if it signs."""
    for interceptor in client.config()["interceptors"]:
        if isinstance(interceptor, ActionSigner):
            return interceptor.keys
    return None


def signed(client: temporalio.client.Client, keys: ActionKeys) -> temporalio.client.Client:
    """`client` if it signs with `keys`, else a client on the same connection that does."""
    if signer_keys(client) == keys:
        return client
    config = client.config()
    others = [i for i in config["interceptors"] if not isinstance(i, ActionSigner)]
    config["interceptors"] = [*others, ActionSigner(keys)]
    return temporalio.client.Client(**config)


# -- worker: verify (runs inside the workflow sandbox) ------------------------------------------


class _VerifyingInbound(temporalio.worker.WorkflowInboundInterceptor):
    #: Set on the subclass `ActionVerifier` makes (the sandbox gets the class, not an object).
    keys: Any = None
    clock: Callable[[], float] = time.time

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        info = workflow.info()
        # A child (the Part 2 review its decision starts) or a run continued as new from a
        # run that was checked needs no proof; a cron run does (its first run may have been
        # refused: the schedule would start the next one regardless).
        system_start = info.parent is not None or (
            info.continued_run_id is not None and not info.cron_schedule
        )
        if not system_start:
            self._check_start(input, info.workflow_id, info.workflow_type)
        return await super().execute_workflow(input)

    def _check_start(
        self, input: temporalio.worker.ExecuteWorkflowInput, workflow_id: str, name: str
    ) -> None:
        if workflow.unsafe.is_replaying_history_events():
            # Decided when it ran: a refusal left its marker (no key is needed to replay).
            if workflow.patched(START_REFUSED):
                raise ApplicationError("refused: not issued by Ratify", type=UNSIGNED)
            return
        why = check_proof(
            self.keys,
            input.headers,
            kind="start",
            workflow_id=workflow_id,
            name=name,
            args=input.args,
            now=type(self).clock(),
        )
        if why is not None:
            workflow.patched(START_REFUSED)
            raise _refused(workflow_id, f"start of {name}", input.args, why)

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        workflow_id = workflow.info().workflow_id
        why = check_proof(
            self.keys,
            input.headers,
            kind="update",
            workflow_id=workflow_id,
            name=input.update,
            update_id=input.id,
            args=input.args,
            now=type(self).clock(),
        )
        if why is not None:
            raise _refused(workflow_id, input.update, input.args, why)
        super().handle_update_validator(input)


class ActionVerifier(temporalio.worker.Interceptor):
    """Worker interceptor: refuses workflow starts and updates without a valid proof.

    `keys=None` verifies nothing live (everything is refused): it is for replaying
    histories, where only the recorded outcome of a start matters.
    """

    def __init__(self, keys: ActionKeys | None, *, clock: Callable[[], float] = time.time) -> None:
        self._class = type(
            "VerifyingInbound", (_VerifyingInbound,), {"keys": keys, "clock": staticmethod(clock)}
        )

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return self._class
