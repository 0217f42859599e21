"""One invocation as sent to a function pod's agent, and the agent's answer."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentReply:
    """The agent's answer to one invocation."""

    body: bytes
    content_type: str
    function_error: str | None
    log_result: str | None


@dataclass(frozen=True, slots=True)
class Call:
    """What to send to the agent."""

    payload: bytes
    request_id: str
    headers: Mapping[str, str]  # passed through: client context, trace id, cognito identity
