"""What the gateway needs to invoke durable Functions, and the factory that makes it.

The gateway imports no durable implementation: the process (``kappa.gateway.main``)
injects ``kappa.durable.runner``'s, which starts executions, keeps their timers and
invokes them through the gateway's dispatcher.
"""

from collections.abc import Callable
from typing import Final, Protocol

from prometheus_client import CollectorRegistry

from kappa.gateway.dispatch import Dispatcher
from kappa.invocation.call import AgentReply
from kappa.invocation.errors import GatewayError, service_error
from kappa.invocation.registry import FunctionSpec, Registry

EXECUTION_NAME_HEADER: Final = "X-Amz-Durable-Execution-Name"
EXECUTION_ARN_HEADER: Final = "X-Amz-Durable-Execution-Arn"


class DurableInvocations(Protocol):
    """Durable executions: started by Invoke, run by workers in this process."""

    def start(self, invoker: Dispatcher) -> None:
        """Run the timer workers, invoking through ``invoker``."""
        ...

    async def stop(self, timeout: float) -> None:
        """Stop the workers (invocations in hand finish, up to ``timeout``)."""
        ...

    async def begin(self, spec: FunctionSpec, payload: bytes, name: str | None) -> str:
        """Start an execution of ``spec`` (GatewayError: 409 name taken, 503 NATS away)."""
        ...

    async def outcome(self, arn: str, timeout_seconds: float) -> AgentReply:
        """Wait for the execution's end: its answer, as a synchronous call's."""
        ...


# (registry, metrics registry) -> the durable invocations
DurableFactory = Callable[[Registry, CollectorRegistry], DurableInvocations]


def not_configured() -> GatewayError:
    """500 for an Invoke of a durable Function on a gateway without the durable service."""
    return service_error(
        "Durable functions are not configured on this gateway: set KAPPA_NATS_URL and "
        "mount the durable key (KAPPA_DURABLE_KEYS_DIR)."
    )
