"""The Lambda API's durable execution calls, on the gateway (botocore 1.44.8's paths).

    CheckpointDurableExecution        POST /2025-12-01/durable-executions/{Arn}/checkpoint  token
    GetDurableExecutionState          GET  /2025-12-01/durable-executions/{Arn}/state       token
    GetDurableExecution               GET  /2025-12-01/durable-executions/{Arn}             get
    GetDurableExecutionHistory        GET  /2025-12-01/durable-executions/{Arn}/history     get
    ListDurableExecutionsByFunction   GET  /2025-12-01/functions/{FunctionName}/durable-executions
                                                                                            list
    StopDurableExecution              POST /2025-12-01/durable-executions/{Arn}/stop        update
    SendDurableExecutionCallback{Success,Failure,Heartbeat}
                                      POST /2025-12-01/durable-execution-callbacks/{CallbackId}/
                                           succeed | fail | heartbeat                       invoke

The last column is what the caller needs (docs/internals/durable.md, "Authentication and
authorisation"): the checkpoint token itself on the two token routes (``authn`` asks no
RBAC there; the service verifies the token's mac before it reads anything), RBAC on
``functions/durableexecutions`` of the execution's Function (``authn.route_access``), and
``invoke`` on the Function a callback id names, asked here once the service has verified
the id (the path names no Function). ``{Arn}`` and ``{CallbackId}`` are single path
segments that boto3 percent-encodes (``/``, ``+``, ``=``); aiohttp decodes them once.

Bodies are bounded before they are read (a checkpoint's at the gateway's largest, 6 MiB;
a callback's result at the model's 1 MiB; a stop's or a failure's error at 64 KiB), then
read strictly by the service (``kappa.durable.service``), which the process injects
(``kappa.gateway.main``) through :class:`DurableBackend`: the gateway imports no durable
package. Errors are Lambda's, with the request id in the answer and in the log line.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

from aiohttp import web

from kappa.api.names import validate_dns1123_label
from kappa.auth import access as rbac
from kappa.auth.guard import Guard
from kappa.gateway import authn, control_shapes, durable_shapes
from kappa.gateway.body import MAX_BODY, read_body
from kappa.gateway.durable_routes import (
    CALLBACK_ROUTES,
    CHECKPOINT_ROUTE,
    EXECUTION_ROUTE,
    GLANCE_ROUTE,
    HISTORY_ROUTE,
    LIST_ROUTE,
    STATE_ROUTE,
    STOP_ROUTE,
)
from kappa.gateway.lambda_handlers import Handler, answering
from kappa.invocation.errors import invalid_parameter
from kappa.invocation.function_name import FunctionRef

CHECKPOINT_BODY_MAX: Final = MAX_BODY
RESULT_BODY_MAX: Final = 1024 * 1024
ERROR_BODY_MAX: Final = 64 * 1024


class CheckpointReply(Protocol):
    """A checkpoint's answer, wire form."""

    @property
    def operations(self) -> list[dict[str, Any]]:
        """The operations that changed."""
        ...

    @property
    def token(self) -> str | None:
        """The next checkpoint token (None: the invocation is over)."""
        ...


class DurableBackend(Protocol):
    """What the routes need of the durable service (``kappa.durable.service``)."""

    async def checkpoint(self, arn_text: str, body: Mapping[str, Any]) -> CheckpointReply:
        """CheckpointDurableExecution."""
        ...

    async def state(
        self, arn_text: str, query: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """GetDurableExecutionState: a page and the marker of the rest."""
        ...

    async def get(
        self, arn_text: str, query: Mapping[str, str]
    ) -> tuple[durable_shapes.ExecutionFacts, bool]:
        """GetDurableExecution: the execution, and whether its data is included."""
        ...

    async def executions(
        self, namespace: str, function: str, query: Sequence[tuple[str, str]]
    ) -> tuple[Sequence[durable_shapes.ExecutionFacts], str | None]:
        """ListDurableExecutionsByFunction: a page and the marker of the rest."""
        ...

    async def history(
        self, arn_text: str, query: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """GetDurableExecutionHistory: a page of events (wire form) and the marker of the rest."""
        ...

    async def stop(self, arn_text: str, error: object) -> int:
        """StopDurableExecution: when it stopped (epoch ms)."""
        ...

    def callback_function(self, value: str) -> tuple[str, str]:
        """The namespace and Function a callback id names (404 when not minted here)."""
        ...

    async def callback(self, value: str, kind: str, body: bytes) -> None:
        """One of the three callback calls (``kind``: succeed, fail, heartbeat)."""
        ...


class DurableApi:
    """The handlers; ``add_routes`` puts them on the gateway's application."""

    def __init__(self, backend: DurableBackend, guard: Guard) -> None:
        self._backend = backend
        self._guard = guard

    def add_routes(self, app: web.Application) -> None:
        """Register the calls."""
        app.router.add_post(CHECKPOINT_ROUTE, answering(self.checkpoint))
        app.router.add_get(STATE_ROUTE, answering(self.state), allow_head=False)
        app.router.add_post(STOP_ROUTE, answering(self.stop))
        app.router.add_get(HISTORY_ROUTE, answering(self.history), allow_head=False)
        app.router.add_get(EXECUTION_ROUTE, answering(self.get), allow_head=False)
        app.router.add_get(LIST_ROUTE, answering(self.executions), allow_head=False)
        app.router.add_get(GLANCE_ROUTE, answering(self.glance), allow_head=False)
        for kind, route in CALLBACK_ROUTES.items():
            app.router.add_post(route, answering(self._callback(kind)))

    async def checkpoint(self, request: web.Request, _ref: FunctionRef) -> Any:
        """CheckpointDurableExecution."""
        body = control_shapes.json_object(await read_body(request, CHECKPOINT_BODY_MAX))
        reply = await self._backend.checkpoint(request.match_info["arn"], body)
        return 200, durable_shapes.checkpoint_answer(reply.operations, reply.token)

    async def state(self, request: web.Request, _ref: FunctionRef) -> Any:
        """GetDurableExecutionState."""
        operations, marker = await self._backend.state(request.match_info["arn"], request.query)
        return 200, durable_shapes.state_answer(operations, marker)

    async def get(self, request: web.Request, _ref: FunctionRef) -> Any:
        """GetDurableExecution."""
        facts, include = await self._backend.get(request.match_info["arn"], request.query)
        return 200, durable_shapes.execution_answer(facts, include_data=include)

    async def history(self, request: web.Request, _ref: FunctionRef) -> Any:
        """GetDurableExecutionHistory."""
        events, marker = await self._backend.history(request.match_info["arn"], request.query)
        return 200, durable_shapes.history_answer(events, marker)

    async def executions(self, request: web.Request, ref: FunctionRef) -> Any:
        """ListDurableExecutionsByFunction."""
        items, marker = await self._backend.executions(
            ref.namespace, ref.name, list(request.query.items())
        )
        return 200, durable_shapes.list_answer(items, marker)

    async def glance(self, request: web.Request, _ref: FunctionRef) -> Any:
        """Kappa's list of a Function's executions: status, qualifier, limit, marker."""
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        for what, value in (("namespace", namespace), ("Function name", name)):
            try:
                validate_dns1123_label(value)
            except ValueError as exc:
                raise invalid_parameter(f"The {what}: {exc}") from None
        query = request.query
        asked = [("MaxItems", query.get("limit", "100")), ("Marker", query.get("marker", ""))]
        asked += [("Statuses", status) for status in query.getall("status", [])]
        asked.append(("Qualifier", query.get("qualifier", "")))
        items, marker = await self._backend.executions(
            namespace, name, [(key, value) for key, value in asked if value]
        )
        return 200, durable_shapes.glance_answer(items, marker)

    async def stop(self, request: web.Request, _ref: FunctionRef) -> Any:
        """StopDurableExecution (the body's ``Error``, optional, is the ErrorObject itself)."""
        raw = await read_body(request, ERROR_BODY_MAX)
        error = control_shapes.json_object(raw) if raw.strip() else None
        stopped = await self._backend.stop(request.match_info["arn"], error)
        return 200, durable_shapes.stop_answer(stopped)

    def _callback(self, kind: str) -> Handler:
        """SendDurableExecutionCallback{Success,Failure,Heartbeat} (``kind``: the path's end)."""
        limit = {"succeed": RESULT_BODY_MAX, "fail": ERROR_BODY_MAX}.get(kind, 0)

        async def send(request: web.Request, _ref: FunctionRef) -> Any:
            value = request.match_info["callback_id"]
            namespace, function = self._backend.callback_function(value)
            await self._guard.require(authn.subject(request), rbac.invoke(namespace, function))
            body = await read_body(request, limit) if limit else b""
            await self._backend.callback(value, kind, body)
            return 200, durable_shapes.callback_answer()

        return send
