"""The JSON the gateways send the autoscaler: built and parsed here, on both sides.

``POST /v1/stats`` every second from each gateway replica::

    {"gateway": "<id>", "functions": [{"namespace": "ns", "name": "fn",
      "inFlight": 1.5, "peak": 2, "queued": 0, "pods": {"fn-abc": 2}}]}

``POST /v1/poke`` at once when an invocation waits for a slot::

    {"gateway": "<id>", "namespace": "ns", "name": "fn", "at": 1767225600.123,
     "inFlight": 0, "peak": 0, "queued": 1}

``at`` is the gateway's wall clock when the invocation started to wait. A
gateway id is unique per gateway process. Bad documents raise ``WireError``
saying what is wrong: every number must be finite and within bounds no real gateway
reaches (a gateway holds at most its concurrency limit plus its queue), every name a
bounded string, so a forged or broken report cannot overflow a decision.
"""

import math
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from kappa.autoscaler.stats import Key, Sample

_MAX_FUNCTIONS: Final = 100_000
MAX_FIGURE: Final = 1_000_000  # in flight, peak, queued or per-pod calls, per gateway
_MAX_PODS: Final = 10_000
_MAX_NAME: Final = 253
_MAX_GATEWAY_ID: Final = 128


class WireError(ValueError):
    """A document that is not what this module describes."""


def sample_fields(sample: Sample) -> dict[str, Any]:
    """The figures of ``sample`` as JSON fields."""
    return {
        "inFlight": round(sample.in_flight, 3),
        "peak": sample.peak,
        "queued": sample.queued,
        "pods": dict(sample.pods),
    }


def stats_document(gateway: str, functions: Mapping[Key, Sample]) -> dict[str, Any]:
    """A ``/v1/stats`` body."""
    return {
        "gateway": gateway,
        "functions": [
            {"namespace": ns, "name": name, **sample_fields(sample)}
            for (ns, name), sample in functions.items()
        ],
    }


def poke_document(gateway: str, key: Key, sample: Sample, at: float) -> dict[str, Any]:
    """A ``/v1/poke`` body."""
    return {"gateway": gateway, "namespace": key[0], "name": key[1], "at": at,
            **sample_fields(sample)}  # fmt: skip


def parse_stats(document: object) -> tuple[str, dict[Key, Sample]]:
    """(gateway, figures per function) of a ``/v1/stats`` body."""
    body = _object(document, "the body")
    items = body.get("functions")
    if not isinstance(items, list) or len(items) > _MAX_FUNCTIONS:
        raise WireError("functions must be a list")
    functions: dict[Key, Sample] = {}
    for index, item in enumerate(items):
        key, sample = _function(_object(item, f"functions[{index}]"), f"functions[{index}]")
        functions[key] = sample
    return _gateway(body), functions


def parse_poke(document: object) -> tuple[str, Key, Sample, float | None]:
    """(gateway, function, figures, when it started to wait) of a ``/v1/poke`` body."""
    body = _object(document, "the body")
    key, sample = _function(body, "the poke")
    at = body.get("at")
    if at is not None and (
        not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at)
    ):
        raise WireError("at must be a finite number (seconds since the epoch)")
    return _gateway(body), key, sample, None if at is None else float(at)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireError(f"{where} must be a JSON object")
    return value


def _gateway(body: Mapping[str, Any]) -> str:
    gateway = body.get("gateway")
    if not isinstance(gateway, str) or not 0 < len(gateway) <= _MAX_GATEWAY_ID:
        raise WireError(f"gateway must be a string of 1 to {_MAX_GATEWAY_ID} characters")
    return gateway


def _count(body: Mapping[str, Any], name: str, where: str) -> int:
    value = body.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_FIGURE:
        raise WireError(f"{where}: {name} must be an integer from 0 to {MAX_FIGURE}")
    return value


def _name(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_NAME


def _function(body: Mapping[str, Any], where: str) -> tuple[Key, Sample]:
    namespace, name = body.get("namespace"), body.get("name")
    if not _name(namespace) or not _name(name):
        raise WireError(f"{where}: namespace and name must be strings of 1 to {_MAX_NAME} "
                        "characters")  # fmt: skip
    in_flight = body.get("inFlight", 0)
    if (
        not isinstance(in_flight, int | float)
        or isinstance(in_flight, bool)
        or not math.isfinite(in_flight)
        or not 0 <= in_flight <= MAX_FIGURE
    ):
        raise WireError(f"{where}: inFlight must be a finite number from 0 to {MAX_FIGURE}")
    pods = _object(body.get("pods") or {}, f"{where}: pods")
    if len(pods) > _MAX_PODS:
        raise WireError(f"{where}: pods must list at most {_MAX_PODS} pods")
    for pod, count in pods.items():
        if not _name(pod):
            raise WireError(f"{where}: pod names must be 1 to {_MAX_NAME} characters")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_FIGURE:
            raise WireError(f"{where}: pods[{pod!r}] must be an integer from 0 to {MAX_FIGURE}")
    sample = Sample(
        in_flight=float(in_flight),
        peak=_count(body, "peak", where),
        queued=_count(body, "queued", where),
        pods=dict(pods),
    )
    return (namespace, name), sample
