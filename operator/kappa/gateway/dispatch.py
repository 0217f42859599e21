"""One invocation from admission to the agent's answer: the gateway's imperative core.

    admit (this gateway's counts) ─ throttle ──────────────────────────► 429
      │ admit
    a free slot? (FIFO: only when nobody waits) ─ yes ─► POST agent /invoke
      │ no                                                  │ 429/503 (slot taken by
    when_full ─ throttle (slots at their cap) ─► 429        │ another replica, pod not
      │ wait                                                │ ready): hold the pod a
    queue (bounded; capacity_wanted() at once) ─ full ─► 429│ moment, back to "a free slot?"
      │ a slot is handed to the head: on release,           ▼
      │ endpoint change, or a hold's end          answer (200, function error,
      └─ waited too long ─► 429                   Sandbox.Timedout, 502 lost pod)

A caller that goes away while queued leaves the queue at once. One that goes
away during the call does not stop the function (an agent cannot abandon an
invocation, as Lambda does not); the call to the agent is shielded and the
slot is released when the agent answers, so the count stays true.

A streamed call (``invoke(..., sink=...)``) asks the agent for a streamed answer; when
the runtime streams, each piece goes to the sink as it arrives, and the slot is held
until the stream's end. A caller gone mid-stream is no reason to stop reading: the
rest is read and dropped, so the agent and the runtime finish as usual. The stream
is cut, ending as a function error, when no byte comes for
``stream_idle_timeout_seconds`` (``Kappa.StreamIdleTimeout``) or it goes past
``MAX_STREAM_RELAY_BYTES`` (the agent holds functions to 20 MiB before that).
"""

import asyncio
import json
import logging
import random
import time
from typing import TYPE_CHECKING, Final, Protocol

import aiohttp
from multidict import CIMultiDict

from kappa.autoscaler.stats import Sample
from kappa.base import relay_frames
from kappa.base.clock import epoch_ms
from kappa.gateway import admission, agent_http
from kappa.gateway.concurrency_meter import ConcurrencyMeter
from kappa.gateway.metrics import ColdStartPath, GatewayMetrics, ThrottleCause
from kappa.gateway.readiness_probe import AgentReadiness
from kappa.gateway.settings import GatewaySettings
from kappa.gateway.waiters import QueueBounds, WaitQueue
from kappa.invocation.call import AgentReply, Call
from kappa.invocation.errors import GatewayError, ThrottleReason, service_error, too_many_requests
from kappa.invocation.registry import FunctionSpec, Registry
from kappa.invocation.routing import FunctionKey, Lease, Pick, SlotTable
from kappa.tracing.tracer import Tracer

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger("kappa.gateway")

# Agent answers that mean "this pod cannot take it now; another may".
_AGENT_BUSY: Final = frozenset({429, 503})
# An agent's answer: Lambda's 6 MB response, plus room for the error shape around it.
MAX_REPLY_BYTES: Final = 6 * 1024 * 1024 + 64 * 1024
# A pod that refused the connection is probably gone; try it again only after this.
_UNREACHABLE_HOLD_SECONDS: Final = 1.0
# X-Kappa-Deadline-Ms is the function timeout plus this: the agent's own timer (started
# when the invocation reaches the runtime, Lambda's "Task timed out after N.NN seconds")
# binds normally; the header binds only for a pod whose timeout is longer than the
# Function's current one. The slack absorbs the hop and wall-clock skew between nodes.
_DEADLINE_SLACK_SECONDS: Final = 0.25
# The billed duration an agent may claim: the function timeout plus the deadline slack,
# with room for the agent's own timer to fire late on a busy node.
_BILLED_SLACK_MS: Final = 1000
# How long a connection to an agent stays open unused (agents wait 75 s before closing).
_AGENT_KEEPALIVE_SECONDS: Final = 30.0
# What a streamed answer may bring through this gateway: the agent's 20 MiB and room.
MAX_STREAM_RELAY_BYTES: Final = 21 * 1024 * 1024
_READ_PIECE: Final = 256 * 1024
_CAUSE: Final = {
    admission.RESERVED: ThrottleCause.RESERVED,
    admission.CONCURRENT: ThrottleCause.CONCURRENCY,
}


class CapacityHook(Protocol):
    """Told at once when an invocation has to wait for a slot (the autoscaler's poke).

    ``kappa.gateway.stats_push.StatsLink`` in a gateway that knows the autoscaler.
    """

    def capacity_wanted(self, function: FunctionKey) -> None:
        """``function`` needs more slots than it has."""
        ...


class CountingCapacityHook:
    """The hook of a gateway without an autoscaler (a registry file): a metric only."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def capacity_wanted(self, function: FunctionKey) -> None:
        """Count the request."""
        self._metrics.capacity_requests.inc()
        log.debug("capacity wanted for %s/%s", *function)


class StreamSink(Protocol):
    """Where a streamed answer's pieces go as they arrive (the caller's response)."""

    async def write(self, data: bytes, content_type: str) -> None:
        """Send ``data`` on; the first call comes before any other byte of the answer."""
        ...


class _AgentBusyError(Exception):
    """The agent had no free slot (or was not ready): try elsewhere."""


class Dispatcher:
    """Admission, slot routing, per-function wait queues and the calls to agents."""

    def __init__(  # noqa: PLR0913 - collaborators, injected
        self,
        registry: Registry,
        settings: GatewaySettings,
        session: aiohttp.ClientSession,
        metrics: GatewayMetrics,
        *,
        capacity: CapacityHook | None = None,
        pick: Pick | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._registry = registry
        # The process's tracer, for what runs calls through this dispatcher (async workers).
        self.tracer = tracer or Tracer(None)
        self._settings = settings
        self._session = session  # streamed answers and readiness probes
        # Every other call to an agent: kept-alive connections, little work per call.
        self._agents = agent_http.AgentClient(keepalive_seconds=_AGENT_KEEPALIVE_SECONDS)
        self._metrics = metrics
        self._capacity = capacity or CountingCapacityHook(metrics)
        self._table = SlotTable(pick or random.choice)
        self._bounds = QueueBounds(settings.queue_max_waiters, settings.queue_max_wait_seconds)
        self._queues: dict[FunctionKey, WaitQueue[asyncio.Future[Lease]]] = {}
        self._timers: dict[FunctionKey, asyncio.TimerHandle] = {}
        self._unreserved_in_flight = 0
        self._calls: set[asyncio.Task[AgentReply]] = set()
        self._meter = ConcurrencyMeter()
        # Pods whose agent says "ready" before the kubelet does count as ready here.
        self._readiness = AgentReadiness(
            registry,
            session,
            metrics,
            interval=settings.readiness_probe_seconds,
            max_probes=settings.readiness_max_probes,
            wanted=lambda key: bool(self._queues.get(key)),
            on_ready=self._pump,
        )
        metrics.concurrent.source = self._table.functions_in_flight
        registry.subscribe(self._endpoints_changed)

    @property
    def in_flight(self) -> int:
        """Invocations this gateway has running on agents."""
        return self._table.total

    def concurrency(self) -> dict[FunctionKey, Sample]:
        """Per function, the figures since the last call (the autoscaler's stats)."""
        now = asyncio.get_running_loop().time()
        return self._meter.snapshot(now, self._table.pods_in_flight())

    def current(self, key: FunctionKey) -> Sample:
        """``key``'s in-flight and queued counts right now."""
        return self._meter.current(key)

    def _measure(self, key: FunctionKey) -> None:
        queue = self._queues.get(key)
        self._meter.set(
            key,
            in_flight=self._table.in_flight(key),
            queued=0 if queue is None else len(queue),
            now=asyncio.get_running_loop().time(),
        )

    def check(self, spec: FunctionSpec) -> None:
        """Raise the 429 that an invocation of ``spec`` would get now (DryRun)."""
        decision = self._admit(spec)
        if isinstance(decision, admission.Throttle):
            raise self._throttle(spec, decision.reason, _CAUSE[decision.reason], decision.message)

    async def invoke(
        self, spec: FunctionSpec, call: Call, sink: StreamSink | None = None
    ) -> AgentReply:
        """Run ``call`` on a slot of ``spec``; raise GatewayError for 429s and lost pods.

        With ``sink``, a runtime's streamed response goes there as it comes; the reply
        then holds no payload (only an error's body).
        """
        self.check(spec)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._bounds.max_wait
        while True:
            lease, waited = await self._acquire(spec, deadline)
            task = asyncio.ensure_future(
                self._call_agent(spec, lease, call, waited=waited, sink=sink)
            )
            self._calls.add(task)
            task.add_done_callback(self._call_done)
            try:
                return await asyncio.shield(task)
            except _AgentBusyError:
                continue

    async def close(self, timeout: float) -> None:
        """Let calls in flight finish (up to ``timeout`` seconds), then cancel the rest."""
        if self._calls:
            _, pending = await asyncio.wait(set(self._calls), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self._readiness.close()
        self._agents.close()

    # ---------------------------------------------------------------- admission

    def _admit(self, spec: FunctionSpec) -> admission.Admit | admission.Throttle:
        limits = admission.Limits(
            cluster=self._settings.concurrency_limit,
            reserved_total=self._registry.reserved_total(),
        )
        queue = self._queues.get(spec.key)
        load = admission.Load(
            cluster=self._table.total,
            unreserved=self._unreserved_in_flight,
            # Waiting calls count against reserved concurrency too: with slots coming from
            # a scale-up they would run at once, beyond the reservation.
            function=self._table.in_flight(spec.key) + (0 if queue is None else len(queue)),
        )
        return admission.admit(
            reserved=spec.reserved, load=load, limits=limits, quota=self._quota(spec.namespace)
        )

    def _quota(self, namespace: str) -> admission.NamespaceQuota | None:
        limit = self._registry.namespace_limit(namespace)
        if limit is None:
            return None
        return admission.NamespaceQuota(
            limit=limit,
            in_flight=self._table.namespace_in_flight(namespace),
            slots=self._registry.namespace_slots(namespace),
        )

    def _throttle(
        self, spec: FunctionSpec, reason: ThrottleReason, cause: ThrottleCause, message: str
    ) -> GatewayError:
        self._metrics.throttles.labels(*self._metrics.function(spec.key), cause.value).inc()
        return too_many_requests(
            reason, message, retry_after_seconds=self._settings.retry_after_seconds
        )

    # ------------------------------------------------------------------ routing

    def _take(self, spec: FunctionSpec, now: float) -> Lease | None:
        if spec.reserved is not None and self._table.in_flight(spec.key) >= spec.reserved:
            return None
        quota = self._quota(spec.namespace)
        if quota is not None and quota.in_flight >= quota.limit:
            return None
        lease = self._table.acquire(spec.key, self._readiness.endpoints(spec.key), now)
        if lease is not None:
            if spec.reserved is None:
                self._unreserved_in_flight += 1
            self._measure(spec.key)
        return lease

    def _release(self, spec: FunctionSpec, lease: Lease, *, hold_until: float | None) -> None:
        if hold_until is None:
            self._table.release(lease)
        else:
            self._table.hold(lease, hold_until)
        if spec.reserved is None:
            self._unreserved_in_flight -= 1
        self._measure(spec.key)
        self._pump(spec.key)

    async def _acquire(self, spec: FunctionSpec, deadline: float) -> tuple[Lease, bool]:
        """A lease on a slot of ``spec``, and whether the call had to wait for it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        queue = self._queues.get(spec.key)
        if not queue and (lease := self._take(spec, now)) is not None:
            return lease, False
        decision = admission.when_full(
            reserved=spec.reserved,
            function_slots=sum(
                endpoint.slots
                for endpoint in self._readiness.endpoints(spec.key)
                if endpoint.ready and not endpoint.terminating
            ),
            cluster_slots=self._registry.cluster_slots(),
            cluster_limit=self._settings.concurrency_limit,
            quota=self._quota(spec.namespace),
        )
        if isinstance(decision, admission.Throttle):
            raise self._throttle(spec, decision.reason, _CAUSE[decision.reason], decision.message)
        if queue is None:
            queue = self._queues[spec.key] = WaitQueue(self._bounds)
        waiter: asyncio.Future[Lease] = loop.create_future()
        if now >= deadline or not queue.push(waiter, now):
            raise self._throttle(
                spec,
                admission.CONCURRENT,
                ThrottleCause.QUEUE_FULL,
                "Too many invocations are waiting for this function's capacity.",
            )
        self._metrics.queued.inc()
        self._measure(spec.key)
        self._capacity.capacity_wanted(spec.key)
        self._readiness.watch(spec.key)
        self._pump(spec.key)
        try:
            return await asyncio.wait_for(waiter, deadline - now), True
        except TimeoutError:
            raise self._throttle(
                spec,
                admission.CONCURRENT,
                ThrottleCause.QUEUE_TIMEOUT,
                "No capacity became free for this function in time.",
            ) from None
        except asyncio.CancelledError:
            # The caller went away; a slot handed over at that very moment goes back.
            if waiter.done() and not waiter.cancelled():
                self._release(spec, waiter.result(), hold_until=None)
            raise
        finally:
            queue.remove(waiter)
            self._measure(spec.key)
            self._metrics.queued.dec()
            self._metrics.queue_wait.observe(loop.time() - now)
            self._forget_queue(spec.key)

    def _pump(self, key: FunctionKey) -> None:
        """Hand free slots of ``key`` to its waiters, oldest first."""
        queue = self._queues.get(key)
        if not queue:
            return
        spec = self._registry.function(key)
        loop = asyncio.get_running_loop()
        now = loop.time()
        while (head := queue.head()) is not None:
            if head.done():  # timed out or cancelled, not yet removed by its owner
                queue.remove(head)
                continue
            lease = None if spec is None else self._take(spec, now)
            if lease is None:
                break
            queue.remove(head)
            head.set_result(lease)
        if queue and key not in self._timers:
            hold_end = self._table.next_hold_end(key, now)
            if hold_end is not None:
                self._timers[key] = loop.call_at(hold_end, self._hold_ended, key)

    def _hold_ended(self, key: FunctionKey) -> None:
        self._timers.pop(key, None)
        self._pump(key)

    def _forget_queue(self, key: FunctionKey) -> None:
        queue = self._queues.get(key)
        if queue is not None and not queue:
            del self._queues[key]
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()

    def _endpoints_changed(self, key: FunctionKey) -> None:
        self._table.forget_holds(key, {e.pod for e in self._registry.endpoints(key)})
        self._readiness.endpoints_changed(key)
        self._pump(key)

    # ------------------------------------------------------------- agent call

    async def _call_agent(
        self,
        spec: FunctionSpec,
        lease: Lease,
        call: Call,
        *,
        waited: bool,
        sink: StreamSink | None = None,
    ) -> AgentReply:
        """POST the invocation to the leased pod; the lease is given back however it ends.

        ``waited``: the call waited for its slot (a cold start then came with a scale-up).
        """
        loop = asyncio.get_running_loop()
        hold_until: float | None = None
        timeout = spec.timeout_seconds
        headers = {
            **call.headers,
            "Content-Type": "application/json",
            "X-Kappa-Request-Id": call.request_id,
            "X-Kappa-Deadline-Ms": str(
                epoch_ms() + round((timeout + _DEADLINE_SLACK_SECONDS) * 1000)
            ),
        }
        try:
            if sink is None:
                answer = await self._agents.post(
                    lease.address,
                    "/invoke",
                    call.payload,
                    headers,
                    timeout=timeout + self._settings.timeout_grace_seconds,
                    limit=MAX_REPLY_BYTES,
                )
                status, body = answer.status, answer.body
                answered: Mapping[str, str] = answer.headers
            else:
                status, answered, body = await self._post_streamed(
                    lease, call, headers, timeout, sink
                )
            if status in _AGENT_BUSY:
                self._metrics.agent_busy.inc()
                hold_until = loop.time() + self._settings.busy_backoff_seconds
                log.debug(
                    "%s: pod %s answered %s; trying again", call.request_id, lease.pod, status
                )
                raise _AgentBusyError
            if status != 200:  # noqa: PLR2004
                raise _agent_refusal(status, body)
            labels = self._metrics.function(spec.key)
            self._bill(spec, labels, answered.get("X-Kappa-Billed-Duration-Ms"))
            path = ColdStartPath.of(
                initialised="x-kappa-init-duration-ms" in answered,
                waited=waited,
                from_pool="x-kappa-from-pool" in answered,
            )
            if path is not None:
                self._metrics.cold_starts.labels(*labels, path.value).inc()
            return AgentReply(
                body=body,
                content_type=answered.get("Content-Type", "application/json"),
                function_error=answered.get("X-Amz-Function-Error"),
                log_result=answered.get("X-Amz-Log-Result"),
                cold_start=path is not None and path.cold,
            )
        except agent_http.ReplyTooLargeError:
            raise _too_large(call.request_id) from None
        except (aiohttp.ClientConnectorError, agent_http.ConnectFailedError) as exc:
            # Nothing was sent: the pod is gone or not listening; another may take it.
            log.warning("%s: pod %s unreachable: %s", call.request_id, lease.pod, exc)
            hold_until = loop.time() + _UNREACHABLE_HOLD_SECONDS
            raise _AgentBusyError from None
        except TimeoutError:
            log.warning("%s: pod %s did not answer in time", call.request_id, lease.pod)
            # It ran until the timeout, as far as anyone can tell: Lambda bills that.
            self._bill(spec, self._metrics.function(spec.key), str(round(timeout * 1000)))
            return _timed_out(call.request_id, timeout)
        except (aiohttp.ClientError, agent_http.AgentHttpError) as exc:
            log.warning("%s: lost pod %s mid-invocation: %s", call.request_id, lease.pod, exc)
            raise service_error(
                f"The function's pod went away during the invocation ({exc.__class__.__name__});"
                " it may or may not have run.",
                status=502,
            ) from None
        finally:
            self._release(spec, lease, hold_until=hold_until)

    async def _post_streamed(
        self,
        lease: Lease,
        call: Call,
        headers: dict[str, str],
        timeout: float,
        sink: StreamSink,
    ) -> tuple[int, "Mapping[str, str]", bytes]:
        """POST asking for a streamed answer, relayed to ``sink`` as it comes (aiohttp's client).

        The status, the answer's headers (a stream's end frame's added), and the body
        (an error's, for a stream).
        """
        async with self._session.post(
            f"http://{lease.address}/invoke",
            data=call.payload,
            headers={**headers, "X-Kappa-Response-Stream": "1"},
            timeout=aiohttp.ClientTimeout(total=timeout + self._settings.timeout_grace_seconds),
        ) as response:
            if response.status == 200 and "X-Kappa-Stream" in response.headers:  # noqa: PLR2004
                end = await self._relay(response, sink, call.request_id)
                answered = CIMultiDict(response.headers)
                answered.update(end.headers)
                return response.status, answered, end.body
            return response.status, response.headers, await _read_reply(response, call.request_id)

    async def _relay(
        self, response: aiohttp.ClientResponse, sink: StreamSink, request_id: str
    ) -> relay_frames.End:
        """Pass a streamed answer's pieces to ``sink``; its end frame, or the cut that ended it.

        The sink failing (its caller gone) does not end the reading: the rest is dropped.
        """
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        reader = relay_frames.FrameReader()
        idle = self._settings.stream_idle_timeout_seconds
        size = 0
        listening = True
        while True:
            try:
                async with asyncio.timeout(idle):
                    piece = await response.content.readany()
            except TimeoutError:
                log.info("%s: no byte of the stream for %s s: cut", request_id, idle)
                return _cut("Kappa.StreamIdleTimeout", f"The stream brought no byte for {idle} s.")
            if not piece:
                log.warning("%s: the pod's stream broke off", request_id)
                return _cut("ServiceException", "The function's pod ended the stream early.")
            for item in reader.feed(piece):
                if isinstance(item, relay_frames.End):
                    return item
                size += len(item)
                if size > MAX_STREAM_RELAY_BYTES:
                    return _cut(
                        "Function.ResponseSizeTooLarge",
                        f"The stream went past {MAX_STREAM_RELAY_BYTES} bytes.",
                    )
                if listening:
                    try:
                        await sink.write(item, content_type)
                    except (ConnectionError, RuntimeError) as exc:
                        log.info("%s: the caller went away mid-stream: %s", request_id, exc)
                        listening = False
            if reader.error is not None:
                log.warning("%s: the pod's stream is not frames: %s", request_id, reader.error)
                return _cut("ServiceException", "The function's pod sent a malformed stream.")

    def _bill(self, spec: FunctionSpec, labels: tuple[str, str], header: str | None) -> None:
        """Count the usage of one invocation the agent ran, from its billed duration."""
        billed = billed_ms(header, spec.timeout_seconds)
        if billed is None:
            log.debug("agent answered no usable billed duration: %r", header)
            return
        self._metrics.bill(spec.key, labels, billed, spec.memory_mb)

    def _call_done(self, task: asyncio.Task[AgentReply]) -> None:
        self._calls.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that went away leaves it unread


def billed_ms(header: str | None, timeout_seconds: float) -> int | None:
    """The agent's ``X-Kappa-Billed-Duration-Ms``, held to what the timeout allows.

    None when it is missing or not a positive whole number (an agent of an older
    release, or not an agent at all).
    """
    if header is None or not (header.isascii() and header.isdigit()) or len(header) > 9:  # noqa: PLR2004
        return None
    value = int(header)
    if value < 1:
        return None
    return min(value, round(timeout_seconds * 1000) + _BILLED_SLACK_MS)


def _agent_refusal(status: int, body: bytes) -> GatewayError:
    """The agent refused the request itself (bad client context, too large): pass it on."""
    try:
        parsed = json.loads(body)
        error_type = str(parsed.get("errorType", "ServiceException"))
        message = str(parsed.get("errorMessage", ""))
    except (ValueError, AttributeError):
        error_type, message = "ServiceException", body[:200].decode("utf-8", "replace")
    if status < 500:  # noqa: PLR2004
        return GatewayError(status, error_type, {"Type": "User", "message": message})
    return service_error(f"The function's agent failed: {error_type}: {message}", status=502)


def _cut(error_type: str, message: str) -> relay_frames.End:
    """The end of a stream the gateway cut: a function error, as Lambda ends one."""
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return relay_frames.End({"X-Amz-Function-Error": "Unhandled"}, body)


def _timed_out(request_id: str, timeout: float) -> AgentReply:
    """Lambda's timeout error, for an agent that did not end the call itself."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    body = {
        "errorMessage": f"{stamp}Z {request_id} Task timed out after {timeout:.2f} seconds",
        "errorType": "Sandbox.Timedout",
    }
    return AgentReply(json.dumps(body).encode(), "application/json", "Unhandled", None)


async def _read_reply(response: aiohttp.ClientResponse, request_id: str) -> bytes:
    """The agent's answer, at most :data:`MAX_REPLY_BYTES`.

    The agent holds a function to Lambda's 6 MB; whatever else answers on a pod's port
    is not believed further.
    """
    if response.content_length is not None and response.content_length > MAX_REPLY_BYTES:
        raise _too_large(request_id)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise _too_large(request_id)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(request_id: str) -> GatewayError:
    log.warning("%s: the pod answered more than %d bytes", request_id, MAX_REPLY_BYTES)
    return service_error(
        f"The function's pod answered more than {MAX_REPLY_BYTES} bytes.", status=502
    )
