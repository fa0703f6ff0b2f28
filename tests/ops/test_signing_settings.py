"""RATIFY_ACTION_SIGNING_KEY at the edge: a bad value is refused naming the variable and the
rule, never echoing the key."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from ratify.infra.observability.startup import settings_problems
from ratify.infra.settings import Settings
from ratify.infra.signing import MIN_KEY_BYTES, parse_signing_keys

KEY = base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "is set but empty"),
        ("2026-12:not*base64", "key '2026-12' is not base64"),
        ("2026-12:" + base64.b64encode(b"short").decode(), f"at least {MIN_KEY_BYTES} random"),
        (f"a:{KEY},a:{KEY}", "key id 'a' is listed twice"),
        (f":{KEY}", "entry 1 must be id:base64key"),
    ],
)
def test_a_bad_signing_key_is_refused_naming_the_rule(value: str, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(action_signing_key=value)
    problems = settings_problems(caught.value)
    assert "RATIFY_ACTION_SIGNING_KEY" in problems and rule in problems
    if len(value) > 8:
        assert value.split(":")[-1] not in problems  # the key is never echoed


def test_keys_rotate_the_first_signs_and_a_bare_key_is_default() -> None:
    keys = parse_signing_keys(f"new:{KEY},old:{base64.b64encode(b'o' * 40).decode()}")
    assert keys.signing_id == "new" and keys.key("old") == b"o" * 40
    assert parse_signing_keys(KEY).signing_id == "default"
    assert KEY not in repr(keys) and "new" in repr(keys)


def test_the_signing_key_is_not_a_payload_key() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(action_signing_key=f"s:{KEY}", payload_keys=f"p:{KEY}")
    assert "must not reuse a key of RATIFY_PAYLOAD_KEYS" in settings_problems(caught.value)
    assert KEY not in settings_problems(caught.value)
