"""The action-signing key of the test harnesses (never used outside the tests).

Every harness that runs a worker gives its Temporal client `signer()`: the client signs the starts
and updates it sends, and `ratify.processes.worker.build_worker` verifies them with the same keys.
"""

from __future__ import annotations

import base64

from ratify.infra.signing import ActionKeys, ActionSigner, parse_signing_keys

#: A fixed key, so that a test can sign (or forge) a proof itself.
TEST_KEY = "tests:" + base64.b64encode(b"ratify-tests-action-signing-key!" * 2).decode()
TEST_ACTION_KEYS: ActionKeys = parse_signing_keys(TEST_KEY)


def signer() -> ActionSigner:
    """The client interceptor that signs with the tests' key."""
    return ActionSigner(TEST_ACTION_KEYS)


#: Payload keys for the tests that run Ratify's processes against a Temporal of their own.
TEST_PAYLOAD_KEYS = "tests:" + base64.b64encode(b"ratify-tests-payload-key-32bytes").decode()

#: What a process needs beside TEMPORAL_ADDRESS (it refuses to start without them).
TEMPORAL_SECRETS = {
    "RATIFY_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
    "RATIFY_ACTION_SIGNING_KEY": TEST_KEY,
}
