"""The durable store on a real nats-server (docs/internals/durable.md, "State in JetStream").

Create and load; a second start of a name, and one taking over a start that died; an
append meeting another replica's; two stores (two gateway replicas) racing
transitions on one execution; folding after a nats-server restart and in a fresh store;
snapshots every 256 entries; a summary lagging the log repaired; purge; the state's
size bound; NATS away and back. The decisions are the decider's own (start, invoke,
checkpoint with real updates).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import nats.js.errors
import pytest

from kappa.durable import state as log_state
from kappa.durable import summary as summaries
from kappa.durable.decider import RESOURCE_NOT_FOUND, Refusal
from kappa.durable.model import ExecutionStatus, OperationStatus, OperationType
from kappa.durable.settings import MIB, DurableSettings
from kappa.durable.store import (
    SNAPSHOT_EVERY,
    AlreadyStarted,
    Committed,
    Created,
    ExecutionKey,
    Loaded,
    StateTooLargeError,
    StoreUnavailable,
)
from tests.integration.brokers import NatsServer
from tests.integration.durable.conftest import (
    KEY,
    claim,
    identity,
    started,
    step_succeeds,
    store_on,
)

pytestmark = pytest.mark.integration

HANG_GUARD = 60.0


def run(scenario: Any) -> None:
    async def guarded() -> None:
        async with asyncio.timeout(HANG_GUARD):
            await scenario

    asyncio.run(guarded())


async def _created(store: Any, key: ExecutionKey = KEY) -> Created:
    created = await store.create(key, identity(key), started(key))
    assert isinstance(created, Created)
    claimed = await store.transition(key, claim())
    assert isinstance(claimed, Committed)
    return created


def test_create_then_load_round_trip(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        created = await store.create(KEY, identity(), started())
        assert isinstance(created, Created)
        assert created.summary.identity == identity()
        assert created.summary.status is ExecutionStatus.RUNNING
        assert created.summary.log_sequence == created.state.sequence > 0
        [execution] = created.state.operations.values()
        assert execution.type is OperationType.EXECUTION
        assert execution.execution_details is not None
        assert execution.execution_details.input_payload == '{"n":1}'
        loaded = await store.load(KEY)
        assert loaded == Loaded(identity(), created.state)
        assert await store.summary(KEY) == created.summary
        assert await store.load(ExecutionKey("team", "orders", "other")) is None
        assert await store.summary(ExecutionKey("team", "orders", "other")) is None
        await nc.close()

    run(scenario())


def test_a_second_start_of_a_name_is_already_started(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        first = await store.create(KEY, identity(), started())
        assert isinstance(first, Created)
        again = await store.create(KEY, identity(payload="other"), started(payload="other"))
        assert again == AlreadyStarted(first.summary)
        assert again.summary.input_hash == identity().input_hash != identity(payload="x").input_hash
        # Nothing more was appended.
        assert [seq for seq, _ in await store.entries(KEY)] == [first.state.sequence]
        await nc.close()

    run(scenario())


def test_a_start_that_died_between_its_two_writes_is_taken_over(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        # A replica created the summary (log sequence 0) and died before the append.
        orphan = summaries.summarise(identity(payload="first"), started(payload="first").commit(0))
        kv = await nc.jetstream().key_value(store.executions_bucket)
        await kv.create(KEY.token, summaries.encode(orphan))
        created = await store.create(KEY, identity(), started())
        assert isinstance(created, Created)
        assert created.summary.input_hash == identity().input_hash
        assert await store.summary(KEY) == created.summary
        assert [seq for seq, _ in await store.entries(KEY)] == [created.state.sequence]
        await nc.close()

    run(scenario())


def test_two_replicas_racing_transitions_land_each_once_in_order(nats_server: NatsServer) -> None:
    steps = 20

    async def scenario() -> None:
        nc_a, a = await store_on(nats_server)
        nc_b, b = await store_on(nats_server)
        await _created(a)
        await b.load(KEY)  # both replicas have it cached

        async def drive(store: Any, names: list[str]) -> list[Any]:
            return [await store.transition(KEY, step_succeeds(name)) for name in names]

        names_a = [f"a{i}" for i in range(steps)]
        names_b = [f"b{i}" for i in range(steps)]
        results = await asyncio.gather(drive(a, names_a), drive(b, names_b))
        assert all(isinstance(r, Committed) for batch in results for r in batch)
        entries = await a.entries(KEY)
        assert len(entries) == 2 + 2 * steps  # start, invoke, every step once
        # In order: each checkpoint took the token sequence the one before left.
        tokens = [entry.fields.token_sequence for _, entry in entries[2:]]
        assert tokens == list(range(1, 2 * steps + 1))
        touched = [op.id for _, entry in entries[2:] for op in entry.operations]
        assert sorted(touched) == sorted(names_a + names_b)
        for store in (a, b):
            loaded = await store.load(KEY)
            assert loaded is not None
            steps_done = [
                op.id
                for op in loaded.state.operations.values()
                if op.type is OperationType.STEP and op.status is OperationStatus.SUCCEEDED
            ]
            assert sorted(steps_done) == sorted(names_a + names_b)
            assert loaded.state == log_state.fold(None, entries)
        await nc_a.close()
        await nc_b.close()

    run(scenario())


def test_loads_racing_on_one_cached_execution_fold_its_new_entries_once(
    nats_server: NatsServer,
) -> None:
    """Two loads of an execution this replica has cached, while another replica appended:
    both read the log after the cached state, and the second back finds it folded in by
    the first (a GET racing the runner's wake failed with "Log sequence 11 is not after
    11" before)."""

    async def scenario() -> None:
        nc_a, a = await store_on(nats_server)
        nc_b, b = await store_on(nats_server)
        await _created(a)
        await a.load(KEY)  # cached by a
        for name in ("one", "two"):
            assert isinstance(await b.transition(KEY, step_succeeds(name)), Committed)
        loads = await asyncio.gather(*(a.load(KEY) for _ in range(4)))
        expected = log_state.fold(None, await a.entries(KEY))
        assert [loaded.state if loaded else None for loaded in loads] == [expected] * 4
        await nc_a.close()
        await nc_b.close()

    run(scenario())


def test_an_append_that_meets_another_replicas_is_decided_again(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc_a, a = await store_on(nats_server)
        nc_b, b = await store_on(nats_server)
        await _created(a)
        appending = b._append  # noqa: SLF001 - the moment between B's read and its append

        async def after_a(*args: Any) -> int | None:
            if len(decided_on) == 1:  # A's transition lands first
                assert isinstance(await a.transition(KEY, step_succeeds("from-a")), Committed)
            return await appending(*args)

        b._append = after_a  # type: ignore[method-assign,assignment] # noqa: SLF001
        decided_on: list[int] = []
        decide = step_succeeds("from-b")

        def counting(state: Any) -> Any:
            decided_on.append(state.sequence)
            return decide(state)

        committed = await b.transition(KEY, counting)
        assert isinstance(committed, Committed)
        # B decided twice: on the state before A's entry, then on the one after it.
        assert len(decided_on) == 2
        assert decided_on[0] < decided_on[1]
        entries = await a.entries(KEY)
        assert [op.id for _, e in entries[2:] for op in e.operations] == ["from-a", "from-b"]
        assert [e.fields.token_sequence for _, e in entries[2:]] == [1, 2]
        await nc_a.close()
        await nc_b.close()

    run(scenario())


def test_the_state_folds_again_after_a_restart_and_in_a_fresh_store(
    nats_server: NatsServer,
) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        await _created(store)
        for name in ("s1", "s2", "s3"):
            assert isinstance(await store.transition(KEY, step_succeeds(name)), Committed)
        before = await store.load(KEY)
        await nc.close()
        nats_server.restart()  # file storage: everything acknowledged is there
        nc, fresh = await store_on(nats_server)  # an empty cache
        assert await fresh.load(KEY) == before
        assert isinstance(await fresh.transition(KEY, step_succeeds("s4")), Committed)
        loaded = await fresh.load(KEY)
        assert loaded is not None
        assert loaded.state == log_state.fold(None, await fresh.entries(KEY))
        assert "s4" in loaded.state.operations
        await nc.close()

    run(scenario())


def test_snapshots_every_256_entries_and_loading_from_one_equals_folding_all(
    nats_server: NatsServer,
) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        await _created(store)  # two entries
        for i in range(SNAPSHOT_EVERY - 2):
            assert isinstance(await store.transition(KEY, step_succeeds(f"s{i}")), Committed)
        snapshots = await nc.jetstream().key_value(store.snapshots_bucket)
        snapshot = log_state.decode_snapshot((await snapshots.get(KEY.token)).value)
        entries = await store.entries(KEY, limit=SNAPSHOT_EVERY + 50)
        assert len(entries) == SNAPSHOT_EVERY
        assert snapshot.sequence == entries[-1][0]
        assert snapshot == log_state.fold(None, entries)
        for i in range(10):  # a tail after the snapshot
            assert isinstance(await store.transition(KEY, step_succeeds(f"t{i}")), Committed)
        nc_fresh, fresh = await store_on(nats_server)
        loaded = await fresh.load(KEY)
        assert loaded is not None
        everything = await fresh.entries(KEY, limit=SNAPSHOT_EVERY + 50)
        assert len(everything) == SNAPSHOT_EVERY + 10
        assert loaded.state == log_state.fold(None, everything)
        # A store with an empty cache starts from the snapshot: one marked by the test
        # shows its mark under the tail's entries.
        marker = replace(next(iter(snapshot.operations.values())), id="from-snapshot")
        marked = replace(
            snapshot,
            operations={**snapshot.operations, marker.id: marker},
            touched={**snapshot.touched, marker.id: snapshot.sequence},
        )
        await snapshots.put(KEY.token, log_state.encode_snapshot(marked))
        nc_third, third = await store_on(nats_server)
        from_snapshot = await third.load(KEY)
        assert from_snapshot is not None
        assert "from-snapshot" in from_snapshot.state.operations
        assert from_snapshot.state.sequence == everything[-1][0]
        assert "t9" in from_snapshot.state.operations
        await nc.close()
        await nc_fresh.close()
        await nc_third.close()

    run(scenario())


def test_a_summary_lagging_the_log_is_repaired(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        created = await _created(store)
        # Another replica appended and died before writing the summary: the log is ahead.
        loaded = await store.load(KEY)
        assert loaded is not None
        decision = step_succeeds("late")(loaded.state)
        js = nc.jetstream()
        await js.publish(
            store.subject(KEY),
            log_state.encode(decision.entry),
            headers={"Nats-Expected-Last-Subject-Sequence": str(loaded.state.sequence)},
        )
        executions = await js.key_value(store.executions_bucket)
        stale = summaries.decode((await executions.get(KEY.token)).value)
        assert stale.log_sequence == loaded.state.sequence
        nc_b, other = await store_on(nats_server)
        summary = await other.summary(KEY)
        assert summary is not None
        assert summary.log_sequence > stale.log_sequence
        assert summary.current == (OperationType.STEP, "late", OperationStatus.SUCCEEDED)
        # The bucket was rewritten too, and the first store sees the entry as well.
        stored = summaries.decode((await executions.get(KEY.token)).value)
        assert stored == summary
        again = await store.load(KEY)
        assert again is not None
        assert "late" in again.state.operations
        assert created.summary.log_sequence < summary.log_sequence
        await nc.close()
        await nc_b.close()

    run(scenario())


def test_purge_removes_the_log_and_both_keys(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        await _created(store)
        for i in range(SNAPSHOT_EVERY):  # a snapshot too
            await store.transition(KEY, step_succeeds(f"s{i}"))
        other = ExecutionKey("team", "orders", "order-2")
        await _created(store, other)
        await store.purge(KEY)
        js = nc.jetstream()
        info = await js.stream_info(store.stream, subjects_filter=store.subject(KEY))
        assert not info.state.subjects
        for bucket in (store.executions_bucket, store.snapshots_bucket):
            kv = await js.key_value(bucket)
            with pytest.raises(nats.js.errors.KeyNotFoundError):
                await kv.get(KEY.token)
        assert await store.load(KEY) is None
        assert await store.summary(KEY) is None
        refused = await store.transition(KEY, step_succeeds("x"))
        assert isinstance(refused, Refusal)
        assert refused.type == RESOURCE_NOT_FOUND
        assert await store.load(other) is not None  # the other execution is untouched
        # The name may be started again, from nothing.
        again = await store.create(KEY, identity(), started())
        assert isinstance(again, Created)
        assert len(again.state.operations) == 1
        await nc.close()

    run(scenario())


def test_the_state_size_bound_refuses_and_appends_nothing(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server, DurableSettings(state_max_bytes=MIB))
        await _created(store)
        half = '"' + "x" * (MIB // 2) + '"'
        assert isinstance(await store.transition(KEY, step_succeeds("a", half)), Committed)
        before = await store.entries(KEY)
        with pytest.raises(StateTooLargeError, match="KAPPA_DURABLE_STATE_MAX_BYTES"):
            await store.transition(KEY, step_succeeds("b", half))
        assert await store.entries(KEY) == before
        # Small transitions still land.
        assert isinstance(await store.transition(KEY, step_succeeds("c")), Committed)
        await nc.close()

    run(scenario())


def test_a_stopped_server_is_unavailable_and_the_store_works_again_after(
    nats_server: NatsServer,
) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        await _created(store)
        nats_server.stop()
        with pytest.raises(StoreUnavailable, match="unavailable"):
            await store.transition(KEY, step_succeeds("s1"))
        with pytest.raises(StoreUnavailable):
            await store.summaries("team", "orders")
        nats_server.start()
        async with asyncio.timeout(30):  # the client reconnects by itself
            while not nc.is_connected:
                await asyncio.sleep(0.05)
        await store.setup()
        assert isinstance(await store.transition(KEY, step_succeeds("s1")), Committed)
        loaded = await store.load(KEY)
        assert loaded is not None
        assert "s1" in loaded.state.operations
        await nc.close()

    run(scenario())


def test_summaries_lists_one_functions_executions(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc, store = await store_on(nats_server)
        keys = [ExecutionKey("team", "orders", f"o{i}") for i in range(3)]
        for key in keys:
            await _created(store, key)
        await _created(store, ExecutionKey("team", "billing", "o0"))
        await _created(store, ExecutionKey("other", "orders", "o0"))
        await store.purge(keys[2])
        # A value the store did not write is skipped; listing keeps serving.
        kv = await nc.jetstream().key_value(store.executions_bucket)
        await kv.put("team.orders.hostile", b'{"v":1,"arn":"x"}')
        listed = await store.summaries("team", "orders")
        assert sorted(s.arn for s in listed) == sorted(identity(k).arn for k in keys[:2])
        assert await store.summaries("team", "nothing") == []
        with pytest.raises(ValueError, match="function"):
            await store.summaries("team", "Bad.Name")
        await nc.close()

    run(scenario())
