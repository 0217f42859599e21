"""Redis Streams source: one consumer of the mapping's consumer group; ordered per stream.

Each poller is a consumer named after its pod. ``fetch`` reads, in this order:

1. its own pending entries (XREADGROUP from ``0``): those it released, and
   those a previous run of the same consumer left unacknowledged;
2. entries of other consumers idle longer than ``CLAIM_IDLE_MS`` (XAUTOCLAIM,
   at most every half of that): what a poller that died had fetched (a live
   poller resets the idle time of the entries it holds every third of it, so
   a long function keeps its batch);
3. new entries (XREADGROUP ``>``, blocking up to the wait).

``ack`` is XACK; ``release`` leaves the entries pending to this consumer and
makes the next ``fetch`` read them again first, so they run before any later
entry (order holds with ``parallelizationFactor`` 1; more consumers share the
stream's entries, as a Redis group does). Nothing fetched is lost when a
poller dies: its entries stay pending until claimed.

The group is created on first use at the starting position (``LATEST``:
``$``, ``TRIM_HORIZON``: ``0``, ``AT_TIMESTAMP``: entries from that
millisecond on), creating the stream if it does not exist yet (Redis creates
streams on first write). The event shape is ``redis_streams_shape``;
``open_failure_destination`` adds failed entries to another stream (XADD)
with their fields plus ``kappa-*`` fields.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

import redis.asyncio
import redis.exceptions

from kappa.api.event_source_mapping import RedisStreamsSource
from kappa.eventsources import redis_streams_shape
from kappa.eventsources.dead_letter import failure_headers
from kappa.eventsources.keepalive import Keepalive
from kappa.eventsources.opening import closed_on_error
from kappa.eventsources.source import (
    Failure,
    Record,
    SourceConfig,
    SourceCredentialsError,
    SourceError,
    SourceModule,
    SourceUnreachableError,
)

log = logging.getLogger(__name__)

CLAIM_IDLE_MS: Final = 30_000
_MAX_SEQ: Final = 18_446_744_073_709_551_615  # 2**64 - 1: the last id of a millisecond
_START_IDS: Final = {"LATEST": "$", "TRIM_HORIZON": "0"}


def _source_error(error: BaseException, block: RedisStreamsSource) -> SourceError:
    if isinstance(error, redis.exceptions.AuthenticationError | redis.exceptions.NoPermissionError):
        return SourceCredentialsError(
            f"Redis at {block.url} refused the credentials or the ACL denies stream "
            f"{block.stream!r}: {error}"
        )
    return SourceUnreachableError(
        f"cannot reach Redis at {block.url}: {error}; check redisStreams.url and that Redis "
        "listens there"
    )


def _client(block: RedisStreamsSource, config: SourceConfig) -> "redis.asyncio.Redis":
    return redis.asyncio.Redis.from_url(
        block.url,
        username=config.credentials.get("username"),
        password=config.credentials.get("password"),
        socket_connect_timeout=5,
        decode_responses=False,
    )


def start_id(position: str, timestamp_ms: int | None) -> str:
    """The group's first last-delivered id for a starting position."""
    if position == "AT_TIMESTAMP" and timestamp_ms is not None:
        return "0" if timestamp_ms <= 0 else f"{timestamp_ms - 1}-{_MAX_SEQ}"
    return _START_IDS.get(position, "$")


class RedisStreamSource:
    """One consumer of the mapping's group (``Source``)."""

    ordered = True

    def __init__(  # noqa: PLR0913 - the parts of a group member
        self,
        *,
        client: "redis.asyncio.Redis",
        block: RedisStreamsSource,
        group: str,
        consumer: str,
        arn: str,
        claim_idle_ms: int,
    ) -> None:
        self._client = client
        self._block = block
        self._group = group
        self._consumer = consumer
        self._claim_idle_ms = claim_idle_ms
        self._history_from: str | None = "0"  # read own pending entries after this id
        self._claim_from = "0-0"
        self._next_claim = 0.0
        self._in_hand: set[str] = set()
        self.event_source_arn = arn
        self._keepalive = Keepalive(
            claim_idle_ms / 3000,
            self._keep_claimed,
            (redis.exceptions.RedisError,),
            log=log,
            failed="redis: keeping entries in hand failed",
        )

    async def _keep_claimed(self) -> None:
        """Reset the idle time of the entries in hand (XCLAIM to ourselves)."""
        ids: list[Any] = sorted(self._in_hand)
        if ids:
            await self._client.xclaim(
                self._block.stream, self._group, self._consumer, 0, ids, justid=True
            )

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:
        """Own pending entries first, then claimed ones of dead consumers, then new ones."""
        try:
            records = await self._own_pending(max_records)
            if not records:
                records = await self._claim(max_records)
            if not records:
                records = await self._new(max_records, wait_seconds)
        except redis.exceptions.RedisError as error:
            raise _source_error(error, self._block) from error
        self._in_hand.update(r.id for r in records)
        return records

    async def _own_pending(self, count: int) -> list[Record]:
        while self._history_from is not None:
            entries = await self._read(self._history_from, count, None)
            if not entries:
                self._history_from = None
                break
            self._history_from = entries[-1][0].decode()
            fresh = [(i, f) for i, f in entries if i.decode() not in self._in_hand]
            if fresh:
                return await self._records(fresh, counted=True)
        return []

    async def _claim(self, count: int) -> list[Record]:
        now = asyncio.get_running_loop().time()
        if now < self._next_claim:
            return []
        reply: list[Any] = await self._client.xautoclaim(
            self._block.stream, self._group, self._consumer, self._claim_idle_ms,
            start_id=self._claim_from, count=count,
        )  # fmt: skip
        cursor, entries = reply[0], reply[1]
        self._claim_from = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._claim_from == "0-0":  # a full pass over the pending entries: rest a while
            self._next_claim = now + self._claim_idle_ms / 2000
        claimed = [(i, f) for i, f in entries if f is not None]
        if claimed:
            log.info("redis: claimed %d entries of idle consumers of %s", len(claimed), self._group)
        return await self._records(claimed, counted=True)

    async def _new(self, count: int, wait_seconds: float) -> list[Record]:
        block_ms = int(wait_seconds * 1000) if wait_seconds > 0 else None
        return await self._records(await self._read(">", count, block_ms), counted=False)

    async def _read(self, after: str, count: int, block_ms: int | None) -> list[Any]:
        reply = await self._client.xreadgroup(
            self._group, self._consumer, {self._block.stream: after}, count=count, block=block_ms
        )
        if not reply:
            return []
        entries: list[Any] = (
            reply[self._block.stream.encode()] if isinstance(reply, dict) else reply[0][1]
        )
        return entries

    async def _records(self, entries: list[Any], *, counted: bool) -> list[Record]:
        gone = [i for i, f in entries if f is None]
        if gone:  # trimmed or deleted while pending: nothing left to deliver
            await self._client.xack(self._block.stream, self._group, *gone)
        entries = [(i, f) for i, f in entries if f is not None]
        counts: dict[str, int] = {}
        if counted and entries:
            pending = await self._client.xpending_range(
                self._block.stream, self._group, min=entries[0][0], max=entries[-1][0],
                count=len(entries), consumername=self._consumer,
            )  # fmt: skip
            counts = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
        return [
            redis_streams_shape.to_record(
                stream=self._block.stream,
                group=self._group,
                entry_id=entry_id.decode(),
                fields=list(fields.items()),
                delivery_count=counts.get(entry_id.decode(), 1),
            )
            for entry_id, fields in entries
        ]

    async def ack(self, records: Sequence[Record]) -> None:
        """XACK: the group forgets them."""
        if not records:
            return
        try:
            await self._client.xack(self._block.stream, self._group, *(r.id for r in records))
        except redis.exceptions.RedisError as error:
            raise _source_error(error, self._block) from error
        self._in_hand.difference_update(r.id for r in records)

    async def release(self, records: Sequence[Record]) -> None:
        """Keep them pending to this consumer; the next fetch reads them again first."""
        self._in_hand.difference_update(r.id for r in records)
        if records:
            self._history_from = "0"

    async def backlog(self) -> int | None:
        """Entries of the stream the group has not delivered yet (XINFO GROUPS lag)."""
        try:
            groups = await self._client.xinfo_groups(self._block.stream)
        except redis.exceptions.RedisError:
            return None
        for group in groups:
            name = group.get("name")
            if (name.decode() if isinstance(name, bytes) else name) == self._group:
                lag = group.get("lag")
                return int(lag) if lag is not None else None
        return None

    async def close(self) -> None:
        """Disconnect, removing this consumer from the group if it holds no pending entries."""
        await self._keepalive.stop()
        try:
            consumers = await self._client.xinfo_consumers(self._block.stream, self._group)
            mine = [c for c in consumers if _text(c.get("name")) == self._consumer]
            if mine and int(mine[0].get("pending", 1)) == 0:
                await self._client.xgroup_delconsumer(
                    self._block.stream, self._group, self._consumer
                )
        except redis.exceptions.RedisError as error:
            log.warning("redis: leaving consumer %s in place: %s", self._consumer, error)
        finally:
            await self._client.aclose()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def open_source(
    config: SourceConfig, *, claim_idle_ms: int = CLAIM_IDLE_MS
) -> RedisStreamSource:
    """Connect and join (creating it if new) the mapping's consumer group."""
    block: RedisStreamsSource = config.block
    client = _client(block, config)
    group = block.group or config.group
    position = config.starting_position or "LATEST"
    async with closed_on_error(
        client.aclose, (redis.exceptions.RedisError,), lambda error: _source_error(error, block)
    ):
        await client.ping()
        try:
            await client.xgroup_create(
                block.stream, group, id=start_id(position, config.starting_position_timestamp_ms),
                mkstream=True,
            )  # fmt: skip
        except redis.exceptions.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
    arn = redis_streams_shape.event_source_arn(config.region, config.namespace, block.stream, group)
    return RedisStreamSource(
        client=client,
        block=block,
        group=group,
        consumer=config.consumer_name,
        arn=arn,
        claim_idle_ms=claim_idle_ms,
    )


class RedisStreamDestination:
    """Failed entries added to another stream (``FailureDestination``)."""

    def __init__(self, client: "redis.asyncio.Redis", stream: str, block: RedisStreamsSource):
        self._client = client
        self._stream = stream
        self._block = block

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        """XADD each with its fields plus ``kappa-*`` fields (one transaction)."""
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for record in records:
                    fields: dict[Any, Any] = dict(redis_streams_shape.raw_fields(record))
                    fields |= {
                        k.encode(): v.encode() for k, v in failure_headers(record, failure).items()
                    }
                    pipe.xadd(self._stream, fields)
                await pipe.execute()
        except redis.exceptions.RedisError as error:
            raise _source_error(error, self._block) from error

    async def close(self) -> None:
        """Disconnect."""
        await self._client.aclose()


async def open_failure_destination(config: SourceConfig, target: str) -> RedisStreamDestination:
    """A writer to stream ``target`` on the source's Redis."""
    block: RedisStreamsSource = config.block
    client = _client(block, config)
    async with closed_on_error(
        client.aclose, (redis.exceptions.RedisError,), lambda error: _source_error(error, block)
    ):
        await client.ping()
    return RedisStreamDestination(client, target, block)


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=redis_streams_shape.shape,
    filter_view=redis_streams_shape.filter_view,
    open_failure_destination=open_failure_destination,
)
