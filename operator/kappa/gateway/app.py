"""The gateway process: the Lambda Invoke API, the HTTP trigger and the probes, on aiohttp.

Routes::

    POST /2015-03-31/functions/{FunctionName}/invocations   Invoke
    POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations
                                                            InvokeWithResponseStream
    GET  /2015-03-31/functions                              ListFunctions (Marker, MaxItems)
    GET  /2015-03-31/functions/{FunctionName}               GetFunction
    GET  /2016-08-19/account-settings                       GetAccountSettings
    ANY  /fn/{namespace}/{name}[/{path}]                    HTTP trigger (payload 2.0)
    GET  /healthz /readyz /readyz/queue /metrics
    *    /kappa/v1/namespaces/{ns}/dead-letters...              the dead-letter queue (asyncq)

Every answer carries ``x-amzn-RequestId``: the request id the function sees
(``context.aws_request_id``) and that the gateway's and agent's logs carry.

Every invocation is a span ``invoke`` (``traces``): in the caller's trace when its
``traceparent`` or ``X-Amzn-Trace-Id`` names one, else in a new trace; the agent is
sent both headers, naming this span as its parent (docs/tracing.md).
"""

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any, Final, Protocol

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kappa.api.function import UrlInvokeMode
from kappa.auth.access import Access, Verb
from kappa.auth.guard import Guard
from kappa.base import logs, ready_push
from kappa.base.arn import function_arn
from kappa.base.clock import epoch_ms
from kappa.gateway import authn, catalog, event_stream, request_ids, stats_push, traces
from kappa.gateway.body import (
    MAX_ASYNC_PAYLOAD,
    MAX_BODY,
    MAX_SYNC_PAYLOAD,
    budget_middleware,
    read_body,
)
from kappa.gateway.body_budget import BodyBudget
from kappa.gateway.client_context import check_client_context
from kappa.gateway.dispatch import CapacityHook, Dispatcher
from kappa.gateway.durable_invoke import (
    EXECUTION_ARN_HEADER,
    EXECUTION_NAME_HEADER,
    DurableFactory,
    DurableInvocations,
)
from kappa.gateway.durable_invoke import not_configured as durable_not_configured
from kappa.gateway.event_queue import EventQueue, EventQueueFactory, not_configured
from kappa.gateway.events import HttpRequest, http_event, http_response
from kappa.gateway.metrics import GatewayMetrics, Outcome, ThrottleCause
from kappa.gateway.responses import error_response, ids, json_response
from kappa.gateway.settings import GatewaySettings
from kappa.gateway.stream_prelude import PRELUDE_CONTENT_TYPE, PreludeReader
from kappa.invocation import qualifier
from kappa.invocation.call import COLD_START_HEADER, AgentReply, Call
from kappa.invocation.errors import (
    Fault,
    GatewayError,
    function_not_found,
    invalid_parameter,
    invalid_request_content,
    request_too_large,
    service_error,
)
from kappa.invocation.function_labels import UNATTRIBUTED
from kappa.invocation.function_name import (
    LATEST,
    FunctionRef,
    parse_function_name,
    trigger_target,
)
from kappa.invocation.registry import FunctionSpec, PushOutcome, Registry
from kappa.invocation.request_id import request_id_for
from kappa.tracing.span import Span
from kappa.tracing.tracer import headers as trace_headers

log = logging.getLogger("kappa.gateway")

_PARSE_ON_LOOP_BYTES: Final = 64 * 1024
_INVOCATION_TYPES: Final = frozenset({"RequestResponse", "Event", "DryRun"})
_STREAM_INVOCATION_TYPES: Final = frozenset({"RequestResponse", "DryRun"})
# A synchronous Invoke of a durable Function waits for the execution's end: only for
# executions bounded as a synchronous call is (longer ones: InvocationType Event).
SYNC_DURABLE_MAX: Final = 900
_LOG_TYPES: Final = frozenset({"None", "Tail"})
# The trace headers are the gateway's own (its span as the parent), not the caller's.
_PASSED_HEADERS: Final = ("X-Amz-Client-Context",)
_HTTP_ERROR_MESSAGES: Final = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
}

DISPATCHER: Final = web.AppKey("dispatcher", Dispatcher)
_PUSH_STATUS: Final = {
    PushOutcome.ACCEPTED: 204,
    PushOutcome.KNOWN: 204,
    PushOutcome.UNKNOWN: 404,
    PushOutcome.REFUSED: 403,
}
_OUTCOMES: Final = {
    Fault.THROTTLED: Outcome.THROTTLED,
    Fault.SYSTEM: Outcome.UPSTREAM_ERROR,
    Fault.REFUSED: Outcome.CLIENT_ERROR,
}
Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]


class RouteSet(Protocol):
    """A set of routes added to the gateway's application (the Lambda control plane)."""

    def add_routes(self, app: web.Application) -> None:
        """Register the routes on ``app``."""
        ...


class Gateway:
    """The HTTP surface over a Dispatcher; one per process (tests may build several)."""

    def __init__(  # noqa: PLR0913 - keyword-only collaborators, each optional
        self,
        settings: GatewaySettings,
        registry: Registry,
        *,
        capacity: CapacityHook | None = None,
        registry_ready: Callable[[], bool] | None = None,
        events: EventQueueFactory | None = None,
        guard: Guard | None = None,
        control: Sequence[RouteSet] = (),
        durable: DurableFactory | None = None,
    ) -> None:
        """``guard`` None: every caller may do everything (tests, a single-tenant install).

        ``control``: the Lambda control-plane API (versions, aliases, concurrency; the
        Function calls); none for a gateway fed by a file, which has no cluster to write to.
        """
        self._control = control
        self.settings = settings
        self.registry = registry
        self.guard = guard or Guard(None, region=settings.region)
        # Whether the registry has its first full picture (a watch's first list); /readyz
        # answers 503 until then, so a new replica gets no traffic it would 404.
        self._registry_ready = registry_ready or (lambda: True)
        self.metrics = GatewayMetrics(settings.metrics_max_functions)
        self.tracer = traces.tracer(settings)
        traces.register_metrics(self.metrics.registry, self.tracer)
        registry.subscribe(self._function_changed)
        self.bodies = BodyBudget(settings.max_queued_bytes)
        self.metrics.body_bytes.set_function(lambda: self.bodies.held)
        self._capacity = capacity
        self._dispatcher: Dispatcher | None = None
        # Event invocations: queued durably in NATS JetStream and run by workers in this
        # process through the same dispatcher (kappa.asyncq; docs/internals/async.md).
        # The queue is injected by the process (kappa.gateway.main): the gateway imports no asyncq.
        self._async: EventQueue | None = None
        if events is not None:
            self._async = events(
                registry,
                self.metrics.registry,
                self.metrics.function,
                settings.region,
                self._registry_ready,
            )
        # Durable executions (kappa.durable, injected likewise): Invoke of a durable
        # Function starts one; its timers and invocations run in this process.
        self._durable: DurableInvocations | None = None
        if durable is not None:
            self._durable = durable(registry, self.metrics.registry)
        self.ready = False

    @property
    def dispatcher(self) -> Dispatcher:
        """The dispatcher, once the app has started."""
        assert self._dispatcher is not None, "the gateway has not started"  # noqa: S101
        return self._dispatcher

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(
            client_max_size=MAX_BODY + 1,
            middlewares=[
                # Outermost: every request has its id, and every line logged for it too.
                request_ids.middleware,
                # Then: a body is budgeted before anything (a signature check) reads it.
                budget_middleware(
                    self.bodies,
                    lambda request: _renderer(authn.route_pattern(request)),
                    self.metrics.throttles.labels(*UNATTRIBUTED, ThrottleCause.BODY_BYTES).inc,
                    self.settings.retry_after_seconds,
                ),
                authn.middleware(self.guard, self.registry, _renderer),
            ],
        )
        app.cleanup_ctx.append(self._lifetime)
        functions = "/2015-03-31/functions"
        app.router.add_post(functions + "/{function_name}/invocations", self.invoke)
        app.router.add_post(authn.STREAM_INVOKE_ROUTE, self.invoke_stream)
        for path in (functions, functions + "/"):
            app.router.add_get(path, self.list_functions, allow_head=False)
        app.router.add_get(functions + "/{function_name}", self.get_function, allow_head=False)
        for path in ("/2016-08-19/account-settings", "/2016-08-19/account-settings/"):
            app.router.add_get(path, self.account_settings, allow_head=False)
        app.router.add_route("*", "/fn/{namespace}/{name}", self.http_trigger)
        app.router.add_route("*", "/fn/{namespace}/{name}/{path:.*}", self.http_trigger)
        app.router.add_post(ready_push.PATH, self.agent_ready)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/readyz/queue", self.queue_readyz)
        app.router.add_get("/metrics", self.prometheus)
        if self._async is not None:
            self._async.add_routes(app)
        for routes in self._control:
            routes.add_routes(app)
        return app

    async def _lifetime(self, _app: web.Application) -> AsyncIterator[None]:
        # One session for every call to agents: keep-alive connections, no per-request setup.
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30, enable_cleanup_closed=True)
        async with aiohttp.ClientSession(
            connector=connector, skip_auto_headers=("User-Agent",), auto_decompress=False
        ) as session:
            link = None
            if self.settings.autoscaler_url is not None:
                link = stats_push.StatsLink(
                    self.settings.autoscaler_url,
                    session,
                    self.metrics,
                    token_file=self.settings.token_file,
                    ready_port=self.settings.port or None,
                )
            self._dispatcher = Dispatcher(
                self.registry,
                self.settings,
                session,
                self.metrics,
                capacity=self._capacity or link,
                tracer=self.tracer,
            )
            if link is not None:
                link.attach(self._dispatcher.concurrency, self._dispatcher.current)
            if self._async is not None:
                self._async.start(self._dispatcher)
            if self._durable is not None:
                self._durable.start(self._dispatcher)
            if self.tracer.exporter is not None:
                self.tracer.exporter.start()
            self.ready = True
            async with stats_push.running(link):
                yield
            self.ready = False
            longest = max((s.timeout_seconds for s in self.registry.functions()), default=3.0)
            if self._async is not None:
                await self._async.stop(timeout=longest + self.settings.timeout_grace_seconds)
            if self._durable is not None:
                await self._durable.stop(timeout=longest + self.settings.timeout_grace_seconds)
            await self._dispatcher.close(timeout=longest + self.settings.timeout_grace_seconds)
            if self.tracer.exporter is not None:
                await self.tracer.exporter.close()

    # -------------------------------------------------------------- Invoke API

    async def invoke(self, request: web.Request) -> web.Response:
        """``Invoke``: RequestResponse (200), Event (202), DryRun (204)."""
        request_id = request_ids.request_id(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = Outcome.CLIENT_ERROR
        labels = UNATTRIBUTED
        span = traces.invoke_span(self.tracer, request.headers, "invoke", request_id)
        try:
            spec = self._function(
                request.match_info["function_name"], request.query.get("Qualifier")
            )
            labels = self.metrics.function(spec.key)
            _describe(span, spec, self.settings.region)
            headers = request.headers
            invocation_type, log_type = _invoke_headers(headers, _INVOCATION_TYPES)
            limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
            payload = await read_body(request, limit)
            await _check_json(payload)
            dispatcher = self.dispatcher
            if invocation_type == "DryRun":
                dispatcher.check(spec)
                outcome = Outcome.SUCCESS
                return web.Response(status=204, headers=ids(request_id))
            if spec.durable is not None:
                answer = await self._invoke_durable(spec, payload, invocation_type, headers)
                outcome = (
                    Outcome.ACCEPTED
                    if answer.status == 202  # noqa: PLR2004 - Event
                    else Outcome.FUNCTION_ERROR
                    if "X-Amz-Function-Error" in answer.headers
                    else Outcome.SUCCESS
                )
                answer.headers.update(ids(request_id))
                return answer
            passed = trace_headers(span) | {h: headers[h] for h in _PASSED_HEADERS if h in headers}
            call = Call(payload, request_id, passed)
            if invocation_type == "Event":
                if self._async is None:
                    raise not_configured()
                request_id = request_id_for(headers.get("amz-sdk-invocation-id"), request_id)
                span.set("faas.invocation_id", request_id)
                with logs.serving(request_id):
                    # The event carries this span as its parent, through the queue to the agent.
                    await self._async.enqueue(
                        spec, payload, request_id, call.headers["X-Amzn-Trace-Id"]
                    )
                outcome = Outcome.ACCEPTED
                return web.Response(status=202, headers=ids(request_id))
            reply = await dispatcher.invoke(spec, call)
            span.set("faas.coldstart", reply.cold_start)
            # Here, not after the block: ``finally`` counts before anything below it runs.
            outcome = Outcome.FUNCTION_ERROR if reply.function_error else Outcome.SUCCESS
        except GatewayError as error:
            outcome = _OUTCOMES[error.outcome]
            _failed(span, error)
            log.info("%s: %s", request_id, error)
            return error_response(error, request_id)
        finally:
            self._count(labels, "invoke", outcome, loop.time() - started)
            self._end(span, outcome)
        return _invoke_response(reply, request_id, tail=log_type == "Tail", version=spec.version)

    async def _invoke_durable(
        self, spec: FunctionSpec, payload: bytes, invocation_type: str, headers: Mapping[str, str]
    ) -> web.Response:
        """Invoke of a durable Function: start an execution (Event: 202; else: its end)."""
        if self._durable is None:
            raise durable_not_configured()
        durable = spec.durable
        assert durable is not None  # noqa: S101 - the caller checked
        if invocation_type != "Event" and durable.execution_timeout_seconds > SYNC_DURABLE_MAX:
            raise invalid_parameter(
                f"A durable execution of {spec.name} may run {durable.execution_timeout_seconds} s "
                f"(spec.durable.executionTimeoutSeconds), over the {SYNC_DURABLE_MAX} s a "
                "synchronous call may wait: invoke it with InvocationType Event."
            )
        arn = await self._durable.begin(spec, payload, headers.get(EXECUTION_NAME_HEADER))
        if invocation_type == "Event":
            return web.Response(status=202, headers={EXECUTION_ARN_HEADER: arn})
        reply = await self._durable.outcome(arn, durable.execution_timeout_seconds)
        response = _invoke_response(reply, "", tail=False, version=spec.version)
        response.headers[EXECUTION_ARN_HEADER] = arn
        return response

    async def invoke_stream(self, request: web.Request) -> web.StreamResponse:
        """``InvokeWithResponseStream``: ``PayloadChunk`` events, then ``InvokeComplete``.

        The event-stream framing is ``event_stream``'s. A function error is still 200: the
        stream ends with ``InvokeComplete`` carrying ``ErrorCode`` and ``ErrorDetails``
        (and ``LogResult`` with ``LogType: Tail``), as Lambda's does. Refusals before the
        call (throttles, a missing Function, a bad header) are Lambda's plain error answers.
        """
        request_id = request_ids.request_id(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = Outcome.CLIENT_ERROR
        labels = UNATTRIBUTED
        span = traces.invoke_span(self.tracer, request.headers, "invoke", request_id)
        sink: _EventStreamSink | None = None
        try:
            spec = self._function(
                request.match_info["function_name"], request.query.get("Qualifier")
            )
            labels = self.metrics.function(spec.key)
            _describe(span, spec, self.settings.region)
            headers = request.headers
            invocation_type, log_type = _invoke_headers(headers, _STREAM_INVOCATION_TYPES)
            payload = await read_body(request, MAX_SYNC_PAYLOAD)
            await _check_json(payload)
            if invocation_type == "DryRun":
                self.dispatcher.check(spec)
                outcome = Outcome.SUCCESS
                return web.Response(status=204, headers=ids(request_id))
            passed = trace_headers(span) | {h: headers[h] for h in _PASSED_HEADERS if h in headers}
            sink = _EventStreamSink(request, request_id, spec.version)
            reply = await self.dispatcher.invoke(spec, Call(payload, request_id, passed), sink)
            span.set("faas.coldstart", reply.cold_start)
            outcome = Outcome.FUNCTION_ERROR if reply.function_error else Outcome.SUCCESS
        except GatewayError as error:
            outcome = _OUTCOMES[error.outcome]
            _failed(span, error)
            log.info("%s: %s", request_id, error)
            if sink is not None and sink.response is not None:  # the stream had begun
                return await sink.finish(
                    event_stream.invoke_complete(error.error_type, error.message)
                )
            return error_response(error, request_id)
        finally:
            self._count(labels, "invoke", outcome, loop.time() - started)
            self._end(span, outcome)
        if sink.response is None:  # the runtime answered whole
            return _stream_response(
                reply, request_id, tail=log_type == "Tail", version=spec.version
            )
        return await sink.finish(_complete_event(reply, tail=log_type == "Tail"))

    def _function(self, function_name: str, qualifier: str | None) -> FunctionSpec:
        return self._resolve(parse_function_name(function_name, qualifier))

    def _resolve(self, ref: FunctionRef) -> FunctionSpec:
        """The Function, or the version its qualifier (a number, an alias) sends this call to."""
        alias = None
        if qualifier.names_alias(ref.qualifier):
            alias = self.registry.alias(ref.namespace, ref.name, ref.qualifier)
        key = qualifier.target(ref, alias, random.random())  # noqa: S311 - a traffic split
        spec = None if key is None else self.registry.function(key)
        if spec is None:
            arn = function_arn(self.settings.region, ref.namespace, ref.name)
            raise function_not_found(arn if ref.qualifier == LATEST else f"{arn}:{ref.qualifier}")
        return spec

    def _end(self, span: Span, outcome: Outcome) -> None:
        span.set("kappa.outcome", outcome.value)
        self.tracer.end(span)

    def _count(
        self, labels: tuple[str, str], surface: str, outcome: Outcome, seconds: float
    ) -> None:
        self.metrics.invocations.labels(*labels, surface, outcome.value).inc()
        self.metrics.duration.labels(*labels).observe(seconds)

    def _function_changed(self, key: tuple[str, str]) -> None:
        if self.registry.function(key) is None:
            self.metrics.forget(key)

    # ----------------------------------------------------------- read-only APIs

    async def list_functions(self, request: web.Request) -> web.Response:
        """``ListFunctions`` (``Marker``/``MaxItems``) in the namespaces the caller may list."""
        request_id = request_ids.request_id(request)
        try:
            max_items = catalog.parse_max_items(request.query.get("MaxItems"))
            functions = self.registry.functions()
            caller = authn.subject(request)
            visible = {
                namespace
                for namespace in sorted({spec.namespace for spec in functions})
                if await self.guard.allowed(caller, Access(Verb.LIST, namespace))
            }
            page = catalog.list_page(
                [spec for spec in functions if spec.namespace in visible],
                request.query.get("Marker"),
                max_items,
            )
        except GatewayError as error:
            return error_response(error, request_id)
        return json_response(catalog.list_functions(page), request_id)

    async def get_function(self, request: web.Request) -> web.Response:
        """``GetFunction``."""
        request_id = request_ids.request_id(request)
        try:
            spec = self._function(
                request.match_info["function_name"], request.query.get("Qualifier")
            )
        except GatewayError as error:
            return error_response(error, request_id)
        return json_response(catalog.get_function(spec), request_id)

    async def account_settings(self, _request: web.Request) -> web.Response:
        """``GetAccountSettings``."""
        body = catalog.account_settings(
            limit=self.settings.concurrency_limit,
            reserved_total=self.registry.reserved_total(),
            function_count=len(self.registry.functions()),
        )
        return json_response(body, request_ids.request_id(_request))

    # ---------------------------------------------------------------- HTTP trigger

    async def http_trigger(self, request: web.Request) -> web.StreamResponse:
        """``ANY /fn/{namespace}/{name}/{path}``: payload 2.0 event in, function URL rules out.

        With ``url.invokeMode: RESPONSE_STREAM``, a streaming handler's bytes are sent as
        they come, under the head of its prelude (``stream_prelude``); an error after the
        head ends the connection without the body's end, so the client sees it cut.
        """
        request_id = request_ids.request_id(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = Outcome.CLIENT_ERROR
        labels = UNATTRIBUTED
        span = traces.invoke_span(self.tracer, request.headers, "http", request_id)
        sink: _HttpStreamSink | None = None
        try:
            namespace = request.match_info["namespace"]
            name, qualified = trigger_target(request.match_info["name"])
            spec = self._resolve(FunctionRef(namespace, name, qualified or LATEST))
            labels = self.metrics.function(spec.key)
            _describe(span, spec, self.settings.region)
            body = await read_body(request, MAX_SYNC_PAYLOAD)
            event = http_event(
                HttpRequest(
                    method=request.method,
                    path="/" + request.match_info.get("path", ""),
                    raw_query=request.query_string,
                    headers=list(request.headers.items()),
                    body=body,
                    source_ip=request.remote or "",
                    protocol=f"HTTP/{request.version.major}.{request.version.minor}",
                    request_id=request_id,
                    time_epoch_ms=epoch_ms(),
                    namespace=namespace,
                    api_id=name,
                )
            )
            payload = json.dumps(event).encode()
            if len(payload) > MAX_SYNC_PAYLOAD:
                raise request_too_large(MAX_SYNC_PAYLOAD)
            call = Call(payload, request_id, trace_headers(span))
            if spec.url_invoke_mode is UrlInvokeMode.RESPONSE_STREAM:
                sink = _HttpStreamSink(request, request_id)
            reply = await self.dispatcher.invoke(spec, call, sink)
            span.set("faas.coldstart", reply.cold_start)
            outcome = Outcome.FUNCTION_ERROR if reply.function_error else Outcome.SUCCESS
        except GatewayError as error:
            outcome = _OUTCOMES[error.outcome]
            _failed(span, error)
            log.info("%s: %s", request_id, error)
            if sink is not None and sink.response is not None:
                return sink.cut()
            return _http_error(error, request_id)
        finally:
            self._count(labels, "http", outcome, loop.time() - started)
            self._end(span, outcome)
        if sink is not None and sink.streamed:
            return await sink.finish(failed=reply.function_error is not None)
        answer = http_response(reply.body, function_error=reply.function_error is not None)
        response = web.Response(status=answer.status, body=answer.body)
        for header, value in answer.headers:
            response.headers.add(header, value)
        response.headers["x-amzn-RequestId"] = request_id
        response.headers[COLD_START_HEADER] = _cold(reply)
        return response

    # ------------------------------------------------------- agents' readiness

    async def agent_ready(self, request: web.Request) -> web.Response:
        """An agent says its pod can take calls (``kappa.base.ready_push``).

        The pod proves who it is by its uid and by the connection's source address, which
        is where calls then go; the registry takes the push only for a Function's pod it
        knows without an address. 204 taken (or nothing to learn), 404 no such pod, 403 a
        uid that is not the pod's, 400 a malformed body, 413 a body over its bound.
        """
        request_id = request_ids.request_id(request)
        try:
            body = await read_body(request, ready_push.BODY_MAX_BYTES)
            push = ready_push.decode(body)
        except GatewayError as error:
            self.metrics.ready_pushes.labels("malformed").inc()
            return error_response(error, request_id)
        except ValueError as exc:
            self.metrics.ready_pushes.labels("malformed").inc()
            return json_response({"message": str(exc)}, request_id, 400)
        host = request.remote or ""
        # No peer address (a Unix socket): nothing to route to, so nothing is proved.
        outcome = (
            self.registry.agent_ready(push.namespace, push.pod, push.uid, host)
            if host
            else PushOutcome.REFUSED
        )
        self.metrics.ready_pushes.labels(outcome.value).inc()
        log.info("%s: readiness push of %s/%s from %s: %s", request_id, push.namespace,
                 push.pod, host, outcome.value)  # fmt: skip
        status = _PUSH_STATUS[outcome]
        if status == 204:  # noqa: PLR2004
            return web.Response(status=204, headers=ids(request_id))
        return json_response({"message": f"readiness push {outcome.value}"}, request_id, status)

    # ---------------------------------------------------------------- probes

    async def healthz(self, _request: web.Request) -> web.Response:
        """200 while the process serves."""
        return web.Response(text="ok\n")

    async def readyz(self, _request: web.Request) -> web.Response:
        """200 once started and the registry is filled, 503 before that and while stopping.

        The event queue is not part of it: a NATS outage must not take the replica out of
        its Service, which would stop synchronous calls too (see ``queue_readyz``).
        """
        if not (self.ready and self._registry_ready()):
            return web.Response(status=503, text="not ready\n")
        return web.Response(text="ready\n")

    async def queue_readyz(self, _request: web.Request) -> web.Response:
        """200 while this replica can queue and run events, else 503 naming the cause.

        The cause: NATS unreachable, its streams missing, or no event queue configured.
        """
        if self._async is None:
            return web.Response(status=503, text="no event queue: asynchronous invocation is off\n")
        problem = self._async.problem()
        if problem is not None:
            return web.Response(status=503, text=f"not ready: event queue: {problem}\n")
        return web.Response(text="ready\n")

    async def prometheus(self, _request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        response = web.Response(body=generate_latest(self.metrics.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


async def _check_json(payload: bytes) -> None:
    """400 unless ``payload`` is JSON.

    Large payloads are parsed on a worker thread, so one 6 MB body never stalls every
    other call on the event loop; nesting deeper than Python's parser takes is a 400 that
    says so, not a 500.
    """
    if not payload:
        return
    try:
        if len(payload) > _PARSE_ON_LOOP_BYTES:
            await asyncio.to_thread(json.loads, payload)
        else:
            json.loads(payload)
    except RecursionError:
        raise invalid_request_content(
            "Could not parse request body into json: it is nested too deeply (arrays and "
            "objects inside each other more than about 900 levels)."
        ) from None
    except ValueError as exc:
        raise invalid_request_content(
            f"Could not parse request body into json: {exc.__class__.__name__}: {exc}"
        ) from None


def _invoke_headers(headers: CIMultiDictProxy[str], types: frozenset[str]) -> tuple[str, str]:
    """The call's ``X-Amz-Invocation-Type`` (one of ``types``) and ``X-Amz-Log-Type``.

    Raises 400 for a value Lambda does not take, or a malformed client context.
    """
    invocation_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type not in types:
        raise invalid_parameter(
            f"Invalid InvocationType {invocation_type!r}: use {' or '.join(sorted(types))}."
        )
    log_type = headers.get("X-Amz-Log-Type", "None")
    if log_type not in _LOG_TYPES:
        raise invalid_parameter(f"Invalid LogType {log_type!r}: use None or Tail.")
    if (client_context := headers.get("X-Amz-Client-Context")) is not None:
        check_client_context(client_context)
    return invocation_type, log_type


class _EventStreamSink:
    """InvokeWithResponseStream's answer, begun at the runtime's first streamed piece."""

    def __init__(self, request: web.Request, request_id: str, version: str | None) -> None:
        self._request = request
        self._headers = {
            "Content-Type": event_stream.CONTENT_TYPE,
            "x-amzn-RequestId": request_id,
            "X-Amz-Executed-Version": version or LATEST,
        }
        self.response: web.StreamResponse | None = None

    async def write(self, data: bytes, content_type: str) -> None:  # noqa: ARG002 - framed
        """PayloadChunk events carrying ``data``, sent now."""
        if self.response is None:
            self.response = web.StreamResponse(status=200, headers=self._headers)
            await self.response.prepare(self._request)
        for message in event_stream.payload_chunks(data):
            await self.response.write(message)

    async def finish(self, complete: bytes) -> web.StreamResponse:
        """End the stream with the ``InvokeComplete`` message ``complete``."""
        response = self.response
        assert response is not None  # noqa: S101 - finish follows a write
        try:
            await response.write(complete)
            await response.write_eof()
        except (ConnectionError, RuntimeError) as exc:
            log.info("%s: the caller went away before the stream's end: %s",
                     self._headers["x-amzn-RequestId"], exc)  # fmt: skip
        return response


class _HttpStreamSink:
    """A ``RESPONSE_STREAM`` HTTP trigger's answer, begun once the stream's head is known."""

    def __init__(self, request: web.Request, request_id: str) -> None:
        self._request = request
        self._request_id = request_id
        self._prelude: PreludeReader | None = None
        self._dropping = False  # a malformed prelude was answered 502: the rest goes
        self.streamed = False
        self.response: web.StreamResponse | None = None

    async def write(self, data: bytes, content_type: str) -> None:
        """Send ``data`` on, after the head (read from the prelude when there is one)."""
        if not self.streamed:
            self.streamed = True
            if content_type.split(";", maxsplit=1)[0].strip() == PRELUDE_CONTENT_TYPE:
                self._prelude = PreludeReader()
            else:
                await self._begin(200, [("Content-Type", content_type)])
        if self._dropping:
            return
        if self._prelude is not None:
            found = self._prelude.feed(data)
            if found is None:
                return
            head, data = found
            self._prelude = None
            await self._begin(head.status, head.headers)
            if head.body:  # a malformed prelude: its 502, and nothing of the stream
                data = head.body
                self._dropping = True
        if self.response is not None and data:
            await self.response.write(data)

    async def _begin(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        response = web.StreamResponse(status=status)
        for header, value in headers:
            response.headers.add(header, value)
        response.headers["x-amzn-RequestId"] = self._request_id
        self.response = response
        await response.prepare(self._request)

    async def finish(self, *, failed: bool) -> web.StreamResponse:
        """End the answer; a failed call (or one whose head never came) is cut or 502."""
        response = self.response
        if response is None:  # the stream ended inside its prelude
            return _http_error(
                service_error("The function's stream ended before its prelude did.", status=502),
                self._request_id,
            )
        if failed:
            return self.cut()
        try:
            await response.write_eof()
        except (ConnectionError, RuntimeError) as exc:
            log.info("%s: the caller went away before the stream's end: %s",
                     self._request_id, exc)  # fmt: skip
        return response

    def cut(self) -> web.StreamResponse:
        """End the connection without the body's end: the client sees a broken answer."""
        response = self.response
        assert response is not None  # noqa: S101 - cut follows a write
        if self._request.transport is not None:
            self._request.transport.close()
        return response


def _complete_event(reply: AgentReply, *, tail: bool) -> bytes:
    """The ``InvokeComplete`` that ends ``reply``'s stream."""
    log_result = reply.log_result if tail else None
    if not reply.function_error:
        return event_stream.invoke_complete(None, None, log_result)
    code, details = event_stream.function_error_fields(reply.body, reply.function_error)
    return event_stream.invoke_complete(code, details, log_result)


def _stream_response(
    reply: AgentReply, request_id: str, *, tail: bool, version: str | None
) -> web.Response:
    """``reply``, answered whole, as InvokeWithResponseStream's event stream."""
    chunks = [] if reply.function_error else list(event_stream.payload_chunks(reply.body))
    response = web.Response(status=200, body=b"".join([*chunks, _complete_event(reply, tail=tail)]))
    headers = response.headers
    headers["Content-Type"] = event_stream.CONTENT_TYPE
    headers["x-amzn-RequestId"] = request_id
    headers["X-Amz-Executed-Version"] = version or LATEST
    headers[COLD_START_HEADER] = _cold(reply)
    return response


def _invoke_response(
    reply: AgentReply, request_id: str, *, tail: bool, version: str | None
) -> web.Response:
    response = web.Response(status=200, body=reply.body)
    headers = response.headers
    headers["Content-Type"] = reply.content_type
    headers["x-amzn-RequestId"] = request_id
    headers["X-Amz-Executed-Version"] = version or LATEST  # the version an alias picked
    if reply.function_error:
        headers["X-Amz-Function-Error"] = reply.function_error
    if tail and reply.log_result is not None:
        headers["X-Amz-Log-Result"] = reply.log_result
    headers[COLD_START_HEADER] = _cold(reply)
    return response


def _describe(span: Span, spec: FunctionSpec, region: str) -> None:
    """The invoked Function, in OpenTelemetry's FaaS terms (and Kubernetes' namespace)."""
    span.set("faas.trigger", "http")  # the Invoke API and the HTTP trigger alike
    span.set("faas.invoked_name", spec.name)
    span.set("faas.invoked_provider", "kappa")
    span.set("faas.invoked_region", region)
    span.set("k8s.namespace.name", spec.namespace)
    span.set("faas.version", spec.version or LATEST)
    span.set("cloud.resource_id", spec.arn)


def _failed(span: Span, error: GatewayError) -> None:
    span.set("http.response.status_code", error.status)
    span.set("kappa.error_type", error.error_type)
    if error.status >= 500:  # noqa: PLR2004 - a server's failure, not the caller's
        span.error = error.message


def _cold(reply: AgentReply) -> str:
    return "true" if reply.cold_start else "false"


def _renderer(route: str) -> Callable[[GatewayError, str], web.Response]:
    """How a route renders a refusal: API Gateway's terse bodies on the HTTP trigger."""
    return _http_error if route in authn.TRIGGER_ROUTES else error_response


def _http_error(error: GatewayError, request_id: str) -> web.Response:
    """API Gateway's terse error bodies for the HTTP trigger."""
    message = _HTTP_ERROR_MESSAGES.get(error.status, "Internal Server Error")
    status = error.status if error.status < 500 else 502  # noqa: PLR2004
    response = web.json_response({"message": message}, status=status)
    for header, value in error.headers:
        response.headers[header] = value
    response.headers["x-amzn-RequestId"] = request_id
    return response
