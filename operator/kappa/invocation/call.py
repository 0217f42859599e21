"""One invocation as sent to a function pod's agent, and the agent's answer."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# On every synchronous answer (Invoke API and HTTP trigger): "true" when the call waited
# for an execution environment that started for it (its runtime initialised for it),
# "false" otherwise (docs/operations.md).
COLD_START_HEADER: Final = "X-Kappa-Cold-Start"


@dataclass(frozen=True, slots=True)
class AgentReply:
    """The agent's answer to one invocation."""

    body: bytes
    content_type: str
    function_error: str | None
    log_result: str | None
    cold_start: bool = False  # the caller waited for this runtime's initialisation


@dataclass(frozen=True, slots=True)
class Call:
    """What to send to the agent."""

    payload: bytes
    request_id: str
    headers: Mapping[str, str]  # passed through: client context, trace id, cognito identity
