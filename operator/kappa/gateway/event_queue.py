"""What the gateway needs of an asynchronous event queue, and the factory that makes one.

The gateway imports no queue implementation: the process (``kappa.gateway.main``)
injects ``kappa.asyncq``'s, which stores Event invocations in NATS JetStream
and runs them through the gateway's dispatcher.
"""

from collections.abc import Callable
from typing import Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry

from kappa.gateway.dispatch import Dispatcher
from kappa.invocation.errors import GatewayError, service_error
from kappa.invocation.function_labels import FunctionLabels
from kappa.invocation.registry import FunctionSpec, Registry


class EventQueue(Protocol):
    """A durable queue of Event invocations, with its workers and its HTTP routes."""

    def add_routes(self, app: web.Application) -> None:
        """Its endpoints (the dead-letter queue)."""
        ...

    def start(self, invoker: Dispatcher) -> None:
        """Connect and run the workers, invoking through ``invoker``."""
        ...

    async def stop(self, timeout: float) -> None:
        """Stop the workers (events in hand finish, up to ``timeout``)."""
        ...

    def problem(self) -> str | None:
        """Why events cannot be queued now (NATS unreachable, streams missing); None if they can."""
        ...

    async def enqueue(
        self, spec: FunctionSpec, payload: bytes, request_id: str, trace_id: str | None
    ) -> None:
        """Store one event durably (GatewayError when it could not be)."""
        ...


# (registry, metrics registry, the metrics' function labels, region, registry ready?) -> the queue
EventQueueFactory = Callable[
    [Registry, CollectorRegistry, FunctionLabels, str, Callable[[], bool]], EventQueue
]


def not_configured() -> GatewayError:
    """500 for an Event invocation on a gateway without NATS."""
    return service_error(
        "Asynchronous invocation is not configured on this gateway: set KAPPA_NATS_URL."
    )
