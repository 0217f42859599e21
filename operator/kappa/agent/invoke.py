"""``POST /invoke``: one event in, the function's answer out, with Lambda's log lines around it.

The gateway is the caller. Everything Lambda's Invoke API returns per
invocation is here (``X-Amz-Function-Error``, ``X-Amz-Log-Result``); what
belongs to the API as a whole (function names, invocation types, quotas) is
the gateway's.

With ``X-Kappa-Response-Stream: 1`` the gateway takes a streamed answer: when the
runtime streams its response (``kappa.agent.response_stream``), the answer is 200
with ``X-Kappa-Stream: 1`` and the runtime's pieces in ``kappa.base.relay_frames``
frames as they come, the headers above in the end frame. A runtime that answers
whole is answered whole, as without the header.
"""

import asyncio
import base64
import binascii
import json
import os
import re
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncGenerator
from typing import Any, Final

from kappa.agent.errors import MAX_REQUEST_BYTES, LambdaError
from kappa.agent.http11 import Request, Response
from kappa.agent.logsink import LogSink
from kappa.agent.metrics import AgentMetrics, Outcome, Rejection
from kappa.agent.report import LogTail, PlatformLog, Report, billed_duration_ms
from kappa.agent.response_stream import ResponseStream, Streams
from kappa.agent.settings import AgentSettings
from kappa.agent.slots import Invocation, PoolState, Result, SlotPool
from kappa.base import relay_frames
from kappa.base.clock import Clock
from kappa.tracing import context
from kappa.tracing.span import Span, SpanKind
from kappa.tracing.tracer import Tracer

# Lambda's limit on X-Amz-Client-Context (base64).
MAX_CLIENT_CONTEXT_BYTES: Final = 3583
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_JSON: Final = ("Content-Type", "application/json")
# The gateway asks for a streamed answer (InvokeWithResponseStream, a streaming URL) ...
STREAM_REQUEST_HEADER: Final = "x-kappa-response-stream"
# ... and the agent says it gives one: the body is kappa.base.relay_frames' frames.
STREAM_ANSWER_HEADER: Final = "X-Kappa-Stream"


def new_request_id(random16: bytes) -> str:
    """A version-4 UUID string from 16 random bytes (the uuid module costs 30+ ms to import)."""
    value = bytearray(random16)
    value[6] = (value[6] & 0x0F) | 0x40
    value[8] = (value[8] & 0x3F) | 0x80
    text = value.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def decode_client_context(header: str) -> str:
    """The JSON a runtime gets in ``Lambda-Runtime-Client-Context``, from base64 JSON.

    Re-serialised compactly, so that it is ASCII on one line, safe as a header.
    Raises ValueError with Lambda's message when it is not base64 JSON.
    """
    message = "Client context must be a valid Base64-encoded JSON object."
    if len(header) > MAX_CLIENT_CONTEXT_BYTES:
        raise ValueError(f"Client context must be at most {MAX_CLIENT_CONTEXT_BYTES} bytes.")
    try:
        parsed = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError(message) from None
    if not isinstance(parsed, dict):
        raise ValueError(message)  # noqa: TRY004 - one error for every kind of bad input
    return json.dumps(parsed, separators=(",", ":"))


def _reject(status: int, error_type: str, message: str) -> Response:
    return Response(status, LambdaError(error_type, message).body(), [_JSON])


class InvokeHandler:
    """Runs one invocation per request on a free slot."""

    def __init__(  # noqa: PLR0913 - collaborators, injected
        self,
        settings: AgentSettings,
        pool: SlotPool,
        *,
        clock: Clock,
        sink: LogSink,
        metrics: AgentMetrics,
        tracer: Tracer,
        streams: Streams | None = None,
    ) -> None:
        """``streams``: shared with the slots' Runtime APIs (response streaming)."""
        self._settings = settings
        self._tracer = tracer
        self._pool = pool
        self._clock = clock
        self._sink = sink
        self._metrics = metrics
        self._timeout_ms = round(settings.timeout_seconds * 1000)
        self._log = PlatformLog(
            json_format=settings.log_json, system_level=settings.system_log_level
        )
        self._streams = streams or Streams()
        self._settling: set[asyncio.Future[tuple[list[tuple[str, str]], Result]]] = set()

    async def __call__(self, request: Request) -> Response:
        """Handle ``POST /invoke``."""
        if self._pool.state is not PoolState.READY:
            self._metrics.rejections[Rejection.NOT_READY] += 1
            return _reject(503, "Kappa.NotReady", f"the agent is {self._pool.state.value}")
        if request.oversize:
            self._metrics.rejections[Rejection.BAD_REQUEST] += 1
            return _reject(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes "
                "for the InvokeFunction operation",
            )
        headers = request.headers
        request_id = headers.get("x-kappa-request-id", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = new_request_id(os.urandom(16))
        client_context = None
        if raw_context := headers.get("x-amz-client-context"):
            try:
                client_context = decode_client_context(raw_context)
            except ValueError as exc:
                self._metrics.rejections[Rejection.BAD_REQUEST] += 1
                return _reject(400, "InvalidRequestContentException", str(exc))
        slot = self._pool.acquire()
        if slot is None:
            self._metrics.rejections[Rejection.NO_FREE_SLOT] += 1
            return _reject(429, "Kappa.NoFreeSlot", "every slot of this pod is busy")

        # The agent's span: a child of the gateway's (or of whatever the caller named);
        # the runtime's trace header names this span as its parent.
        span = self._span(headers, request_id)
        now_ms = self._clock.wall_ms()
        deadline_ms = now_ms + self._timeout_ms
        if (raw_deadline := headers.get("x-kappa-deadline-ms", "")).isdigit():
            deadline_ms = min(deadline_ms, int(raw_deadline))
        loop = asyncio.get_running_loop()
        invocation = Invocation(
            request_id=request_id,
            event=request.body or b"{}",  # Lambda's event for an empty payload
            deadline_ms=deadline_ms,
            client_context=client_context,
            cognito_identity=headers.get("x-amz-cognito-identity"),
            trace_id=context.format_xray(span.trace_id, span.span_id, sampled=span.sampled),
            started=self._clock.monotonic(),
            done=loop.create_future(),
            tail=LogTail(),
        )
        self._platform_line(
            invocation, self._log.start(request_id, self._settings.function_version, now_ms)
        )
        stream = None
        if headers.get(STREAM_REQUEST_HEADER) == "1":
            stream = self._streams.open(request_id)
            invocation.done.add_done_callback(lambda _: stream.end())
        slot.assign(invocation)
        timer = loop.call_later(max(0, deadline_ms - now_ms) / 1000, slot.time_out, invocation)
        if stream is not None:
            waits: list[asyncio.Future[Any]] = [stream.started, invocation.done]
            try:
                await asyncio.wait(waits, return_when=FIRST_COMPLETED)
            except asyncio.CancelledError:
                timer.cancel()
                self._streams.close(request_id)
                raise
            if stream.started.done():
                return self._streaming(invocation, stream, span, timer)
            self._streams.close(request_id)
        try:
            result = await invocation.done
        finally:
            timer.cancel()
        response_headers = self._complete(invocation, result, span)
        return Response(
            200, result.body, [("Content-Type", result.content_type), *response_headers]
        )

    def _complete(
        self, invocation: Invocation, result: Result, span: Span
    ) -> list[tuple[str, str]]:
        """The closing log lines, metrics and span of an ended invocation; its answer's headers."""
        request_id = invocation.request_id
        duration_ms = (result.finished - invocation.started) * 1000
        timed_out = None
        if result.outcome is Outcome.TIMEOUT:
            timed_out = json.loads(result.body)["errorMessage"]
        report = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            memory_size_mb=self._settings.memory_size_mb,
            max_memory_used_mb=result.max_memory_mb,
            init_duration_ms=result.init_duration_ms,
            status=_REPORT_STATUS.get(result.outcome),
            error_type=result.error_type if result.outcome is Outcome.RUNTIME_EXIT else None,
        )
        # One write for the closing lines: a syscall per invocation saved.
        closing = self._log.closing(report, self._clock.wall_ms(), timed_out)
        self._platform_line(invocation, closing)
        self._metrics.invocation(result.outcome, duration_ms / 1000)
        self._end(span, result.outcome, result.init_duration_ms, result.error_type)

        response_headers = [
            ("X-Kappa-Request-Id", request_id),
            ("X-Amz-Log-Result", base64.b64encode(invocation.tail.value()).decode()),
            # What the REPORT line bills: the gateway meters usage from it.
            ("X-Kappa-Billed-Duration-Ms", str(billed_duration_ms(duration_ms))),
        ]
        if result.outcome is not Outcome.SUCCESS:
            response_headers.append(("X-Amz-Function-Error", "Unhandled"))
        if result.init_duration_ms is not None:
            response_headers.append(("X-Kappa-Init-Duration-Ms", f"{result.init_duration_ms:.2f}"))
            if self._settings.from_pool:  # a warm pool's pod: no pod start on this path
                response_headers.append(("X-Kappa-From-Pool", "true"))
        return response_headers

    def _streaming(
        self,
        invocation: Invocation,
        stream: ResponseStream,
        span: Span,
        timer: asyncio.TimerHandle,
    ) -> Response:
        """The answer to a call whose runtime streams: frames as the pieces come."""
        completion = asyncio.ensure_future(self._settle(invocation, span, timer))
        self._settling.add(completion)
        completion.add_done_callback(self._settling.discard)
        headers = [
            ("Content-Type", stream.started.result()),
            (STREAM_ANSWER_HEADER, "1"),
            ("X-Kappa-Request-Id", invocation.request_id),
        ]
        return Response(200, headers=headers, stream=self._relay(invocation, stream, completion))

    async def _settle(
        self, invocation: Invocation, span: Span, timer: asyncio.TimerHandle
    ) -> tuple[list[tuple[str, str]], Result]:
        """Wait for a streamed invocation's end, whoever reads its stream (or nobody)."""
        try:
            result = await invocation.done
        finally:
            timer.cancel()
        return self._complete(invocation, result, span), result

    async def _relay(
        self,
        invocation: Invocation,
        stream: ResponseStream,
        completion: "asyncio.Future[tuple[list[tuple[str, str]], Result]]",
    ) -> AsyncGenerator[bytes, None]:
        """The frames of a streamed answer (``kappa.base.relay_frames``)."""
        try:
            async for piece in stream.pieces():
                yield b"".join(relay_frames.data(piece))
            headers, result = await asyncio.shield(completion)
            body = b"" if result.outcome is Outcome.SUCCESS else result.body
            yield relay_frames.end(dict(headers), body)
        finally:
            stream.abandon()  # a reader gone mid-stream: the runtime's rest is dropped
            self._streams.close(invocation.request_id)

    def _span(self, headers: dict[str, str], request_id: str) -> Span:
        parent = context.incoming(
            headers.get("traceparent"), headers.get("tracestate"), headers.get("x-amzn-trace-id")
        )
        span = self._tracer.start("invoke", SpanKind.SERVER, parent)
        span.set("faas.invocation_id", request_id)
        span.set("cloud.resource_id", self._settings.function_arn)
        span.set("faas.version", self._settings.function_version)
        span.set("faas.max_memory", self._settings.memory_size_mb * 1024 * 1024)
        return span

    def _end(
        self, span: Span, outcome: Outcome, init_duration_ms: float | None, error: str | None
    ) -> None:
        span.set("faas.coldstart", init_duration_ms is not None)
        span.set("kappa.init_duration_ms", init_duration_ms)
        span.set("kappa.outcome", outcome.value)
        if outcome is not Outcome.SUCCESS:
            span.error = error or outcome.value
        self._tracer.end(span)

    def _platform_line(self, invocation: Invocation, line: str) -> None:
        if not line:
            return  # below the system log level
        data = line.encode()
        self._sink.raw(data)
        invocation.tail.append(data)


_REPORT_STATUS: Final = {
    Outcome.TIMEOUT: "timeout",
    Outcome.RUNTIME_EXIT: "error",
}
