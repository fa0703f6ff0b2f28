"""What Ratify's processes put in Temporal: the data converter, and the codec that encrypts.

Every workflow input, update, activity argument and result goes through Temporal and stays
in its history: the case with its confidential Part 2, the events, the register entry.
Anyone who can read the Temporal database or its Web UI could read Part 2. With
`RATIFY_PAYLOAD_KEYS` set, every payload is encrypted with AES-256-GCM before it leaves
the process (`EncryptionCodec`, after Temporal's samples-python `encryption` sample), and
Temporal holds ciphertext only: the Web UI shows `binary/encrypted`.

    RATIFY_PAYLOAD_KEYS="2026-11:<base64 of 32 random bytes>,2025-01:<older key>"

The first key encrypts; every listed key decrypts, so a key is rotated by putting the new
one first and keeping the old one for as long as any history it sealed is kept (closed
workflows too, for the namespace's retention: audit replays and update outcomes read
them). Error messages and stack traces are sealed too (they can quote a case). Payloads
written without a codec (before it was turned on) still read: only payloads marked
`binary/encrypted` are decrypted. Make a key with `ratify payload-key` or
`python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"`.

Every process that talks to Temporal (worker, API, the auditors' commands) needs the same
keys. Unset (the embedded defaults of `make run`), payloads are plain JSON, readable in
the dev server's UI.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12


class PayloadKeyError(ValueError):
    """RATIFY_PAYLOAD_KEYS is malformed, or a payload names a key this process lacks."""


def parse_keys(text: str) -> dict[str, bytes]:
    """`id:base64key,id:base64key` as an ordered map (the first encrypts), or
    PayloadKeyError naming the entry and the rule."""
    if not text.strip():
        raise PayloadKeyError(
            "RATIFY_PAYLOAD_KEYS is set but empty: give id:base64key, or unset it to put "
            "plain payloads in Temporal"
        )
    keys: dict[str, bytes] = {}
    for n, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise PayloadKeyError(
                f"RATIFY_PAYLOAD_KEYS: entry {n} must be id:base64key (e.g. 2026-11:...)"
            )
        if key_id in keys:
            raise PayloadKeyError(f"RATIFY_PAYLOAD_KEYS: key id {key_id!r} is listed twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise PayloadKeyError(f"RATIFY_PAYLOAD_KEYS: key {key_id!r} is not base64") from None
        if len(key) != 32:
            raise PayloadKeyError(
                f"RATIFY_PAYLOAD_KEYS: key {key_id!r} must be 32 random bytes (AES-256), "
                f"not {len(key)}"
            )
        keys[key_id] = key
    return keys


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole payload (its metadata and data), a fresh 96-bit nonce
    each time, the key's id in the metadata."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise PayloadKeyError("RATIFY_PAYLOAD_KEYS: no key given")
        self.key_id = next(iter(keys))
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.key_id]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(_NONCE)
            # The key id is bound to the ciphertext: relabelling a payload breaks it.
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self.key_id.encode())
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # written before encryption was turned on
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise PayloadKeyError(
                    f"a payload is encrypted with key {key_id!r}, which RATIFY_PAYLOAD_KEYS "
                    f"does not list (it lists {', '.join(self._ciphers)})"
                )
            try:
                plain = cipher.decrypt(
                    payload.data[:_NONCE], payload.data[_NONCE:], key_id.encode()
                )
            except (InvalidTag, ValueError):  # ValueError: shorter than a nonce
                raise PayloadKeyError(
                    f"a payload encrypted with key {key_id!r} does not decrypt: the key "
                    "differs from the one that encrypted it, or the payload was altered"
                ) from None
            decoded.append(Payload.FromString(plain))
        return decoded


def data_converter(payload_keys: str | None) -> DataConverter:
    """Pydantic JSON payloads; with keys, encrypted, and failures' messages and stack
    traces moved into their (encrypted) attributes."""
    if payload_keys is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(parse_keys(payload_keys)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def new_key() -> str:
    """A fresh key, base64: what goes after `id:` in RATIFY_PAYLOAD_KEYS."""
    return base64.b64encode(os.urandom(32)).decode()
