"""The gateway's HTTP endpoint for the dead-letter queue (shell; ``kappa dlq`` calls it).

::

    GET    /kappa/v1/namespaces/{ns}/dead-letters[?function=F&marker=N&limit=L]
           → {"deadLetters": [summary...], "nextMarker": N | null}
    GET    /kappa/v1/namespaces/{ns}/dead-letters/{sequence}    → the entry with its payload
    DELETE /kappa/v1/namespaces/{ns}/dead-letters/{sequence}    → 204
    POST   /kappa/v1/namespaces/{ns}/dead-letters/redrive
           body {"sequences": [N...]} | {"function": F} | {"all": true}
           → {"redriven": [{"sequence": N, "requestId": ...}...], "notFound": [N...]}

Errors are Lambda-shaped (``x-amzn-ErrorType``): 400 InvalidParameterValueException,
404 ResourceNotFoundException, 500 ServiceException when NATS is unreachable.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import nats
from aiohttp import web

from kappa.api.names import unit_parts, validate_dns1123_label
from kappa.asyncq import dlq
from kappa.asyncq.jetstream import Queue
from kappa.asyncq.publisher import EnqueueError
from kappa.base.clock import epoch_ms
from kappa.invocation.errors import GatewayError, invalid_parameter, not_found, service_error
from kappa.invocation.registry import Registry

log = logging.getLogger("kappa.gateway.asyncq")

PREFIX: Final = "/kappa/v1/namespaces/{namespace}/dead-letters"
_REDRIVE_ALL_PAGE: Final = 500


class DeadLetterApi:
    """The routes, over a queue that may not be connected yet."""

    def __init__(self, queue: Callable[[], Queue | None], registry: Registry) -> None:
        self._queue = queue
        self._registry = registry

    def add_routes(self, app: web.Application) -> None:
        """Register the routes of the module docstring."""
        app.router.add_get(PREFIX, self._guard(self.list_entries), allow_head=False)
        app.router.add_post(PREFIX + "/redrive", self._guard(self.redrive))
        app.router.add_get(PREFIX + "/{sequence}", self._guard(self.get_entry), allow_head=False)
        app.router.add_delete(PREFIX + "/{sequence}", self._guard(self.delete_entry))

    def _guard(
        self, handler: Callable[[web.Request, Queue], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def guarded(request: web.Request) -> web.Response:
            try:
                queue = self._queue()
                if queue is None:
                    raise service_error("The gateway is not connected to NATS (yet).")
                return await handler(request, queue)
            except GatewayError as error:
                status, headers, body = error.render()
                return web.Response(status=status, body=body, headers=dict(headers))
            except (TimeoutError, nats.errors.Error, EnqueueError) as exc:
                log.warning("dead-letter request failed: %s", exc)
                status, headers, body = service_error(f"NATS failed: {exc}").render()
                return web.Response(status=status, body=body, headers=dict(headers))

        return guarded

    async def list_entries(self, request: web.Request, queue: Queue) -> web.Response:
        """A page of entries."""
        query = request.query
        limit = _number(query.get("limit"), "limit", 100, 1, dlq.MAX_PAGE)
        marker = _number(query.get("marker"), "marker", 0, 0, 2**63)
        entries, next_marker = await dlq.list_entries(
            queue,
            _namespace(request),
            function=_unit(query.get("function") or None),
            after=marker,
            limit=limit,
        )
        return web.json_response(
            {"deadLetters": [e.summary() for e in entries], "nextMarker": next_marker}
        )

    async def get_entry(self, request: web.Request, queue: Queue) -> web.Response:
        """One entry, with its payload."""
        entry = await self._entry(request, queue)
        return web.json_response(entry.detail())

    async def delete_entry(self, request: web.Request, queue: Queue) -> web.Response:
        """Remove one entry."""
        entry = await self._entry(request, queue)
        await dlq.delete_entry(queue, entry)
        return web.Response(status=204)

    async def redrive(self, request: web.Request, queue: Queue) -> web.Response:
        """Queue entries again."""
        namespace = _namespace(request)
        body = await _json_body(request)
        redriven: list[dict[str, Any]] = []
        missing: list[int] = []
        if "sequences" in body:
            sequences = body["sequences"]
            if not isinstance(sequences, list) or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in sequences
            ):
                raise invalid_parameter("sequences must be a list of integers")
            for sequence in sequences:
                entry = await dlq.get_entry(queue, namespace, sequence)
                if entry is None:
                    missing.append(sequence)
                    continue
                request_id = await dlq.redrive(queue, self._registry, entry, epoch_ms())
                redriven.append({"sequence": sequence, "requestId": request_id})
        elif "function" in body or body.get("all") is True:
            function = body.get("function")
            if function is not None and not isinstance(function, str):
                raise invalid_parameter("function must be a Function name")
            function = _unit(function)
            marker: int | None = 0
            while marker is not None:
                entries, marker = await dlq.list_entries(
                    queue, namespace, function=function, after=marker, limit=_REDRIVE_ALL_PAGE
                )
                for entry in entries:
                    request_id = await dlq.redrive(queue, self._registry, entry, epoch_ms())
                    redriven.append({"sequence": entry.sequence, "requestId": request_id})
        else:
            raise invalid_parameter(
                'say what to redrive: {"sequences": [...]}, {"function": NAME} or {"all": true}'
            )
        log.info("redrove %d dead-lettered events of namespace %s", len(redriven), namespace)
        return web.json_response({"redriven": redriven, "notFound": missing})

    async def _entry(self, request: web.Request, queue: Queue) -> dlq.DeadLettered:
        namespace = _namespace(request)
        sequence = _number(request.match_info["sequence"], "sequence", 0, 1, 2**63)
        entry = await dlq.get_entry(queue, namespace, sequence)
        if entry is None:
            raise not_found(f"No dead-lettered event {sequence} in namespace {namespace}.")
        return entry


def _namespace(request: web.Request) -> str:
    label = _label(request.match_info["namespace"], "namespace")
    assert label is not None  # noqa: S101 - a path parameter is never missing
    return label


def _label(value: str | None, name: str) -> str | None:
    """``value`` when it is a DNS-1123 label (or None), else 400.

    It goes into NATS subjects, where ``*``, ``>`` or ``.`` would widen what is listed,
    redriven or deleted.
    """
    if value is None:
        return None
    try:
        return validate_dns1123_label(value)
    except ValueError as exc:
        raise invalid_parameter(f"{name}: {exc}") from None


def _number(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_parameter(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise invalid_parameter(f"{name} must be between {low} and {high}")
    return value


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise invalid_parameter("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise invalid_parameter("the body must be a JSON object")
    return body


def _unit(value: str | None) -> str | None:
    """A Function's name, or a published version's (``hello.2``), else 400 (``_label``)."""
    if value is None:
        return None
    function, version = unit_parts(value)
    if version is not None and not (version.isascii() and version.isdigit()):
        raise invalid_parameter(f"function: {value!r} is not a Function or version's name")
    _label(function, "function")
    return value
