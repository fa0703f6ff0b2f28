"""The store-wide digest: kept outside, it proves later that nothing it covered changed."""

from __future__ import annotations

import sqlalchemy as sa

from eventstore import EventStore
from eventstore.digest import Digest, digest, merkle_root, verify_since
from eventstore.hashing import HashInput, canonical_json, row_hash
from eventstore.schema import events as events_table
from tests.eventstore.helpers import execute, new_event, populate


def _rehash_stream_from(store: EventStore, stream_id: str, version: int, data: dict) -> None:
    """Edit one event and re-chain its stream so that the stream alone still verifies:
    what a tamperer with database access and the hashing code could do."""
    records = store.read_stream(stream_id)
    prev = records[version - 2].hash if version > 1 else "0" * 64
    with store.engine.begin() as conn:
        for record in records[version - 1 :]:
            new_data = data if record.version == version else record.data
            hashed = HashInput(
                position=record.position,
                event_id=record.event_id,
                stream_id=stream_id,
                version=record.version,
                event_type=record.event_type,
                schema_version=record.schema_version,
                occurred_at=record.occurred_at,
                recorded_at=record.recorded_at,
                actor_id=record.actor_id,
                actor_role=record.actor_role,
                data_text=canonical_json(new_data),
                metadata_text=canonical_json(record.metadata),
                prev_hash=prev,
            )
            prev = row_hash(hashed)
            conn.execute(
                sa.update(events_table)
                .where(events_table.c.position == record.position)
                .values(data=hashed.data_text, prev_hash=hashed.prev_hash, hash=prev)
            )


def test_a_digest_still_verifies_after_appends(store: EventStore):
    populate(store, streams=3, per_stream=4)
    kept = Digest.model_validate_json(digest(store).model_dump_json())  # stored outside
    assert (kept.position, kept.streams) == (12, 3)
    store.append("stream-0", 4, [new_event()])
    store.append("stream-9", 0, [new_event()])
    result = verify_since(store, kept)
    assert result.ok and "2 events appended since" in result.detail
    assert digest(store, kept.position) == kept
    assert digest(store).root != kept.root


def test_an_edit_re_hashed_into_its_stream_is_caught(store: EventStore):
    populate(store, streams=3, per_stream=4)
    kept = digest(store)
    _rehash_stream_from(store, "stream-1", 2, {"n": 99, "forged": True})
    assert store.verify_all().ok  # the re-hashed chain alone looks fine
    result = verify_since(store, kept)
    assert not result.ok and "not those the digest covered" in result.detail


def test_truncating_a_stream_or_the_log_is_caught(store: EventStore):
    populate(store, streams=3, per_stream=4)
    kept = digest(store)
    last = store.read_stream("stream-2")[-1]
    execute(store, "DELETE FROM events WHERE position = :p", {"p": last.position})
    result = verify_since(store, kept)
    assert not result.ok and "before the digest's 12" in result.detail


def test_deleting_the_newest_event_of_a_stream_mid_log_is_caught(store: EventStore):
    populate(store, streams=3, per_stream=4)
    store.append("stream-0", 4, [new_event()])  # so stream-1's newest is not the log's newest
    kept = digest(store)
    newest = store.read_stream("stream-1")[-1]
    execute(store, "DELETE FROM events WHERE position = :p", {"p": newest.position})
    assert not verify_since(store, kept).ok


def test_the_merkle_root_depends_on_every_leaf_and_its_place():
    leaves = [bytes([i]) * 32 for i in range(5)]
    root = merkle_root(leaves)
    assert root != merkle_root(leaves[:4]) and root != merkle_root(leaves[::-1])
    assert merkle_root([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_audit_commands_export_a_digest_and_prove_against_it(store: EventStore, tmp_path):
    from typer.testing import CliRunner

    from ratify.cli import app

    populate(store, streams=2, per_stream=3)
    url = store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    exported = runner.invoke(app, ["--database-url", url, "audit", "digest", "--json"])
    assert exported.exit_code == 0, exported.output
    kept = tmp_path / "digest.json"
    kept.write_text(exported.stdout)
    store.append("stream-0", 3, [new_event()])
    ok = runner.invoke(app, ["--database-url", url, "audit", "verify", "--since", str(kept)])
    assert ok.exit_code == 0 and "1 events appended since" in ok.stdout
    _rehash_stream_from(store, "stream-1", 1, {"forged": True})
    bad = runner.invoke(app, ["--database-url", url, "audit", "verify", "--since", str(kept)])
    assert bad.exit_code == 1 and "not consistent with the digest" in bad.stderr
    missing = runner.invoke(app, ["--database-url", url, "audit", "verify", "--since", "nope.json"])
    assert missing.exit_code == 2 and "--since: nope.json" in missing.stderr
