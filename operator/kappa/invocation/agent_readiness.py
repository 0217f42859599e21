"""Readiness learned from the agent itself: which pods to ask, which answers count. Pure.

The kubelet probes ``/readyz`` at most once a second, so a pod's ``Ready``
condition comes up to a second after its agent could take calls. While calls of a
Function wait for capacity, the gateway asks the agents of that Function's
not-yet-Ready pods directly (``GET /status``) and routes to a pod as soon as its
agent says it is ready; the shell is ``kappa.gateway.readiness_probe``.

Trust is unchanged: only endpoints the registry publishes for the Function are
asked (``kube_view`` publishes only pods the Function controls, at Kappa's agent
port), and an answer counts only when it names the Function's own ARN, so whatever
else answers at a pod's address (an IP reused by another pod) is never routed to.

==================================  =============================================
endpoint (as the registry reports)  probed now?
==================================  =============================================
ready (kubelet)                     no: routed already
terminating                         no: it takes no new calls
confirmed at this address           no: routed already (see ``routable``)
a probe of it running               no
asked less than ``interval`` ago    no
otherwise                           yes, the first ``room`` of them in order
==================================  =============================================

A confirmation holds for one pod at one address, while the registry still reports
that pod not Ready (``still_confirmed``): once the kubelet agrees, or the pod goes,
it is dropped.
"""

import json
from collections.abc import Mapping, Sequence, Set
from dataclasses import replace
from typing import Final

from kappa.invocation.routing import Endpoint

# The agent's /status answer is a small JSON object; more is not an agent.
MAX_STATUS_BYTES: Final = 4096
_OK: Final = 200

Confirmed = Mapping[str, str]  # pod name → the address its agent answered on


def to_probe(  # noqa: PLR0913 - the observations the decision reads
    endpoints: Sequence[Endpoint],
    confirmed: Confirmed,
    probing: Set[str],
    last_probe: Mapping[str, float],
    now: float,
    *,
    interval: float,
    room: int,
) -> tuple[Endpoint, ...]:
    """The endpoints to ask now (at most ``room``), by the table in the module docstring."""
    if room <= 0:
        return ()
    chosen = [
        endpoint
        for endpoint in endpoints
        if not endpoint.ready
        and not endpoint.terminating
        and confirmed.get(endpoint.pod) != endpoint.address
        and endpoint.pod not in probing
        and now - last_probe.get(endpoint.pod, float("-inf")) >= interval
    ]
    return tuple(chosen[:room])


def answer_confirms(status: int, body: bytes, function_arn: str) -> bool:
    """Whether an agent's ``/status`` answer says it is ready to run calls of ``function_arn``.

    ``{"state": "ready", "function": "<the Function's ARN>", ...}`` with status 200; any
    other answer (another state, another Function, not JSON, too large) does not count.
    """
    if status != _OK or len(body) > MAX_STATUS_BYTES or not function_arn:
        return False
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(parsed, dict)
        and parsed.get("state") == "ready"
        and parsed.get("function") == function_arn
    )


def routable(endpoints: Sequence[Endpoint], confirmed: Confirmed) -> tuple[Endpoint, ...]:
    """``endpoints`` with every confirmed one counted ready (same pod, same address)."""
    return tuple(
        replace(endpoint, ready=True)
        if not endpoint.ready and confirmed.get(endpoint.pod) == endpoint.address
        else endpoint
        for endpoint in endpoints
    )


def still_confirmed(endpoints: Sequence[Endpoint], confirmed: Confirmed) -> dict[str, str]:
    """The confirmations worth keeping: pods still reported, at that address, not yet Ready."""
    return {
        endpoint.pod: endpoint.address
        for endpoint in endpoints
        if not endpoint.ready and confirmed.get(endpoint.pod) == endpoint.address
    }
