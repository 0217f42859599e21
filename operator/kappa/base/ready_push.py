"""An agent's readiness push: the variables that set it up and its wire (pure).

A new function pod's agent tells the gateways it can take calls the moment it can, in
``POST /kappa/v1/agent-ready`` to each address in ``KAPPA_AGENT_READY_PUSH`` (the
gateways the operator knew when it made the pod), instead of leaving them to learn it
from the kubelet, which reports a new pod's IP up to a second after its containers
start. The body names the pod (namespace, name) and carries its uid (from the downward
API); the gateway takes the push only from the pod's own address, for a pod it knows
with that uid and without an IP yet (docs/internals/function-pods.md).

Both ends use this module: the agent builds the body, the gateway parses it strictly,
bounded, before anything else.
"""

import json
import re
from dataclasses import dataclass
from typing import Final

READY_PUSH_VARIABLE: Final = "KAPPA_AGENT_READY_PUSH"
POD_NAME_VARIABLE: Final = "KAPPA_POD_NAME"
POD_NAMESPACE_VARIABLE: Final = "KAPPA_POD_NAMESPACE"
POD_UID_VARIABLE: Final = "KAPPA_POD_UID"
PATH: Final = "/kappa/v1/agent-ready"
BODY_MAX_BYTES: Final = 1024
MAX_ADDRESSES: Final = 16
_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_POD_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_UID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ADDRESS: Final = re.compile(r"(\[[0-9a-fA-F:.]{2,45}\]|[0-9.]{7,15}):([0-9]{1,5})")


@dataclass(frozen=True, slots=True)
class ReadyPush:
    """Which pod says it is ready."""

    namespace: str
    pod: str
    uid: str


def addresses(value: str) -> tuple[str, ...]:
    """The ``host:port`` list of ``KAPPA_AGENT_READY_PUSH`` (malformed entries left out)."""
    found = []
    for entry in value.split(",")[:MAX_ADDRESSES]:
        match = _ADDRESS.fullmatch(entry.strip())
        if match and 0 < int(match.group(2)) < 65536:  # noqa: PLR2004 - TCP ports
            found.append(entry.strip())
    return tuple(found)


def encode(push: ReadyPush) -> bytes:
    """The push's body."""
    wire = {"namespace": push.namespace, "pod": push.pod, "uid": push.uid}
    return json.dumps(wire, separators=(",", ":")).encode()


def decode(body: bytes) -> ReadyPush:
    """The push in ``body``; ValueError naming what is wrong."""
    if len(body) > BODY_MAX_BYTES:
        raise ValueError(f"a readiness push is at most {BODY_MAX_BYTES} bytes")
    try:
        wire = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("a readiness push is a JSON object") from None
    if not isinstance(wire, dict) or set(wire) != {"namespace", "pod", "uid"}:
        raise ValueError("a readiness push is exactly {namespace, pod, uid}")
    namespace, pod, uid = wire["namespace"], wire["pod"], wire["uid"]
    for name, value, rule in (
        ("namespace", namespace, _LABEL),
        ("pod", pod, _POD_NAME),
        ("uid", uid, _UID),
    ):
        if not isinstance(value, str) or not rule.fullmatch(value):
            raise ValueError(f"{name} is not a Kubernetes {name}")
    return ReadyPush(namespace, pod, uid)
