"""The event store contract: one test class, run against every backend.

The ``store`` fixture is parametrised with ``sqlite`` and ``postgres`` (see
conftest.py), in the manner of pyeventsourcing's abstract persistence tests.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eventstore import (
    GENESIS_HASH,
    ConcurrencyConflict,
    EventIdConflict,
    EventStore,
    InvalidEvent,
    NumberTaken,
    PartialBatchConflict,
    ProblemKind,
    StoredEvent,
)
from eventstore.hashing import HashInput, row_hash
from eventstore.rawdb import Transaction
from eventstore.records import check_stream_id
from eventstore.schema import COLUMN_NAMES
from eventstore.schema import events as events_table

from .helpers import (
    T0,
    as_uuid,
    execute,
    new_event,
    populate,
    raw_rows,
    stored_datetime,
    stored_uuid,
)

TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=40,
)


def positions(store: EventStore) -> list[int]:
    return [e.position for e in store.read_all()]


class TestEventStoreContract:
    # ------------------------------------------------------------- append/read

    def test_append_and_read_back_round_trips_every_field(self, store: EventStore) -> None:
        ahead = timezone(timedelta(hours=5, minutes=30))
        occurred = datetime(2024, 2, 29, 23, 59, 58, 7, tzinfo=ahead)
        data = {
            "title": "Approve the Violence Reduction Unit budget – Überprüfung ✓ 警察",
            "amount": "1234567.89",
            "ratio": 0.1,
            "count": 2**62,
            "nested": {"z": [1, "two", None, True, False], "a": {}},
            "empty": "",
        }
        first = new_event(occurred_at=occurred, data=data, metadata={"ip": "10.0.0.1", "é": [1]})
        second = new_event(
            event_type="DecisionSubmitted", schema_version=3, actor_role="director", metadata={}
        )
        before = datetime.now(UTC)
        stored = store.append("décision/PCD-1234", 0, [first, second])
        after = datetime.now(UTC)

        assert [e.position for e in stored] == [1, 2]
        assert [e.version for e in stored] == [1, 2]
        one, two = stored
        assert one.event_id == first.event_id
        assert one.stream_id == "décision/PCD-1234"
        assert one.event_type == "DecisionDrafted"
        assert one.schema_version == 1
        assert one.occurred_at == occurred
        assert one.occurred_at.utcoffset() == timedelta(0)
        assert one.occurred_at == datetime(2024, 2, 29, 18, 29, 58, 7, tzinfo=UTC)
        assert before <= one.recorded_at <= after
        assert one.recorded_at.utcoffset() == timedelta(0)
        assert one.actor_id == "user-17"
        assert one.actor_role == "drafting_officer"
        assert one.data == data
        assert one.metadata == {"ip": "10.0.0.1", "é": [1]}
        assert one.prev_hash == GENESIS_HASH
        assert two.prev_hash == one.hash != GENESIS_HASH
        assert (two.event_type, two.schema_version, two.actor_role) == (
            "DecisionSubmitted",
            3,
            "director",
        )
        assert two.metadata == {}

        read = store.read_stream("décision/PCD-1234")
        assert read == stored
        assert store.read_all() == stored
        for event in read:
            assert isinstance(event.event_id, uuid.UUID)
            assert event.occurred_at.tzinfo is not None
            assert event.recorded_at.tzinfo is not None
        assert store.verify_all().ok

    def test_data_is_stored_as_canonical_json_text(self, store: EventStore) -> None:
        store.append("s", 0, [new_event(data={"b": "Ü", "a": [1, {"d": 1, "c": 2}]})])
        (row,) = raw_rows(store)
        assert row["data"] == '{"a":[1,{"c":2,"d":1}],"b":"Ü"}'
        assert row["metadata"] == '{"correlation_id":"c-1"}'

    def test_read_all_after_and_limit_follow_global_order(self, store: EventStore) -> None:
        populate(store, streams=3, per_stream=3)
        everything = store.read_all()
        assert [e.position for e in everything] == list(range(1, 10))
        assert [e.stream_id for e in everything[:3]] == ["stream-0", "stream-1", "stream-2"]
        assert store.read_all(after=4) == everything[4:]
        assert store.read_all(after=4, limit=2) == everything[4:6]
        assert store.read_all(after=9) == []
        assert store.last_position() == 9

    def test_stream_version_and_unknown_streams(self, store: EventStore) -> None:
        assert store.stream_version("nobody") == 0
        assert store.read_stream("nobody") == []
        assert store.last_position() == 0
        store.append("a", 0, [new_event(), new_event()])
        store.append("a", 2, [new_event()])
        store.append("b", 0, [new_event()])
        assert store.stream_version("a") == 3
        assert store.stream_version("b") == 1
        assert [e.version for e in store.read_stream("a")] == [1, 2, 3]

    def test_bad_stream_ids_are_refused(self, store: EventStore) -> None:
        bad_ids: list[Any] = ["", " leading", "trailing ", "line\nbreak", "nul\x00", "x" * 201]
        for bad in [*bad_ids, 42, None, "no\u00a0break"]:
            with pytest.raises(InvalidEvent, match="stream_id"):
                store.append(bad, 0, [new_event()])
        assert store.read_all() == []

    def test_empty_and_malformed_batches_are_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidEvent, match="empty batch"):
            store.append("s", 0, [])
        event = new_event()
        with pytest.raises(InvalidEvent, match="twice"):
            store.append("s", 0, [event, event])
        with pytest.raises(InvalidEvent, match="sequence"):
            store.append("s", 0, event)  # type: ignore[arg-type]
        with pytest.raises(InvalidEvent, match="expected_version"):
            store.append("s", -1, [event])
        with pytest.raises(InvalidEvent, match="expected_version"):
            store.append("s", True, [event])
        assert store.read_all() == []

    def test_data_mutated_after_construction_is_still_checked(self, store: EventStore) -> None:
        event = new_event(data={"ok": "1"})
        event.data["bad"] = float("nan")
        with pytest.raises(InvalidEvent, match="float nan"):
            store.append("s", 0, [event])
        assert store.read_all() == []

    # --------------------------------------------------------------- conflicts

    def test_wrong_expected_version_raises_and_writes_nothing(self, store: EventStore) -> None:
        store.append("decision-1", 0, [new_event(), new_event()])
        before = store.read_all()
        with pytest.raises(ConcurrencyConflict) as caught:
            store.append("decision-1", 1, [new_event(), new_event()])
        error = caught.value
        assert (error.stream_id, error.expected_version, error.actual_version) == (
            "decision-1",
            1,
            2,
        )
        message = str(error)
        assert "decision-1" in message
        assert "expected version 1" in message
        assert "actual version 2" in message
        assert store.read_all() == before
        assert store.stream_version("decision-1") == 2

    def test_new_stream_with_expected_version_5_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyConflict, match="expected version 5, actual version 0"):
            store.append("fresh", 5, [new_event()])
        assert store.read_all() == []
        assert store.stream_version("fresh") == 0

    # ------------------------------------------------------------ idempotence

    def test_retrying_a_batch_returns_the_stored_records(self, store: EventStore) -> None:
        batch = [new_event(), new_event(), new_event()]
        first = store.append("s", 0, batch)
        store.append("other", 0, [new_event()])
        store.append("s", 3, [new_event()])
        # A retry with the now-stale expected version, even after later appends.
        again = store.append("s", 0, batch)
        assert again == first
        assert len(store.read_all()) == 5
        assert [e.version for e in store.read_stream("s")] == [1, 2, 3, 4]
        assert store.verify_all().ok

    def test_retry_with_equal_but_differently_built_content_is_a_retry(
        self, store: EventStore
    ) -> None:
        event = new_event(data={"a": 1, "b": [1, 2]})
        first = store.append("s", 0, [event])
        same = new_event(
            event_id=event.event_id,
            data={"b": [1, 2], "a": 1},
            occurred_at=event.occurred_at.astimezone(timezone(timedelta(hours=-3))),
        )
        assert store.append("s", 0, [same]) == first
        assert len(store.read_all()) == 1

    def test_same_event_id_with_different_content_is_a_conflict(self, store: EventStore) -> None:
        original = new_event()
        store.append("s", 0, [original])
        changes: list[tuple[str, Any]] = [
            ("data", {"title": "Budget 2024/25", "amount": "1250000.01"}),
            ("metadata", {}),
            ("event_type", "DecisionWithdrawn"),
            ("schema_version", 2),
            ("actor_id", "user-18"),
            ("actor_role", "director"),
            ("occurred_at", T0 + timedelta(microseconds=1)),
        ]
        for field, value in changes:
            altered = new_event(event_id=original.event_id, **{field: value})
            for expected_version in (0, 1):  # a stale retry and a would-be next append
                with pytest.raises(EventIdConflict, match=str(original.event_id)) as caught:
                    store.append("s", expected_version, [altered])
                assert caught.value.event_id == original.event_id
                assert field in str(caught.value)
        assert store.read_all() == store.read_stream("s")
        assert len(store.read_all()) == 1

    def test_same_event_id_in_another_stream_is_a_conflict(self, store: EventStore) -> None:
        original = new_event()
        store.append("s", 0, [original])
        with pytest.raises(EventIdConflict, match="stream_id"):
            store.append("t", 0, [original])
        assert store.read_stream("t") == []

    @pytest.mark.parametrize("size", [1, 3, 30])
    def test_a_retry_at_the_current_version_returns_the_stored_records(
        self, store: EventStore, size: int
    ) -> None:
        """The acknowledgement was lost and the caller read the version again before
        retrying: the version matches, the INSERT meets the stored ids, and the retry is
        recognised all the same (small batches and large: COPY on PostgreSQL)."""
        store.append("s", 0, [new_event()])
        batch = [new_event(data={"n": n}) for n in range(size)]
        first = store.append("s", 1, batch)
        again = store.append("s", store.stream_version("s"), batch)
        assert again == first
        assert store.last_position() == size + 1
        changed = [*batch[:-1], new_event(event_id=batch[-1].event_id, data={"n": -1})]
        with pytest.raises(EventIdConflict, match="data differs"):
            store.append("s", size + 1, changed)
        if size > 1:
            with pytest.raises(PartialBatchConflict):
                store.append("s", size + 1, [*batch[:-1], new_event()])
        assert store.last_position() == size + 1
        assert store.verify_all().ok

    def test_partly_stored_batch_is_refused_and_writes_nothing(self, store: EventStore) -> None:
        stored = new_event()
        store.append("s", 0, [stored])
        fresh = new_event()
        with pytest.raises(PartialBatchConflict) as caught:
            store.append("s", 1, [stored, fresh])
        assert isinstance(caught.value, EventIdConflict)
        assert str(stored.event_id) in str(caught.value)
        assert str(fresh.event_id) in str(caught.value)
        assert len(store.read_all()) == 1
        assert store.stream_version("s") == 1

    def test_batch_retried_in_another_order_is_a_conflict(self, store: EventStore) -> None:
        a, b = new_event(), new_event()
        store.append("s", 0, [a, b])
        with pytest.raises(EventIdConflict, match="order"):
            store.append("s", 0, [b, a])

    # --------------------------------------------------------------- ordering

    def test_concurrent_writers_get_gap_free_positions_and_contiguous_versions(
        self, store: EventStore
    ) -> None:
        writers, rounds = 4, 12
        conflicts = 0
        lock = threading.Lock()

        def work(writer: int) -> None:
            nonlocal conflicts
            for i in range(rounds):
                store.append(f"own-{writer}-{i % 3}", i // 3, [new_event()])
                event = new_event(data={"writer": writer, "i": i})
                while True:
                    version = store.stream_version("shared")
                    try:
                        store.append("shared", version, [event])
                        break
                    except ConcurrencyConflict:
                        with lock:
                            conflicts += 1

        with ThreadPoolExecutor(writers) as pool:
            for future in [pool.submit(work, w) for w in range(writers)]:
                future.result()

        everything = store.read_all()
        total = writers * rounds * 2
        assert [e.position for e in everything] == list(range(1, total + 1))
        assert len({e.event_id for e in everything}) == total
        shared = store.read_stream("shared")
        assert [e.version for e in shared] == list(range(1, writers * rounds + 1))
        assert sorted((e.data["writer"], e.data["i"]) for e in shared) == [
            (w, i) for w in range(writers) for i in range(rounds)
        ]
        for w in range(writers):
            for k in range(3):
                versions = [e.version for e in store.read_stream(f"own-{w}-{k}")]
                assert versions == list(range(1, rounds // 3 + 1))
        assert store.verify_all().ok

    def test_sequence_numbers_are_gap_free_one_per_owner_and_never_reused(
        self, store: EventStore
    ) -> None:
        assert store.allocate("PCD", "case-a", first=679) == 679
        assert store.allocate("PCD", "case-b", first=679) == 680
        assert store.allocate("PCD", "case-a", first=679) == 679  # a retry keeps its number
        assert store.allocate("OTHER", "case-a") == 1  # sequences are independent
        with pytest.raises(InvalidEvent):
            store.allocate("PCD", " padded ")

        owners = [f"case-{i}" for i in range(40)]
        with ThreadPoolExecutor(4) as pool:
            numbers = list(pool.map(lambda o: store.allocate("PCD", o), owners + owners))
        assert numbers[:40] == numbers[40:]  # every owner got the same number twice
        allocated = store.allocations("PCD")
        assert sorted(allocated.values()) == list(range(679, 679 + 42))

    def test_a_number_claimed_is_held_and_allocation_continues_after_the_highest(
        self, store: EventStore
    ) -> None:
        assert store.allocate("PCD", "live-1", first=3) == 3
        assert store.claim("PCD", "pcd-512", 512) == 512
        assert store.claim("PCD", "pcd-512", 512) == 512  # a retry changes nothing
        assert store.claim("PCD", "pcd-7", 7) == 7  # below the highest: kept as it was
        assert store.allocate("PCD", "live-2") == 513  # after the highest number held
        with pytest.raises(NumberTaken) as taken:
            store.claim("PCD", "pcd-other", 512)
        assert (taken.value.holder, taken.value.number) == ("pcd-512", 512)
        with pytest.raises(NumberTaken):
            store.claim("PCD", "live-1", 3 + 1000)  # an owner holds one number only
        with pytest.raises(NumberTaken):
            store.claim("PCD", "pcd-9", 3)  # a live case's number
        with pytest.raises(InvalidEvent):
            store.claim("PCD", "pcd-0", 0)
        assert store.allocations("PCD") == {
            "live-1": 3,
            "pcd-7": 7,
            "pcd-512": 512,
            "live-2": 513,
        }

    def test_tailing_reader_never_skips_a_position(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Writers race a reader polling read_all(after=last_seen).

        Every commit first sleeps a random few milliseconds, which widens the window
        between allocating a position and making it visible. If a later position
        could become visible before an earlier one, the reader would move past the
        earlier one and never see it.
        """
        rng = random.Random(1234)
        commits = 0
        commit = Transaction.commit

        def slow_commit(tx: Transaction) -> None:
            nonlocal commits
            if (tx.statement or "").startswith(("INSERT", "COPY")):  # an append's commit
                commits += 1
            time.sleep(rng.uniform(0, 0.004))
            commit(tx)

        monkeypatch.setattr(Transaction, "commit", slow_commit)
        writers, appends_each = 4, 25
        done = threading.Event()
        seen: list[int] = []

        def write_loop(writer: int) -> None:
            version = 0
            for i in range(appends_each):
                size = 1 + (i % 3)
                store.append(f"w{writer}", version, [new_event() for _ in range(size)])
                version += size

        def read() -> None:
            last = 0
            while True:
                finished = done.is_set()
                for event in store.read_all(after=last):
                    seen.append(event.position)
                    last = event.position
                if finished:
                    return

        try:
            with ThreadPoolExecutor(writers + 1) as pool:
                reader = pool.submit(read)
                futures = [pool.submit(write_loop, w) for w in range(writers)]
                for future in futures:
                    future.result()
                done.set()
                reader.result()
        finally:
            done.set()

        assert commits == writers * appends_each  # every append's commit was slowed
        total = writers * sum(1 + (i % 3) for i in range(appends_each))
        assert positions(store) == list(range(1, total + 1))
        assert seen == list(range(1, total + 1))

    # ---------------------------------------------------------------- as-of

    def test_read_stream_as_of_a_version_or_an_instant(self, store: EventStore) -> None:
        times = [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
        stored = store.append("s", 0, [new_event(occurred_at=t) for t in times])
        store.append("other", 0, [new_event(occurred_at=T0)])

        assert store.read_stream("s", to_version=2) == stored[:2]
        assert store.read_stream("s", to_version=0) == []
        assert store.read_stream("s", to_version=10) == stored
        assert store.read_stream("s", as_of=times[1]) == stored[:2]  # inclusive
        assert store.read_stream("s", as_of=times[1] - timedelta(microseconds=1)) == stored[:1]
        assert store.read_stream("s", as_of=T0 - timedelta(seconds=1)) == []
        london_summer = timezone(timedelta(hours=1))
        assert store.read_stream("s", as_of=times[2].astimezone(london_summer)) == stored
        assert store.read_stream("s", to_version=1, as_of=times[2]) == stored[:1]
        with pytest.raises(InvalidEvent, match="naive"):
            store.read_stream("s", as_of=datetime(2024, 4, 1, 12, 0))
        with pytest.raises(InvalidEvent, match="to_version"):
            store.read_stream("s", to_version=-1)

    # ---------------------------------------------------------------- verify

    def test_verify_an_intact_store(self, store: EventStore) -> None:
        empty = store.verify_all()
        assert (empty.ok, empty.events_checked, empty.first_problem) == (True, 0, None)
        populate(store, streams=3, per_stream=4)
        result = store.verify_all()
        assert (result.ok, result.events_checked, result.first_problem) == (True, 12, None)
        one = store.verify_stream("stream-1")
        assert (one.ok, one.events_checked) == (True, 4)
        assert store.verify_stream("missing").events_checked == 0

    @pytest.mark.parametrize("column", COLUMN_NAMES)
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def test_any_single_column_edit_is_detected(
        self, store: EventStore, column: str, data: Any
    ) -> None:
        """Any row, any column, any new value: verify names the edited row.

        Each example edits one value by raw SQL, verifies, and puts the value back.
        """
        if store.last_position() == 0:
            populate(store, streams=3, per_stream=4)
        rows = raw_rows(store)
        row = data.draw(st.sampled_from(rows), label="row")
        new_value = data.draw(_tampered_value(store, rows, row, column), label="new value")

        try:
            execute(
                store,
                f'UPDATE events SET "{column}" = :value WHERE position = :position',
                {"value": new_value, "position": row["position"]},
            )
        except sa.exc.IntegrityError:
            assume(False)  # e.g. the edit collides with another row's unique key
        try:
            position = new_value if column == "position" else row["position"]
            (tampered,) = raw_rows(store, "WHERE position = :p", {"p": position})
            result = store.verify_all()
            assert not result.ok
            problem = result.first_problem
            assert problem is not None
            assert problem.kind in (ProblemKind.HASH_MISMATCH, ProblemKind.MALFORMED_ROW)
            assert problem.position == tampered["position"]
            assert problem.event_id == str(as_uuid(tampered["event_id"])), problem
            assert str(problem.event_id) in str(result)
            stream = tampered["stream_id"]
            try:
                check_stream_id(stream)
            except InvalidEvent:
                pass
            else:
                in_stream = store.verify_stream(stream)
                assert in_stream.first_problem == problem
        finally:
            execute(
                store,
                f'UPDATE events SET "{column}" = :value WHERE position = :position',
                {"value": row[column], "position": position},
            )
        assert store.verify_all().ok

    def test_deleting_a_row_in_the_middle_of_a_stream_is_detected(self, store: EventStore) -> None:
        populate(store, streams=3, per_stream=4)
        victim, successor = store.read_stream("stream-1")[1:3]
        execute(store, "DELETE FROM events WHERE position = :p", {"p": victim.position})
        for result in (store.verify_all(), store.verify_stream("stream-1")):
            assert not result.ok
            problem = result.first_problem
            assert problem is not None
            assert problem.kind is ProblemKind.VERSION_SEQUENCE
            assert (problem.stream_id, problem.version, problem.position) == (
                "stream-1",
                3,
                successor.position,
            )
            assert problem.event_id == str(successor.event_id)
            assert "expected version 2 but found 3" in problem.detail
        assert store.verify_stream("stream-0").ok

    def test_deleting_the_tail_of_a_stream_shows_as_a_position_gap(self, store: EventStore) -> None:
        populate(store, streams=3, per_stream=4)
        tail = store.read_stream("stream-0")[-1]  # not the newest event overall
        execute(store, "DELETE FROM events WHERE position = :p", {"p": tail.position})
        result = store.verify_all()
        assert not result.ok
        assert result.first_problem is not None
        assert result.first_problem.kind is ProblemKind.POSITION_SEQUENCE
        assert result.first_problem.position == tail.position + 1
        assert f"positions {tail.position}..{tail.position}" in result.first_problem.detail

    def test_swapping_two_rows_contents_is_detected(self, store: EventStore) -> None:
        populate(store, streams=2, per_stream=3)
        first, second = raw_rows(store, "WHERE stream_id = 'stream-1'")[:2]
        content = [c for c in first if c != "position"]
        assignments = ", ".join(f'"{c}" = :{c}' for c in content)
        parking = {**first, "event_id": stored_uuid(store, uuid.uuid4()), "version": 999}
        execute(store, f"UPDATE events SET {assignments} WHERE position = :position", parking)
        execute(store, f"UPDATE events SET {assignments} WHERE position = :position",
                {**first, "position": second["position"]})  # fmt: skip
        execute(store, f"UPDATE events SET {assignments} WHERE position = :position",
                {**second, "position": first["position"]})  # fmt: skip

        result = store.verify_all()
        assert not result.ok
        problem = result.first_problem
        assert problem is not None
        assert problem.kind is ProblemKind.HASH_MISMATCH
        assert problem.position == first["position"]
        assert problem.event_id == str(as_uuid(second["event_id"]))
        assert store.verify_stream("stream-1").first_problem == problem

    def test_moving_rows_to_other_positions_is_detected(self, store: EventStore) -> None:
        populate(store, streams=2, per_stream=3)
        first, second = store.read_stream("stream-0")[:2]
        execute(
            store, "UPDATE events SET position = 1000 WHERE position = :p", {"p": first.position}
        )
        execute(
            store,
            "UPDATE events SET position = :new WHERE position = :old",
            {"new": first.position, "old": second.position},
        )
        execute(
            store, "UPDATE events SET position = :p WHERE position = 1000", {"p": second.position}
        )
        problem = store.verify_all().first_problem
        assert problem is not None
        assert problem.kind is ProblemKind.HASH_MISMATCH
        assert (problem.position, problem.event_id) == (first.position, str(second.event_id))

    @pytest.mark.parametrize("forgery", ["bad_hash", "version_gap", "forked_chain", "new_stream"])
    def test_inserted_forged_rows_are_detected(self, store: EventStore, forgery: str) -> None:
        populate(store, streams=2, per_stream=3)
        chain = store.read_stream("stream-0")
        stream, version, prev_hash = "stream-0", 4, chain[-1].hash
        if forgery == "version_gap":
            version = 5
        elif forgery == "forked_chain":
            prev_hash = chain[1].hash
        elif forgery == "new_stream":
            stream, version = "forged", 2
        position = store.last_position() + 1
        forged = HashInput(
            position=position,
            event_id=uuid.uuid4(),
            stream_id=stream,
            version=version,
            event_type="DecisionApproved",
            schema_version=1,
            occurred_at=T0,
            recorded_at=T0,
            actor_id="mallory",
            actor_role="director",
            data_text='{"approved":true}',
            metadata_text="{}",
            prev_hash=prev_hash,
        )
        digest = "f" * 64 if forgery == "bad_hash" else row_hash(forged)
        with store.engine.begin() as conn:
            conn.execute(
                events_table.insert(),
                {
                    "position": forged.position,
                    "event_id": forged.event_id,
                    "stream_id": forged.stream_id,
                    "version": forged.version,
                    "event_type": forged.event_type,
                    "schema_version": forged.schema_version,
                    "occurred_at": forged.occurred_at,
                    "recorded_at": forged.recorded_at,
                    "actor_id": forged.actor_id,
                    "actor_role": forged.actor_role,
                    "data": forged.data_text,
                    "metadata": forged.metadata_text,
                    "prev_hash": forged.prev_hash,
                    "hash": digest,
                },
            )
        expected_kind = {
            "bad_hash": ProblemKind.HASH_MISMATCH,
            "version_gap": ProblemKind.VERSION_SEQUENCE,
            "forked_chain": ProblemKind.PREV_HASH_MISMATCH,
            "new_stream": ProblemKind.VERSION_SEQUENCE,
        }[forgery]
        for result in (store.verify_all(), store.verify_stream(stream)):
            assert not result.ok
            problem = result.first_problem
            assert problem is not None
            assert problem.kind is expected_kind
            assert (problem.position, problem.event_id, problem.stream_id, problem.version) == (
                position,
                str(forged.event_id),
                stream,
                version,
            )

    def test_a_legitimate_append_after_verification_still_verifies(self, store: EventStore) -> None:
        populate(store, streams=2, per_stream=2)
        assert store.verify_all().ok
        store.append("stream-0", 2, [new_event(), new_event()])
        assert store.verify_all().ok
        assert store.verify_stream("stream-0").events_checked == 4


def _tampered_value(
    store: EventStore, rows: list[dict[str, Any]], row: dict[str, Any], column: str
) -> st.SearchStrategy[Any]:
    """Values for ``column`` that differ from the stored one, in the backend's stored form."""
    old = row[column]
    sqlite = store.engine.dialect.name == "sqlite"
    strategy: st.SearchStrategy[Any]
    if column == "position":
        top = max(r["position"] for r in rows)
        strategy = st.integers(min_value=top + 1, max_value=2**31 - 1)
    elif column == "version":
        taken = {r["version"] for r in rows if r["stream_id"] == row["stream_id"]}
        strategy = st.integers(min_value=1, max_value=2**31 - 1).filter(lambda v: v not in taken)
    elif column == "schema_version":
        strategy = st.integers(min_value=1, max_value=10**6)
    elif column == "event_id":
        strategy = st.uuids().map(lambda u: stored_uuid(store, u))
    elif column in ("occurred_at", "recorded_at"):
        strategy = st.datetimes(
            min_value=datetime(1900, 1, 1),
            max_value=datetime(2200, 1, 1),
            timezones=st.just(UTC),
        ).map(lambda d: stored_datetime(store, d))
        if sqlite:  # same instant, other spelling: the stored bytes change all the same
            strategy = st.one_of(strategy, st.just(old.replace(" ", "T")))
    elif column in ("data", "metadata"):
        reformatted = json.dumps(json.loads(old), indent=1)
        strategy = st.one_of(st.just(reformatted), st.just(old + " "), TEXT)
    elif column in ("prev_hash", "hash"):
        strategy = st.one_of(
            st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
            TEXT.filter(lambda t: len(t) <= 64),
        )
    else:  # stream_id, event_type, actor_id, actor_role
        strategy = TEXT.filter(lambda t: 0 < len(t) <= 100)
    return strategy.filter(lambda value: value != old)


def test_stored_event_is_frozen() -> None:
    event = StoredEvent(
        position=1,
        event_id=uuid.uuid4(),
        stream_id="s",
        version=1,
        event_type="t",
        schema_version=1,
        occurred_at=T0,
        recorded_at=T0,
        actor_id="a",
        actor_role="r",
        data={},
        metadata={},
        prev_hash=GENESIS_HASH,
        hash=GENESIS_HASH,
    )
    with pytest.raises(AttributeError):
        event.version = 2  # type: ignore[misc]
